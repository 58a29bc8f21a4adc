//! Routing as the engine sees it: which object, where upstream, whether it can change.

use super::*;
use http::{HeaderMap, Method};
use larder_adapter::Reply;

const TTL: Duration = Duration::from_secs(60);
const NEGATIVE: Duration = Duration::from_secs(30);

fn section(upstream: &str, extra: &[(&str, &str)]) -> Section {
    Section {
        upstream: Url::parse(upstream).unwrap(),
        metadata_ttl: TTL,
        negative_ttl: NEGATIVE,
        extra: extra
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect(),
    }
}

fn go() -> Go {
    Go::new(&section(DEFAULT_UPSTREAM, &[])).unwrap()
}

fn route_as(adapter: &Go, method: Method, path: &str) -> Route {
    let headers = HeaderMap::new();
    adapter.route(&ClientRequest {
        method: &method,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

fn fetch(adapter: &Go, path: &str) -> Object {
    match route_as(adapter, Method::GET, path) {
        Route::Fetch(object) => object,
        other => panic!("{path}: expected a fetch, got {other:?}"),
    }
}

fn reply(adapter: &Go, path: &str) -> Reply {
    match route_as(adapter, Method::GET, path) {
        Route::Reply(reply) => reply,
        other => panic!("{path}: expected a local reply, got {other:?}"),
    }
}

const MUTABLE: Freshness = Freshness::Mutable {
    ttl: TTL,
    negative_ttl: NEGATIVE,
};

#[test]
fn factory_declares_name_defaults_and_extra_keys() {
    let factory = factory();
    assert_eq!(factory.name, "go");
    assert_eq!(factory.default_upstream, "https://proxy.golang.org/");
    assert_eq!(factory.default_metadata_ttl, Duration::from_secs(60));
    assert_eq!(factory.default_negative_ttl, Duration::from_secs(60));
    assert!(factory.extra_keys.contains(&"sumdb_upstream"));
    let adapter = (factory.build)(&section(DEFAULT_UPSTREAM, &[])).unwrap();
    assert_eq!(adapter.name(), "go");
    let upstreams: Vec<String> = adapter.upstreams().iter().map(Url::to_string).collect();
    assert_eq!(
        upstreams,
        ["https://proxy.golang.org/", "https://sum.golang.org/"]
    );
}

#[test]
fn proxy_endpoints_map_to_upstream_with_freshness_and_content_type() {
    let go = go();
    let cases = [
        ("/github.com/!burnt!sushi/toml/@v/list", MUTABLE, TEXT),
        ("/github.com/!burnt!sushi/toml/@latest", MUTABLE, JSON),
        (
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.info",
            Freshness::Immutable,
            JSON,
        ),
        (
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.mod",
            Freshness::Immutable,
            TEXT,
        ),
        (
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip",
            Freshness::Immutable,
            ZIP,
        ),
        (
            "/github.com/!burnt!sushi/toml/@v/master.info",
            MUTABLE,
            JSON,
        ),
        ("/github.com/!burnt!sushi/toml/@v/v1.info", MUTABLE, JSON),
        (
            "/example.com/m/@v/v0.0.0-20191109021931-daa7c04131f5.zip",
            Freshness::Immutable,
            ZIP,
        ),
        (
            "/example.com/m/@v/v0.0.0-20191109021931-daa7c04131f5.info",
            Freshness::Immutable,
            JSON,
        ),
        (
            "/example.com/m/@v/v2.0.0+incompatible.mod",
            Freshness::Immutable,
            TEXT,
        ),
        (
            "/example.com/m/@v/v1.0.0-!r!c1.zip",
            Freshness::Immutable,
            ZIP,
        ),
        (
            "/golang.org/toolchain/@v/v0.0.1-go1.21.0.linux-amd64.zip",
            Freshness::Immutable,
            ZIP,
        ),
    ];
    for (path, freshness, content_type) in cases {
        let object = fetch(&go, path);
        assert_eq!(
            object.upstream.as_str(),
            format!("https://proxy.golang.org{path}"),
            "{path}"
        );
        assert_eq!(object.key, format!("proxy{path}"), "{path}");
        assert_eq!(object.freshness, freshness, "{path}");
        assert_eq!(object.content_type, Some(content_type), "{path}");
        assert!(
            matches!(object.verify, larder_adapter::Verify::None),
            "{path}"
        );
    }
}

#[test]
fn percent_encoded_bangs_name_the_same_object() {
    // The go command sends `%21` for `!` (url.PathEscape); a hand-written URL has `!`.
    let go = go();
    let encoded = fetch(&go, "/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip");
    let plain = fetch(&go, "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip");
    assert_eq!(encoded.key, plain.key);
    assert_eq!(encoded.upstream, plain.upstream);
    assert_eq!(
        encoded.upstream.path(),
        "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip"
    );
}

#[test]
fn upstream_path_prefix_is_kept() {
    let go = Go::new(&section("https://repo.example.com/api/go/remote", &[])).unwrap();
    let object = fetch(&go, "/example.com/m/@v/list");
    assert_eq!(
        object.upstream.as_str(),
        "https://repo.example.com/api/go/remote/example.com/m/@v/list"
    );
}

#[test]
fn unusual_query_characters_are_encoded_upstream_not_interpreted() {
    let object = fetch(&go(), "/example.com/m/@v/br%23nch%20x.info");
    assert_eq!(
        object.upstream.as_str(),
        "https://proxy.golang.org/example.com/m/@v/br%23nch%20x.info"
    );
    assert_eq!(object.upstream.host_str(), Some("proxy.golang.org"));
    assert!(object.upstream.query().is_none() && object.upstream.fragment().is_none());
}

#[test]
fn malformed_requests_get_400_and_are_never_forwarded() {
    let go = go();
    for path in [
        "/github.com/BurntSushi/toml/@v/list",
        "/github.com/!Burnt/toml/@v/list",
        "/github.com/!/toml/@latest",
        "/example.com/%2e%2e/x/@v/list",
        "/example.com/../x/@v/list",
        "/example.com//x/@v/list",
        "/example.com/x/@v/V1.0.0.zip",
        "/example.com/x/@v/v1.0.0%zz.zip",
        "/example.com/x/@v/%2e%2e.zip",
        "/sumdb/sum.golang.org/lookup/Example.com/m@v1.0.0",
        "/sumdb/sum.golang.org/tile/8/0/0000",
    ] {
        let reply = reply(&go, path);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {reply:?}");
        assert!(
            std::str::from_utf8(&reply.body)
                .unwrap()
                .starts_with("malformed"),
            "{path}: {reply:?}"
        );
    }
    let long = format!("/example.com/{}/@v/list", "a".repeat(5000));
    assert_eq!(reply(&go, &long).status, StatusCode::BAD_REQUEST);
    assert!(
        reply(&go, &long).body.len() < 1000,
        "the reply does not echo an absurd path whole"
    );
}

#[test]
fn paths_outside_the_protocol_get_404_so_clients_fall_through() {
    let go = go();
    for path in [
        "/",
        "/example.com/m",
        "/example.com/m/@v/v1.0.0.tgz",
        "/sumdb/sum.golang.org/nope",
    ] {
        assert_eq!(reply(&go, path).status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn writes_are_refused() {
    match route_as(&go(), Method::POST, "/example.com/m/@v/list") {
        Route::Reply(reply) => assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        route_as(&go(), Method::HEAD, "/example.com/m/@v/list"),
        Route::Fetch(_)
    ));
}

#[test]
fn sumdb_supported_answers_for_the_configured_database_only() {
    let go = go();
    let supported = reply(&go, "/sumdb/sum.golang.org/supported");
    assert_eq!(supported.status, StatusCode::OK);
    let other = reply(&go, "/sumdb/sum.example.com/supported");
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(other.content_type.starts_with("text/plain"));
    assert_eq!(
        reply(&go, "/sumdb/sum.example.com/latest").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(reply(&go, "/sumdb/").status, StatusCode::NOT_FOUND);
}

#[test]
fn sumdb_endpoints_are_proxied_with_the_right_freshness() {
    let go = go();
    let cases = [
        ("lookup/github.com/!burnt!sushi/toml@v1.2.0", MUTABLE),
        ("latest", MUTABLE),
        ("tile/8/0/x001/234", Freshness::Immutable),
        ("tile/8/data/000", Freshness::Immutable),
        ("tile/8/1/000.p/7", MUTABLE),
    ];
    for (rest, freshness) in cases {
        let object = fetch(&go, &format!("/sumdb/sum.golang.org/{rest}"));
        assert_eq!(
            object.upstream.as_str(),
            format!("https://sum.golang.org/{rest}"),
            "{rest}"
        );
        assert_eq!(object.key, format!("sumdb/sum.golang.org/{rest}"));
        assert_eq!(object.freshness, freshness, "{rest}");
    }
}

#[test]
fn sumdb_name_and_upstream_are_configurable() {
    let go = Go::new(&section(
        DEFAULT_UPSTREAM,
        &[
            ("sumdb_upstream", "http://127.0.0.1:9/mirror/sum.golang.org"),
            ("sumdb_name", "sum.golang.org"),
        ],
    ))
    .unwrap();
    assert_eq!(
        reply(&go, "/sumdb/sum.golang.org/supported").status,
        StatusCode::OK
    );
    let object = fetch(&go, "/sumdb/sum.golang.org/latest");
    assert_eq!(
        object.upstream.as_str(),
        "http://127.0.0.1:9/mirror/sum.golang.org/latest"
    );

    // Without sumdb_name, the name is the upstream's host.
    let go = Go::new(&section(
        DEFAULT_UPSTREAM,
        &[("sumdb_upstream", "http://sum.fixture.test:8080/")],
    ))
    .unwrap();
    assert_eq!(
        reply(&go, "/sumdb/sum.fixture.test/supported").status,
        StatusCode::OK
    );
    assert_eq!(
        reply(&go, "/sumdb/sum.golang.org/supported").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn sumdb_proxying_can_be_turned_off() {
    let go = Go::new(&section(DEFAULT_UPSTREAM, &[("sumdb_upstream", "off")])).unwrap();
    let supported = reply(&go, "/sumdb/sum.golang.org/supported");
    assert_eq!(supported.status, StatusCode::NOT_FOUND);
    assert!(std::str::from_utf8(&supported.body)
        .unwrap()
        .contains("directly"));
    assert_eq!(
        reply(&go, "/sumdb/sum.golang.org/latest").status,
        StatusCode::NOT_FOUND
    );
    let upstreams: Vec<String> = go.upstreams().iter().map(Url::to_string).collect();
    assert_eq!(upstreams, ["https://proxy.golang.org/"]);
    assert!(matches!(
        route_as(&go, Method::GET, "/example.com/m/@v/list"),
        Route::Fetch(_)
    ));
}

#[test]
fn bad_settings_are_explained() {
    for (key, value) in [
        ("sumdb_upstream", "ftp://x/"),
        ("sumdb_upstream", "not a url"),
        ("sumdb_name", "a+b"),
        ("sumdb_name", ""),
    ] {
        let err = Go::new(&section(DEFAULT_UPSTREAM, &[(key, value)]))
            .err()
            .unwrap_or_else(|| panic!("{key}={value:?}"));
        assert!(err.0.contains(key), "{err}");
    }
    assert!(Go::new(&section("file:///tmp/x", &[])).is_err());
}

/// A deterministic sweep over paths built from the tokens that matter to the parsers: routing
/// never panics, every fetch stays on a configured upstream with a path that is its cache key,
/// and everything else is a 400, 404 or the `supported` 200.
#[test]
fn swept_paths_route_safely() {
    const TOKENS: &[&str] = &[
        "a",
        "Z",
        "!",
        "!b",
        "%",
        "%21",
        "%2e",
        "%2E%2e",
        "%2F",
        "%zz",
        "%ff",
        "/",
        "//",
        "..",
        ".",
        "@",
        "@v/",
        "/@v/",
        "@latest",
        "/@latest",
        "list",
        ".info",
        ".mod",
        ".zip",
        "v1.2.3",
        "v0.0.0-20240102030405-abcdefabcdef",
        "-",
        "+incompatible",
        "example.com",
        "sumdb/",
        "sum.golang.org/",
        "lookup/",
        "tile/",
        "8/",
        "data/",
        "0/",
        "000",
        "x001/",
        ".p/",
        "255",
        "é",
        "\u{0}",
        " ",
        "#",
        "?",
        "~",
        "master",
    ];
    let go = go();
    let mut rng = Sweep(0x9E37_79B9_7F4A_7C15);
    let mut fetched = 0;
    for _ in 0..50_000 {
        let path = match rng.below(5) {
            0 => format!("/{}", rng.tokens(TOKENS, 10)),
            1 => {
                let ext = [".info", ".mod", ".zip", ""][rng.below(4)];
                let (module, version) = (rng.tokens(TOKENS, 2), rng.tokens(TOKENS, 2));
                format!("/example.com/{module}/@v/{version}{ext}")
            }
            2 => {
                let endpoint = ["/@latest", "/@v/list"][rng.below(2)];
                format!("/example.com/{}{endpoint}", rng.tokens(TOKENS, 2))
            }
            3 => {
                let (module, version) = (rng.tokens(TOKENS, 1), rng.tokens(TOKENS, 1));
                format!("/sumdb/sum.golang.org/lookup/example.com/{module}@{version}")
            }
            _ => format!("/sumdb/sum.golang.org/tile/8/{}", rng.tokens(TOKENS, 4)),
        };
        match route_as(&go, Method::GET, &path) {
            Route::Fetch(object) => {
                fetched += 1;
                let url = &object.upstream;
                assert_eq!(url.scheme(), "https", "{path}");
                assert!(
                    url.query().is_none() && url.fragment().is_none(),
                    "{path} → {url}"
                );
                let (host, key) = if let Some(key) = object.key.strip_prefix("proxy/") {
                    ("proxy.golang.org", key)
                } else {
                    let key = object.key.strip_prefix("sumdb/sum.golang.org/");
                    (
                        "sum.golang.org",
                        key.unwrap_or_else(|| panic!("{path}: key {}", object.key)),
                    )
                };
                assert_eq!(url.host_str(), Some(host), "{path}");
                assert_eq!(url.path(), format!("/{}", escape::for_url(key)), "{path}");
                assert!(
                    !url.path().contains("//") && !url.path().contains("/../"),
                    "{path}"
                );
            }
            Route::Reply(reply) => {
                let ok = [StatusCode::BAD_REQUEST, StatusCode::NOT_FOUND].contains(&reply.status)
                    || (reply.status == StatusCode::OK && path.ends_with("/supported"));
                assert!(ok, "{path}: {reply:?}");
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    assert!(
        fetched > 500,
        "the sweep reached too few valid paths ({fetched}) to mean anything"
    );
}

/// xorshift64*: a reproducible sweep without a dependency.
struct Sweep(u64);

impl Sweep {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % bound
    }

    /// One to `max` tokens, concatenated.
    fn tokens(&mut self, tokens: &[&str], max: usize) -> String {
        let count = 1 + self.below(max);
        (0..count)
            .map(|_| tokens[self.below(tokens.len())])
            .collect()
    }
}
