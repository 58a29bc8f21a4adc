//! The adapter as the engine sees it: routes in both modes, keys, verification, find_digest.

use super::*;
use http::{HeaderMap, Method};
use larder_adapter::{Algorithm, Digest, Reply};

const IN_RELEASE: &[u8] = include_bytes!("../tests/data/InRelease");
const PACKAGES_XZ_SHA256: &str = "8cb0e1aab8f3e5a4d05b3f4c3c4a3b2d5b1e6cfd1d1a64a0c1a5e2a2e1f6f1a2";

fn apt(extra: serde_json::Value) -> Apt {
    let section = Section {
        upstream: Url::parse("http://deb.debian.org/").unwrap(),
        metadata_ttl: Duration::from_secs(30),
        negative_ttl: Duration::from_secs(30),
        extra: match extra {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
    };
    Apt::new(&section).unwrap()
}

fn request(adapter: &Apt, method: &Method, proxy_host: Option<&str>, path: &str) -> Route {
    let headers = HeaderMap::new();
    adapter.route(&ClientRequest {
        method,
        proxy_host,
        path,
        query: None,
        headers: &headers,
    })
}

fn mirror(adapter: &Apt, path: &str) -> Route {
    request(adapter, &Method::GET, None, path)
}

fn proxy(adapter: &Apt, host: &str, path: &str) -> Route {
    request(adapter, &Method::GET, Some(host), path)
}

fn fetched(route: Route) -> Object {
    match route {
        Route::Fetch(object) => object,
        other => panic!("expected a fetch, got {other:?}"),
    }
}

fn replied(route: Route) -> Reply {
    match route {
        Route::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

#[test]
fn factory_declares_name_keys_and_defaults() {
    let factory = factory();
    assert_eq!(factory.name, "apt");
    assert_eq!(factory.extra_keys, &["remotes", "default_remotes"]);
    assert!(Url::parse(factory.default_upstream).is_ok());
    assert!(factory.default_metadata_ttl >= Duration::from_secs(27));
    let section = Section {
        upstream: Url::parse(factory.default_upstream).unwrap(),
        metadata_ttl: factory.default_metadata_ttl,
        negative_ttl: factory.default_negative_ttl,
        extra: serde_json::Map::new(),
    };
    let adapter = (factory.build)(&section).unwrap();
    assert_eq!(adapter.name(), "apt");
    assert!(adapter
        .proxy_hosts()
        .contains(&"ports.ubuntu.com".to_string()));
    assert_eq!(adapter.upstreams().len(), 5);
}

#[test]
fn both_modes_give_one_key_and_one_upstream() {
    let adapter = apt(serde_json::json!({}));
    for path in [
        "debian/dists/bookworm/InRelease",
        "debian/dists/bookworm/main/binary-amd64/Packages.xz",
        &format!("debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/{PACKAGES_XZ_SHA256}"),
        "debian/pool/main/g/gcc-12/libstdc%2b%2b6_12.2.0-14_amd64.deb",
    ] {
        let via_proxy = fetched(proxy(&adapter, "deb.debian.org", &format!("/{path}")));
        let via_mirror = fetched(mirror(&adapter, &format!("/deb.debian.org/{path}")));
        assert_eq!(via_proxy.key, via_mirror.key, "{path}");
        if path.contains("/pool/") {
            let release = adapter.release(&via_proxy).expect("a .deb is a release");
            assert_eq!(
                release.purl,
                "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64"
            );
        }
        assert_eq!(via_proxy.upstream, via_mirror.upstream, "{path}");
        assert!(
            via_proxy.key.starts_with("deb.debian.org/debian/"),
            "{}",
            via_proxy.key
        );
        assert!(via_proxy
            .upstream
            .as_str()
            .starts_with("http://deb.debian.org/debian/"));
    }
    // `+` and `%2b`, proxy host in any case, and an explicit :80 name one file.
    let a = fetched(proxy(
        &adapter,
        "DEB.Debian.org:80",
        "/debian/pool/main/g/gcc-12/libstdc++6_12.2.0-14_amd64.deb",
    ));
    let b = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/pool/main/g/gcc-12/libstdc%2B%2B6_12.2.0-14_amd64.deb",
    ));
    assert_eq!(a.key, b.key);
    assert_eq!(
        a.upstream.as_str(),
        "http://deb.debian.org/debian/pool/main/g/gcc-12/libstdc%2B%2B6_12.2.0-14_amd64.deb"
    );
}

#[test]
fn freshness_and_verification_per_kind() {
    let adapter = apt(serde_json::json!({}));
    let base = "/deb.debian.org/debian/dists/bookworm";
    let in_release = fetched(mirror(&adapter, &format!("{base}/InRelease")));
    assert!(in_release.is_metadata());
    assert!(matches!(in_release.verify, Verify::None));
    for name in ["Release", "Release.gpg"] {
        assert!(fetched(mirror(&adapter, &format!("{base}/{name}"))).is_metadata());
    }

    let packages = fetched(mirror(
        &adapter,
        &format!("{base}/main/binary-amd64/Packages.xz"),
    ));
    assert!(packages.is_metadata());
    let Verify::Listed(index) = &packages.verify else {
        panic!("{:?}", packages.verify)
    };
    assert_eq!(index.key, "deb.debian.org/debian/dists/bookworm/InRelease");
    assert_eq!(
        index.upstream.as_str(),
        "http://deb.debian.org/debian/dists/bookworm/InRelease"
    );
    assert!(index.is_metadata());

    let by_hash = fetched(mirror(
        &adapter,
        &format!("{base}/main/binary-amd64/by-hash/SHA256/{PACKAGES_XZ_SHA256}"),
    ));
    assert_eq!(by_hash.freshness, Freshness::Immutable);
    let Verify::Digest(digest) = &by_hash.verify else {
        panic!("{:?}", by_hash.verify)
    };
    assert_eq!(
        digest,
        &Digest::from_hex(Algorithm::Sha256, PACKAGES_XZ_SHA256).unwrap()
    );

    let sha512 = "a".repeat(128);
    let by_hash = fetched(mirror(
        &adapter,
        &format!("{base}/main/by-hash/SHA512/{sha512}"),
    ));
    assert!(matches!(&by_hash.verify, Verify::Digest(d) if d.algorithm == Algorithm::Sha512));

    let md5 = replied(mirror(
        &adapter,
        &format!("{base}/main/by-hash/MD5Sum/{}", "0".repeat(32)),
    ));
    assert_eq!(md5.status, StatusCode::NOT_FOUND);
    assert!(text(&md5).contains("SHA256"));

    let patch = fetched(mirror(
        &adapter,
        &format!(
            "{base}/main/binary-amd64/Packages.diff/T-2026-11-28-0812.41-F-2026-11-27-2014.45.gz"
        ),
    ));
    assert_eq!(patch.freshness, Freshness::Immutable);
    let diff_index = fetched(mirror(
        &adapter,
        &format!("{base}/main/binary-amd64/Packages.diff/Index"),
    ));
    assert!(matches!(diff_index.verify, Verify::Listed(_)));

    let deb = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
    ));
    assert_eq!(deb.freshness, Freshness::Immutable);

    let readme = fetched(mirror(&adapter, "/deb.debian.org/debian/README"));
    assert!(readme.is_metadata());
}

