//! Canonical-version classification over any string: never a panic, and nothing without the
//! `v` prefix or with build metadata other than `+incompatible` is ever called canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(version) = std::str::from_utf8(data) else {
        return;
    };
    if larder_go::is_canonical(version) {
        assert!(version.starts_with('v'), "{version:?}");
        if let Some((_, build)) = version.split_once('+') {
            assert_eq!(build, "incompatible", "{version:?}");
        }
    }
});
