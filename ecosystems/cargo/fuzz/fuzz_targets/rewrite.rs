//! config.json's streaming rewrite: however the body is chunked, the same output as whole.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

// First byte: the chunk size; the rest: the body.
fuzz_target!(|data: &[u8]| {
    let Some((&chunk, body)) = data.split_first() else {
        return;
    };
    let section = Section {
        upstream: url::Url::parse("https://index.crates.io/").unwrap(),
        metadata_ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(60),
        extra: Default::default(),
    };
    let cargo = (larder_cargo::factory().build)(&section).unwrap();
    let headers = http::HeaderMap::new();
    let request = ClientRequest {
        method: &http::Method::GET,
        proxy_host: None,
        path: "/crates-io/config.json",
        query: None,
        headers: &headers,
    };
    let Route::Fetch(config) = cargo.route(&request) else {
        panic!("config.json is fetched");
    };
    let run = |size: usize| {
        let mut rewriter = cargo
            .rewriter(&config, "http://127.0.0.1:7878/cargo")
            .expect("config.json is rewritten");
        let mut out = Vec::new();
        for piece in body.chunks(size.max(1)) {
            rewriter.push(piece, &mut out);
        }
        rewriter.finish(&mut out);
        out
    };
    assert_eq!(run(usize::from(chunk)), run(body.len()));
});
