//! Replicas over S3-compatible object storage, against a real S3 server (moto's server mode,
//! installed by `.ci/install/s3.sh`) on 127.0.0.1: sharing between replicas, crash safety,
//! conditional pointer writes, degraded mode, and client access control.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod deploy;
mod fleet;
mod moto;
mod pointers;
mod replicas;
mod resync;