#[test]
fn in_release_and_packages_indexes_declare_digests() {
    let adapter = apt(serde_json::json!({}));
    let base = "/deb.debian.org/debian/dists/bookworm";
    let declares = |path: &str| fetched(mirror(&adapter, path)).declares_digests;
    assert!(declares(&format!("{base}/InRelease")));
    assert!(
        !declares(&format!("{base}/Release")),
        "only InRelease: two roots could disagree"
    );
    assert!(!declares(&format!("{base}/Release.gpg")));
    for name in ["Packages", "Packages.gz", "Packages.xz"] {
        assert!(
            declares(&format!("{base}/main/binary-amd64/{name}")),
            "{name}"
        );
    }
    assert!(declares(&format!(
        "{base}/main/binary-arm64/by-hash/SHA256/{PACKAGES_XZ_SHA256}"
    )));
    assert!(!declares(&format!(
        "{base}/main/i18n/by-hash/SHA256/{PACKAGES_XZ_SHA256}"
    )));
    assert!(!declares(&format!("{base}/main/source/Sources.xz")));
    assert!(!declares(&format!(
        "{base}/main/binary-amd64/Packages.diff/Index"
    )));
    assert!(!declares(
        "/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"
    ));
}

#[test]
fn in_release_declares_its_indexes_under_their_keys() {
    let adapter = apt(serde_json::json!({}));
    let in_release = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/InRelease",
    ));
    let declared = adapter.declared_digests(&in_release, IN_RELEASE);
    assert_eq!(declared.len(), 8);
    let packages = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz",
    ));
    let (_, digest) = declared
        .iter()
        .find(|(key, _)| *key == packages.key)
        .expect("Packages.xz declared");
    assert_eq!(digest.to_hex(), PACKAGES_XZ_SHA256);
}

