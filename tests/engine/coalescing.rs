//! One upstream fetch per object, however many clients, each served from byte 0 as bytes arrive.

use crate::harness::{payload, TestLarder};
use crate::support::{Mode, Resource, Routes, Upstream};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

const SIZE: usize = 2 * 1024 * 1024;
/// 2 MiB at 1 MiB/s: the upstream takes about two seconds.
const RATE: u64 = 1024 * 1024;

fn trickling_upstream(body: &[u8]) -> Upstream {
    let mut routes = Routes::new();
    routes.insert(
        "/blob/big".into(),
        vec![Resource::new("application/octet-stream", body.to_vec())],
    );
    let upstream = Upstream::start(routes);
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_millis(50),
        bytes_per_sec: RATE,
    });
    upstream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_clients_cause_one_upstream_request_and_stream_early() {
    let body = payload(SIZE, 1);
    let upstream = trickling_upstream(&body);
    let larder = TestLarder::start(&upstream.url, "");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let clients: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            let url = larder.at("blob/big");
            tokio::spawn(async move {
                let response = client.get(url).send().await.expect("response");
                assert_eq!(response.status(), 200);
                let mut stream = response.bytes_stream();
                let mut first_byte_at = None;
                let mut received = Vec::new();
                while let Some(chunk) = stream.next().await {
                    first_byte_at.get_or_insert_with(|| started.elapsed());
                    received.extend_from_slice(&chunk.expect("chunk"));
                }
                (
                    first_byte_at.expect("some bytes"),
                    started.elapsed(),
                    received,
                )
            })
        })
        .collect();
    let mut first_bytes = Vec::new();
    let mut finishes = Vec::new();
    for handle in clients {
        let (first, done, received) = handle.await.expect("client task");
        assert!(received == body, "every client gets the whole body");
        first_bytes.push(first);
        finishes.push(done);
    }
    assert_eq!(
        upstream.count("/blob/big"),
        1,
        "exactly one upstream request"
    );
    let upstream_time = *finishes.iter().min().expect("clients");
    let slowest_first_byte = *first_bytes.iter().max().expect("clients");
    assert!(
        slowest_first_byte < upstream_time / 2,
        "clients receive bytes while upstream is still sending (first byte {slowest_first_byte:?}, done {upstream_time:?})"
    );
    eprintln!(
        "coalescing: 50 clients, 1 upstream request, {} MiB at 1 MiB/s: slowest first byte {:?}, first finish {:?}, last finish {:?}",
        SIZE >> 20,
        slowest_first_byte,
        upstream_time,
        finishes.iter().max().expect("clients")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_client_joining_halfway_gets_the_whole_file() {
    let body = payload(SIZE, 2);
    let upstream = trickling_upstream(&body);
    let larder = TestLarder::start(&upstream.url, "");
    let client = reqwest::Client::new();
    let first = tokio::spawn({
        let (client, url) = (client.clone(), larder.at("blob/big"));
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("response")
                .bytes()
                .await
                .expect("body")
        }
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        !first.is_finished(),
        "the first download is still under way"
    );
    let late = client
        .get(larder.at("blob/big"))
        .send()
        .await
        .expect("response");
    assert_eq!(
        late.headers()["x-larder-cache"],
        "miss",
        "the late client joined the fill (a hit would mean it came after it)"
    );
    let late = late.bytes().await.expect("body");
    assert!(late == body, "the late client gets every byte from 0");
    assert!(first.await.expect("first") == body);
    assert_eq!(upstream.count("/blob/big"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_client_leaving_early_stops_neither_the_others_nor_the_fill() {
    let body = payload(SIZE, 3);
    let upstream = trickling_upstream(&body);
    let larder = TestLarder::start(&upstream.url, "");
    let client = reqwest::Client::new();
    let mut leaver = client
        .get(larder.at("blob/big"))
        .send()
        .await
        .expect("response")
        .bytes_stream();
    let stayer = tokio::spawn({
        let (client, url) = (client.clone(), larder.at("blob/big"));
        async move {
            client
                .get(url)
                .send()
                .await
                .expect("response")
                .bytes()
                .await
                .expect("body")
        }
    });
    let mut got = 0;
    while got < SIZE / 10 {
        got += leaver.next().await.expect("bytes").expect("chunk").len();
    }
    drop(leaver);
    assert!(
        stayer.await.expect("stayer") == body,
        "the remaining client is unaffected"
    );
    // The fill finished and was stored: upstream is not asked again.
    let again = client
        .get(larder.at("blob/big"))
        .send()
        .await
        .expect("response");
    assert_eq!(again.headers()["x-larder-cache"], "hit");
    assert!(again.bytes().await.expect("body") == body);
    assert_eq!(upstream.count("/blob/big"), 1);
}

/// A request whose store lookup misses just before a fill publishes, and that looks for the
/// fill just after it ended, finds the copy that fill stored: it does not fetch it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_arriving_as_a_fill_ends_share_its_copy() {
    const OBJECTS: usize = 120;
    const EACH: u64 = 8;
    let mut routes = Routes::new();
    for i in 0..OBJECTS {
        let body = payload(3000, i as u8);
        routes.insert(
            format!("/blob/r{i}"),
            vec![Resource::new("application/octet-stream", body)],
        );
    }
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let client = reqwest::Client::new();
    for i in 0..OBJECTS {
        // Arrivals spread over about the time a loopback fill takes, so that some land in
        // the moment between a fill's publishing and its leaving.
        let requests: Vec<_> = (0..EACH)
            .map(|n| {
                let (client, url) = (client.clone(), larder.at(&format!("blob/r{i}")));
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_micros(n * 150)).await;
                    let response = client.get(url).send().await.expect("response");
                    assert_eq!(response.status(), 200);
                    response.bytes().await.expect("body").len()
                })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.expect("request task"), 3000);
        }
    }
    let fetched = upstream.requests().len();
    assert_eq!(
        fetched, OBJECTS,
        "{fetched} upstream requests for {OBJECTS} objects"
    );
}
