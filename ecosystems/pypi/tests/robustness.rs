//! A deterministic sweep over malformed inputs in the default suite (the `fuzz/` targets go
//! further): truncated and corrupted simple pages, odd paths and Accept headers. Nothing may
//! panic, and every routed object stays under a configured upstream.

use http::{HeaderMap, HeaderValue, Method};
use larder_adapter::{ClientRequest, Ecosystem, Route, Section, Verify};
use std::path::Path;
use url::Url;

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

fn route(adapter: &dyn Ecosystem, path: &str, accept: &str) -> Route {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(accept) {
        headers.insert("accept", value);
    }
    adapter.route(&ClientRequest {
        method: &Method::GET,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

/// xorshift64: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn truncated_and_corrupted_pages_never_panic() {
    let adapter = adapter();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let Route::Fetch(file) = route(
        adapter.as_ref(),
        "/files/demo-pkg/packages/x/demo_pkg-1.0.0-py3-none-any.whl",
        "",
    ) else {
        panic!("files are fetched")
    };
    let Verify::Listed(index) = &file.verify else {
        panic!("files are verified")
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for name in [
        "demo-pkg.html",
        "demo-pkg.json",
        "private-lib.html",
        "spaced.json",
    ] {
        let page = std::fs::read(data.join(name)).unwrap();
        for end in (0..page.len()).step_by(3) {
            adapter.find_digest(index, &page[..end], &file);
        }
        let page_object = match route(adapter.as_ref(), "/simple/demo-pkg/", "text/html") {
            Route::Fetch(object) => object,
            other => panic!("{other:?}"),
        };
        for _ in 0..150 {
            let mut corrupted = page.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(corrupted.len());
                corrupted[at] = b"<>\"'=#&;{}[]:,\\/ \xff\x00a"[rng.below(20)];
            }
            adapter.find_digest(index, &corrupted, &file);
            let mut rewriter = adapter.rewriter(&page_object, "http://l/pypi").unwrap();
            let mut out = Vec::new();
            for piece in corrupted.chunks(1 + rng.below(64)) {
                rewriter.push(piece, &mut out);
            }
            rewriter.finish(&mut out);
        }
    }
}

#[test]
fn odd_paths_and_accept_headers_stay_under_the_upstreams() {
    let adapter = adapter();
    let upstreams = adapter.upstreams();
    let pieces = [
        "/",
        "simple",
        "files",
        "index",
        "demo",
        "Demo.Pkg",
        "packages",
        "..",
        ".",
        "%2e",
        "%2E%2e",
        "%2F",
        "%5C",
        "%00",
        "%",
        "%zz",
        ":",
        "@",
        "evil.example",
        "https:",
        "//",
        "?",
        "#",
        "x.whl",
        ".metadata",
        "+",
        "~",
        "\u{e9}",
    ];
    let accepts = [
        "",
        "*/*",
        "text/html;q=abc",
        "application/vnd.pypi.simple.v1+json;q=-1",
        ",;,;q=",
        "a/b/c",
    ];
    let mut rng = Rng(42);
    for _ in 0..10_000 {
        let mut path = String::from("/");
        for _ in 0..rng.below(7) {
            path.push_str(pieces[rng.below(pieces.len())]);
            if rng.below(2) == 0 {
                path.push('/');
            }
        }
        if let Route::Fetch(object) =
            route(adapter.as_ref(), &path, accepts[rng.below(accepts.len())])
        {
            assert!(
                upstreams
                    .iter()
                    .any(|base| object.upstream.as_str().starts_with(base.as_str())),
                "{path:?} → {}",
                object.upstream
            );
            let upstream_path = object.upstream.path();
            assert!(
                !upstream_path.contains("/../") && !upstream_path.contains("/./"),
                "{path:?} → {upstream_path}"
            );
        }
    }
}

/// Figures, not a timed test: `cargo test -p larder-pypi --release --test robustness -- --ignored
/// --nocapture`. A page the size of a big project's (10 000 files) is looked up once per
/// artifact download.
#[test]
#[ignore]
fn lookup_in_a_large_page() {
    let adapter = adapter();
    let hex = "ab".repeat(32);
    let mut json = String::from(r#"{"meta":{"api-version":"1.1"},"name":"big","files":["#);
    let mut html = String::from("<html><body>\n");
    for i in 0..10_000 {
        let name = format!("big-1.{i}-cp311-cp311-manylinux_2_17_x86_64.whl");
        let url = format!("https://files.pythonhosted.org/packages/ab/cd/{hex}/{name}");
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"filename":"{name}","url":"{url}","hashes":{{"sha256":"{hex}"}},"requires-python":">=3.8","core-metadata":{{"sha256":"{hex}"}},"size":1000,"upload-time":"2024-01-01T00:00:00Z","yanked":false}}"#
        ));
        html.push_str(&format!(
            "<a href=\"{url}#sha256={hex}\" data-requires-python=\"&gt;=3.8\" data-core-metadata=\"sha256={hex}\">{name}</a><br />\n"
        ));
    }
    json.push_str("]}");
    html.push_str("</body></html>\n");
    let path =
        format!("/files/big/packages/ab/cd/{hex}/big-1.9999-cp311-cp311-manylinux_2_17_x86_64.whl");
    let Route::Fetch(file) = route(adapter.as_ref(), &path, "") else {
        panic!()
    };
    let Verify::Listed(index) = &file.verify else {
        panic!()
    };
    for (kind, body) in [("json", json.as_bytes()), ("html", html.as_bytes())] {
        let started = std::time::Instant::now();
        let listing = adapter.find_digest(index, body, &file);
        let lookup = started.elapsed();
        assert!(
            matches!(listing, larder_adapter::Listing::Found(_)),
            "{kind}"
        );
        let page = match route(adapter.as_ref(), "/simple/big/", "") {
            Route::Fetch(object) => object,
            other => panic!("{other:?}"),
        };
        let started = std::time::Instant::now();
        let mut rewriter = adapter
            .rewriter(&page, "http://127.0.0.1:7878/pypi")
            .unwrap();
        let mut out = Vec::new();
        for chunk in body.chunks(16 * 1024) {
            rewriter.push(chunk, &mut out);
        }
        rewriter.finish(&mut out);
        eprintln!(
            "{kind}: {} bytes, lookup {lookup:?}, rewrite {:?}",
            body.len(),
            started.elapsed()
        );
    }
}
