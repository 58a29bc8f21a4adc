//! An InRelease and a Packages index with any body: the digests they declare, the lookup of a
//! pool file and `Valid-Until` never panic, and every declared digest is for an object of the
//! same remote.
#![no_main]

use larder_adapter::{ClientRequest, Route, Section, Verify};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fn fetch(apt: &dyn larder_adapter::Ecosystem, path: &str) -> larder_adapter::Object {
    let headers = http::HeaderMap::new();
    let request = ClientRequest {
        method: &http::Method::GET,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    };
    match apt.route(&request) {
        Route::Fetch(object) => object,
        other => panic!("{path} is fetched: {other:?}"),
    }
}

fuzz_target!(|body: &[u8]| {
    let section = Section {
        upstream: url::Url::parse("http://deb.debian.org/").unwrap(),
        metadata_ttl: Duration::from_secs(30),
        negative_ttl: Duration::from_secs(30),
        extra: serde_json::Map::new(),
    };
    let apt = (larder_apt::factory().build)(&section).unwrap();
    let in_release = fetch(&*apt, "/deb.debian.org/debian/dists/bookworm/InRelease");
    let packages = fetch(
        &*apt,
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.gz",
    );
    let pool = fetch(
        &*apt,
        "/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
    );
    for index in [&in_release, &packages] {
        for (key, _digest) in apt.declared_digests(index, body) {
            assert!(key.starts_with("deb.debian.org/"), "{key}");
        }
        let _ = apt.valid_until(index, body);
    }
    let _ = apt.find_digest(&in_release, body, &packages);
    if let Verify::Listed(index) = &pool.verify {
        let _ = apt.find_digest(index, body, &pool);
    }
});
