//! larder: a caching mirror for package managers.
//!
//! Where a request goes (see `docs/ARCHITECTURE.md`): [`http`] routes it to an adapter (one
//! crate per ecosystem under `ecosystems/`), which classifies it; the [`engine`] finds the bytes
//! in the [`store`] or starts a [`fill`] through the [`upstream`] client; [`respond`]
//! and [`body`] turn the result into the response.

pub mod access;
pub mod adapters;
pub mod body;
pub mod buildcache;
pub mod cache_config;
pub mod client_limits;
pub mod config;
pub mod declarations;
pub mod direct;
pub mod engine;
pub mod env_command;
pub mod fill;
pub mod gocache;
pub mod http;
pub mod inflight;
pub mod maintenance;
pub mod memory;
pub mod metrics;
pub mod mounted;
pub mod nowait;
pub mod policy;
pub mod policy_config;
pub mod respond;
pub mod served;
pub mod served_config;
pub mod server;
pub mod spill;
pub mod status;
pub mod store;
pub mod toml_keys;
pub mod triage;
pub mod upstream;
pub mod warm;
