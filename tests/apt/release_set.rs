//! A suite's InRelease, Release and Release.gpg are fetched and swapped as one set, and a
//! cached Release file served past its `Valid-Until` is reported; a by-hash file is served
//! from the copy of its bytes stored by name.

use super::{config, proxy, remote, served_repo};
use crate::client::Apt;
use crate::fixture::{Repo, ROOT, SUITE};
use crate::support::{self, Larder, Mode, Resource, Routes, Upstream};
use std::time::Duration;

/// A repository signed only by a detached Release.gpg (no InRelease), as some third-party
/// repositories are: apt checks Release.gpg against Release, so the two must come from one
/// publication.
fn detached_only(repo: &Repo) {
    let suite = repo.served().join(ROOT).join("dists").join(SUITE);
    std::fs::remove_file(suite.join("InRelease")).expect("drop InRelease");
}

/// `(status, x-larder-cache, body)` of a GET through larder's mirror mode.
fn get(larder: &Larder, upstream: &Upstream, file: &str) -> (u16, String, Vec<u8>) {
    let url = larder.at(&format!(
        "/apt/{}/{ROOT}/dists/{SUITE}/{file}",
        remote(upstream)
    ));
    let response = support::get(&url);
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("x-larder-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, cache, response.bytes().expect("body").to_vec())
}

#[test]
fn release_and_release_gpg_are_served_from_one_publication() {
    let (repo, upstream) = served_repo();
    detached_only(&repo);
    let ttl = Duration::from_secs(2);
    let larder = Larder::start(&config(&upstream, "2s"));
    let suite_path = |file: &str| format!("/{ROOT}/dists/{SUITE}/{file}");
    let published = |file: &str| repo.read(&format!("dists/{SUITE}/{file}"));

    // The first request fetches the whole set.
    let first = (published("Release"), published("Release.gpg"));
    assert_eq!(get(&larder, &upstream, "Release").2, first.0);
    for file in ["InRelease", "Release", "Release.gpg"] {
        assert_eq!(upstream.count(&suite_path(file)), 1, "{file}");
    }

    // A new publication within the TTL: the signature served is still the one of the Release
    // this client got, not the new one (which would fail apt's check of the pair).
    repo.add_package("fixture-new", "1.0", "new");
    repo.publish();
    detached_only(&repo);
    assert_ne!(published("Release"), first.0);
    assert_eq!(get(&larder, &upstream, "Release.gpg").2, first.1);

    // Past the TTL, asking for either member refreshes both.
    std::thread::sleep(ttl + Duration::from_millis(300));
    let second = (published("Release"), published("Release.gpg"));
    assert_eq!(get(&larder, &upstream, "Release.gpg").2, second.1);
    assert_eq!(get(&larder, &upstream, "Release").2, second.0);
    assert_eq!(upstream.count(&suite_path("Release")), 2);

    // A third publication whose Release.gpg cannot be fetched: the whole previous set is
    // served, and a real apt-get accepts it (a new Release with the old signature would fail).
    repo.add_package("fixture-third", "1.0", "third");
    repo.publish();
    detached_only(&repo);
    let broken = Resource::new("text/plain", "overloaded\n").status(503);
    upstream.insert(&suite_path("Release.gpg"), broken);
    std::thread::sleep(ttl + Duration::from_millis(300));
    let (status, cache, body) = get(&larder, &upstream, "Release");
    assert_eq!((status, cache.as_str()), (200, "stale"));
    assert_eq!(body, second.0, "the Release of the last whole set");
    let apt = Apt::new(&repo, &upstream.url, &proxy(&larder));
    apt.update()
        .assert_ok("apt-get update while Release.gpg fails upstream");
    assert!(apt.knows("fixture-new") && !apt.knows("fixture-third"));

    // Upstream whole again: the new set, and apt sees the new package.
    upstream.remove(&suite_path("Release.gpg"));
    std::thread::sleep(ttl + Duration::from_millis(300));
    let apt = Apt::new(&repo, &upstream.url, &proxy(&larder));
    apt.update().assert_ok("apt-get update, upstream healthy");
    assert!(apt.knows("fixture-third"));
}

/// A Release body with a `Valid-Until`, as security archives publish, about as long as
/// Debian's (larger than what larder reads into memory with a hit).
fn release_valid_until(date: &str) -> Resource {
    let listing: String = (0..1_500)
        .map(|i| format!(" {:064x} {i} main/binary-amd64/Packages{i}\n", i))
        .collect();
    Resource::new(
        "text/plain",
        format!("Origin: fixture\nSuite: {SUITE}\nValid-Until: {date}\nSHA256:\n{listing}"),
    )
}

#[test]
fn a_release_file_served_past_its_valid_until_is_reported() {
    let upstream = Upstream::start(Routes::new());
    let in_release = |suite: &str| format!("/{ROOT}/dists/{suite}/InRelease");
    upstream.insert(
        &in_release("expired"),
        release_valid_until("Sat, 01 Jan 2022 00:00:00 UTC"),
    );
    upstream.insert(
        &in_release("valid"),
        release_valid_until("Fri, 01 Jan 2100 00:00:00 UTC"),
    );
    let data = tempfile::tempdir().expect("data dir");
    let config = config(&upstream, "1s");
    let url = |larder: &Larder, suite: &str| {
        larder.at(&format!("/apt/{}{}", remote(&upstream), in_release(suite)))
    };
    let expired_header = |response: &reqwest::blocking::Response| {
        let header = |name: &str| {
            response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        };
        (header("x-larder-expired"), header("warning").join(", "))
    };

    let mut larder = Larder::start_in(data.path(), &config);
    // Upstream up: served as upstream has it, expired or not; apt decides.
    for suite in ["expired", "valid"] {
        let response = support::get(&url(&larder, suite));
        assert_eq!(response.status(), 200);
        assert!(expired_header(&response).0.is_empty());
    }

    // Upstream down, past the TTL: both served stale; only the expired one says so.
    upstream.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(1300));
    let response = support::get(&url(&larder, "expired"));
    assert_eq!(response.status(), 200);
    let (expired, warning) = expired_header(&response);
    assert_eq!(expired, ["2022-01-01T00:00:00Z"]);
    assert!(
        warning.contains("110") && warning.contains("299") && warning.contains("Expired"),
        "{warning}"
    );
    let response = support::get(&url(&larder, "valid"));
    assert_eq!(response.status(), 200);
    assert!(expired_header(&response).0.is_empty());
    let log = larder.log();
    assert!(
        log.contains("past the validity") && log.contains("2022-01-01T00:00:00Z"),
        "{log}"
    );

    // The same with `--offline`, where no copy is stale: every one is unconfirmed.
    larder.terminate();
    let offline = Larder::start_with_args(data.path(), &config, &["--offline"]);
    let response = support::get(&url(&offline, "expired"));
    assert_eq!(expired_header(&response).0, ["2022-01-01T00:00:00Z"]);
    let response = support::get(&url(&offline, "valid"));
    assert!(expired_header(&response).0.is_empty());
}

/// A by-hash file is content the store may already hold under its by-name key: served from
/// there by its digest, with upstream down (so a client whose InRelease names it by hash still
/// updates offline).
#[test]
fn a_by_hash_file_is_served_from_the_copy_stored_by_name() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    let packages = repo.read(&format!("dists/{SUITE}/main/binary-amd64/Packages"));
    let (status, _, body) = get(&larder, &upstream, "main/binary-amd64/Packages");
    assert_eq!((status, body == packages), (200, true));

    upstream.set_mode(Mode::Down);
    let by_hash = format!(
        "main/binary-amd64/by-hash/SHA256/{}",
        crate::fixture::sha256_hex(&packages)
    );
    let (status, cache, body) = get(&larder, &upstream, &by_hash);
    assert_eq!((status, cache.as_str()), (200, "hit"));
    assert!(body == packages);
    let by_hash_path = format!("/{ROOT}/dists/{SUITE}/{by_hash}");
    assert_eq!(
        upstream.count(&by_hash_path),
        0,
        "{:?}",
        upstream.requests()
    );
}
