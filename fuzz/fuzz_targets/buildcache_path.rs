//! A path under `/cache/`: refused with a message, or a target whose store key stays inside
//! its namespace and tool (no `..`, no empty segment that could climb out).
#![no_main]

use larder::buildcache::paths::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|rest: &str| {
    if let Ok(target) = parse(rest) {
        let key = target.store_key();
        assert!(key.starts_with("cache/"), "{key}");
        assert!(
            !key.split('/').any(|s| s == ".." || s == "."),
            "{rest:?} → {key}"
        );
        if let Some(sha) = target.expected_sha256() {
            assert!(
                sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{sha}"
            );
        }
    }
});
