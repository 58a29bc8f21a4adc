//! Routing tests: what each request path becomes.

use super::*;
use http::HeaderMap;

const PIP_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

fn adapter() -> PyPi {
    let mut extra = serde_json::Map::new();
    extra.insert("files_upstream".into(), "https://files.example/".into());
    PyPi::new(&Section {
        upstream: Url::parse("https://index.example/simple").unwrap(),
        metadata_ttl: Duration::from_secs(600),
        negative_ttl: Duration::from_secs(60),
        extra,
    })
    .unwrap()
}

fn route_with(method: Method, path: &str, accept: Option<&str>) -> Route {
    let mut headers = HeaderMap::new();
    if let Some(accept) = accept {
        headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
    }
    adapter().route(&ClientRequest {
        method: &method,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

fn route(path: &str) -> Route {
    route_with(Method::GET, path, Some(PIP_ACCEPT))
}

fn fetched(route: Route) -> Object {
    match route {
        Route::Fetch(object) => object,
        other => panic!("expected a fetch, got {other:?}"),
    }
}

fn status(route: Route) -> StatusCode {
    match route {
        Route::Reply(reply) => reply.status,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn header<'a>(
    headers: &'a [(http::HeaderName, HeaderValue)],
    name: &http::HeaderName,
) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.to_str().ok())
}

#[test]
fn factory_defaults() {
    let factory = factory();
    assert_eq!(factory.name, "pypi");
    assert_eq!(factory.default_upstream, "https://pypi.org/simple/");
    assert_eq!(factory.default_metadata_ttl, Duration::from_secs(600));
    assert_eq!(factory.default_negative_ttl, Duration::from_secs(60));
    assert_eq!(factory.extra_keys, ["files_upstream"]);
    let section = Section {
        upstream: Url::parse(factory.default_upstream).unwrap(),
        metadata_ttl: factory.default_metadata_ttl,
        negative_ttl: factory.default_negative_ttl,
        extra: Default::default(),
    };
    let built = (factory.build)(&section).unwrap();
    let upstreams: Vec<String> = built.upstreams().iter().map(|u| u.to_string()).collect();
    assert_eq!(
        upstreams,
        [
            "https://pypi.org/simple/",
            "https://files.pythonhosted.org/",
            "https://pypi.org/"
        ]
    );
}

#[test]
fn bad_config_is_explained() {
    let mut extra = serde_json::Map::new();
    extra.insert("files_upstream".into(), "ftp://files.example/".into());
    let err = PyPi::new(&Section {
        upstream: Url::parse("https://pypi.org/simple/").unwrap(),
        metadata_ttl: Duration::ZERO,
        negative_ttl: Duration::ZERO,
        extra,
    })
    .unwrap_err();
    assert!(err.0.contains("files_upstream"), "{err}");
}

#[test]
fn json_page_for_pip() {
    let page = fetched(route("/simple/demo/"));
    assert_eq!(page.key, "simple/demo/json");
    assert_eq!(page.upstream.as_str(), "https://index.example/simple/demo/");
    assert_eq!(
        page.content_type, None,
        "the upstream's own, exact on PEP 691 indexes"
    );
    assert_eq!(
        header(&page.upstream_headers, &ACCEPT),
        Some("application/vnd.pypi.simple.v1+json")
    );
    assert_eq!(header(&page.response_headers, &VARY), Some("Accept"));
    assert!(
        matches!(page.freshness, Freshness::Mutable { ttl, .. } if ttl == Duration::from_secs(600))
    );
}

#[test]
fn html_page_for_old_clients_and_head() {
    for (method, accept) in [(Method::GET, Some("text/html")), (Method::HEAD, None)] {
        let page = fetched(route_with(method, "/simple/demo/", accept));
        assert_eq!(page.key, "simple/demo/html");
        assert_eq!(page.content_type, Some("text/html"));
        assert!(header(&page.upstream_headers, &ACCEPT)
            .unwrap()
            .contains("text/html"));
        assert_eq!(header(&page.response_headers, &VARY), Some("Accept"));
    }
}

#[test]
fn redirects_to_normalized_names() {
    for (path, want) in [
        ("/simple/Demo/", "/simple/demo/"),
        ("/simple/Zope.Interface/", "/simple/zope-interface/"),
        ("/simple/demo", "/simple/demo/"),
        ("/simple/My_Pkg", "/simple/my-pkg/"),
        ("/simple/my%2Dpkg/", "/simple/my-pkg/"),
        ("/simple", "/simple/"),
    ] {
        match route(path) {
            Route::Redirect { location } => assert_eq!(location, want, "{path}"),
            other => panic!("{path}: expected a redirect, got {other:?}"),
        }
    }
}

#[test]
fn root_list() {
    let root = fetched(route("/simple/"));
    assert_eq!(root.key, "simple/json");
    assert_eq!(root.upstream.as_str(), "https://index.example/simple/");
}

#[test]
fn rejects_bad_names_paths_and_methods() {
    for path in [
        "/simple/../",
        "/simple/%2e%2e/",
        "/simple/a%2Fb/",
        "/simple/a b/",
        "/simple/-a/",
    ] {
        assert_eq!(status(route(path)), StatusCode::BAD_REQUEST, "{path}");
    }
    for path in [
        "/files/demo/packages/../../etc/passwd",
        "/files/demo/",
        "/files/demo",
        "/files/../packages/x.whl",
        "/files/demo/https:%2F%2Fevil.example/x",
        "/files/demo/evil:x/y.whl",
        "/index/demo/a/%2e%2e/b",
    ] {
        assert_eq!(status(route(path)), StatusCode::BAD_REQUEST, "{path}");
    }
    for path in ["/", "/pypi/simple/", "/packages/x.whl", "/files"] {
        assert_eq!(status(route(path)), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        status(route_with(Method::POST, "/simple/demo/", None)),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[test]
fn files_are_immutable_keyed_without_project_and_listed_by_the_json_page() {
    let file = fetched(route(
        "/files/My_Pkg/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl",
    ));
    assert_eq!(
        file.key,
        "files/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl"
    );
    assert_eq!(
        file.upstream.as_str(),
        "https://files.example/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl"
    );
    assert_eq!(file.freshness, Freshness::Immutable);
    assert_eq!(file.content_type, Some("application/octet-stream"));
    let Verify::Listed(page) = file.verify else {
        panic!("files are verified against their page")
    };
    assert_eq!(page.key, "simple/my-pkg/json");
    assert_eq!(
        page.upstream.as_str(),
        "https://index.example/simple/my-pkg/"
    );

    // The same file asked for under another project spelling is the same cached object.
    let again = fetched(route(
        "/files/my-pkg/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl",
    ));
    assert_eq!(again.key, file.key);

    let metadata = fetched(route(
        "/files/my-pkg/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl.metadata",
    ));
    assert_eq!(
        metadata.key,
        "files/packages/ab/cd/0123/my_pkg-1.0-py3-none-any.whl.metadata"
    );
    assert!(matches!(metadata.verify, Verify::Listed(_)));
}

#[test]
fn files_beside_the_page() {
    let file = fetched(route("/simple/Demo/demo-1.0.whl"));
    assert_eq!(file.key, "index/simple/demo/demo-1.0.whl");
    assert_eq!(
        file.upstream.as_str(),
        "https://index.example/simple/demo/demo-1.0.whl"
    );
    assert_eq!(file.freshness, Freshness::Immutable);
    let Verify::Listed(page) = file.verify else {
        panic!("verified against the page")
    };
    assert_eq!(page.key, "simple/demo/json");
    // The same file linked absolutely is the same object.
    let absolute = fetched(route("/index/demo/simple/demo/demo-1.0.whl"));
    assert_eq!(absolute.key, file.key);
    for bad in [
        "/simple/demo/..",
        "/simple/demo/a/../../x",
        "/simple/demo/%2e%2e/x",
    ] {
        assert_eq!(status(route(bad)), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[test]
fn index_host_files() {
    let file = fetched(route("/index/demo/packages/demo-1.0.tar.gz"));
    assert_eq!(file.key, "index/packages/demo-1.0.tar.gz");
    assert_eq!(
        file.upstream.as_str(),
        "https://index.example/packages/demo-1.0.tar.gz"
    );
    assert_eq!(file.freshness, Freshness::Immutable);
}

#[test]
fn find_digest_uses_the_artifact_file_name() {
    let hex = "ab".repeat(32);
    let page = format!(
        r#"{{"files":[{{"filename":"demo-1.0.tar.gz","url":"https://files.example/p/demo-1.0.tar.gz","hashes":{{"sha256":"{hex}"}}}}]}}"#
    );
    let file = fetched(route("/files/demo/p/demo-1.0.tar.gz"));
    let Verify::Listed(index) = &file.verify else {
        panic!()
    };
    let adapter = adapter();
    assert_eq!(
        adapter.find_digest(index, page.as_bytes(), &file),
        Listing::Found(
            larder_adapter::Digest::from_hex(larder_adapter::Algorithm::Sha256, &hex).unwrap()
        )
    );
    let other = fetched(route("/files/demo/p/demo-2.0.tar.gz"));
    assert_eq!(
        adapter.find_digest(index, page.as_bytes(), &other),
        Listing::Absent
    );
}

#[test]
fn rewriter_only_for_pages() {
    let adapter = adapter();
    let page = fetched(route("/simple/demo/"));
    let mut rw = adapter
        .rewriter(&page, "http://l/pypi")
        .expect("pages are rewritten");
    let mut out = Vec::new();
    rw.push(
        br#"{"url":"https://files.example/packages/x.whl"}"#,
        &mut out,
    );
    rw.finish(&mut out);
    assert_eq!(out, br#"{"url":"http://l/pypi/files/demo/packages/x.whl"}"#);
    assert!(adapter
        .rewriter(&fetched(route("/simple/")), "http://l/pypi")
        .is_some());
    assert!(adapter
        .rewriter(&fetched(route("/files/demo/p/x.whl")), "http://l/pypi")
        .is_none());
}
