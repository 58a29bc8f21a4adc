//! Routing any request path (percent-decoding, `!`-unescaping, module path and version checks,
//! proxy and checksum database endpoints): never a panic, and every fetch stays on a configured
//! upstream, under its base path, without a query or fragment.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let mut extra = serde_json::Map::new();
    extra.insert(
        "sumdb_upstream".into(),
        "https://sum.example.com/base/".into(),
    );
    extra.insert("sumdb_name".into(), "sum.golang.org".into());
    let section = Section {
        upstream: url::Url::parse("https://proxy.example.com/go/").unwrap(),
        metadata_ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(60),
        extra,
    };
    let go = (larder_go::factory().build)(&section).unwrap();
    let headers = http::HeaderMap::new();
    for method in [http::Method::GET, http::Method::HEAD] {
        let request = ClientRequest {
            method: &method,
            proxy_host: None,
            path,
            query: None,
            headers: &headers,
        };
        if let Route::Fetch(object) = go.route(&request) {
            let url = &object.upstream;
            let (host, base) = if object.key.starts_with("proxy/") {
                ("proxy.example.com", "/go/")
            } else {
                assert!(
                    object.key.starts_with("sumdb/sum.golang.org/"),
                    "{path:?}: {}",
                    object.key
                );
                ("sum.example.com", "/base/")
            };
            assert_eq!(url.host_str(), Some(host), "{path:?}");
            assert!(url.path().starts_with(base), "{path:?} → {url}");
            assert!(
                url.query().is_none() && url.fragment().is_none(),
                "{path:?} → {url}"
            );
            assert!(
                !url.path().contains("/../") && !url.path().contains("//"),
                "{path:?} → {url}"
            );
        }
    }
});
