//! Pipelined requests (apt sends up to ten before reading an answer) are answered in order but
//! fetched at once: on a cold cache they must not wait one upstream round trip after another.

use crate::harness::{payload, TestLarder};
use crate::support::{Mode, Resource, Routes, Upstream};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const OBJECTS: usize = 4;

fn upstream() -> Upstream {
    let mut routes = Routes::new();
    for i in 0..OBJECTS {
        routes.insert(
            format!("/blob/p{i}"),
            vec![Resource::new(
                "application/octet-stream",
                payload(2000, i as u8),
            )],
        );
    }
    Upstream::start(routes)
}

fn pipelined(larder: &TestLarder, targets: &[String]) -> std::net::TcpStream {
    let addr = larder
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/t");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    let heads: String = targets
        .iter()
        .map(|t| format!("GET {t} HTTP/1.1\r\nHost: {addr}\r\n\r\n"))
        .collect();
    tcp.write_all(heads.as_bytes()).expect("send the heads");
    tcp
}

fn asked(upstream: &Upstream) -> BTreeSet<String> {
    upstream.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn pipelined_gets_for_cold_objects_reach_the_upstream_together() {
    let upstream = upstream();
    // The upstream reads requests and never answers: one request at a time would ask for p0
    // alone, forever.
    upstream.set_mode(Mode::Hang);
    let larder = TestLarder::start(&upstream.url, "");
    let targets: Vec<String> = (0..OBJECTS).map(|i| format!("/t/blob/p{i}")).collect();
    let _tcp = pipelined(&larder, &targets);
    let deadline = Instant::now() + Duration::from_secs(20);
    while asked(&upstream).len() < OBJECTS {
        assert!(
            Instant::now() < deadline,
            "the upstream was asked only for {:?}",
            asked(&upstream)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Once asked, each object is one upstream request: the prefetch and the request share it.
    assert_eq!(upstream.requests().len(), OBJECTS);
}

#[test]
fn pipelined_answers_come_back_whole_and_in_order() {
    let upstream = upstream();
    let larder = TestLarder::start(&upstream.url, "");
    let targets: Vec<String> = (0..OBJECTS).map(|i| format!("/t/blob/p{i}")).collect();
    let mut tcp = pipelined(&larder, &targets);
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut received = Vec::new();
    let want: Vec<Vec<u8>> = (0..OBJECTS).map(|i| payload(2000, i as u8)).collect();
    let mut buf = [0u8; 65536];
    while want.iter().any(|body| find(&received, body).is_none()) || !ordered(&received, &want) {
        let n = tcp.read(&mut buf).expect("the answers arrive");
        assert!(
            n > 0,
            "the connection closed after {} bytes",
            received.len()
        );
        received.extend_from_slice(&buf[..n]);
    }
    let statuses = received
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert_eq!(statuses, OBJECTS);
    assert_eq!(upstream.requests().len(), OBJECTS);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Each body appears after the one before it.
fn ordered(received: &[u8], bodies: &[Vec<u8>]) -> bool {
    let positions: Vec<Option<usize>> = bodies.iter().map(|b| find(received, b)).collect();
    positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1])
}