#[test]
fn packages_indexes_declare_pool_files_in_any_compression() {
    use std::io::Write as _;
    let adapter = apt(serde_json::json!({"remotes": {"127.0.0.1:9": "http://127.0.0.1:9/"}}));
    let text = format!(
        "Package: hello\nFilename: pool/main/h/hello/libstdc++6_1_all.deb\nSHA256: {PACKAGES_XZ_SHA256}\n\n\
         Package: weak\nFilename: pool/main/w/weak_1_all.deb\nMD5sum: 00\n"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut text.as_bytes(), &mut xz).unwrap();
    let deb = fetched(proxy(
        &adapter,
        "127.0.0.1:9",
        "/debian/pool/main/h/hello/libstdc%2B%2B6_1_all.deb",
    ));
    let want = vec![(
        deb.key.clone(),
        Digest::from_hex(Algorithm::Sha256, PACKAGES_XZ_SHA256).unwrap(),
    )];
    for (path, body) in [
        (
            "/debian/dists/x/main/binary-amd64/Packages",
            text.as_bytes().to_vec(),
        ),
        ("/debian/dists/x/main/binary-amd64/Packages.gz", gz.clone()),
        (
            &format!("/debian/dists/x/main/binary-amd64/by-hash/SHA256/{PACKAGES_XZ_SHA256}")
                as &str,
            xz.clone(),
        ),
    ] {
        let index = fetched(proxy(&adapter, "127.0.0.1:9", path));
        assert!(index.declares_digests, "{path}");
        assert_eq!(adapter.declared_digests(&index, &body), want, "{path}");
    }
    // A flat repository: Filename is relative to the directory holding the index.
    let flat = fetched(proxy(
        &adapter,
        "127.0.0.1:9",
        &format!("/repo/by-hash/SHA256/{PACKAGES_XZ_SHA256}"),
    ));
    let flat_text = format!("Filename: ./hello_1_all.deb\nSHA256: {PACKAGES_XZ_SHA256}\n");
    let declared = adapter.declared_digests(&flat, flat_text.as_bytes());
    assert_eq!(declared[0].0, "127.0.0.1:9/repo/hello_1_all.deb");
    // Corrupt or unknown compression declares nothing rather than guessing.
    let index = fetched(proxy(
        &adapter,
        "127.0.0.1:9",
        "/debian/dists/x/main/binary-amd64/Packages.gz",
    ));
    assert!(adapter
        .declared_digests(&index, &gz[..gz.len() / 2])
        .is_empty());
    assert!(adapter.declared_digests(&index, b"BZh91AY&SY").is_empty());
}

#[test]
fn the_proxy_refusal_hint_names_the_config_key() {
    let adapter = apt(serde_json::json!({}));
    assert!(adapter
        .proxy_refusal_hint()
        .unwrap()
        .contains("[apt.remotes]"));
}

