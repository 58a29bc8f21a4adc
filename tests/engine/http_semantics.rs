//! What clients see on hits and misses: ETag and 304, HEAD, Range, revalidation, rewriting.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, Mode, Resource, Routes, Upstream};
use std::time::Duration;

fn one(path: &str, resource: Resource) -> Upstream {
    let mut routes = Routes::new();
    routes.insert(path.into(), vec![resource]);
    Upstream::start(routes)
}

#[test]
fn hits_carry_etag_length_type_and_answer_304_head_and_ranges() {
    let body = payload(100_000, 10);
    let upstream = one(
        "/blob/f",
        Resource::new("application/x-thing", body.clone()),
    );
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let url = larder.at("blob/f");
    let first = client.get(&url).send().unwrap();
    assert_eq!(first.headers()["x-larder-cache"], "miss");
    assert_eq!(first.headers()["content-length"], "100000");
    assert!(first.bytes().unwrap() == body);

    let hit = client.get(&url).send().unwrap();
    assert_eq!(hit.headers()["x-larder-cache"], "hit");
    assert_eq!(hit.headers()["content-type"], "application/x-thing");
    assert_eq!(hit.headers()["accept-ranges"], "bytes");
    let etag = hit.headers()["etag"].to_str().unwrap().to_string();
    assert!(hit.bytes().unwrap() == body);

    let not_modified = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(not_modified.status(), 304);

    let head = client.head(&url).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "100000");

    let range = client
        .get(&url)
        .header("range", "bytes=1000-1999")
        .send()
        .unwrap();
    assert_eq!(range.status(), 206);
    assert_eq!(range.headers()["content-range"], "bytes 1000-1999/100000");
    assert!(range.bytes().unwrap() == body[1000..2000]);

    let tail = client
        .get(&url)
        .header("range", "bytes=-10")
        .send()
        .unwrap();
    assert!(tail.bytes().unwrap() == body[body.len() - 10..]);

    let beyond = client
        .get(&url)
        .header("range", "bytes=100000-")
        .send()
        .unwrap();
    assert_eq!(beyond.status(), 416);
    assert_eq!(upstream.count("/blob/f"), 1);
}

/// A client resuming a partial download (apt does, with `Range` and `If-Range`) gets the rest
/// only if the object is still the copy it started: otherwise the whole of the new one, never
/// a splice of two files.
#[test]
fn a_resumed_download_gets_the_rest_only_of_the_same_copy() {
    let first = payload(50_000, 40);
    let rebuilt = payload(50_000, 41);
    let upstream = one(
        "/meta/f",
        Resource::new("application/octet-stream", first.clone()),
    );
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1ms\"");
    let client = http_client();
    let url = larder.at("meta/f");
    let resume = |if_range: &str| {
        let response = client
            .get(&url)
            .header("range", "bytes=20000-")
            .header("if-range", if_range)
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().unwrap().to_vec(),
        )
    };
    // While the first copy is being fetched, larder has no validator yet: the whole body.
    assert_eq!(resume("\"anything\""), (200, first.clone()));
    let held = client.get(&url).send().unwrap();
    let etag = held.headers()["etag"].to_str().unwrap().to_string();
    assert!(held.bytes().unwrap() == first);

    // The same copy: the rest of it.
    upstream.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(resume(&etag), (206, first[20_000..].to_vec()));
    // A date (apt sends the partial file's time): larder sends no Last-Modified, so no date
    // can prove the copy unchanged.
    assert_eq!(
        resume("Fri, 27 Nov 2026 10:00:00 GMT"),
        (200, first.clone())
    );

    // Rebuilt upstream: the old validator gets the whole new file.
    upstream.set_mode(Mode::Normal);
    upstream.insert(
        "/meta/f",
        Resource::new("application/octet-stream", rebuilt.clone()),
    );
    // The outage opened the host's breaker: the stale copy (the rest of it, still consistent)
    // until a probe finds the upstream back, then the new file whole.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = resume(&etag);
        if answer == (200, rebuilt.clone()) {
            break;
        }
        assert_eq!(
            answer,
            (206, first[20_000..].to_vec()),
            "only the same copy's rest"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the rebuilt file was never served"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn head_and_range_on_an_uncached_object_work_and_fill_the_cache() {
    let body = payload(500_000, 11);
    let upstream = one(
        "/blob/g",
        Resource::new("application/octet-stream", body.clone()),
    );
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let head = client.head(larder.at("blob/g")).send().unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], "500000");
    let range = client.get(larder.at("blob/h")).send().unwrap();
    assert_eq!(range.status(), 404, "unknown objects are 404 from upstream");
    let range = client
        .get(larder.at("blob/g"))
        .header("range", "bytes=-100")
        .send()
        .unwrap();
    assert_eq!(range.status(), 206);
    assert!(range.bytes().unwrap() == body[body.len() - 100..]);
    std::thread::sleep(Duration::from_millis(200));
    let hit = client.get(larder.at("blob/g")).send().unwrap();
    assert_eq!(
        hit.headers()["x-larder-cache"],
        "hit",
        "the HEAD started a fill that completed"
    );
    assert_eq!(upstream.count("/blob/g"), 1);
}

