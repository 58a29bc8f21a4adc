#![no_main]

#[path = "common.rs"]
mod common;

use http::{HeaderMap, Method};
use larder_adapter::{ClientRequest, Route};
use libfuzzer_sys::fuzz_target;

// First byte: the chunk size; the rest: the page body.
fuzz_target!(|data: &[u8]| {
    let Some((&chunk, body)) = data.split_first() else { return };
    let adapter = common::adapter();
    let headers = HeaderMap::new();
    let request = ClientRequest {
        method: &Method::GET,
        proxy_host: None,
        path: "/simple/demo/",
        query: None,
        headers: &headers,
    };
    let Route::Fetch(page) = adapter.route(&request) else { panic!("pages are fetched") };
    let run = |size: usize| {
        let mut rewriter = adapter.rewriter(&page, "http://127.0.0.1:7878/pypi").expect("pages are rewritten");
        let mut out = Vec::new();
        for piece in body.chunks(size.max(1)) {
            rewriter.push(piece, &mut out);
        }
        rewriter.finish(&mut out);
        out
    };
    assert_eq!(run(usize::from(chunk)), run(body.len()));
});
