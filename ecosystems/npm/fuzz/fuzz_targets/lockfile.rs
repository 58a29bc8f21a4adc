//! package-lock.json and pnpm-lock.yaml parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = larder_npm::lockfile::package_lock(bytes);
    let _ = larder_npm::lockfile::pnpm_lock(bytes);
});
