//! The engine, proven with a test ecosystem and fixture upstreams: coalescing, verification,
//! failure handling, HTTP semantics, crash safety, damaged blobs (with curl), and bad input.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod client_limits;
mod coalescing;
mod crash;
mod damaged;
mod dead_upstream;
mod failures;
mod full_disk;
mod harness;
mod http_semantics;
mod metrics;
mod pipelining;
mod policy;
mod upstream_abuse;
mod verification;
