//! Several real `larder` processes sharing one bucket.

use crate::moto::Moto;
use crate::support::{get, http_client, Larder, Mode, Resource, Routes, Upstream};
use std::io::Read;
use std::time::{Duration, Instant};

const ZIP: &str = "/example.com/m/@v/v1.0.0.zip";
const LIST: &str = "/example.com/m/@v/list";

pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 31 + seed as u64 * 7 + (i as u64 >> 9)) as u8)
        .collect()
}

pub fn go_upstream(objects: &[(&str, Vec<u8>)]) -> Upstream {
    let mut routes = Routes::new();
    for (path, body) in objects {
        let content_type = if path.ends_with(".zip") {
            "application/zip"
        } else {
            "text/plain; charset=utf-8"
        };
        routes.insert(
            (*path).into(),
            vec![Resource::new(content_type, body.clone())],
        );
    }
    Upstream::start(routes)
}

pub fn replica_config(upstream: &Upstream, moto: &Moto, timeout: &str) -> String {
    format!(
        "[go]\nupstream = \"{}/\"\nmetadata_ttl = \"1h\"\n{}",
        upstream.url,
        moto.storage_toml(timeout)
    )
}

pub fn health(larder: &Larder) -> String {
    get(&larder.at("-/health")).text().unwrap()
}

