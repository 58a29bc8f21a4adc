//! Routing any request path: never a panic; every fetch stays below its remote's base URL,
//! without a query, fragment or dot segment; an artifact is verified by a sidecar beside it.
#![no_main]

#[path = "common.rs"]
mod common;

use larder_adapter::{Route, Verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let adapter = common::adapter();
    if let Route::Fetch(object) = common::route(&*adapter, path) {
        let url = &object.upstream;
        let base = if object.key.starts_with("central/") {
            "https://repo.example.org/maven2/"
        } else {
            assert!(object.key.starts_with("google/"), "{path:?}: {}", object.key);
            "https://maven.example.com/base/"
        };
        assert!(url.as_str().starts_with(base), "{path:?} → {url}");
        assert!(url.query().is_none() && url.fragment().is_none(), "{path:?} → {url}");
        assert!(!url.path().contains("/../") && !url.path().contains("//"), "{path:?} → {url}");
        if let Verify::Listed(sidecar) = &object.verify {
            assert_eq!(sidecar.key, format!("{}.sha1", object.key), "{path:?}");
        }
        let _ = adapter.published_with(&object);
    }
});
