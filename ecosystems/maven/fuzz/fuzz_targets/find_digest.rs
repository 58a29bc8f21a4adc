//! Reading any sidecar body: never a panic; a digest found is a whole sha1.
#![no_main]

#[path = "common.rs"]
mod common;

use larder_adapter::{Listing, Route, Verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let adapter = common::adapter();
    let Route::Fetch(jar) = common::route(&*adapter, "/central/junit/junit/4.13.2/junit-4.13.2.jar")
    else {
        panic!("a release jar routes to a fetch");
    };
    let Verify::Listed(sidecar) = &jar.verify else {
        panic!("a release jar is verified by its sidecar");
    };
    if let Listing::Found(digest) = adapter.find_digest(sidecar, data, &jar) {
        assert_eq!(digest.bytes.len(), 20);
    }
});
