//! The npm adapter through its public interface, as the engine drives it: routes for what real
//! clients send, and snapshot tests of packument rewrites (input file beside expected output;
//! regenerate the expected files with `UPDATE_SNAPSHOTS=1 cargo test -p larder-npm`).

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use larder_adapter::{
    Algorithm, ClientRequest, Digest, Ecosystem, Freshness, Listing, Object, Route, Section, Verify,
};
use std::path::Path;
use std::time::Duration;
use url::Url;

const CORGI_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const INTEGRITY: &str =
    "sha512-Y47WIeC6OYpyx9UzLOY0kJhHECx461DAgkI6sY4yNW5SSJegNBNWnuq/g28Fg71+NHvd21ZQj5euuderRPourg==";

fn section(upstream: &str) -> Section {
    Section {
        upstream: Url::parse(upstream).unwrap(),
        metadata_ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
        extra: Default::default(),
    }
}

fn adapter() -> Box<dyn Ecosystem> {
    (larder_npm::factory().build)(&section("https://registry.npmjs.org/")).unwrap()
}

fn route_with(
    adapter: &dyn Ecosystem,
    method: Method,
    path: &str,
    headers: &[(&'static str, &str)],
) -> Route {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    let request = ClientRequest {
        method: &method,
        proxy_host: None,
        path,
        query: None,
        headers: &map,
    };
    adapter.route(&request)
}

fn fetch(path: &str, headers: &[(&'static str, &str)]) -> Object {
    match route_with(&*adapter(), Method::GET, path, headers) {
        Route::Fetch(object) => object,
        other => panic!("{path}: expected a fetch, got {other:?}"),
    }
}

fn reply_status(method: Method, path: &str) -> StatusCode {
    match route_with(&*adapter(), method, path, &[]) {
        Route::Reply(reply) => reply.status,
        other => panic!("{path}: expected a reply, got {other:?}"),
    }
}

fn header<'o>(pairs: &'o [(http::HeaderName, HeaderValue)], name: &str) -> Option<&'o str> {
    pairs
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

#[test]
fn factory_defaults() {
    let factory = larder_npm::factory();
    assert_eq!(factory.name, "npm");
    assert_eq!(factory.default_upstream, "https://registry.npmjs.org/");
    assert_eq!(factory.default_metadata_ttl, Duration::from_secs(300));
    assert_eq!(factory.default_negative_ttl, Duration::from_secs(60));
    assert!(factory.extra_keys.is_empty());
    assert!((factory.build)(&section("ftp://example.org/")).is_err());
    assert!((factory.build)(&section("https://example.org/?x=1")).is_err());
}

#[test]
fn packuments_negotiate_and_key_by_variant() {
    let full = fetch("/@types%2fnode", &[("accept", "application/json")]);
    assert_eq!(full.key, "packument/full/@types/node");
    assert_eq!(
        full.upstream.as_str(),
        "https://registry.npmjs.org/@types%2fnode"
    );
    assert_eq!(full.content_type, Some("application/json"));
    assert_eq!(
        header(&full.upstream_headers, "accept"),
        Some("application/json")
    );
    assert_eq!(header(&full.response_headers, "vary"), Some("Accept"));
    assert!(matches!(full.freshness, Freshness::Mutable { .. }));
    assert!(matches!(full.verify, Verify::None));

    for path in ["/@types%2Fnode", "/@types/node", "/@types%2fnode"] {
        let corgi = fetch(path, &[("accept", CORGI_ACCEPT)]);
        assert_eq!(corgi.key, "packument/abbrev/@types/node", "{path}");
        assert_eq!(
            corgi.upstream.as_str(),
            "https://registry.npmjs.org/@types%2fnode"
        );
        assert_eq!(
            corgi.content_type,
            Some("application/vnd.npm.install-v1+json")
        );
        assert_eq!(
            header(&corgi.upstream_headers, "accept"),
            Some(CORGI_ACCEPT)
        );
    }
    assert_eq!(fetch("/react", &[]).key, "packument/full/react");
}

#[test]
fn tarballs_are_immutable_and_keyed_by_name_and_file() {
    for path in [
        "/@types/node/-/node-20.1.0.tgz",
        "/@types%2fnode/-/node-20.1.0.tgz",
        "/@types%2Fnode/-/node-20.1.0.tgz",
    ] {
        let object = fetch(path, &[]);
        assert_eq!(object.key, "tarball/@types/node/node-20.1.0.tgz");
        let release = adapter().release(&object).expect("a tarball is a release");
        assert_eq!(release.purl, "pkg:npm/%40types/node@20.1.0");
        assert_eq!(
            object.upstream.as_str(),
            "https://registry.npmjs.org/@types/node/-/node-20.1.0.tgz"
        );
        assert_eq!(object.freshness, Freshness::Immutable);
        assert_eq!(object.content_type, Some("application/octet-stream"));
        let Verify::Listed(index) = &object.verify else {
            panic!("{:?}", object.verify)
        };
        assert_eq!(
            index.key, "packument/abbrev/@types/node",
            "verified against the corgi packument"
        );
    }
}

#[test]
fn tarballs_use_the_lockfile_integrity_npm_sends() {
    let object = fetch("/a/-/a-1.0.0.tgz", &[("pacote-integrity", INTEGRITY)]);
    let Verify::Digest(digest) = &object.verify else {
        panic!("{:?}", object.verify)
    };
    assert_eq!(digest, &Digest::from_sri(INTEGRITY).unwrap());
    // An unparseable header falls back to the packument's digest rather than skipping checks.
    let object = fetch(
        "/a/-/a-1.0.0.tgz",
        &[("pacote-integrity", "sha512-garbage")],
    );
    assert!(matches!(object.verify, Verify::Listed(_)));
}

#[test]
fn find_digest_on_a_captured_packument() {
    let npm = adapter();
    let tarball = fetch("/@babel/core/-/core-7.24.0.tgz", &[]);
    let Verify::Listed(index) = &tarball.verify else {
        panic!()
    };
    let body = std::fs::read(data("abbreviated-scoped.json")).unwrap();
    let Listing::Found(digest) = npm.find_digest(index, &body, &tarball) else {
        panic!()
    };
    assert_eq!(
        digest.to_sri(),
        "sha512-fQfkg0Gjkza3nf0c7/w6Xf34BW4YvzNfACRLmmb7XRLa6XHdR+K9AlJlxneFfWYf6uhOzuzZVTjF/8KfndZANw=="
    );
    let old = fetch("/@babel/core/-/core-7.0.0-beta.4.tgz", &[]);
    let Listing::Found(digest) = npm.find_digest(index, &body, &old) else {
        panic!()
    };
    assert_eq!(digest.algorithm, Algorithm::Sha1);
    let missing = fetch("/@babel/core/-/core-8.0.0.tgz", &[]);
    assert_eq!(npm.find_digest(index, &body, &missing), Listing::Absent);
    assert_eq!(
        npm.find_digest(index, b"<html>", &tarball),
        Listing::Unverifiable
    );
}

#[test]
fn local_answers_and_refusals() {
    let Route::Reply(ping) = route_with(&*adapter(), Method::GET, "/-/ping", &[]) else {
        panic!()
    };
    assert_eq!(
        (ping.status, &ping.body[..], ping.content_type),
        (StatusCode::OK, &b"{}"[..], "application/json")
    );

    for method in [Method::PUT, Method::DELETE, Method::POST] {
        assert_eq!(
            reply_status(method.clone(), "/a"),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(
            reply_status(method, "/a/-/a-1.0.0.tgz"),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
    assert_eq!(
        reply_status(Method::PUT, "/-/package/a/dist-tags"),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        reply_status(Method::GET, "/-/npm/v1/security/advisories/bulk"),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        reply_status(Method::GET, "/-/whoami"),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reply_status(Method::GET, "/-/anything/else"),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        reply_status(Method::GET, "/%2e%2e%2fetc"),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        reply_status(Method::GET, &format!("/{}", "x".repeat(300))),
        StatusCode::BAD_REQUEST
    );
    let Route::Reply(reply) = route_with(&*adapter(), Method::PUT, "/a", &[]) else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&reply.body).contains("read-only mirror"));
}

#[test]
fn head_is_served_like_get() {
    let npm = adapter();
    for path in ["/a", "/@s/a", "/a/-/a-1.0.0.tgz", "/-/package/a/dist-tags"] {
        assert!(
            matches!(route_with(&*npm, Method::HEAD, path, &[]), Route::Fetch(_)),
            "{path}"
        );
    }
    assert!(matches!(
        route_with(&*npm, Method::HEAD, "/-/ping", &[]),
        Route::Reply(_)
    ));
}

#[test]
fn audit_is_forwarded_with_a_quick_fallback() {
    for rest in ["advisories/bulk", "audits/quick"] {
        let path = format!("/-/npm/v1/security/{rest}");
        let Route::Forward(forward) = route_with(&*adapter(), Method::POST, &path, &[]) else {
            panic!()
        };
        assert_eq!(
            forward.upstream.as_str(),
            format!("https://registry.npmjs.org{path}")
        );
        assert!(forward.timeout <= Duration::from_secs(10));
        let fallback = forward
            .fallback
            .expect("a fallback so npm ci never fails on audit");
        assert_eq!(
            (fallback.status, &fallback.body[..]),
            (StatusCode::OK, &b"{}"[..])
        );
    }
}

#[test]
fn dist_tags_keys_and_manifests_are_metadata() {
    let tags = fetch("/-/package/@s%2fa/dist-tags", &[]);
    assert_eq!(tags.key, "dist-tags/@s/a");
    assert_eq!(
        tags.upstream.as_str(),
        "https://registry.npmjs.org/-/package/@s%2fa/dist-tags"
    );
    assert!(tags.is_metadata());
    let keys = fetch("/-/npm/v1/keys", &[]);
    assert_eq!(
        keys.upstream.as_str(),
        "https://registry.npmjs.org/-/npm/v1/keys"
    );
    assert!(keys.is_metadata());
    let manifest = fetch("/@s%2fa/1.0.0", &[]);
    assert_eq!(manifest.key, "manifest/@s/a/1.0.0");
    assert_eq!(
        manifest.upstream.as_str(),
        "https://registry.npmjs.org/@s%2fa/1.0.0"
    );
    let npm = adapter();
    assert!(npm.rewriter(&manifest, "http://me/npm").is_some());
    assert!(npm.rewriter(&tags, "http://me/npm").is_none());
    assert!(
        npm.rewriter(&fetch("/a/-/a-1.tgz", &[]), "http://me/npm")
            .is_none(),
        "tarball bytes never change"
    );
}

#[test]
fn upstream_with_a_path_keeps_it() {
    let npm = (larder_npm::factory().build)(&section("http://127.0.0.1:4873/private")).unwrap();
    assert_eq!(
        npm.upstreams()[0].as_str(),
        "http://127.0.0.1:4873/private/"
    );
    let Route::Fetch(object) = route_with(&*npm, Method::GET, "/@s/a/-/a-1.0.0.tgz", &[]) else {
        panic!()
    };
    assert_eq!(
        object.upstream.as_str(),
        "http://127.0.0.1:4873/private/@s/a/-/a-1.0.0.tgz"
    );
}

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Each `tests/data/rewrite/<case>.json` rewritten for `http://127.0.0.1:7878/npm` must equal
/// `<case>.expected.json`, whole and fed in 1-, 7- and 4096-byte chunks.
#[test]
fn rewrite_snapshots() {
    let npm = adapter();
    let packument = fetch("/left-pad", &[]);
    let dir = data("rewrite");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let input_path = entry.unwrap().path();
        let file_name = input_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if !file_name.ends_with(".json") || file_name.ends_with(".expected.json") {
            continue;
        }
        cases += 1;
        let input = std::fs::read(&input_path).unwrap();
        let expected_path = input_path.with_extension("expected.json");
        let mut outputs = Vec::new();
        for chunk in [input.len().max(1), 1, 7, 4096] {
            let mut rewriter = npm
                .rewriter(&packument, "http://127.0.0.1:7878/npm")
                .unwrap();
            let mut out = Vec::new();
            for piece in input.chunks(chunk) {
                rewriter.push(piece, &mut out);
            }
            rewriter.finish(&mut out);
            outputs.push(out);
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "{file_name}: chunking changed the output"
        );
        let output = &outputs[0];
        serde_json::from_slice::<serde_json::Value>(output)
            .expect("rewritten packument is still JSON");
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&expected_path, output).unwrap();
        }
        let expected = std::fs::read(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} missing: run with UPDATE_SNAPSHOTS=1",
                expected_path.display()
            )
        });
        assert!(
            output == &expected,
            "{file_name}: rewrite differs from {}; inspect, then UPDATE_SNAPSHOTS=1 if intended",
            expected_path.display()
        );
    }
    assert!(cases >= 2, "snapshot cases missing from {}", dir.display());
}
