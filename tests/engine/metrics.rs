//! `/-/metrics` counts exactly what the requests did: each test predicts every counter it moves.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, metric, scrape, Mode, Resource, Routes, Upstream};
use std::time::Duration;

/// Short limits, so failures are quick.
const LIMITS: &str = "[limits]\nconnect_timeout = \"1s\"\nfirst_byte_timeout = \"1s\"\nidle_timeout = \"1s\"\nstale_timeout = \"2s\"\nretries = 0\n";

/// The larder's root URL (the harness's URL ends in `/t`).
fn root(larder: &TestLarder) -> String {
    larder.url.trim_end_matches("/t").to_string()
}

/// Every counter the tests below predict, for ecosystem `t`.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    requests: u64,
    hits: u64,
    misses: u64,
    coalesced: u64,
    stale: u64,
    revalidated_304: u64,
    revalidated_200: u64,
    served_cache: u64,
    served_upstream: u64,
    fetched: u64,
    errors_connect: u64,
    errors_status: u64,
    latency_count: u64,
}

fn counts(larder: &TestLarder) -> Counts {
    let text = scrape(&root(larder));
    let get = |series: &str| -> u64 {
        metric(&text, series).unwrap_or_else(|| panic!("{series} is missing from:\n{text}")) as u64
    };
    Counts {
        requests: get("larder_requests_total{ecosystem=\"t\"}"),
        hits: get("larder_cache_hits_total{ecosystem=\"t\"}"),
        misses: get("larder_cache_misses_total{ecosystem=\"t\"}"),
        coalesced: get("larder_coalesced_waits_total{ecosystem=\"t\"}"),
        stale: get("larder_stale_served_total{ecosystem=\"t\"}"),
        revalidated_304: get("larder_revalidations_total{ecosystem=\"t\",status=\"304\"}"),
        revalidated_200: get("larder_revalidations_total{ecosystem=\"t\",status=\"200\"}"),
        served_cache: get("larder_served_bytes_total{ecosystem=\"t\",source=\"cache\"}"),
        served_upstream: get("larder_served_bytes_total{ecosystem=\"t\",source=\"upstream\"}"),
        fetched: get("larder_upstream_fetched_bytes_total{ecosystem=\"t\"}"),
        errors_connect: get("larder_upstream_errors_total{ecosystem=\"t\",kind=\"connect\"}"),
        errors_status: get("larder_upstream_errors_total{ecosystem=\"t\",kind=\"status\"}"),
        latency_count: get("larder_upstream_latency_seconds_count{ecosystem=\"t\"}"),
    }
}

fn fetch(url: &str) -> (u16, usize) {
    let response = http_client().get(url).send().expect("response");
    let status = response.status().as_u16();
    (status, response.bytes().expect("body").len())
}

