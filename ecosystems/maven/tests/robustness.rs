//! The fuzz targets' properties (`fuzz/`), checked in the default suite on every prefix and
//! single-byte corruption of real documents: parsers answer malformed input without a panic,
//! and what they accept stays inside the repository layout.

use larder_adapter::testing::sweep;
use larder_adapter::{ClientRequest, Ecosystem, Listing, Route, Section, Verify};
use std::time::Duration;
use url::Url;

fn adapter() -> Box<dyn Ecosystem> {
    let mut extra = serde_json::Map::new();
    extra.insert(
        "remotes".into(),
        serde_json::json!({"google": "https://maven.example.com/base/"}),
    );
    let section = Section {
        upstream: Url::parse("https://repo.example.org/maven2/").unwrap(),
        metadata_ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
        extra,
    };
    (larder_maven::factory().build)(&section).unwrap()
}

fn route(adapter: &dyn Ecosystem, path: &str) -> Route {
    let headers = http::HeaderMap::new();
    adapter.route(&ClientRequest {
        method: &http::Method::GET,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

#[test]
fn any_path_routes_below_its_remote() {
    let adapter = adapter();
    for sample in [
        "/central/org/apache/commons/commons-lang3/3.12.0/commons-lang3-3.12.0-sources.jar.sha1",
        "/google/org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7.jar",
        "/central/org/apache/maven/plugins/maven-metadata.xml.md5",
    ] {
        sweep(sample.as_bytes(), |bytes| {
            let Ok(path) = std::str::from_utf8(bytes) else {
                return;
            };
            let Route::Fetch(object) = route(&*adapter, path) else {
                return;
            };
            let base = match object.key.starts_with("central/") {
                true => "https://repo.example.org/maven2/",
                false => "https://maven.example.com/base/",
            };
            let url = object.upstream.as_str();
            assert!(url.starts_with(base), "{path:?} → {url}");
            assert!(
                !url.contains("/../") && !url[8..].contains("//"),
                "{path:?} → {url}"
            );
            assert!(object.upstream.query().is_none(), "{path:?} → {url}");
            if let Verify::Listed(sidecar) = &object.verify {
                assert_eq!(sidecar.key, format!("{}.sha1", object.key));
            }
            let _ = adapter.published_with(&object);
        });
    }
}

#[test]
fn any_sidecar_body_is_read_without_panic() {
    let adapter = adapter();
    let Route::Fetch(jar) = route(&*adapter, "/central/junit/junit/4.13.2/junit-4.13.2.jar") else {
        panic!("a release jar routes to a fetch");
    };
    let Verify::Listed(sidecar) = &jar.verify else {
        panic!("a release jar is verified by its sidecar");
    };
    sweep(
        b"4e031bb61df09069aeb2bffb4019e7a5034a4ee0  junit-4.13.2.jar\n",
        |body| {
            if let Listing::Found(digest) = adapter.find_digest(sidecar, body, &jar) {
                assert_eq!(digest.bytes.len(), 20);
            }
        },
    );
}

#[test]
fn any_dependency_list_yields_routable_paths() {
    let adapter = adapter();
    let listed = "[INFO] The following files have been resolved:\n\
                  [INFO]    org.x:y:test-jar:tests:2.0:test -- module y\n\
                  [INFO]    junit:junit:jar:4.13.2:test\n";
    sweep(listed.as_bytes(), |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        for path in larder_maven::coordinates::paths(text, "central") {
            let routed = route(&*adapter, &format!("/{path}"));
            assert!(matches!(routed, Route::Fetch(_)), "{path:?}: {routed:?}");
        }
    });
}