#[test]
fn find_digest_reads_the_suites_in_release() {
    let adapter = apt(serde_json::json!({}));
    let packages = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz",
    ));
    let Verify::Listed(index) = &packages.verify else {
        panic!()
    };
    assert_eq!(
        adapter.find_digest(index, IN_RELEASE, &packages),
        Listing::Found(Digest::from_hex(Algorithm::Sha256, PACKAGES_XZ_SHA256).unwrap())
    );

    let missing = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/binary-arm64/Packages.xz",
    ));
    let Verify::Listed(index) = &missing.verify else {
        panic!()
    };
    assert_eq!(
        adapter.find_digest(index, IN_RELEASE, &missing),
        Listing::Absent
    );

    let weak = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/legacy/Packages.gz",
    ));
    let Verify::Listed(index) = &weak.verify else {
        panic!()
    };
    assert_eq!(
        adapter.find_digest(index, IN_RELEASE, &weak),
        Listing::Unverifiable
    );

    let diff = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/i18n/Translation-en.diff/Index",
    ));
    let Verify::Listed(index) = &diff.verify else {
        panic!()
    };
    assert!(matches!(
        adapter.find_digest(index, IN_RELEASE, &diff),
        Listing::Found(_)
    ));

    // An index that is not an InRelease, or an artifact of another suite, is not guessed at.
    assert_eq!(
        adapter.find_digest(&packages, IN_RELEASE, &packages),
        Listing::Unverifiable
    );
    let other = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages.xz",
    ));
    assert_eq!(
        adapter.find_digest(index, IN_RELEASE, &other),
        Listing::Unverifiable
    );
    // Garbage bodies are not a panic.
    assert_eq!(
        adapter.find_digest(index, b"\x00\xff-----BEGIN PGP", &diff),
        Listing::Absent
    );
}

#[test]
fn flat_repository_indexes_are_listed_in_the_sibling_in_release() {
    let adapter = apt(serde_json::json!({"remotes": {"127.0.0.1:9": "http://127.0.0.1:9/"}}));
    let packages = fetched(proxy(&adapter, "127.0.0.1:9", "/repo/./Packages.gz"));
    let Verify::Listed(index) = &packages.verify else {
        panic!()
    };
    assert_eq!(index.key, "127.0.0.1:9/repo/InRelease");
    let body = format!("SHA256:\n {PACKAGES_XZ_SHA256} 10 Packages.gz\n");
    assert!(matches!(
        adapter.find_digest(index, body.as_bytes(), &packages),
        Listing::Found(_)
    ));
}

#[test]
fn configured_remote_with_port_and_https_base() {
    let adapter = apt(serde_json::json!({"remotes": {
        "127.0.0.1:8080": "http://127.0.0.1:8080/",
        "docker": "https://download.docker.com/linux/"
    }}));
    let a = fetched(proxy(
        &adapter,
        "127.0.0.1:8080",
        "/debian/dists/x/InRelease",
    ));
    let b = fetched(mirror(&adapter, "/127.0.0.1:8080/debian/dists/x/InRelease"));
    assert_eq!(a.key, b.key);
    assert_eq!(a.key, "127.0.0.1:8080/debian/dists/x/InRelease");
    assert_eq!(
        a.upstream.as_str(),
        "http://127.0.0.1:8080/debian/dists/x/InRelease"
    );
    let docker = fetched(mirror(&adapter, "/docker/debian/dists/bookworm/InRelease"));
    assert_eq!(
        docker.upstream.as_str(),
        "https://download.docker.com/linux/debian/dists/bookworm/InRelease"
    );
    assert!(adapter
        .proxy_hosts()
        .contains(&"127.0.0.1:8080".to_string()));
}

