//! `[policy]` on the engine's clock: a cached artifact is judged at every request, by the
//! publish time its index states, so a too-young copy is refused until the clock ages it out.

use crate::harness::TestLarder;
use crate::support::{self, Resource, Routes, Upstream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_cached_too_young_artifact_is_refused_until_the_clock_ages_it_out() {
    let upstream = Upstream::start(Routes::new());
    upstream.insert(
        "/blob/young",
        Resource::new("application/octet-stream", "young bytes"),
    );
    // Six days old: a day short of min_age.
    upstream.insert(
        "/times",
        Resource::new("text/plain", format!("young {}\n", now() - 6 * 86_400)),
    );
    let data = tempfile::tempdir().unwrap();
    {
        let larder = TestLarder::start_in(data.path(), &upstream.url, "");
        let first = support::get(&larder.at("blob/young"));
        assert_eq!(first.status(), 200);
        assert_eq!(first.text().unwrap(), "young bytes");
    }
    let larder = TestLarder::start_in(data.path(), &upstream.url, "[policy]\nmin_age = \"7d\"\n");
    let refused = support::get(&larder.at("blob/young"));
    assert_eq!(refused.status(), 403, "the cached copy bypassed min_age");
    let text = refused.text().unwrap();
    assert!(
        text.contains("larder policy refuses t young young: min_age = \"7days\""),
        "{text}"
    );
    larder.clock().advance(Duration::from_secs(86_400 + 60));
    let served = support::get(&larder.at("blob/young"));
    assert_eq!(served.status(), 200, "still refused once old enough");
    assert_eq!(served.headers()["x-larder-cache"], "hit");
    assert_eq!(served.text().unwrap(), "young bytes");
    assert_eq!(
        upstream.count("/blob/young"),
        1,
        "the artifact came from the cache"
    );
}

#[test]
fn a_release_whose_index_states_no_time_is_refused_while_an_age_rule_applies() {
    let upstream = Upstream::start(Routes::new());
    upstream.insert(
        "/blob/untimed",
        Resource::new("application/octet-stream", "x"),
    );
    upstream.insert("/times", Resource::new("text/plain", "someone-else 0\n"));
    let larder = TestLarder::start(&upstream.url, "[policy]\nmin_age = \"1d\"\n");
    let refused = support::get(&larder.at("blob/untimed"));
    assert_eq!(refused.status(), 403);
    assert!(refused.text().unwrap().contains("no publish time"));
    assert_eq!(
        upstream.count("/blob/untimed"),
        0,
        "a refused artifact is never fetched"
    );
    // The times document was asked twice: cached, then revalidated once for the release.
    assert_eq!(upstream.count("/times"), 2);
    let allowed = TestLarder::start(
        &upstream.url,
        "[policy]\nmin_age = \"1d\"\nallow = [\"untimed\"]\n",
    );
    assert_eq!(support::get(&allowed.at("blob/untimed")).status(), 200);
}
