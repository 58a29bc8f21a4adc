//! Nothing unverified is published.

use crate::harness::{payload, sha256_hex, TestLarder};
use crate::support::{Mode, Resource, Routes, Upstream};

#[test]
fn bytes_that_do_not_match_the_digest_are_never_stored() {
    let good = payload(300_000, 4);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/pkg".into(),
        vec![Resource::new(
            "application/octet-stream",
            payload(300_000, 5),
        )],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let url = larder.at(&format!("blob/pkg?sha256={}", sha256_hex(&good)));

    let client = crate::support::http_client();
    let outcome = client.get(&url).send().and_then(|r| r.bytes());
    assert!(
        outcome.is_err(),
        "a mismatching download must break the connection, not complete"
    );
    assert_eq!(larder.blob_count(), 0, "nothing stored");
    assert_eq!(larder.temp_count(), 0, "no temp file left");

    // Upstream is fixed: the next request goes upstream again and succeeds.
    upstream.insert(
        "/blob/pkg",
        Resource::new("application/octet-stream", good.clone()),
    );
    let response = client.get(&url).send().expect("response");
    assert_eq!(response.status(), 200);
    assert!(response.bytes().expect("body") == good);
    assert_eq!(upstream.count("/blob/pkg"), 2);
    assert_eq!(larder.blob_count(), 1);
}

