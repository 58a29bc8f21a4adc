//! A dead or hung upstream costs (almost) nothing for what larder has cached: after a few
//! failures the upstream is marked down and stale copies are served at once; a copy within the
//! stale-while-revalidate bound is served at once even while upstream is healthy but slow, and
//! refreshed in the background.

use crate::harness::TestLarder;
use crate::support::{http_client, metric, scrape, Mode, Resource, Routes, Upstream};
use std::time::{Duration, Instant};

const OBJECTS: usize = 12;

fn metadata_upstream(generation: &str) -> Upstream {
    let upstream = Upstream::start(Routes::new());
    publish(&upstream, generation);
    upstream
}

fn publish(upstream: &Upstream, generation: &str) {
    for i in 0..OBJECTS {
        upstream.insert(
            &format!("/meta/m{i}"),
            Resource::new("application/json", format!("{{\"{generation}\":{i}}}")),
        );
    }
}

/// Waits (bounded) until `check` holds, polling.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_down_or_hung_upstream_is_marked_down_and_stale_copies_are_served_at_once() {
    for mode in [Mode::Down, Mode::Hang] {
        let upstream = metadata_upstream("old");
        let larder = TestLarder::start(
            &upstream.url,
            "[limits]\nstale_timeout = \"1s\"\nfirst_byte_timeout = \"2s\"\nretries = 2\n[t]\nmetadata_ttl = \"1s\"\n",
        );
        let client = http_client();
        for i in 0..OBJECTS {
            client.get(larder.at(&format!("meta/m{i}"))).send().unwrap();
        }
        larder.clock().advance(Duration::from_secs(10));
        upstream.set_mode(mode);
        let mut slow = 0;
        for i in 0..OBJECTS {
            let started = Instant::now();
            let response = client.get(larder.at(&format!("meta/m{i}"))).send().unwrap();
            assert_eq!(response.status(), 200, "{mode:?}");
            assert_eq!(response.headers()["x-larder-cache"], "stale");
            assert!(response.text().unwrap().contains("\"old\""));
            // Without the breaker each waits: a refused connection is retried after 100 and 400 ms, a
            // hung one for `stale_timeout`.
            if started.elapsed() > Duration::from_millis(300) {
                slow += 1;
            }
        }
        assert!(
            slow <= 3,
            "{mode:?}: {slow} of {OBJECTS} stale copies waited for upstream; after 3 failures none should"
        );
        let text = scrape(larder.url.trim_end_matches("/t"));
        let down = text
            .lines()
            .find(|l| l.starts_with("larder_upstream_down{"))
            .unwrap_or_else(|| panic!("no upstream_down series in:\n{text}"));
        assert!(down.ends_with(" 1"), "{down}");
        let warning = client.get(larder.at("meta/m0")).send().unwrap();
        assert!(warning.headers()["warning"]
            .to_str()
            .unwrap()
            .contains("marked down"));

        // Back up with a new publication: the probe closes the breaker and copies refresh.
        upstream.set_mode(Mode::Normal);
        publish(&upstream, "new");
        // (A fill that hung before the recovery is joined until its first-byte timeout.)
        eventually(&format!("the recovery from {mode:?}"), || {
            larder.clock().advance(Duration::from_secs(10));
            let body = client
                .get(larder.at("meta/m1"))
                .send()
                .unwrap()
                .text()
                .unwrap();
            body.contains("\"new\"")
        });
        let text = scrape(larder.url.trim_end_matches("/t"));
        assert_eq!(metric(&text, down.rsplit_once(' ').unwrap().0), Some(0.0));
    }
}

#[test]
fn a_copy_within_stale_while_revalidate_is_served_at_once_and_refreshed_behind() {
    let upstream = metadata_upstream("old");
    let larder = TestLarder::start(
        &upstream.url,
        "[limits]\nstale_while_revalidate = \"1h\"\n[t]\nmetadata_ttl = \"1s\"\n",
    );
    let client = http_client();
    client.get(larder.at("meta/m0")).send().unwrap();
    larder.clock().advance(Duration::from_secs(10));
    publish(&upstream, "new");
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_secs(2),
        bytes_per_sec: 1_000_000,
    });
    upstream.clear_requests();
    let started = Instant::now();
    let stale = client.get(larder.at("meta/m0")).send().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a slow upstream added {:?} to a request larder could answer",
        started.elapsed()
    );
    assert_eq!(stale.headers()["x-larder-cache"], "stale");
    assert!(stale.text().unwrap().contains("\"old\""));
    // Asked again while the revalidation runs: still at once, and no second upstream request.
    let again = client.get(larder.at("meta/m0")).send().unwrap();
    assert!(again.text().unwrap().contains("\"old\""));
    eventually("the background revalidation", || {
        let response = client.get(larder.at("meta/m0")).send().unwrap();
        response.headers()["x-larder-cache"] == "hit"
            && response.text().unwrap().contains("\"new\"")
    });
    assert_eq!(
        upstream.count("/meta/m0"),
        1,
        "one revalidation for all of them"
    );
}