#[test]
fn revalidation_uses_validators_and_a_304_refreshes_the_record() {
    let upstream = one(
        "/meta/v",
        Resource::new("application/json", "{\"v\":1}").header("etag", "\"v1\""),
    );
    let larder = TestLarder::start(&upstream.url, "[t]\nmetadata_ttl = \"1ms\"");
    let client = http_client();
    assert_eq!(
        client
            .get(larder.at("meta/v"))
            .send()
            .unwrap()
            .text()
            .unwrap(),
        "{\"v\":1}"
    );
    std::thread::sleep(Duration::from_millis(5));
    upstream.insert(
        "/meta/v",
        Resource::new("application/json", "")
            .status(304)
            .header("etag", "\"v1\""),
    );
    let again = client.get(larder.at("meta/v")).send().unwrap();
    assert_eq!(again.headers()["x-larder-cache"], "hit");
    assert_eq!(again.text().unwrap(), "{\"v\":1}");
    let second = upstream
        .requests()
        .into_iter()
        .filter(|r| r.path == "/meta/v")
        .nth(1)
        .expect("revalidated");
    assert_eq!(second.header("if-none-match"), Some("\"v1\""));
}

#[test]
fn max_age_zero_does_not_force_a_round_trip_but_no_cache_does_once() {
    let upstream = one("/meta/p", Resource::new("application/json", "{}"));
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    for _ in 0..3 {
        let response = client
            .get(larder.at("meta/p"))
            .header("cache-control", "max-age=0")
            .send()
            .unwrap();
        // Read to the end, as clients do: the fill is over when the last byte arrives.
        assert_eq!(response.text().unwrap(), "{}");
    }
    assert_eq!(
        upstream.count("/meta/p"),
        1,
        "pip's max-age=0 on every request is not a revalidation"
    );
    for _ in 0..3 {
        let response = client
            .get(larder.at("meta/p"))
            .header("cache-control", "no-cache")
            .send()
            .unwrap();
        // Read to the end, as clients do: the fill is over when the last byte arrives.
        assert_eq!(response.text().unwrap(), "{}");
    }
    assert_eq!(
        upstream.count("/meta/p"),
        2,
        "no-cache revalidates, rate-limited per object"
    );
}

