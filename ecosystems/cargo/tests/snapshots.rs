//! Snapshot tests on real documents in `tests/data/`: index files served by a crates.io mirror
//! (`serde_core`, `serde_repr`: the cksum larder finds for every version they list) and
//! `config.json`s (`*.config.json`: rewritten for larder). Each input has `<file>.expected`;
//! regenerate with `UPDATE_SNAPSHOTS=1 cargo test -p larder-cargo --test snapshots` and review
//! the diff.

use http::{HeaderMap, Method};
use larder_adapter::{ClientRequest, Ecosystem, Listing, Object, Route, Section};
use std::path::{Path, PathBuf};
use url::Url;

const PUBLIC_BASE: &str = "http://127.0.0.1:7878/cargo";

fn adapter() -> Box<dyn Ecosystem> {
    let factory = larder_cargo::factory();
    let section = Section {
        upstream: Url::parse(factory.default_upstream).unwrap(),
        metadata_ttl: factory.default_metadata_ttl,
        negative_ttl: factory.default_negative_ttl,
        extra: Default::default(),
    };
    (factory.build)(&section).unwrap()
}

fn fetch(adapter: &dyn Ecosystem, path: &str) -> Object {
    let headers = HeaderMap::new();
    let request = ClientRequest {
        method: &Method::GET,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    };
    match adapter.route(&request) {
        Route::Fetch(object) => object,
        other => panic!("{path}: expected a fetch, got {other:?}"),
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn check(input: &Path, actual: &str) {
    let expected_path = PathBuf::from(format!("{}.expected", input.display()));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&expected_path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with UPDATE_SNAPSHOTS=1",
            expected_path.display()
        )
    });
    assert_eq!(actual, expected, "{} changed", input.display());
}

/// The download route cargo would request from larder's `dl` for `name` `version` `cksum`.
fn larder_download(dl: &str, name: &str, version: &str, cksum: &str) -> String {
    dl.strip_prefix(PUBLIC_BASE)
        .unwrap()
        .replace("{crate}", name)
        .replace("{version}", version)
        .replace("{sha256-checksum}", cksum)
}

#[test]
fn index_files_give_every_version_its_cksum() {
    let adapter = adapter();
    for name in ["serde_core", "serde_repr"] {
        let input = data_dir().join(name);
        let body = std::fs::read(&input).unwrap();
        let index = fetch(
            &*adapter,
            &format!("/crates-io/{}", larder_cargo::index_path(name)),
        );
        let dl = larder_cargo_dl();
        let mut actual = String::new();
        for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line: serde_json::Value = serde_json::from_slice(line).unwrap();
            let version = line["vers"].as_str().unwrap();
            let cksum = line["cksum"].as_str().unwrap();
            let artifact = fetch(&*adapter, &larder_download(&dl, name, version, cksum));
            let found = match adapter.find_digest(&index, &body, &artifact) {
                Listing::Found(digest) => digest.to_hex(),
                other => format!("{other:?}"),
            };
            actual.push_str(&format!(
                "{version} {found} yanked={} <- {}\n",
                line["yanked"], artifact.upstream
            ));
        }
        check(&input, &actual);
    }
}

/// larder's `dl` for crates.io's real `config.json`.
fn larder_cargo_dl() -> String {
    let body = std::fs::read(data_dir().join("crates-io.config.json")).unwrap();
    let rewritten = larder_cargo::rewrite_config(&body, &format!("{PUBLIC_BASE}/crates-io"))
        .expect("crates.io's config.json is rewritten");
    let config: serde_json::Value = serde_json::from_slice(&rewritten).unwrap();
    config["dl"].as_str().unwrap().to_string()
}

#[test]
fn config_json_documents_are_rewritten_for_larder() {
    let adapter = adapter();
    let object = fetch(&*adapter, "/crates-io/config.json");
    for name in ["crates-io.config.json", "private.config.json"] {
        let input = data_dir().join(name);
        let body = std::fs::read(&input).unwrap();
        let mut rewriter = adapter.rewriter(&object, PUBLIC_BASE).unwrap();
        let mut out = Vec::new();
        for chunk in body.chunks(5) {
            rewriter.push(chunk, &mut out);
        }
        rewriter.finish(&mut out);
        let mut actual = String::from_utf8(out).unwrap();
        actual.push('\n');
        check(&input, &actual);
    }
}
