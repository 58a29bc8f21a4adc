#![no_main]

#[path = "common.rs"]
mod common;

use http::{HeaderMap, HeaderValue, Method};
use larder_adapter::{ClientRequest, Route};
use libfuzzer_sys::fuzz_target;

// First line: the path; second: the Accept header.
fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (path, accept) = text.split_once('\n').unwrap_or((text, ""));
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert("accept", value);
    }
    let adapter = common::adapter();
    let request = ClientRequest { method: &Method::GET, proxy_host: None, path, query: None, headers: &headers };
    if let Route::Fetch(object) = adapter.route(&request) {
        let allowed = adapter.upstreams();
        assert!(
            allowed.iter().any(|base| object.upstream.as_str().starts_with(base.as_str())),
            "{path:?} routed outside the configured upstreams: {}",
            object.upstream
        );
    }
});