#[test]
fn rewritten_metadata_points_at_the_host_the_client_used_and_compresses() {
    let upstream = one(
        "/rewritten/doc",
        Resource::new("text/plain", "link: UPSTREAM/file\n".repeat(50)),
    );
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let miss = client
        .get(larder.at("rewritten/doc"))
        .header("host", "mirror.test:7878")
        .send()
        .unwrap();
    assert!(
        miss.text()
            .unwrap()
            .starts_with("link: http://mirror.test:7878/t/file\n"),
        "rewritten while streaming"
    );
    let response = client
        .get(larder.at("rewritten/doc"))
        .header("host", "mirror.test:7878")
        .send()
        .unwrap();
    let etag_a = response.headers()["etag"].to_str().unwrap().to_string();
    let text = response.text().unwrap();
    assert!(
        text.starts_with("link: http://mirror.test:7878/t/file\n"),
        "{text}"
    );
    let other = client
        .get(larder.at("rewritten/doc"))
        .header("host", "other.test")
        .send()
        .unwrap();
    assert_ne!(
        other.headers()["etag"].to_str().unwrap(),
        etag_a,
        "the ETag follows the rewritten links"
    );
    let raw = reqwest::blocking::Client::builder()
        .no_gzip()
        .build()
        .unwrap();
    let gzipped = raw
        .get(larder.at("rewritten/doc"))
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
}

#[test]
fn an_upstream_slower_than_the_stale_timeout_gets_the_cached_copy_quickly() {
    let upstream = one(
        "/meta/s",
        Resource::new("application/json", "{\"old\":true}"),
    );
    let larder = TestLarder::start(
        &upstream.url,
        "[limits]\nstale_timeout = \"500ms\"\n[t]\nmetadata_ttl = \"1ms\"",
    );
    let client = http_client();
    client.get(larder.at("meta/s")).send().unwrap();
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_secs(3),
        bytes_per_sec: 1_000_000,
    });
    let started = std::time::Instant::now();
    let response = client.get(larder.at("meta/s")).send().unwrap();
    assert_eq!(response.headers()["x-larder-cache"], "stale");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Small blobs are served from memory read along with the open, larger ones by positioned
/// reads: both give the client the same bytes, lengths and ranges, on either side of the limit.
#[test]
fn hits_of_small_and_large_blobs_serve_the_same_bytes_and_ranges() {
    let sizes = [0, 1, 20_000, 64 * 1024, 64 * 1024 + 1, 300_000];
    let mut routes = Routes::new();
    let bodies: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| payload(size, 20 + i as u8))
        .collect();
    for (i, body) in bodies.iter().enumerate() {
        routes.insert(
            format!("/blob/s{i}"),
            vec![Resource::new("application/octet-stream", body.clone())],
        );
    }
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    for (i, body) in bodies.iter().enumerate() {
        let url = larder.at(&format!("blob/s{i}"));
        let len = body.len();
        assert!(client.get(&url).send().unwrap().bytes().unwrap() == *body);
        // The fill publishes just after its last byte went out.
        let mut hit = client.get(&url).send().unwrap();
        for _ in 0..50 {
            if hit.headers()["x-larder-cache"] == "hit" {
                break;
            }
            hit.bytes().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            hit = client.get(&url).send().unwrap();
        }
        assert_eq!(hit.headers()["x-larder-cache"], "hit", "{len} bytes");
        assert_eq!(hit.headers()["content-length"], len.to_string().as_str());
        assert!(hit.bytes().unwrap() == *body, "{len} bytes");
        if len < 2 {
            continue;
        }
        let (start, end) = (len / 3, len - len / 4);
        let range = client
            .get(&url)
            .header("range", format!("bytes={start}-{}", end - 1))
            .send()
            .unwrap();
        assert_eq!(range.status(), 206, "{len} bytes");
        assert_eq!(
            range.headers()["content-range"],
            format!("bytes {start}-{}/{len}", end - 1).as_str()
        );
        assert!(range.bytes().unwrap() == body[start..end], "{len} bytes");
        let tail = client.get(&url).header("range", "bytes=-7").send().unwrap();
        assert!(
            tail.bytes().unwrap() == body[len.saturating_sub(7)..],
            "{len} bytes"
        );
        let beyond = client
            .get(&url)
            .header("range", format!("bytes={len}-"))
            .send()
            .unwrap();
        assert_eq!(beyond.status(), 416, "{len} bytes");
        assert_eq!(upstream.count(&format!("/blob/s{i}")), 1);
    }
}

