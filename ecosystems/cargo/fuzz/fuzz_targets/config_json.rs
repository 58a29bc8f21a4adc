//! Rewriting any config.json body never panics, and a rewrite is always valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Some(out) = larder_cargo::rewrite_config(bytes, "http://127.0.0.1:7878/cargo/crates-io") {
        serde_json::from_slice::<serde_json::Value>(&out).expect("the rewrite is JSON");
    }
});
