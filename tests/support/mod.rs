//! Shared harness for larder's integration tests: the real `larder` binary as a child process
//! ([`Larder`]) and fixture upstreams on 127.0.0.1 ([`Upstream`]).
//!
//! Each test target includes this file with `#[path = "../support/mod.rs"] mod support;`, so not
//! every target uses every helper.
#![allow(dead_code)]

mod larder;
mod upstream;

#[allow(unused_imports)]
pub use larder::Larder;
#[allow(unused_imports)]
pub use upstream::{Mode, Recorded, Resource, Routes, Upstream};

/// A blocking HTTP GET for assertions (no proxy, no decompression, no retries).
pub fn get(url: &str) -> reqwest::blocking::Response {
    http_client()
        .get(url)
        .send()
        .unwrap_or_else(|err| panic!("GET {url}: {err}"))
}

pub fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .no_gzip()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client builds")
}
