//! Snapshot tests on captured-style simple pages in `tests/data/`: each page `<project>.<ext>` is
//! rewritten and compared with `<project>.<ext>.expected`. Regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p larder-pypi --test snapshots` and review the diff.

use http::{HeaderMap, HeaderValue, Method};
use larder_adapter::{
    Algorithm, ClientRequest, Digest, Ecosystem, Listing, Object, Route, Section,
};
use std::path::{Path, PathBuf};
use url::Url;

const PUBLIC_BASE: &str = "http://127.0.0.1:7878/pypi";

fn adapter() -> Box<dyn Ecosystem> {
    let factory = larder_pypi::factory();
    let section = Section {
        upstream: Url::parse(factory.default_upstream).unwrap(),
        metadata_ttl: factory.default_metadata_ttl,
        negative_ttl: factory.default_negative_ttl,
        extra: Default::default(),
    };
    (factory.build)(&section).unwrap()
}

fn fetch(adapter: &dyn Ecosystem, path: &str, accept: &str) -> Object {
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_str(accept).unwrap());
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

/// Every input page: (project, path).
fn pages() -> Vec<(String, PathBuf)> {
    let mut pages: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("html" | "json")
            )
        })
        .map(|path| (path.file_stem().unwrap().to_str().unwrap().to_owned(), path))
        .collect();
    pages.sort();
    assert!(
        pages.len() >= 4,
        "fixtures missing from {}",
        data_dir().display()
    );
    pages
}

fn rewrite_page(adapter: &dyn Ecosystem, project: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let page = fetch(adapter, &format!("/simple/{project}/"), "text/html");
    let mut rewriter = adapter
        .rewriter(&page, PUBLIC_BASE)
        .expect("pages are rewritten");
    let mut out = Vec::new();
    for piece in body.chunks(chunk.max(1)) {
        rewriter.push(piece, &mut out);
    }
    rewriter.finish(&mut out);
    out
}

#[test]
fn rewrites_match_snapshots() {
    let adapter = adapter();
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    for (project, path) in pages() {
        let input = std::fs::read(&path).unwrap();
        let output = rewrite_page(adapter.as_ref(), &project, &input, input.len());
        let expected_path = PathBuf::from(format!("{}.expected", path.display()));
        if update {
            std::fs::write(&expected_path, &output).unwrap();
        }
        let expected = std::fs::read(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} missing: run with UPDATE_SNAPSHOTS=1",
                expected_path.display()
            )
        });
        assert!(
            output == expected,
            "{} differs from its snapshot:\n{}",
            path.display(),
            String::from_utf8_lossy(&output)
        );
        for chunk in [1, 7, 64, 1000] {
            assert!(
                rewrite_page(adapter.as_ref(), &project, &input, chunk) == output,
                "{project}: chunk {chunk}"
            );
        }
        let text = String::from_utf8(output).unwrap();
        assert!(
            !text.contains("files.pythonhosted.org"),
            "{project}: the files host leaked to the client"
        );
    }
}

/// Only URL prefixes change: the JSON keeps exactly its keys (never gaining `dist-info-metadata`,
/// which crashes pip ≥ 22.3), and every value except `url` is unchanged.
#[test]
fn json_pages_keep_their_structure() {
    let adapter = adapter();
    for (project, path) in pages()
        .into_iter()
        .filter(|(_, p)| p.extension().unwrap() == "json")
    {
        let input = std::fs::read(&path).unwrap();
        let before: serde_json::Value = serde_json::from_slice(&input).unwrap();
        let after: serde_json::Value =
            serde_json::from_slice(&rewrite_page(adapter.as_ref(), &project, &input, 64)).unwrap();
        let (files_before, files_after) = (
            before["files"].as_array().unwrap(),
            after["files"].as_array().unwrap(),
        );
        assert_eq!(files_before.len(), files_after.len());
        for (b, a) in files_before.iter().zip(files_after) {
            let (b, a) = (b.as_object().unwrap(), a.as_object().unwrap());
            assert_eq!(
                b.keys().collect::<Vec<_>>(),
                a.keys().collect::<Vec<_>>(),
                "{project}"
            );
            assert!(!a.contains_key("dist-info-metadata"), "{project}");
            for (key, value) in b {
                if key == "url" {
                    let url = a[key].as_str().unwrap();
                    assert!(
                        url.starts_with(&format!("{PUBLIC_BASE}/files/{project}/packages/")),
                        "{url}"
                    );
                } else {
                    assert_eq!(&a[key], value, "{project}: {key}");
                }
            }
        }
        let (mut b, mut a) = (before.clone(), after.clone());
        b["files"] = serde_json::Value::Null;
        a["files"] = serde_json::Value::Null;
        assert_eq!(a, b, "{project}: only file URLs may change");
    }
}