#[test]
fn unknown_remotes_are_refused_naming_the_config_key() {
    let adapter = apt(serde_json::json!({}));
    let reply = replied(mirror(
        &adapter,
        "/example.org/debian/dists/bookworm/InRelease",
    ));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(text(&reply).contains("[apt.remotes]"), "{}", text(&reply));
    let reply = replied(proxy(
        &adapter,
        "example.org",
        "/debian/dists/bookworm/InRelease",
    ));
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(text(&reply).contains("[apt.remotes]"));
    let reply = replied(mirror(&adapter, "/"));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(text(&reply).contains("deb.debian.org"));
    let reply = replied(mirror(&adapter, "/deb.debian.org/"));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[test]
fn malformed_paths_and_methods_are_refused() {
    let adapter = apt(serde_json::json!({}));
    for path in [
        "/deb.debian.org/debian/../../etc/passwd",
        "/deb.debian.org/%2e%2e/x",
        "/deb.debian.org/debian%2F..%2Fx",
        "/deb.debian.org/%00",
    ] {
        assert_eq!(
            replied(mirror(&adapter, path)).status,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
        assert_eq!(
            replied(proxy(&adapter, "deb.debian.org", path)).status,
            StatusCode::BAD_REQUEST
        );
    }
    let reply = replied(request(
        &adapter,
        &Method::POST,
        None,
        "/deb.debian.org/debian/x",
    ));
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    let head = request(
        &adapter,
        &Method::HEAD,
        None,
        "/deb.debian.org/debian/dists/bookworm/InRelease",
    );
    assert!(matches!(head, Route::Fetch(_)));
}

#[test]
fn no_route_leaves_the_remotes_base() {
    // Whatever the path, the upstream URL is under the remote's base (rule 5: larder never
    // contacts a host the client chose).
    let adapter = apt(serde_json::json!({"remotes": {"r": "http://127.0.0.1:9/base/"}}));
    for path in [
        "/r/http:%2F%2Fevil/x",
        "/r/@evil/x",
        "/r//evil.example/x",
        "/r/%40evil",
        "/r/a:b@c/d",
        "/r/?x",
    ] {
        if let Route::Fetch(object) = mirror(&adapter, path) {
            assert!(
                object
                    .upstream
                    .as_str()
                    .starts_with("http://127.0.0.1:9/base/"),
                "{path}: {}",
                object.upstream
            );
            assert!(object.key.starts_with("r/"));
        }
    }
}

/// A cheap stand-in for the fuzz targets in the default suite: mutated real inputs through
/// every parser, never a panic, and every fetched URL stays under a configured remote.
#[test]
fn mutated_inputs_never_panic_or_escape() {
    let adapter = apt(serde_json::json!({}));
    let seeds: [&[u8]; 4] = [
        b"/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz",
        b"/deb.debian.org/debian/dists/bookworm/main/by-hash/SHA256/8cb0e1aab8f3e5a4d05b3f4c3c4a3b2d5b1e6cfd1d1a64a0c1a5e2a2e1f6f1a2",
        b"/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
        b"/deb.debian.org/debian/dists/bookworm/main/i18n/Translation-en.diff/Index",
    ];
    let alphabet = b"/%.:2eEfF+~-_aZ09\x00\xc3\xa9 ";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*: deterministic, so a failure reproduces.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for round in 0..20_000 {
        let seed = seeds[round % seeds.len()];
        let mut bytes = seed.to_vec();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % (bytes.len() + 1);
            match next() % 3 {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 if at < bytes.len() => bytes[at] = alphabet[(next() as usize) % alphabet.len()],
                _ => bytes.insert(at, alphabet[(next() as usize) % alphabet.len()]),
            }
        }
        let path = String::from_utf8_lossy(&bytes).into_owned();
        for proxy_host in [None, Some("deb.debian.org")] {
            let path = match proxy_host {
                Some(_) => path.trim_start_matches("/deb.debian.org").to_string(),
                None => path.clone(),
            };
            if let Route::Fetch(object) = request(&adapter, &Method::GET, proxy_host, &path) {
                assert!(
                    adapter
                        .upstreams()
                        .iter()
                        .any(|base| object.upstream.as_str().starts_with(base.as_str())),
                    "{path:?} -> {}",
                    object.upstream
                );
                if let Verify::Listed(index) = &object.verify {
                    let mut body = IN_RELEASE.to_vec();
                    let cut = (next() as usize) % body.len();
                    body.truncate(cut);
                    let _ = adapter.find_digest(index, &body, &object);
                }
            }
        }
    }
}

/// How long `declared_digests` takes on a real Packages index (the engine runs it before the
/// index's last byte reaches the client). `LARDER_APT_PACKAGES=/path/Packages.xz cargo test
/// -p larder-apt --release -- --ignored --nocapture declared_digests_timing`.
#[test]
#[ignore = "a measurement, needs LARDER_APT_PACKAGES"]
fn declared_digests_timing() {
    let path = std::env::var("LARDER_APT_PACKAGES").expect("LARDER_APT_PACKAGES");
    let body = std::fs::read(&path).expect("read Packages");
    let adapter = apt(serde_json::json!({}));
    let index = fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz",
    ));
    let started = std::time::Instant::now();
    let text = crate::compression::decompress(&body, crate::compression::MAX_DECOMPRESSED).unwrap();
    eprintln!(
        "decompressed to {} bytes in {:?}",
        text.len(),
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let declared = adapter.declared_digests(&index, &body);
    eprintln!(
        "{} declarations from {} bytes in {:?}",
        declared.len(),
        body.len(),
        started.elapsed()
    );
    assert!(!declared.is_empty());
}