#[test]
fn hits_misses_bytes_and_revalidations_count_exactly() {
    let blob = payload(100_000, 3);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/a".into(),
        vec![Resource::new("application/octet-stream", blob.clone())],
    );
    routes.insert(
        "/meta/m".into(),
        vec![Resource::new("application/json", b"{\"v\":1}".to_vec())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(
        &upstream.url,
        &format!("{LIMITS}[t]\nmetadata_ttl = \"1ms\"\n"),
    );
    let mut want = Counts::default();
    assert_eq!(counts(&larder), want, "nothing before the first request");

    // A miss streamed from upstream, then two hits and a HEAD from the store.
    assert_eq!(fetch(&larder.at("blob/a")), (200, blob.len()));
    want.requests += 1;
    want.misses += 1;
    want.served_upstream += blob.len() as u64;
    want.fetched += blob.len() as u64;
    want.latency_count += 1;
    assert_eq!(counts(&larder), want, "after the first fetch");
    for _ in 0..2 {
        assert_eq!(fetch(&larder.at("blob/a")), (200, blob.len()));
    }
    let head = http_client()
        .head(larder.at("blob/a"))
        .send()
        .expect("HEAD");
    assert_eq!(head.status(), 200);
    want.requests += 3;
    want.hits += 3;
    want.served_cache += 2 * blob.len() as u64;
    assert_eq!(counts(&larder), want, "after two hits and a HEAD");

    // A range from the store counts only the bytes sent.
    let range = http_client()
        .get(larder.at("blob/a"))
        .header("range", "bytes=0-99")
        .send()
        .expect("range");
    assert_eq!(range.status(), 206);
    assert_eq!(range.bytes().expect("body").len(), 100);
    want.requests += 1;
    want.hits += 1;
    want.served_cache += 100;
    assert_eq!(counts(&larder), want, "after a range");

    // Metadata: a first fetch, a 304 revalidation, a 200 revalidation with a new body.
    assert_eq!(fetch(&larder.at("meta/m")), (200, 7));
    want.requests += 1;
    want.misses += 1;
    want.served_upstream += 7;
    want.fetched += 7;
    want.latency_count += 1;
    std::thread::sleep(Duration::from_millis(5));
    upstream.insert(
        "/meta/m",
        Resource::new("application/json", Vec::new()).status(304),
    );
    assert_eq!(fetch(&larder.at("meta/m")), (200, 7));
    want.requests += 1;
    want.misses += 1;
    want.revalidated_304 += 1;
    want.served_cache += 7;
    want.latency_count += 1;
    assert_eq!(counts(&larder), want, "after a 304 revalidation");
    std::thread::sleep(Duration::from_millis(5));
    upstream.insert(
        "/meta/m",
        Resource::new("application/json", b"{\"v\":22}".to_vec()),
    );
    assert_eq!(fetch(&larder.at("meta/m")), (200, 8));
    want.requests += 1;
    want.misses += 1;
    want.revalidated_200 += 1;
    want.fetched += 8;
    // Revalidated in full before answering: read from the newly stored blob.
    want.served_cache += 8;
    want.latency_count += 1;
    assert_eq!(counts(&larder), want, "after a 200 revalidation");

    // An upstream 500 without a cached copy: a miss, an error, a 502.
    upstream.insert(
        "/meta/broken",
        Resource::new("text/plain", b"oops".to_vec()).status(500),
    );
    assert_eq!(fetch(&larder.at("meta/broken")).0, 502);
    want.requests += 1;
    want.misses += 1;
    want.errors_status += 1;
    want.latency_count += 1;
    // A route the ecosystem refuses is a request but no lookup.
    assert_eq!(fetch(&larder.at("nowhere")).0, 404);
    want.requests += 1;
    // Scrapes and the status page count nothing.
    assert_eq!(fetch(&format!("{}/", root(&larder))).0, 200);
    assert_eq!(counts(&larder), want, "at the end");
}

#[test]
fn stale_copies_and_unreachable_upstreams_are_counted() {
    let mut routes = Routes::new();
    routes.insert(
        "/meta/s".into(),
        vec![Resource::new("application/json", b"{\"stale\":1}".to_vec())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(
        &upstream.url,
        &format!("{LIMITS}[t]\nmetadata_ttl = \"1ms\"\n"),
    );
    assert_eq!(fetch(&larder.at("meta/s")), (200, 11));
    upstream.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(5));
    let stale = http_client()
        .get(larder.at("meta/s"))
        .send()
        .expect("stale");
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()["x-larder-cache"], "stale");
    assert_eq!(fetch(&larder.at("meta/never")).0, 502);
    let got = counts(&larder);
    assert_eq!(
        got,
        Counts {
            requests: 3,
            hits: 0,
            misses: 3,
            stale: 1,
            served_cache: 11,
            served_upstream: 11,
            fetched: 11,
            errors_connect: 2,
            latency_count: 1,
            ..Counts::default()
        }
    );
    let text = scrape(&root(&larder));
    let last_error = metric(
        &text,
        "larder_upstream_last_error_timestamp_seconds{ecosystem=\"t\"}",
    )
    .expect("last error");
    let last_success = metric(
        &text,
        "larder_upstream_last_success_timestamp_seconds{ecosystem=\"t\"}",
    )
    .expect("last success");
    assert!(last_error >= last_success && last_success > 0.0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_count_one_miss_and_coalesced_waits() {
    let body = payload(64 * 1024, 5);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/c".into(),
        vec![Resource::new("application/octet-stream", body.clone())],
    );
    let upstream = Upstream::start(routes);
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_millis(700),
        bytes_per_sec: 256 * 1024,
    });
    let larder = TestLarder::start(&upstream.url, LIMITS);
    let client = reqwest::Client::new();
    let clients: Vec<_> = (0..5)
        .map(|_| {
            let (client, url) = (client.clone(), larder.at("blob/c"));
            tokio::spawn(async move {
                let response = client.get(url).send().await.expect("response");
                response.bytes().await.expect("body").len()
            })
        })
        .collect();
    for handle in clients {
        assert_eq!(handle.await.expect("client"), body.len());
    }
    assert_eq!(upstream.count("/blob/c"), 1, "one upstream request");
    let larder_root = root(&larder);
    let got = tokio::task::spawn_blocking(move || {
        let text = scrape(&larder_root);
        let get = |s: &str| metric(&text, s).unwrap_or_else(|| panic!("{s}:\n{text}")) as u64;
        (
            get("larder_cache_misses_total{ecosystem=\"t\"}"),
            get("larder_coalesced_waits_total{ecosystem=\"t\"}"),
            get("larder_served_bytes_total{ecosystem=\"t\",source=\"upstream\"}"),
            get("larder_upstream_fetched_bytes_total{ecosystem=\"t\"}"),
        )
    })
    .await
    .expect("scrape");
    assert_eq!(
        got,
        (5, 4, 5 * body.len() as u64, body.len() as u64),
        "(misses, coalesced, served from the fill, fetched)"
    );
}

/// A bug in one request's handler answers that request 500, is counted, and leaves the
/// connection and every other request working.
#[test]
fn a_panicking_handler_answers_500_and_is_counted() {
    let body = payload(1000, 3);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/ok".into(),
        vec![Resource::new("application/octet-stream", body.clone())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let panicked = client.get(larder.at("panic")).send().unwrap();
    assert_eq!(panicked.status(), 500);
    assert!(panicked.text().unwrap().contains("larder hit a bug"));
    let after = client.get(larder.at("blob/ok")).send().unwrap();
    assert_eq!(after.status(), 200);
    assert!(after.bytes().unwrap() == body);
    let text = scrape(&root(&larder));
    assert_eq!(metric(&text, "larder_handler_panics_total"), Some(1.0));
}
