use super::*;
use http::{HeaderMap, Method};

fn maven() -> Maven {
    let section = Section {
        upstream: Url::parse(remotes::CENTRAL.1).unwrap(),
        metadata_ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
        extra: serde_json::json!({"remotes": {"google": "https://maven.google.com/"}})
            .as_object()
            .unwrap()
            .clone(),
    };
    Maven::new(&section).unwrap()
}

fn route_with(method: &Method, path: &str) -> Route {
    let headers = HeaderMap::new();
    maven().route(&ClientRequest {
        method,
        proxy_host: None,
        path,
        query: None,
        headers: &headers,
    })
}

fn fetch(path: &str) -> Object {
    match route_with(&Method::GET, path) {
        Route::Fetch(object) => object,
        other => panic!("{path}: {other:?}"),
    }
}

fn reply(path: &str) -> (StatusCode, String) {
    match route_with(&Method::GET, path) {
        Route::Reply(reply) => (
            reply.status,
            String::from_utf8(reply.body.to_vec()).unwrap(),
        ),
        other => panic!("{path}: {other:?}"),
    }
}

const JAR: &str = "/central/junit/junit/4.13.2/junit-4.13.2.jar";

#[test]
fn a_release_jar_is_immutable_and_verified_by_its_sha1() {
    let jar = fetch(JAR);
    assert_eq!(jar.key, "central/junit/junit/4.13.2/junit-4.13.2.jar");
    assert_eq!(
        jar.upstream.as_str(),
        "https://repo.maven.apache.org/maven2/junit/junit/4.13.2/junit-4.13.2.jar"
    );
    assert_eq!(jar.freshness, Freshness::Immutable);
    let Verify::Listed(sidecar) = &jar.verify else {
        panic!("{:?}", jar.verify)
    };
    assert_eq!(sidecar.key, format!("{}.sha1", jar.key));
    assert_eq!(sidecar.freshness, Freshness::Immutable);
    let sha1 = "4e031bb61df09069aeb2bffb4019e7a5034a4ee0";
    assert_eq!(
        maven().find_digest(
            sidecar,
            format!("{sha1}  junit-4.13.2.jar\n").as_bytes(),
            &jar
        ),
        Listing::Found(Digest::from_hex(Algorithm::Sha1, sha1).unwrap())
    );
    assert_eq!(
        maven().find_digest(sidecar, b"<html>oops</html>", &jar),
        Listing::Unverifiable
    );
}

#[test]
fn the_sidecar_served_is_the_one_verified_against() {
    // The client's `.sha1` request and the engine's lookup for verification are one object.
    let jar = fetch(JAR);
    let Verify::Listed(index) = jar.verify else {
        panic!()
    };
    let served = fetch(&format!("{JAR}.sha1"));
    assert_eq!(served.key, index.key);
    assert_eq!(served.upstream, index.upstream);
    assert_eq!(served.freshness, Freshness::Immutable);
}

#[test]
fn metadata_and_snapshots_are_revalidated() {
    let ttl = Freshness::Mutable {
        ttl: Duration::from_secs(300),
        negative_ttl: Duration::from_secs(60),
    };
    for path in [
        "/central/junit/junit/maven-metadata.xml",
        "/central/org/apache/maven/plugins/maven-metadata.xml",
        "/central/org/x/y/1.0-SNAPSHOT/maven-metadata.xml",
        "/central/org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7.jar",
        "/central/org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7.jar.sha1",
        "/central/junit/junit/maven-metadata.xml.sha1",
    ] {
        assert_eq!(fetch(path).freshness, ttl, "{path}");
    }
    let snapshot = fetch("/central/org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7.jar");
    assert!(matches!(snapshot.verify, Verify::Listed(_)));
}

#[test]
fn metadata_is_published_with_its_checksums() {
    let adapter = maven();
    let keys = |path: &str| -> Vec<String> {
        adapter
            .published_with(&fetch(path))
            .into_iter()
            .map(|object| object.key)
            .collect()
    };
    assert_eq!(
        keys("/central/junit/junit/maven-metadata.xml"),
        [
            "central/junit/junit/maven-metadata.xml.sha1",
            "central/junit/junit/maven-metadata.xml.md5"
        ]
    );
    assert_eq!(
        keys("/google/androidx/core/maven-metadata.xml.sha1"),
        [
            "google/androidx/core/maven-metadata.xml",
            "google/androidx/core/maven-metadata.xml.md5"
        ]
    );
    assert!(keys(JAR).is_empty());
    assert!(keys("/central/junit/junit/maven-metadata.xml.sha512").is_empty());
}

#[test]
fn remotes_are_named_in_the_path() {
    let google = fetch("/google/androidx/core/core/1.12.0/core-1.12.0.aar");
    assert_eq!(
        google.upstream.as_str(),
        "https://maven.google.com/androidx/core/core/1.12.0/core-1.12.0.aar"
    );
    assert_eq!(
        fetch("/Central/junit/junit/4.13.2/junit-4.13.2.pom").key,
        "central/junit/junit/4.13.2/junit-4.13.2.pom"
    );
    let (status, body) = reply("/jcenter/junit/junit/4.13.2/junit-4.13.2.pom");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("[maven.remotes]"), "{body}");
    assert!(body.contains("central, google"), "{body}");
    let (status, body) = reply("/central");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("<mirror>"), "{body}");
}

#[test]
fn bad_paths_and_writes_are_refused() {
    assert_eq!(reply("/central/junit/junit/").0, StatusCode::NOT_FOUND);
    assert_eq!(
        reply("/central/junit/%2e%2e/x.jar").0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(reply("/central/a//b.jar").0, StatusCode::BAD_REQUEST);
    match route_with(&Method::PUT, JAR) {
        Route::Reply(reply) => assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_upstream_url_is_below_its_remote() {
    let adapter = maven();
    for path in [
        JAR,
        "/google/a/b/1/b-1.pom",
        "/central/x/maven-metadata.xml",
    ] {
        let object = fetch(path);
        assert!(
            adapter
                .upstreams()
                .iter()
                .any(|base| object.upstream.as_str().starts_with(base.as_str())),
            "{path}: {}",
            object.upstream
        );
    }
}

#[test]
fn an_artifacts_checksum_headers_are_digests_it_must_match() {
    let sha1 = "4e031bb61df09069aeb2bffb4019e7a5034a4ee0";
    let mut headers = HeaderMap::new();
    headers.insert("x-checksum-sha1", sha1.parse().unwrap());
    headers.insert(
        "x-checksum-md5",
        "0123456789abcdef0123456789abcdef".parse().unwrap(),
    );
    headers.insert("x-checksum-sha256", "not hex".parse().unwrap());
    let adapter = maven();
    assert_eq!(
        adapter.response_digests(&fetch(JAR), &headers),
        [Digest::from_hex(Algorithm::Sha1, sha1).unwrap()]
    );
    let metadata = fetch("/central/junit/junit/maven-metadata.xml");
    assert!(adapter.response_digests(&metadata, &headers).is_empty());
    let sidecar = fetch(&format!("{JAR}.sha1"));
    assert!(adapter.response_digests(&sidecar, &headers).is_empty());
}