/// larder remembers the records of immutable objects it served lately, so a hot hit reads only
/// its blob; a blob removed behind its back (`larder gc`, another replica's eviction) is then
/// fetched again, never answered with an error.
#[test]
fn a_hot_blob_removed_from_the_store_is_fetched_again() {
    let body = payload(30_000, 50);
    let upstream = one(
        "/blob/hot",
        Resource::new("application/octet-stream", body.clone()),
    );
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let url = larder.at("blob/hot");
    for expected in ["miss", "hit", "hit"] {
        let response = client.get(&url).send().unwrap();
        assert_eq!(response.headers()["x-larder-cache"], expected);
        assert!(response.bytes().unwrap() == body);
    }
    let blob = larder
        .data_dir
        .join("blobs/sha256")
        .join(&crate::harness::sha256_hex(&body)[..2])
        .join(crate::harness::sha256_hex(&body));
    std::fs::remove_file(&blob).expect("remove the blob");

    let response = client.get(&url).send().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap() == body);
    assert_eq!(upstream.count("/blob/hot"), 2, "fetched again");
    assert!(blob.exists(), "and stored again");
}

/// A hit is read on the async worker when its bytes are in the page cache, and on the blocking
/// pool when they are not: both give the same bytes.
#[test]
fn a_blob_not_in_the_page_cache_is_served_whole() {
    use std::os::fd::AsRawFd;
    let body = payload(1_000_000, 60);
    let upstream = one(
        "/blob/cold",
        Resource::new("application/octet-stream", body.clone()),
    );
    let larder = TestLarder::start(&upstream.url, "");
    let client = http_client();
    let url = larder.at("blob/cold");
    assert!(client.get(&url).send().unwrap().bytes().unwrap() == body);
    let sha = crate::harness::sha256_hex(&body);
    let blob = larder
        .data_dir
        .join("blobs/sha256")
        .join(&sha[..2])
        .join(&sha);
    let file = std::fs::File::open(&blob).unwrap();
    for _ in 0..2 {
        // SAFETY: a plain advisory call on an open fd.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let response = client.get(&url).send().unwrap();
        assert_eq!(response.headers()["x-larder-cache"], "hit");
        assert!(response.bytes().unwrap() == body);
        let range = client
            .get(&url)
            .header("range", "bytes=500000-500099")
            .send()
            .unwrap();
        assert!(range.bytes().unwrap() == body[500_000..500_100]);
    }
    assert_eq!(upstream.count("/blob/cold"), 1);
}

/// A Range whose last position is `u64::MAX` (any position past the end is allowed by RFC 9110)
/// gets the rest of the body with a true `Content-Range` and length, on a small hit (served from
/// memory), a large hit (read from the file) and a miss.
#[test]
fn a_range_to_the_largest_position_ends_at_the_body() {
    for len in [100, 300_000] {
        let body = payload(len, 12);
        let path = format!("/blob/r{len}");
        let upstream = one(
            &path,
            Resource::new("application/octet-stream", body.clone()),
        );
        let larder = TestLarder::start(&upstream.url, "");
        let client = http_client();
        for outcome in ["miss", "hit"] {
            let response = client
                .get(larder.at(&path))
                .header("range", "bytes=5-18446744073709551615")
                .send()
                .unwrap();
            assert_eq!(response.headers()["x-larder-cache"], outcome);
            if outcome == "hit" {
                assert_eq!(response.status(), 206, "{len} bytes, {outcome}");
                assert_eq!(
                    response.headers()["content-range"],
                    format!("bytes 5-{}/{len}", len - 1).as_str()
                );
            }
            assert_eq!(
                response.headers()["content-length"],
                (len - 5).to_string().as_str()
            );
            assert!(
                response.bytes().unwrap() == body[5..],
                "{len} bytes, {outcome}"
            );
        }
    }
}