#[test]
fn a_digest_listed_in_another_object_verifies_and_a_stale_index_is_revalidated_once() {
    let old = payload(10_000, 6);
    let new = payload(10_000, 7);
    let mut routes = Routes::new();
    routes.insert(
        "/index".into(),
        vec![Resource::new(
            "text/plain",
            format!("old {}\n", sha256_hex(&old)),
        )],
    );
    routes.insert(
        "/blob/old".into(),
        vec![Resource::new("application/octet-stream", old.clone())],
    );
    routes.insert(
        "/blob/new".into(),
        vec![Resource::new("application/octet-stream", new.clone())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1h\"");
    let client = crate::support::http_client();

    assert!(
        client
            .get(larder.at("blob/old?listed"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            == old
    );
    assert_eq!(upstream.count("/index"), 1);

    // `new` is published after the index was cached: the cached index lacks it, so larder
    // revalidates the index at once instead of waiting out the hour.
    upstream.insert(
        "/index",
        Resource::new(
            "text/plain",
            format!("old {}\nnew {}\n", sha256_hex(&old), sha256_hex(&new)),
        ),
    );
    let response = client.get(larder.at("blob/new?listed")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap() == new);
    assert_eq!(upstream.count("/index"), 2);
    assert_eq!(
        larder.blob_count(),
        4,
        "old, new, and both versions of the index"
    );
}

#[test]
fn an_artifact_no_index_lists_is_served_but_not_stored() {
    let body = payload(5_000, 8);
    let mut routes = Routes::new();
    routes.insert(
        "/index".into(),
        vec![Resource::new("text/plain", "other 00\n")],
    );
    routes.insert(
        "/blob/unlisted".into(),
        vec![Resource::new("application/octet-stream", body.clone())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let client = crate::support::http_client();
    for _ in 0..2 {
        assert!(
            client
                .get(larder.at("blob/unlisted?listed"))
                .send()
                .unwrap()
                .bytes()
                .unwrap()
                == body
        );
    }
    assert_eq!(
        upstream.count("/blob/unlisted"),
        2,
        "not stored, so fetched again"
    );
}

#[test]
fn an_object_rebuilt_upstream_is_refetched_once_its_index_declares_the_new_digest() {
    let first = payload(4_000, 14);
    let rebuilt = payload(4_100, 15);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/pool.deb".into(),
        vec![Resource::new("application/octet-stream", first.clone())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1ms\"");
    let client = crate::support::http_client();
    assert!(
        client
            .get(larder.at("blob/pool.deb"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            == first
    );

    // The repository rebuilds the file under the same name and says so in its index.
    upstream.insert(
        "/blob/pool.deb",
        Resource::new("application/octet-stream", rebuilt.clone()),
    );
    upstream.insert(
        "/decl",
        Resource::new("text/plain", format!("pool.deb {}\n", sha256_hex(&rebuilt))),
    );
    assert!(
        client
            .get(larder.at("blob/pool.deb"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            == first,
        "immutable until told"
    );
    // Reading the whole index is what a client does; its last byte comes once it is learnt.
    assert!(client
        .get(larder.at("decl"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .starts_with("pool.deb "));
    let response = client.get(larder.at("blob/pool.deb")).send().unwrap();
    assert_eq!(response.headers()["x-larder-cache"], "miss");
    assert!(
        response.bytes().unwrap() == rebuilt,
        "the rebuilt file, not the stale one"
    );
    assert_eq!(upstream.count("/blob/pool.deb"), 2);

    // A later upstream change the index does not declare is refused, not stored.
    upstream.insert(
        "/blob/pool.deb",
        Resource::new("application/octet-stream", payload(4_200, 16)),
    );
    assert!(
        client
            .get(larder.at("blob/pool.deb"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            == rebuilt,
        "the declared copy stays"
    );
}

/// A miss that arrives while a new version of its index is being read is checked against the
/// new declaration, not the one it replaces (the fill starts at once and checks at its end).
#[test]
fn a_miss_during_learning_is_checked_against_the_declaration_being_learnt() {
    let old = payload(5_000, 21);
    let new = payload(5_000, 22);
    let mut routes = Routes::new();
    routes.insert(
        "/decl".into(),
        vec![Resource::new(
            "text/plain",
            format!("fresh.deb {}\n", sha256_hex(&old)),
        )],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1ms\"");
    let client = crate::support::http_client();
    let read_index = || {
        client
            .get(larder.at("decl"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    read_index();
    // Learnt: the old declaration is in memory. The repository now publishes a new file and
    // a new index that takes a second to read.
    upstream.insert(
        "/blob/fresh.deb",
        Resource::new("application/octet-stream", new.clone()),
    );
    upstream.insert(
        "/decl",
        Resource::new(
            "text/plain",
            format!("slow\nfresh.deb {}\n", sha256_hex(&new)),
        ),
    );
    assert!(read_index().starts_with("slow"));
    let response = client.get(larder.at("blob/fresh.deb")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap() == new, "the new file, verified");
    // Stored: served again without upstream.
    upstream.set_mode(Mode::Down);
    assert!(
        client
            .get(larder.at("blob/fresh.deb"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            == new
    );
}

#[test]
fn bytes_newer_than_the_cached_index_are_checked_against_a_revalidated_index() {
    let old = payload(6_000, 18);
    let new = payload(6_000, 19);
    let mut routes = Routes::new();
    let index = format!("b {}\nother {}\n", sha256_hex(&old), sha256_hex(b"x"));
    routes.insert("/index".into(), vec![Resource::new("text/plain", index)]);
    routes.insert(
        "/blob/other".into(),
        vec![Resource::new("application/octet-stream", b"x".to_vec())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1h\"");
    let client = crate::support::http_client();
    // Caches the index while it still lists the old build of `b`.
    let _ = client
        .get(larder.at("blob/other?listed"))
        .send()
        .unwrap()
        .bytes();
    assert_eq!(upstream.count("/index"), 1);

    upstream.insert(
        "/index",
        Resource::new("text/plain", format!("b {}\n", sha256_hex(&new))),
    );
    upstream.insert(
        "/blob/b",
        Resource::new("application/octet-stream", new.clone()),
    );
    let response = client.get(larder.at("blob/b?listed")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().unwrap() == new,
        "verified against the revalidated index"
    );
    assert_eq!(
        upstream.count("/index"),
        2,
        "the index was revalidated once"
    );
    let hit = client.get(larder.at("blob/b?listed")).send().unwrap();
    assert_eq!(hit.headers()["x-larder-cache"], "hit", "and stored");
}
