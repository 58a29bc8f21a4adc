//! Routing: which paths exist, what they are keyed and fetched as, and what is refused.

use super::*;
use http::{HeaderMap, Method};
use larder_adapter::{Algorithm, Digest};

const SUM: &str = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f";

fn adapter(extra: serde_json::Value) -> Cargo {
    let serde_json::Value::Object(extra) = extra else {
        panic!("extra must be a table")
    };
    Cargo::new(&Section {
        upstream: Url::parse(CRATES_IO_INDEX).unwrap(),
        metadata_ttl: Duration::from_secs(60),
        negative_ttl: Duration::from_secs(30),
        extra,
    })
    .unwrap()
}

fn route_with(adapter: &Cargo, method: &Method, path: &str) -> Route {
    let headers = HeaderMap::new();
    adapter.route(&ClientRequest {
        method,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

fn fetch(adapter: &Cargo, path: &str) -> Object {
    match route_with(adapter, &Method::GET, path) {
        Route::Fetch(object) => object,
        other => panic!("{path}: expected a fetch, got {other:?}"),
    }
}

fn reply(adapter: &Cargo, method: &Method, path: &str) -> Reply {
    match route_with(adapter, method, path) {
        Route::Reply(reply) => reply,
        other => panic!("{path}: expected a reply, got {other:?}"),
    }
}

/// The download path cargo requests for `dl` = larder's rewrite of `upstream_dl`.
fn download_path(upstream_dl: &str, name: &str, version: &str) -> String {
    dl::larder_dl("/crates-io", upstream_dl)
        .replace("{crate}", name)
        .replace("{version}", version)
        .replace("{sha256-checksum}", SUM)
}

#[test]
fn config_json_is_metadata_rewritten_for_larder() {
    let cargo = adapter(serde_json::json!({}));
    let object = fetch(&cargo, "/crates-io/config.json");
    assert_eq!(object.key, "crates-io/config.json");
    assert_eq!(
        object.upstream.as_str(),
        "https://index.crates.io/config.json"
    );
    assert!(object.is_metadata());
    let mut rewriter = cargo
        .rewriter(&object, "http://127.0.0.1:7878/cargo")
        .expect("config.json is rewritten");
    let mut out = Vec::new();
    rewriter.push(
        br#"{"dl":"https://static.crates.io/crates","api":"https://crates.io"}"#,
        &mut out,
    );
    rewriter.finish(&mut out);
    let config: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let dl = config["dl"].as_str().unwrap();
    assert!(
        dl.starts_with("http://127.0.0.1:7878/cargo/crates-io/dl/"),
        "{dl}"
    );
    assert_eq!(config["api"], "https://crates.io");
}

#[test]
fn index_files_at_every_depth() {
    let cargo = adapter(serde_json::json!({}));
    for (path, key, upstream) in [
        (
            "/crates-io/1/a",
            "crates-io/index/a",
            "https://index.crates.io/1/a",
        ),
        (
            "/crates-io/2/ab",
            "crates-io/index/ab",
            "https://index.crates.io/2/ab",
        ),
        (
            "/crates-io/3/a/abc",
            "crates-io/index/abc",
            "https://index.crates.io/3/a/abc",
        ),
        (
            "/crates-io/se/rd/serde",
            "crates-io/index/serde",
            "https://index.crates.io/se/rd/serde",
        ),
    ] {
        let object = fetch(&cargo, path);
        assert_eq!(object.key, key);
        assert_eq!(object.upstream.as_str(), upstream);
        assert!(
            object.is_metadata(),
            "{path}: index files change (yanks, new versions)"
        );
        assert!(
            cargo.rewriter(&object, "http://l/cargo").is_none(),
            "served verbatim"
        );
    }
}

#[test]
fn downloads_are_immutable_and_verified_by_the_index_line() {
    let cargo = adapter(serde_json::json!({}));
    let object = fetch(
        &cargo,
        &download_path("https://static.crates.io/crates", "Inflector", "0.11.4"),
    );
    assert_eq!(object.key, "crates-io/crate/inflector/0.11.4");
    assert_eq!(
        object.upstream.as_str(),
        "https://static.crates.io/crates/Inflector/0.11.4/download"
    );
    assert_eq!(object.freshness, Freshness::Immutable);
    let Verify::Listed(index) = &object.verify else {
        panic!("expected a listed digest, got {:?}", object.verify)
    };
    let index_route = fetch(&cargo, "/crates-io/in/fl/inflector");
    assert_eq!(
        index.key, index_route.key,
        "the same cached index cargo reads"
    );
    assert_eq!(index.upstream, index_route.upstream);

    let body = format!(
        "{{\"name\":\"Inflector\",\"vers\":\"0.11.3\",\"cksum\":\"{}\"}}\n{{\"name\":\"Inflector\",\"vers\":\"0.11.4\",\"cksum\":\"{SUM}\"}}\n",
        "00".repeat(32)
    );
    assert_eq!(
        cargo.find_digest(index, body.as_bytes(), &object),
        Listing::Found(Digest::from_hex(Algorithm::Sha256, SUM).unwrap())
    );
}

#[test]
fn downloads_outside_the_registry_download_bases_are_refused() {
    let cargo = adapter(serde_json::json!({}));
    let refused = reply(
        &cargo,
        &Method::GET,
        &download_path("https://evil.example/crates", "serde", "1.0.0"),
    );
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let text = String::from_utf8_lossy(&refused.body);
    assert!(
        text.contains("static.crates.io") && text.contains("[cargo.registries]"),
        "{text}"
    );
}

#[test]
fn private_registries_are_named_segments() {
    let cargo = adapter(serde_json::json!({"registries": {
        "corp": "http://127.0.0.1:9/index/"
    }}));
    let object = fetch(&cargo, "/corp/se/rd/serde");
    assert_eq!(object.key, "corp/index/serde");
    assert_eq!(
        object.upstream.as_str(),
        "http://127.0.0.1:9/index/se/rd/serde"
    );
    let crate_file = fetch(
        &cargo,
        &download_path(
            "http://127.0.0.1:9/files/{crate}-{version}.crate",
            "serde",
            "1.0.0",
        )
        .replacen("/crates-io/", "/corp/", 1),
    );
    assert_eq!(
        crate_file.upstream.as_str(),
        "http://127.0.0.1:9/files/serde-1.0.0.crate"
    );
    assert!(cargo
        .upstreams()
        .iter()
        .any(|u| u.as_str() == "http://127.0.0.1:9/"));

    let unknown = reply(&cargo, &Method::GET, "/other/se/rd/serde");
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let text = String::from_utf8_lossy(&unknown.body);
    assert!(
        text.contains("corp, crates-io") && text.contains("[cargo.registries]"),
        "{text}"
    );
}

#[test]
fn publishing_is_refused_with_a_message_cargo_shows() {
    let cargo = adapter(serde_json::json!({}));
    for (method, path) in [
        (Method::PUT, "/crates-io/api/v1/crates/new"),
        (Method::DELETE, "/crates-io/api/v1/crates/x/1.0.0/yank"),
        (Method::GET, "/crates-io/api/v1/crates?q=serde"),
    ] {
        let refused = reply(&cargo, &method, path);
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(refused.content_type, "application/json");
        let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
        let detail = body["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains("read-only mirror"), "{detail}");
    }
    let put = reply(&cargo, &Method::PUT, "/crates-io/se/rd/serde");
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn malformed_paths_never_reach_upstream() {
    let cargo = adapter(serde_json::json!({}));
    for path in [
        "/",
        "/crates-io",
        "/crates-io/",
        "/crates-io/se/rx/serde",
        "/crates-io/SE/RD/serde",
        "/crates-io/se/rd/se%2Frde",
        "/crates-io/dl/x/serde/1.0.0",
        "/crates-io/dl/%ff/serde/1.0.0/abc",
        "/crates-io/%ff",
    ] {
        match route_with(&cargo, &Method::GET, path) {
            Route::Reply(reply) => {
                assert!(reply.status.is_client_error(), "{path}: {}", reply.status)
            }
            other => panic!("{path}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn robustness_sweep_over_paths() {
    let cargo = adapter(serde_json::json!({}));
    let sample = download_path(
        "https://static.crates.io/crates",
        "serde_json",
        "1.0.0-rc.1+b",
    );
    larder_adapter::testing::sweep(sample.as_bytes(), |bytes| {
        if let Ok(path) = std::str::from_utf8(bytes) {
            let _ = route_with(&cargo, &Method::GET, path);
        }
    });
    larder_adapter::testing::sweep(br#"{"vers":"1.0.0","cksum":"ab"}"#, |bytes| {
        let _ = index::find_cksum(bytes, "1.0.0");
    });
    larder_adapter::testing::sweep(
        br#"{"dl":"https://static.crates.io/crates","api":"https://crates.io"}"#,
        |bytes| {
            let _ = config_json::rewrite(bytes, "http://l/cargo/crates-io");
        },
    );
}
