//! Finding a version's cksum in any index body never panics.
#![no_main]

use larder_adapter::{Freshness, Object};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|bytes: &[u8]| {
    let section = larder_adapter::Section {
        upstream: url::Url::parse("https://index.crates.io/").unwrap(),
        metadata_ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(60),
        extra: Default::default(),
    };
    let cargo = (larder_cargo::factory().build)(&section).unwrap();
    let url = url::Url::parse("https://index.crates.io/se/rd/serde").unwrap();
    let index = Object::new("crates-io/index/serde", url.clone(), Freshness::Immutable);
    let artifact = Object::new("crates-io/crate/serde/1.0.0", url, Freshness::Immutable);
    let _ = cargo.find_digest(&index, bytes, &artifact);
});
