//! Upstream failures: clients fail fast and cleanly, cached metadata is served stale, nothing
//! partial is stored, and a failure is never reported as a 404.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, Mode, Resource, Routes, Upstream};
use std::time::{Duration, Instant};

/// Short limits so the bounds below are quick to prove.
const LIMITS: &str = "[limits]\nconnect_timeout = \"1s\"\nfirst_byte_timeout = \"1s\"\nidle_timeout = \"1s\"\nstale_timeout = \"2s\"\nretries = 1\n";

fn upstream_with(path: &str, body: &[u8]) -> Upstream {
    let mut routes = Routes::new();
    routes.insert(
        path.into(),
        vec![Resource::new("application/octet-stream", body.to_vec())],
    );
    Upstream::start(routes)
}

fn stale_config() -> String {
    format!("{LIMITS}[t]\nmetadata_ttl = \"1ms\"\n")
}

#[test]
fn an_upstream_dying_mid_stream_breaks_the_client_and_stores_nothing() {
    let body = payload(1_000_000, 9);
    let upstream = upstream_with("/blob/x", &body);
    upstream.set_mode(Mode::DieMidStream);
    let larder = TestLarder::start(&upstream.url, LIMITS);
    let started = Instant::now();
    let result = http_client().get(larder.at("blob/x")).send().and_then(|r| {
        let status = r.status();
        r.bytes().map(|body| (status, body))
    });
    // Either the client was already streaming and its connection is cut, or the failure came
    // before any body was announced and it gets a gateway error. Never a complete-looking 200.
    if let Ok((status, body)) = &result {
        assert!(
            status.is_server_error(),
            "never a short 200: got {status} with {} bytes",
            body.len()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(larder.blob_count(), 0);
    assert_eq!(larder.temp_count(), 0);
    upstream.set_mode(Mode::Normal);
    let again = http_client().get(larder.at("blob/x")).send().unwrap();
    assert!(again.bytes().unwrap() == body, "the next request refetches");
}

#[test]
fn refused_and_hanging_upstreams_fail_fast_with_gateway_errors_not_404() {
    let upstream = upstream_with("/blob/x", b"x");
    let larder = TestLarder::start(&upstream.url, LIMITS);
    for (mode, want) in [(Mode::Down, 502), (Mode::Hang, 504)] {
        upstream.set_mode(mode);
        let started = Instant::now();
        let response = http_client().get(larder.at("blob/x")).send().unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), want, "{mode:?}");
        let text = response.text().unwrap();
        assert!(
            text.contains("127.0.0.1"),
            "the body names the upstream: {text}"
        );
        // One retry: two attempts bounded by the 1 s timeouts, plus backoff.
        assert!(
            elapsed < Duration::from_secs(4),
            "{mode:?} took {elapsed:?}"
        );
        eprintln!("upstream {mode:?}: client answered {want} after {elapsed:?} (first_byte_timeout 1s, 1 retry)");
    }
}

#[test]
fn cached_metadata_is_served_stale_when_upstream_refuses_hangs_dies_or_errs() {
    let upstream = upstream_with("/meta/m", b"{\"v\":1}");
    let larder = TestLarder::start(&upstream.url, &stale_config());
    assert_eq!(
        http_client()
            .get(larder.at("meta/m"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "{\"v\":1}"
    );
    for mode in [Mode::Down, Mode::Hang, Mode::DieMidStream] {
        upstream.set_mode(mode);
        std::thread::sleep(Duration::from_millis(5));
        let started = Instant::now();
        let response = http_client().get(larder.at("meta/m")).send().unwrap();
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 200, "{mode:?}");
        assert_eq!(response.headers()["x-larder-cache"], "stale", "{mode:?}");
        assert_eq!(response.text().unwrap(), "{\"v\":1}");
        assert!(
            elapsed < Duration::from_secs(4),
            "{mode:?} took {elapsed:?}"
        );
        eprintln!("stale-if-error, upstream {mode:?}: cached copy served after {elapsed:?}");
    }
    upstream.set_mode(Mode::Normal);
    for status in [500, 503, 429, 401, 403] {
        upstream.insert(
            "/meta/m",
            Resource::new("text/html", "<html>error page</html>").status(status),
        );
        std::thread::sleep(Duration::from_millis(5));
        let response = http_client().get(larder.at("meta/m")).send().unwrap();
        assert_eq!(
            response.headers()["x-larder-cache"],
            "stale",
            "upstream {status}"
        );
        assert_eq!(
            response.text().unwrap(),
            "{\"v\":1}",
            "upstream {status}: never cached"
        );
    }
}

#[test]
fn a_404_is_remembered_for_the_negative_ttl_and_passed_through() {
    let upstream = Upstream::start(Routes::new());
    let larder = TestLarder::start(&upstream.url, "[t]\nnegative_ttl = \"1h\"");
    for _ in 0..3 {
        let response = http_client().get(larder.at("meta/missing")).send().unwrap();
        assert_eq!(response.status(), 404);
    }
    assert_eq!(upstream.count("/meta/missing"), 1, "negative cache");
    upstream.insert(
        "/meta/gone",
        Resource::new("text/plain", "gone").status(410),
    );
    assert_eq!(
        http_client()
            .get(larder.at("meta/gone"))
            .send()
            .unwrap()
            .status(),
        410
    );
}

#[test]
fn offline_mode_serves_what_is_cached_and_never_calls_upstream() {
    let upstream = upstream_with("/meta/m", b"cached");
    let temp = tempfile::tempdir().unwrap();
    {
        let larder = TestLarder::start_in(temp.path(), &upstream.url, "");
        assert_eq!(
            http_client()
                .get(larder.at("meta/m"))
                .send()
                .unwrap()
                .text()
                .unwrap(),
            "cached"
        );
    }
    upstream.clear_requests();
    let larder = TestLarder::start_in(
        temp.path(),
        &upstream.url,
        "offline = true\n[t]\nmetadata_ttl = \"1ms\"",
    );
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        http_client()
            .get(larder.at("meta/m"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "cached"
    );
    let missing = http_client().get(larder.at("meta/other")).send().unwrap();
    assert_eq!(missing.status(), 424, "a status no client retries");
    assert!(missing.text().unwrap().contains("offline"));
    assert!(
        upstream.requests().is_empty(),
        "offline larder contacted upstream"
    );
}

/// Artifact downloads that hold every connection slot to a host (each for its whole body) do
/// not delay a metadata request to the same host: the two have separate budgets.
#[test]
fn metadata_does_not_queue_behind_slow_downloads_from_its_host() {
    let mut routes = Routes::new();
    for i in 0..4 {
        routes.insert(
            format!("/blob/slow{i}"),
            vec![Resource::new("application/octet-stream", payload(100_000, i)).trickle(20_000)],
        );
    }
    routes.insert(
        "/meta/m".into(),
        vec![Resource::new("application/json", b"{}".to_vec())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[limits]\nmax_connections_per_host = 2\n");
    for i in 0..4 {
        let url = larder.at(&format!("blob/slow{i}"));
        std::thread::spawn(move || {
            let _ = http_client().get(url).send().and_then(|r| r.bytes());
        });
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while (0..4)
        .filter(|i| upstream.count(&format!("/blob/slow{i}")) > 0)
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "the downloads never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let meta = http_client().get(larder.at("meta/m")).send().unwrap();
    assert_eq!(meta.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "metadata waited {:?} behind the downloads (each takes 5 s)",
        started.elapsed()
    );
}