#[test]
fn a_suites_release_files_are_published_as_one_set() {
    let adapter = apt(serde_json::json!({}));
    let set = |path: &str| {
        let object = fetched(mirror(&adapter, path));
        let keys: Vec<String> = adapter
            .published_with(&object)
            .into_iter()
            .map(|sibling| sibling.key)
            .collect();
        keys
    };
    let suite = "deb.debian.org/debian/dists/bookworm";
    assert_eq!(
        set("/deb.debian.org/debian/dists/bookworm/InRelease"),
        [format!("{suite}/Release"), format!("{suite}/Release.gpg")]
    );
    assert_eq!(
        set("/deb.debian.org/debian/dists/bookworm/Release.gpg"),
        [format!("{suite}/InRelease"), format!("{suite}/Release")]
    );
    // A flat repository's release files too; the proxy mode names the same keys.
    let flat = fetched(proxy(&adapter, "deb.debian.org", "/debian/./Release"));
    assert_eq!(adapter.published_with(&flat).len(), 2);
    // Indexes, a component's Release and pool files are not release sets.
    for path in [
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Release",
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz",
        "/deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb",
    ] {
        assert!(set(path).is_empty(), "{path}");
    }
    // The InRelease of the set declares digests, as it does when asked for directly.
    let members = adapter.published_with(&fetched(mirror(
        &adapter,
        "/deb.debian.org/debian/dists/bookworm/Release",
    )));
    assert!(members[0].declares_digests && !members[1].declares_digests);
}

#[test]
fn valid_until_is_read_from_release_files_only() {
    let adapter = apt(serde_json::json!({}));
    let object = |path: &str| fetched(mirror(&adapter, path));
    let release = b"Origin: Debian\nValid-Until: Sat, 07 Dec 2026 08:10:41 UTC\nSHA256:\n";
    let in_release = object("/deb.debian.org/debian/dists/bookworm/InRelease");
    assert_eq!(
        adapter.valid_until(&in_release, release),
        Some(1_796_631_041)
    );
    // The first 64 KiB of a body may end mid-line: the field comes first.
    assert_eq!(
        adapter.valid_until(&in_release, &release[..release.len() - 4]),
        Some(1_796_631_041)
    );
    let packages = object("/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages");
    assert_eq!(adapter.valid_until(&packages, release), None);
    assert_eq!(adapter.valid_until(&in_release, b"Origin: Debian\n"), None);
}
