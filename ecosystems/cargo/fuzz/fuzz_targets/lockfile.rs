//! Cargo.lock parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = larder_cargo::lockfile::cargo_lock(bytes);
});
