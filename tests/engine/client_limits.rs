//! Hostile clients meet `[limits]`: each bound answers its status (431, 414, 413, 503 with
//! `Retry-After`, or a close), is counted in `/-/metrics`, and leaves larder serving others.
//! Plain TCP, so the bytes sent are exactly the ones a hostile client would send.

use crate::harness::TestLarder;
use crate::support::{http_client, metric, scrape, Resource, Routes, Upstream};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn served(limits: &str) -> (Upstream, TestLarder) {
    let mut routes = Routes::new();
    routes.insert(
        "/meta/ok".into(),
        vec![Resource::new("application/json", "{\"ok\":true}")],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, &format!("[limits]\n{limits}"));
    (upstream, larder)
}

fn addr(larder: &TestLarder) -> SocketAddr {
    larder
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/t")
        .parse()
        .unwrap()
}

fn refusals(larder: &TestLarder, limit: &str) -> f64 {
    let text = scrape(larder.url.trim_end_matches("/t"));
    metric(
        &text,
        &format!("larder_client_refusals_total{{limit=\"{limit}\"}}"),
    )
    .unwrap_or_else(|| panic!("no {limit} series in:\n{text}"))
}

/// Sends `request` on a new connection and returns everything larder sent before closing.
fn exchange(to: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(to).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A refusal may come before all of it is written; what matters is the answer.
    let _ = stream.write_all(request);
    read_all(&mut stream)
}

