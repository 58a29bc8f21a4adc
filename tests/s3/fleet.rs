//! A fleet of real `larder` replicas over one bucket: bucket hits streamed as they arrive (and
//! never served when the bucket's bytes are wrong), and one upstream fetch for the whole fleet,
//! also when the replica fetching dies half-way.

use crate::moto::{runtime, Moto};
use crate::replicas::{go_upstream, payload, replica_config, wait_shared};
use crate::support::{get, http_client, metric, scrape, Larder, Mode};
use std::io::Read;
use std::time::{Duration, Instant};

const ZIP: &str = "/example.com/m/@v/v1.0.0.zip";

/// Time to the first body byte of a GET, then the whole body and the total time.
fn timed_get(url: &str) -> (Duration, Vec<u8>, Duration) {
    let started = Instant::now();
    let mut response = http_client().get(url).send().expect("GET");
    assert_eq!(response.status(), 200, "{url}");
    let mut first = [0u8; 1];
    response.read_exact(&mut first).expect("first byte");
    let ttfb = started.elapsed();
    let mut body = first.to_vec();
    response.read_to_end(&mut body).expect("the rest");
    (ttfb, body, started.elapsed())
}

fn log_count(larder: &Larder, needle: &str) -> usize {
    larder.log().matches(needle).count()
}

#[test]
fn a_bucket_hit_streams_its_first_byte_long_before_the_copy_completes() {
    let moto = Moto::start();
    let zip = payload(100 * 1024 * 1024, 11);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    let config = replica_config(&upstream, &moto, "10s");
    let a = Larder::start(&config);
    let url = |larder: &Larder| larder.at(&format!("go{ZIP}"));
    assert!(get(&url(&a)).bytes().unwrap() == zip);
    wait_shared(&a);
    let (local_ttfb, body, local_total) = timed_get(&url(&a));
    assert!(body == zip);

    upstream.set_mode(Mode::Down);
    let b = Larder::start(&config);
    let (bucket_ttfb, body, bucket_total) = timed_get(&url(&b));
    assert!(body == zip, "the bucket hit is the object, byte for byte");
    eprintln!(
        "100 MiB: local hit first byte {local_ttfb:?} (whole {local_total:?}); bucket hit first \
         byte {bucket_ttfb:?} (whole {bucket_total:?})"
    );
    assert!(
        bucket_ttfb * 5 < bucket_total,
        "the first byte came before most of the copy: {bucket_ttfb:?} of {bucket_total:?}"
    );
    assert!(
        bucket_ttfb < local_ttfb * 50 + Duration::from_millis(150),
        "a bucket hit starts within a small factor of a local hit: {bucket_ttfb:?} vs \
         {local_ttfb:?}"
    );
    // Kept locally once verified: now a local hit, with the bucket gone too.
    drop(moto);
    assert!(get(&url(&b)).bytes().unwrap() == zip);
    assert!(
        upstream.requests().len() == 1,
        "only A's fill went upstream"
    );
}