/// Waits until a replica has shared everything it stored.
pub fn wait_shared(larder: &Larder) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let health = health(larder);
        if health.contains("pending_uploads: 0") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "uploads still pending: {health}\n{}",
            larder.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn what_replica_a_fetched_is_served_by_b_with_upstream_down_and_b_empty() {
    let moto = Moto::start();
    let zip = payload(300_000, 1);
    let list = b"v1.0.0\n".to_vec();
    let upstream = go_upstream(&[(ZIP, zip.clone()), (LIST, list.clone())]);
    let config = replica_config(&upstream, &moto, "2s");

    let a = Larder::start(&config);
    assert!(get(&a.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    assert_eq!(get(&a.at(&format!("go{LIST}"))).bytes().unwrap(), list);
    wait_shared(&a);
    let objects = moto.objects();
    assert_eq!(
        objects
            .iter()
            .filter(|(k, _)| k.contains("/blobs/"))
            .count(),
        2,
        "{objects:?}"
    );
    assert!(
        objects
            .iter()
            .any(|(k, size)| k.contains("/blobs/") && *size == zip.len() as u64),
        "{objects:?}"
    );

    upstream.set_mode(Mode::Down);
    upstream.clear_requests();
    let b = Larder::start(&config);
    let response = get(&b.at(&format!("go{ZIP}")));
    assert_eq!(response.status(), 200, "{}", b.log());
    assert!(response.bytes().unwrap() == zip);
    let response = get(&b.at(&format!("go{LIST}")));
    assert_eq!(response.status(), 200, "{}", b.log());
    assert_eq!(response.bytes().unwrap(), list);
    assert!(upstream.requests().is_empty(), "B never asked upstream");
    // Now a local hit on B, with the bucket gone as well.
    drop(moto);
    let response = get(&b.at(&format!("go{ZIP}")));
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap() == zip);
}

#[test]
fn a_replica_killed_mid_download_leaves_no_object_in_the_bucket() {
    let moto = Moto::start();
    let zip = payload(3 * 1024 * 1024, 2);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    upstream.set_mode(Mode::Slow {
        latency: Duration::ZERO,
        bytes_per_sec: 1024 * 1024,
    });
    let config = replica_config(&upstream, &moto, "2s");
    let mut a = Larder::start(&config);
    let url = a.at(&format!("go{ZIP}"));
    let reader = std::thread::spawn(move || {
        let mut response = http_client().get(url).send().unwrap();
        let mut sink = Vec::new();
        let _ = response.read_to_end(&mut sink);
        sink.len()
    });
    std::thread::sleep(Duration::from_millis(1200));
    a.kill();
    assert!(reader.join().unwrap() < zip.len(), "the download was cut");
    std::thread::sleep(Duration::from_millis(300));
    // The dead replica's fleet lease stays until it expires; no blob or pointer is visible.
    let shared: Vec<_> = moto
        .objects()
        .into_iter()
        .filter(|(key, _)| !key.contains("/leases/"))
        .collect();
    assert_eq!(shared, vec![], "nothing partial is visible");

    // Another replica fetches it whole, and only the whole object appears.
    upstream.set_mode(Mode::Normal);
    let b = Larder::start(&config);
    assert!(get(&b.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    wait_shared(&b);
    let blobs: Vec<u64> = moto
        .objects()
        .into_iter()
        .filter(|(k, _)| k.contains("/blobs/"))
        .map(|(_, size)| size)
        .collect();
    assert_eq!(blobs, vec![zip.len() as u64]);
}

#[test]
fn a_replica_killed_mid_upload_leaves_no_partial_object() {
    let moto = Moto::start();
    // Over the 8 MiB buffer: shared as a multipart upload.
    let zip = payload(24 * 1024 * 1024, 6);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    let config = replica_config(&upstream, &moto, "5s");
    let mut a = Larder::start(&config);
    assert!(get(&a.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    let uploading = health(&a).contains("pending_uploads: 1");
    a.kill();
    eprintln!("killed with the upload in progress: {uploading}");
    std::thread::sleep(Duration::from_millis(300));
    for (key, size) in moto.objects() {
        if key.contains("/blobs/") {
            assert_eq!(
                size,
                zip.len() as u64,
                "only a whole blob is visible: {key}"
            );
        }
    }
}

#[test]
fn bucket_hung_replicas_degrade_within_the_timeout_and_recover() {
    let moto = Moto::start();
    let first = payload(100_000, 3);
    let second = payload(100_000, 4);
    let third = payload(100_000, 5);
    let paths = [
        "/example.com/m/@v/v1.0.0.zip",
        "/example.com/m/@v/v1.1.0.zip",
        "/example.com/m/@v/v1.2.0.zip",
    ];
    let upstream = go_upstream(&[
        (paths[0], first.clone()),
        (paths[1], second.clone()),
        (paths[2], third.clone()),
    ]);
    let config = replica_config(&upstream, &moto, "1s");
    let a = Larder::start(&config);
    assert!(get(&a.at(&format!("go{}", paths[0]))).bytes().unwrap() == first);
    wait_shared(&a);
    assert!(health(&a).starts_with("ok\n"), "{}", health(&a));

    let client = http_client();
    let timed = |url: String| {
        let started = Instant::now();
        let response = client.get(url).send().unwrap();
        let status = response.status();
        let body = response.bytes().unwrap();
        (status, body, started.elapsed())
    };
    timed(a.at("-/health"));
    moto.pause();
    let (status, body, miss_while_hung) = timed(a.at(&format!("go{}", paths[1])));
    assert_eq!(status, 200);
    assert!(body == second);
    assert!(
        miss_while_hung < Duration::from_secs(4),
        "a miss waited {miss_while_hung:?} for a hung bucket (timeout 1s)"
    );
    let degraded = health(&a);
    assert!(degraded.starts_with("degraded\n"), "{degraded}");
    assert!(
        a.log().contains("shared bucket is unreachable"),
        "{}",
        a.log()
    );
    let (_, body, hit_while_hung) = timed(a.at(&format!("go{}", paths[0])));
    assert!(body == first);
    // A fresh replica starts and serves from upstream while the bucket hangs.
    let b = Larder::start(&config);
    let (_, body, fresh_replica_miss) = timed(b.at(&format!("go{}", paths[0])));
    assert!(body == first);
    eprintln!(
        "bucket hung: miss on a replica {miss_while_hung:?}, local hit {hit_while_hung:?}, \
         first request on a new replica {fresh_replica_miss:?}"
    );

    moto.resume();
    let resumed = Instant::now();
    while !health(&a).starts_with("ok\n") {
        assert!(
            resumed.elapsed() < Duration::from_secs(20),
            "A never noticed the bucket was back: {}",
            health(&a)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("bucket back: A healthy again after {:?}", resumed.elapsed());
    assert!(get(&a.at(&format!("go{}", paths[2]))).bytes().unwrap() == third);
    wait_shared(&a);
    upstream.set_mode(Mode::Down);
    let c = Larder::start(&config);
    let response = get(&c.at(&format!("go{}", paths[2])));
    assert_eq!(response.status(), 200, "shared after recovery: {}", c.log());
    assert!(response.bytes().unwrap() == third);
}

/// Hit latency from the local tier against from the bucket (one run; prints the figures).
/// `cargo test -p larder --test s3 -- --ignored --nocapture hit_latency`
#[test]
#[ignore]
fn hit_latency_local_tier_vs_bucket() {
    let moto = Moto::start();
    let count = 20;
    let bodies: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| {
            (
                format!("/example.com/m/@v/v1.{i}.0.zip"),
                payload(1024 * 1024, i as u8),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = bodies
        .iter()
        .map(|(p, b)| (p.as_str(), b.clone()))
        .collect();
    let upstream = go_upstream(&refs);
    let config = replica_config(&upstream, &moto, "5s");
    let a = Larder::start(&config);
    for (path, _) in &bodies {
        get(&a.at(&format!("go{path}"))).bytes().unwrap();
    }
    wait_shared(&a);
    upstream.set_mode(Mode::Down);
    let b = Larder::start(&config);
    let client = http_client();
    let time = |url: String| {
        let started = Instant::now();
        let body = client.get(url).send().unwrap().bytes().unwrap();
        (started.elapsed(), body.len())
    };
    let (mut from_bucket, mut from_local) = (Duration::ZERO, Duration::ZERO);
    for (path, body) in &bodies {
        let (t, n) = time(b.at(&format!("go{path}")));
        assert_eq!(n, body.len());
        from_bucket += t;
        let (t, n) = time(b.at(&format!("go{path}")));
        assert_eq!(n, body.len());
        from_local += t;
    }
    eprintln!(
        "1 MiB artifacts, {count} each: from the bucket {:?}/request, from the local tier {:?}/request, ratio {:.1}",
        from_bucket / count,
        from_local / count,
        from_bucket.as_secs_f64() / from_local.as_secs_f64()
    );
}
