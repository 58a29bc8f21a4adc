//! Routing any request path (percent-decoding, registry names, index paths, download routes
//! with their base64url template): never a panic, and every fetch stays on a configured
//! registry's index or download base.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let mut registries = serde_json::Map::new();
    registries.insert("corp".into(), "https://cargo.corp.example/index/".into());
    let mut extra = serde_json::Map::new();
    extra.insert("registries".into(), registries.into());
    let section = Section {
        upstream: url::Url::parse("https://index.crates.io/").unwrap(),
        metadata_ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(60),
        extra,
    };
    let cargo = (larder_cargo::factory().build)(&section).unwrap();
    let headers = http::HeaderMap::new();
    for method in [http::Method::GET, http::Method::HEAD, http::Method::PUT] {
        let request = ClientRequest {
            method: &method,
            proxy_host: None,
            path,
            query: None,
            headers: &headers,
        };
        if let Route::Fetch(object) = cargo.route(&request) {
            assert!(method != http::Method::PUT, "{path:?}: a PUT was fetched");
            let url = &object.upstream;
            let host = url.host_str().unwrap_or_default();
            if object.key.starts_with("corp/") {
                assert_eq!(host, "cargo.corp.example", "{path:?} → {url}");
            } else {
                assert!(object.key.starts_with("crates-io/"), "{path:?}: {}", object.key);
                assert!(
                    host == "index.crates.io" || host == "static.crates.io",
                    "{path:?} → {url}"
                );
            }
            assert!(!url.path().contains("/../"), "{path:?} → {url}");
        }
    }
});
