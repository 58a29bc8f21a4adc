//! The request heads read off a client connection (src/http/pipelined.rs): any bytes, split
//! anywhere, never panic; the heads found are numbered in order from 0; and the same bytes
//! split differently give the same heads, as long as no split makes a head pass the limit.
#![no_main]

use larder::http::pipelined::Heads;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|input: (u8, &[u8])| {
    let (step, bytes) = input;
    let step = usize::from(step).max(1);
    let mut whole = Heads::default();
    let at_once = whole.feed(bytes, LIMIT);
    let mut pieces = Heads::default();
    let mut split = Vec::new();
    for piece in bytes.chunks(step) {
        split.extend(pieces.feed(piece, LIMIT));
    }
    for (i, head) in at_once.iter().enumerate() {
        assert_eq!(head.index, i as u64);
    }
    if bytes.len() <= LIMIT {
        assert_eq!(at_once, split);
    }
});
