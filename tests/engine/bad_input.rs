//! Bad input gets a clear 4xx, contacts no one, and larder keeps serving.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, Resource, Routes, Upstream};
use std::io::{Read, Write};

fn served() -> (Upstream, TestLarder) {
    let mut routes = Routes::new();
    routes.insert(
        "/meta/ok".into(),
        vec![Resource::new("application/json", "{}")],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    (upstream, larder)
}

/// Sends raw bytes, returns the status line.
fn raw(larder: &TestLarder, request: &str) -> String {
    let addr = larder
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = vec![0; 4096];
    let n = stream.read(&mut response).unwrap();
    String::from_utf8_lossy(&response[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn traversal_in_any_encoding_is_refused_before_any_upstream_request() {
    let (upstream, larder) = served();
    for path in [
        "/t/meta/../../etc/passwd",
        "/t/meta/%2e%2e/secret",
        "/t/meta/%2E%2E%2Fsecret",
        "/t/meta/.%2e/x",
        "/t/meta/a%00b",
    ] {
        let status = raw(
            &larder,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(status.contains(" 400 "), "{path}: {status}");
    }
    assert!(upstream.requests().is_empty());
    assert_eq!(
        http_client()
            .get(larder.at("meta/ok"))
            .send()
            .unwrap()
            .status(),
        200,
        "still serving"
    );
}

#[test]
fn absurd_paths_unknown_prefixes_and_connect_get_clear_errors() {
    let (upstream, larder) = served();
    let long = format!("/t/meta/{}", "a".repeat(10_000));
    let status = raw(
        &larder,
        &format!("GET {long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        status.contains(" 414 ") || status.contains(" 400 "),
        "{status}"
    );
    let unknown = http_client()
        .get(larder.url.replace("/t", "/nope/x"))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown.text().unwrap().contains("/t/"),
        "says what is served"
    );
    let connect = raw(
        &larder,
        "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
    );
    assert!(connect.contains(" 403 "), "{connect}");
    assert!(upstream.requests().is_empty());
}

#[test]
fn a_proxy_request_for_an_unconfigured_host_is_refused_without_a_connection() {
    let (_upstream, larder) = served();
    let bystander = Upstream::start(Routes::new());
    let base = larder.url.trim_end_matches("/t").to_string();
    let proxied = reqwest::blocking::Client::builder()
        .proxy(reqwest::Proxy::http(&base).unwrap())
        .build()
        .unwrap();
    let response = proxied
        .get(format!("{}/anything", bystander.url))
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().unwrap().contains("not an open proxy"));
    assert!(
        bystander.requests().is_empty(),
        "larder connected to a host nobody configured"
    );
}

#[test]
fn a_malformed_index_never_verifies_anything_and_larder_keeps_serving() {
    let body = payload(1000, 12);
    let mut routes = Routes::new();
    routes.insert(
        "/index".into(),
        vec![Resource::new("text/plain", vec![0xff, 0xfe, 0x00, 0x01])],
    );
    routes.insert(
        "/blob/a".into(),
        vec![Resource::new("application/octet-stream", body.clone())],
    );
    routes.insert(
        "/meta/ok".into(),
        vec![Resource::new("application/json", "{}")],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let response = http_client()
        .get(larder.at("blob/a?listed"))
        .send()
        .unwrap();
    assert!(response.bytes().unwrap() == body);
    assert_eq!(
        larder.blob_count(),
        1,
        "only the index is stored; the unverifiable artifact is not"
    );
    assert_eq!(
        http_client()
            .get(larder.at("meta/ok"))
            .send()
            .unwrap()
            .status(),
        200
    );
}
