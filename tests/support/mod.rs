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

/// How many files lie under `dir`, at any depth (0 when it does not exist).
pub fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.path().is_dir() {
            true => count_files(&e.path()),
            false => 1,
        })
        .sum()
}

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

/// The value of one series in a `/-/metrics` text (`name{label="v",...}` exactly as printed),
/// or `None` when larder does not print it.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split(' ').next()?.parse().ok()
    })
}

/// `GET /-/metrics` on a larder whose root is `base` (`http://127.0.0.1:PORT`).
pub fn scrape(base: &str) -> String {
    let response = get(&format!("{base}/-/metrics"));
    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().expect("metrics text")
}
