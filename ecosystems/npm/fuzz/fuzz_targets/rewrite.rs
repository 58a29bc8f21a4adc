//! The tarball-link rewrite gives the same bytes however the body is chunked.
#![no_main]

use larder_adapter::Rewriter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &[u8])| {
    let (chunk, body) = input;
    let upstream = url::Url::parse("https://registry.npmjs.org/").unwrap();
    let whole = larder_npm::rewrite::tarball_links(&upstream, "http://127.0.0.1:7878/npm").rewrite_all(body);
    let mut rewriter = larder_npm::rewrite::tarball_links(&upstream, "http://127.0.0.1:7878/npm");
    let mut out = Vec::new();
    for piece in body.chunks(usize::from(chunk).max(1)) {
        rewriter.push(piece, &mut out);
    }
    rewriter.finish(&mut out);
    assert_eq!(out, whole);
});