#[test]
fn a_range_of_a_bucket_hit_is_read_from_the_bucket_without_the_whole_copy() {
    let moto = Moto::start();
    let zip = payload(40 * 1024 * 1024, 12);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    let config = replica_config(&upstream, &moto, "10s");
    let a = Larder::start(&config);
    assert!(get(&a.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    wait_shared(&a);
    upstream.set_mode(Mode::Down);

    let b = Larder::start(&config);
    let (start, end) = (39 * 1024 * 1024, 39 * 1024 * 1024 + 99);
    let response = http_client()
        .get(b.at(&format!("go{ZIP}")))
        .header("Range", format!("bytes={start}-{end}"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 206, "{}", b.log());
    assert_eq!(
        response.bytes().unwrap().as_ref(),
        &zip[start..=end],
        "the requested bytes"
    );
    assert!(
        !b.log().contains("copy from the bucket ended"),
        "the range was served before the copy of the whole blob was done: {}",
        b.log()
    );
    // The copy goes on, and then the object is a local hit, whole.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !b.log().contains("copy from the bucket ended") {
        assert!(Instant::now() < deadline, "{}", b.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(moto);
    assert!(get(&b.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
}

#[test]
fn a_tampered_bucket_blob_is_never_served_whole() {
    let moto = Moto::start();
    let zip = payload(5 * 1024 * 1024, 13);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    let config = replica_config(&upstream, &moto, "10s");
    let a = Larder::start(&config);
    assert!(get(&a.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    wait_shared(&a);
    let (blob_key, _) = moto
        .objects()
        .into_iter()
        .find(|(key, _)| key.contains("/blobs/"))
        .expect("the blob was shared");
    let mut tampered = zip.clone();
    tampered[4 * 1024 * 1024] ^= 0xff;
    runtime().block_on(async {
        let path = object_store::path::Path::from(blob_key.as_str());
        moto.bucket()
            .object_store()
            .put(&path, tampered.clone().into())
            .await
            .expect("overwrite the blob")
    });
    upstream.set_mode(Mode::Down);

    let b = Larder::start(&config);
    for attempt in 0..2 {
        let response = http_client().get(b.at(&format!("go{ZIP}"))).send();
        let whole = response.and_then(|r| r.error_for_status()?.bytes());
        match whole {
            Err(_) => {}
            Ok(body) => panic!(
                "attempt {attempt}: a complete body was served ({} bytes, tampered: {})",
                body.len(),
                body.as_ref() == tampered.as_slice()
            ),
        }
    }
    assert!(
        b.log().contains("does not hash to its name"),
        "the mismatch is logged: {}",
        b.log()
    );
}

#[test]
fn only_one_of_two_claims_on_an_object_wins_and_an_expired_lease_is_taken_over() {
    use larder::store::lease::ClaimAttempt;
    let moto = Moto::start();
    let (a, b) = (moto.bucket(), moto.bucket());
    runtime().block_on(async {
        let first = a.try_claim("go/x", "replica-a").await.expect("claim");
        assert!(matches!(first, ClaimAttempt::Claimed { .. }), "{first:?}");
        let second = b.try_claim("go/x", "replica-b").await.expect("claim");
        match second {
            ClaimAttempt::HeldBy(held) => assert_eq!(held.claimant, "replica-a"),
            other => panic!("the bucket let a second replica create the lease: {other:?}"),
        }
        let other_key = b.try_claim("go/y", "replica-b").await.expect("claim");
        assert!(matches!(other_key, ClaimAttempt::Claimed { .. }));
    });
    // Written by a replica that died long ago: taken over.
    let expired = r#"{"key":"go/z","claimant":"dead","expires_at_ms":1}"#;
    runtime().block_on(async {
        let path = a.lease_path("go/z");
        a.object_store()
            .put(&path, expired.as_bytes().to_vec().into())
            .await
            .expect("plant an expired lease");
        let taken = b.try_claim("go/z", "replica-b").await.expect("claim");
        assert!(matches!(taken, ClaimAttempt::Claimed { .. }), "{taken:?}");
        let again = a.try_claim("go/z", "replica-a").await.expect("claim");
        assert!(matches!(again, ClaimAttempt::HeldBy(_)), "{again:?}");
    });
}

/// Three replicas over one bucket and a fixture serving the object at `bytes_per_sec`.
fn fleet(object: &[u8], bytes_per_sec: u64) -> (Moto, crate::support::Upstream, Vec<Larder>) {
    let moto = Moto::start();
    let upstream = go_upstream(&[(ZIP, object.to_vec())]);
    upstream.set_mode(Mode::Slow {
        latency: Duration::ZERO,
        bytes_per_sec,
    });
    let config = replica_config(&upstream, &moto, "10s");
    let replicas = (0..3).map(|_| Larder::start(&config)).collect();
    (moto, upstream, replicas)
}

/// GETs the object from `urls` in turn until one answers it whole; the bytes and the attempts.
fn get_with_retry(urls: &[String]) -> (Option<Vec<u8>>, usize) {
    let client = http_client();
    for (attempt, url) in urls.iter().enumerate() {
        let whole = client
            .get(url)
            .send()
            .and_then(|r| r.error_for_status()?.bytes());
        if let Ok(body) = whole {
            return (Some(body.to_vec()), attempt + 1);
        }
    }
    (None, urls.len())
}

#[test]
fn thirty_clients_on_three_replicas_cause_one_upstream_request() {
    let zip = payload(50 * 1024 * 1024, 14);
    let (_moto, upstream, replicas) = fleet(&zip, 20 * 1024 * 1024);
    let urls: Vec<String> = replicas.iter().map(|r| r.at(&format!("go{ZIP}"))).collect();
    let started = Instant::now();
    let clients: Vec<_> = (0..30)
        .map(|i| {
            let url = urls[i % 3].clone();
            std::thread::spawn(move || get_with_retry(&[url]))
        })
        .collect();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    eprintln!("30 clients served in {:?}", started.elapsed());
    for (i, (body, _)) in results.iter().enumerate() {
        let body = body.as_ref().unwrap_or_else(|| {
            panic!(
                "client {i} failed: {}",
                replicas.iter().map(Larder::log).collect::<String>()
            )
        });
        assert!(body == &zip, "client {i} got the right bytes");
    }
    assert_eq!(upstream.count(ZIP), 1, "one upstream request for the fleet");
    let followed: usize = replicas
        .iter()
        .map(|r| log_count(r, "served from another replica's fetch"))
        .sum();
    // Each of the two other replicas followed (once, or again for a request that raced its
    // own fill's end).
    assert!(followed >= 2, "two replicas followed the third: {followed}");
    let coalesced: f64 = replicas
        .iter()
        .filter_map(|r| metric(&scrape(&r.url), "larder_fleet_coalesced_total"))
        .sum();
    assert!(coalesced >= 2.0, "counted in /-/metrics: {coalesced}");
}

#[test]
fn a_claimant_killed_half_way_is_taken_over_by_another_replica() {
    let zip = payload(50 * 1024 * 1024, 15);
    let (_moto, upstream, mut replicas) = fleet(&zip, 10 * 1024 * 1024);
    let urls: Vec<String> = replicas.iter().map(|r| r.at(&format!("go{ZIP}"))).collect();
    // The first client makes replica 0 the claimant; the others come a moment later.
    let spawn = |order: Vec<String>| std::thread::spawn(move || get_with_retry(&order));
    let mut clients = vec![spawn(vec![urls[0].clone(), urls[1].clone()])];
    std::thread::sleep(Duration::from_millis(500));
    for i in 1..12 {
        let first = urls[i % 3].clone();
        let fallback = urls[1 + i % 2].clone();
        clients.push(spawn(vec![first, fallback]));
    }
    // About half of the 5 s fetch.
    std::thread::sleep(Duration::from_millis(2000));
    replicas[0].kill();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    for (i, (body, attempts)) in results.iter().enumerate() {
        let body = body.as_ref().unwrap_or_else(|| {
            panic!(
                "client {i} failed: {}",
                replicas[1..].iter().map(Larder::log).collect::<String>()
            )
        });
        assert!(body == &zip, "client {i}: 0 wrong bytes");
        let on_survivor = i % 3 != 0;
        if on_survivor {
            assert_eq!(
                *attempts, 1,
                "client {i} on a surviving replica saw no error"
            );
        }
    }
    let requests = upstream.count(ZIP);
    assert!((1..=2).contains(&requests), "{requests} upstream requests");
    let took_over: usize = replicas[1..]
        .iter()
        .map(|r| log_count(r, "took over an expired fleet lease"))
        .sum();
    assert_eq!(took_over, 1, "exactly one survivor took the claim over");
}