fn read_all(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

fn still_serving(larder: &TestLarder) {
    let response = http_client().get(larder.at("meta/ok")).send().unwrap();
    assert_eq!(response.status(), 200, "larder still serves others");
}

#[test]
fn a_head_over_max_header_bytes_or_max_headers_is_answered_431() {
    let (_upstream, larder) = served("max_header_bytes = \"16KiB\"\nmax_headers = 20\n");
    let big = format!(
        "GET /t/meta/ok HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let answer = exchange(addr(&larder), big.as_bytes());
    assert!(status_line(&answer).contains(" 431 "), "{answer}");
    let many: String = (0..30).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = exchange(
        addr(&larder),
        format!("GET /t/meta/ok HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    );
    assert!(status_line(&answer).contains(" 431 "), "{answer}");
    // Under both bounds, the same request is served.
    let fine: String = (0..10).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = exchange(
        addr(&larder),
        format!("GET /t/meta/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{fine}\r\n").as_bytes(),
    );
    assert!(status_line(&answer).contains(" 200 "), "{answer}");
    assert_eq!(refusals(&larder, "headers"), 2.0);
    still_serving(&larder);
}

#[test]
fn a_request_target_over_max_target_length_is_answered_414_before_any_upstream_request() {
    let (upstream, larder) = served("max_target_length = 200\n");
    let long = format!("/t/meta/{}", "a".repeat(300));
    let answer = exchange(
        addr(&larder),
        format!("GET {long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert!(status_line(&answer).contains(" 414 "), "{answer}");
    assert!(answer.contains("max_target_length (200 bytes)"), "{answer}");
    assert!(upstream.requests().is_empty());
    assert_eq!(refusals(&larder, "target_length"), 1.0);
    still_serving(&larder);
}

#[test]
fn an_upload_over_the_build_cache_bound_is_answered_413_and_counted() {
    let upstream = Upstream::start(Routes::new());
    let larder = TestLarder::start(&upstream.url, "[cache]\nmax_entry_size = \"1KiB\"\n");
    let url = format!(
        "{}/cache/ccache/ab/cdef0123456789",
        larder.url.trim_end_matches("/t")
    );
    let response = http_client()
        .put(&url)
        .body(vec![0u8; 4096])
        .send()
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(refusals(&larder, "request_body"), 1.0);
}

#[test]
fn connections_past_the_per_client_cap_get_503_with_retry_after_and_other_addresses_do_not() {
    let (_upstream, larder) = served("max_connections_per_client = 2\nmax_connections = 4\n");
    let to = addr(&larder);
    let request = b"GET /t/meta/ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // Two idle connections from 127.0.0.1 fill its share, once the start-up's health checks
    // have closed theirs.
    until_open(&larder, 0);
    let mut held: Vec<TcpStream> = (0..2).map(|_| from_address("127.0.0.1", to)).collect();
    let answer = exchange_on(from_address("127.0.0.1", to), request);
    assert!(status_line(&answer).contains(" 503 "), "{answer}");
    assert!(answer.contains("\r\nRetry-After: 1\r\n"), "{answer}");
    assert!(answer.contains("max_connections_per_client"), "{answer}");
    // Another address is still served.
    let answer = exchange_on(from_address("127.0.0.2", to), request);
    assert!(status_line(&answer).contains(" 200 "), "{answer}");
    // Once larder has seen that one close, two more idle connections reach the total: a fifth
    // from anywhere is refused.
    until_open(&larder, 2);
    held.push(from_address("127.0.0.2", to));
    held.push(from_address("127.0.0.3", to));
    let answer = exchange_on(from_address("127.0.0.4", to), request);
    assert!(status_line(&answer).contains(" 503 "), "{answer}");
    assert!(answer.contains("\r\nRetry-After: 1\r\n"), "{answer}");
    assert!(answer.contains("[limits] max_connections;"), "{answer}");
    // Closed connections free their places, once larder has seen them close (on a loaded
    // machine that can take longer than a fixed sleep).
    drop(held);
    until_open(&larder, 0);
    still_serving(&larder);
    assert_eq!(refusals(&larder, "connections_per_client"), 1.0);
    assert_eq!(refusals(&larder, "connections"), 1.0);
}

/// Waits until larder counts `others` open connections (a closed one is counted until larder
/// has seen it close).
fn until_open(larder: &TestLarder, others: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while larder.open_connections() != others as i64 {
        assert!(Instant::now() < deadline, "closed connections stay counted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A blocking connection from a chosen loopback address (Linux routes all of 127/8 to lo).
fn from_address(source: &str, to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        socket.connect(to).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

fn exchange_on(mut stream: TcpStream, request: &[u8]) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    read_all(&mut stream)
}

#[test]
fn an_unfinished_head_and_an_idle_keep_alive_connection_are_closed_after_header_read_timeout() {
    let (_upstream, larder) = served("header_read_timeout = \"1s\"\n");
    let to = addr(&larder);
    let started = Instant::now();
    let answer = exchange(to, b"GET /t/meta/ok HTTP/1.1\r\nHost: x\r\n");
    let closed_after = started.elapsed();
    assert_eq!(answer, "", "closed without an answer");
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(5),
        "closed after {closed_after:?}"
    );
    // A served keep-alive connection left idle is closed the same way.
    let mut idle = TcpStream::connect(to).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"GET /t/meta/ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let answer = read_all(&mut idle);
    assert!(status_line(&answer).contains(" 200 "), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle connection closed after {:?}",
        started.elapsed()
    );
    // Both closes count: hyper reports an idle keep-alive connection's timeout as a head's.
    assert_eq!(refusals(&larder, "header_read_timeout"), 2.0);
    still_serving(&larder);
}

#[test]
fn an_idle_http2_connection_gets_a_goaway_after_header_read_timeout() {
    let (_upstream, larder) = served("header_read_timeout = \"1s\"\n");
    let mut stream = TcpStream::connect(addr(&larder)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // h2c with prior knowledge: the preface and an empty SETTINGS frame, then nothing.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .unwrap();
    let started = Instant::now();
    let mut sent = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        sent.extend_from_slice(&buf[..n]);
    }
    let closed_after = started.elapsed();
    let mut frame_types = Vec::new();
    let mut rest = &sent[..];
    while rest.len() >= 9 {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        frame_types.push(rest[3]);
        rest = rest.get(9 + length..).unwrap_or_default();
    }
    const GOAWAY: u8 = 0x7;
    assert!(
        frame_types.contains(&GOAWAY),
        "frames larder sent: {frame_types:?}"
    );
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(5),
        "closed after {closed_after:?}"
    );
    assert_eq!(refusals(&larder, "header_read_timeout"), 1.0);
    still_serving(&larder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_http2_download_outlasts_header_read_timeout_whole() {
    use futures_util::StreamExt;
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut routes = Routes::new();
    routes.insert(
        "/meta/big".into(),
        vec![Resource::new("application/octet-stream", body.clone())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[limits]\nheader_read_timeout = \"1s\"\n");
    // A 64 KiB window, given back only as the body is read at about 160 KB/s: the bytes wait
    // in larder (hyper's send buffer holds up to 400 KB after larder's response body ends),
    // not in the client's kernel, for several idle timeouts.
    let client = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(65_535)
        .http2_initial_connection_window_size(65_535)
        .build()
        .unwrap();
    let response = client.get(larder.at("meta/big")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("the body arrives whole, without a reset");
        received.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_micros(chunk.len() as u64 * 6)).await;
    }
    assert!(received == body, "the whole body, unchanged");
    // The client closes its connection: only a close by the idle bound would count.
    drop((stream, client));
    let larder = std::sync::Arc::new(larder);
    let refused = tokio::task::spawn_blocking({
        let larder = larder.clone();
        move || refusals(&larder, "header_read_timeout")
    });
    assert_eq!(refused.await.unwrap(), 0.0);
}

/// Median latency of `n` sequential GETs on fresh connections.
fn median_latency(url: &str, n: usize) -> Duration {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut took: Vec<Duration> = (0..n)
        .map(|_| {
            let started = Instant::now();
            let response = client.get(url).send().unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().unwrap();
            started.elapsed()
        })
        .collect();
    took.sort();
    took[n / 2]
}

#[test]
fn five_hundred_slowloris_connections_do_not_slow_another_client() {
    let (_upstream, larder) = served("");
    let url = larder.at("meta/ok");
    assert_eq!(http_client().get(&url).send().unwrap().status(), 200);
    let baseline = median_latency(&url, 30);

    // 500 connections from another address, each sending its head a byte at a time.
    let to = addr(&larder);
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<usize>();
    let trickler = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            use tokio::io::AsyncWriteExt;
            let mut streams = Vec::new();
            for _ in 0..500 {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                streams.push(socket.connect(to).await.unwrap());
            }
            let head = b"GET /t/meta/ok HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            let mut sent = 0;
            ready_tx.send(streams.len()).unwrap();
            while stop_rx.try_recv().is_err() {
                let byte = head.get(sent).copied().unwrap_or(b'a');
                for stream in &mut streams {
                    let _ = stream.write_all(&[byte]).await;
                }
                sent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    });
    assert_eq!(ready_rx.recv().unwrap(), 500);
    std::thread::sleep(Duration::from_millis(300));
    let text = scrape(larder.url.trim_end_matches("/t"));
    let open = metric(&text, "larder_client_connections").unwrap();
    assert!(open >= 500.0, "the slow connections are open: {open}");

    let during = median_latency(&url, 30);
    stop_tx.send(()).unwrap();
    trickler.join().unwrap();
    eprintln!("median latency: {baseline:?} alone, {during:?} beside 500 slow clients");
    // Relative to the baseline, with room for a busy machine's scheduling noise.
    assert!(
        during <= baseline * 10 + Duration::from_millis(20),
        "median latency {during:?} with 500 slow clients, {baseline:?} without"
    );
}
