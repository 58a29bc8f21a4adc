//! Packument parsing for digests never panics, whatever the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = larder_npm::listing::find(body, "a-1.0.0.tgz");
});
