//! The whole adapter on any request: path, query, `Accept` and `pacote-integrity` from the
//! input. Never a panic; a fetched object's upstream URL stays under the configured registry,
//! and a tarball is verified by a digest or by its packument.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section, Verify};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(4, '\n');
    let path = parts.next().unwrap_or("");
    let query = parts.next().filter(|q| !q.is_empty());
    let accept = parts.next().unwrap_or("");
    let integrity = parts.next().unwrap_or("");
    let section = Section {
        upstream: url::Url::parse("https://registry.example.org/npm/").unwrap(),
        metadata_ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
        extra: serde_json::Map::new(),
    };
    let npm = (larder_npm::factory().build)(&section).unwrap();
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("accept", accept),
        (larder_npm::INTEGRITY_HEADER, integrity),
    ] {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    for method in [http::Method::GET, http::Method::POST] {
        let request = ClientRequest {
            method: &method,
            proxy_host: None,
            path,
            query,
            headers: &headers,
        };
        if let Route::Fetch(object) = npm.route(&request) {
            assert!(
                object
                    .upstream
                    .as_str()
                    .starts_with(section.upstream.as_str()),
                "{path:?} → {}",
                object.upstream
            );
            if object.key.starts_with("tarball/") {
                assert!(
                    matches!(object.verify, Verify::Digest(_) | Verify::Listed(_)),
                    "{path:?}: a tarball without verification"
                );
            }
        }
    }
});
