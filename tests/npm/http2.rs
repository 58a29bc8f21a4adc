//! HTTP/2 without TLS (h2c with prior knowledge, as `curl --http2-prior-knowledge` and gRPC-style
//! clients speak it): larder serves it exactly as HTTP/1.1. An h2 request always carries its
//! authority, which names larder itself: it is not a forward-proxy request.

use crate::fixture::LEFT;
use crate::setup;
use std::path::Path;
use std::process::Command;

/// What the real curl got over h2c.
struct Got {
    status: u16,
    http_version: String,
    headers: String,
    body: Vec<u8>,
}

fn curl_h2(url: &str, dir: &Path, extra: &[&str]) -> Got {
    let (headers, body) = (dir.join("headers"), dir.join("body"));
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--http2-prior-knowledge"])
        .args(extra)
        .arg("--dump-header")
        .arg(&headers)
        .arg("--output")
        .arg(&body)
        .args(["--write-out", "%{http_code} %{http_version}"])
        .arg(url)
        .output()
        .expect("run curl (installed by .ci/install/npm.sh)");
    assert!(
        output.status.success(),
        "curl {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, http_version) = written.split_once(' ').expect("code and version");
    Got {
        status: status.parse().expect("a status code"),
        http_version: http_version.to_string(),
        headers: std::fs::read_to_string(&headers)
            .expect("headers")
            .to_ascii_lowercase(),
        body: std::fs::read(&body).expect("body"),
    }
}

#[test]
fn h2c_serves_misses_hits_health_and_the_status_page() {
    let (registry, upstream, larder) = setup("");
    let dir = tempfile::tempdir().unwrap();
    let left = registry.package(LEFT);
    let tarball = larder.at(&format!("npm{}", left.tarball_path("1.0.0")));
    let expected = left
        .version("1.0.0")
        .tarball
        .clone()
        .expect("fixture bytes");

    let miss = curl_h2(&tarball, dir.path(), &[]);
    assert_eq!((miss.status, miss.http_version.as_str()), (200, "2"));
    assert!(
        miss.headers.contains("x-larder-cache: miss"),
        "{}",
        miss.headers
    );
    assert!(miss.body == expected, "the tarball's bytes");

    let hit = curl_h2(&tarball, dir.path(), &[]);
    assert_eq!((hit.status, hit.http_version.as_str()), (200, "2"));
    assert!(
        hit.headers.contains("x-larder-cache: hit"),
        "{}",
        hit.headers
    );
    assert!(hit.body == expected, "the tarball's bytes");
    assert_eq!(upstream.count(&left.tarball_path("1.0.0")), 1);

    // Links in metadata name the authority the client used, as Host does on HTTP/1.1.
    let packument = curl_h2(&larder.at(&format!("npm/{LEFT}")), dir.path(), &[]);
    assert_eq!(packument.status, 200);
    let text = String::from_utf8_lossy(&packument.body);
    assert!(
        text.contains(&format!("\"tarball\":\"{}/npm/{LEFT}/-/", larder.url)),
        "{text}"
    );

    let health = curl_h2(&larder.at("-/health"), dir.path(), &[]);
    assert_eq!((health.status, health.http_version.as_str()), (200, "2"));
    assert_eq!(health.body, b"ok\n");

    let page = curl_h2(&larder.at(""), dir.path(), &[]);
    assert_eq!((page.status, page.http_version.as_str()), (200, "2"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains(&format!("npm config set registry {}/npm/", larder.url)),
        "{html}"
    );
}