/// Each rewritten link, requested from larder, is verified with the digest its page declares, in
/// both page forms: the link's fragment / `hashes.sha256`, and `core-metadata` for `.metadata`.
#[test]
fn every_rewritten_link_routes_to_a_verified_file() {
    let adapter = adapter();
    for (project, path) in pages() {
        let input = std::fs::read(&path).unwrap();
        let output =
            String::from_utf8(rewrite_page(adapter.as_ref(), &project, &input, 4096)).unwrap();
        let mut checked = 0;
        for link in output.split(PUBLIC_BASE).skip(1) {
            let end = link.find(['"', '\'']).unwrap();
            let (link, fragment) = link[..end]
                .split_once("#sha256=")
                .unwrap_or((&link[..end], ""));
            let file = fetch(adapter.as_ref(), link, "*/*");
            let larder_adapter::Verify::Listed(index) = &file.verify else {
                panic!("{link} is not verified")
            };
            assert_eq!(index.key, format!("simple/{project}/json"));
            let listing = adapter.find_digest(index, &input, &file);
            if fragment.is_empty() {
                // JSON: the digest sits in `hashes`, after the URL.
                assert!(matches!(listing, Listing::Found(_)), "{link}: {listing:?}");
            } else {
                assert_eq!(
                    listing,
                    Listing::Found(Digest::from_hex(Algorithm::Sha256, fragment).unwrap()),
                    "{link}"
                );
            }
            checked += 1;
        }
        assert!(checked >= 2, "{project}: only {checked} links");
    }
}

#[test]
fn core_metadata_digests_from_both_page_forms_agree() {
    let adapter = adapter();
    let html = std::fs::read(data_dir().join("demo-pkg.html")).unwrap();
    let json = std::fs::read(data_dir().join("demo-pkg.json")).unwrap();
    let page: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for file in page["files"].as_array().unwrap() {
        let url = file["url"]
            .as_str()
            .unwrap()
            .replace("https://files.pythonhosted.org/", "/files/demo-pkg/");
        for suffix in ["", ".metadata"] {
            let object = fetch(adapter.as_ref(), &format!("{url}{suffix}"), "*/*");
            let larder_adapter::Verify::Listed(index) = &object.verify else {
                panic!()
            };
            let from_html = adapter.find_digest(index, &html, &object);
            let from_json = adapter.find_digest(index, &json, &object);
            assert_eq!(from_html, from_json, "{url}{suffix}");
            let want = match (suffix, &file["core-metadata"]) {
                ("", _) => Listing::Found(
                    Digest::from_hex(
                        Algorithm::Sha256,
                        file["hashes"]["sha256"].as_str().unwrap(),
                    )
                    .unwrap(),
                ),
                (_, serde_json::Value::Object(m)) => Listing::Found(
                    Digest::from_hex(Algorithm::Sha256, m["sha256"].as_str().unwrap()).unwrap(),
                ),
                _ => Listing::Unverifiable,
            };
            assert_eq!(from_json, want, "{url}{suffix}");
        }
    }
}
