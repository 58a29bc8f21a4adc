//! Reading any `mvn dependency:list` output: never a panic; every path it yields is one larder
//! routes to a fetch.
#![no_main]

#[path = "common.rs"]
mod common;

use larder_adapter::Route;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let adapter = common::adapter();
    for path in larder_maven::coordinates::paths(text, "central") {
        let route = common::route(&*adapter, &format!("/{path}"));
        assert!(matches!(route, Route::Fetch(_)), "{path:?}: {route:?}");
    }
});
