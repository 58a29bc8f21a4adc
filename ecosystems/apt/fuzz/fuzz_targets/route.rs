//! Routing any path in either mode, then find_digest over any body: never a panic, and every
//! fetched object's upstream URL stays under a configured remote.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section, Verify};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, body) = text.split_once('\n').unwrap_or((text, ""));
    let section = Section {
        upstream: url::Url::parse("http://deb.debian.org/").unwrap(),
        metadata_ttl: Duration::from_secs(30),
        negative_ttl: Duration::from_secs(30),
        extra: serde_json::Map::new(),
    };
    let apt = (larder_apt::factory().build)(&section).unwrap();
    let headers = http::HeaderMap::new();
    for proxy_host in [None, Some("deb.debian.org")] {
        let request = ClientRequest {
            method: &http::Method::GET,
            proxy_host,
            path,
            query: None,
            headers: &headers,
        };
        if let Route::Fetch(object) = apt.route(&request) {
            assert!(apt
                .upstreams()
                .iter()
                .any(|base| object.upstream.as_str().starts_with(base.as_str())));
            if object.declares_digests {
                let _ = apt.declared_digests(&object, body.as_bytes());
            }
            if let Verify::Listed(index) = &object.verify {
                let _ = apt.find_digest(index, body.as_bytes(), &object);
            }
        }
    }
});
