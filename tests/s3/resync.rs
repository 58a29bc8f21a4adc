//! What a replica stores while the bucket cannot be reached is shared once it answers again,
//! also when the replica was restarted in between (the queue is on disk).

use crate::moto::Moto;
use crate::replicas::{go_upstream, health, payload, replica_config};
use crate::support::{get, metric, scrape, Larder, Mode};
use std::time::{Duration, Instant};

const ZIP: &str = "/example.com/m/@v/v1.0.0.zip";

fn queued(data_dir: &std::path::Path) -> usize {
    std::fs::read_dir(data_dir.join("share-queue"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn what_was_stored_while_the_bucket_hung_is_shared_when_it_is_back_even_after_a_restart() {
    let moto = Moto::start();
    let zip = payload(2 * 1024 * 1024, 16);
    let upstream = go_upstream(&[(ZIP, zip.clone())]);
    let config = replica_config(&upstream, &moto, "1s");
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = temp.path().join("a");
    let mut a = Larder::start_in(&data_dir, &config);

    moto.pause();
    assert!(get(&a.at(&format!("go{ZIP}"))).bytes().unwrap() == zip);
    assert!(health(&a).starts_with("degraded\n"), "{}", health(&a));
    let deadline = Instant::now() + Duration::from_secs(10);
    while queued(&data_dir) == 0 {
        assert!(Instant::now() < deadline, "nothing queued: {}", a.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    // What the metrics and the status page say meanwhile.
    let metrics = scrape(&a.url);
    assert_eq!(metric(&metrics, "larder_bucket_up"), Some(0.0), "{metrics}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&scrape(&a.url), "larder_bucket_share_queue") != Some(1.0) {
        assert!(Instant::now() < deadline, "{}", scrape(&a.url));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        metric(&metrics, "larder_bucket_request_duration_seconds_count").is_some_and(|n| n > 0.0),
        "{metrics}"
    );
    let page = get(&a.at("")).text().unwrap();
    assert!(
        page.contains("shared bucket <span data-metric=\"larder_bucket_up\" data-value=\"0\">unreachable</span>"),
        "{page}"
    );
    assert!(
        page.contains(&format!("/{}</code>", a.pid())),
        "the replica's name: {page}"
    );
    // A crash while the bucket is still down: the queue is all that remembers.
    a.kill();
    moto.resume();
    assert!(
        !moto
            .objects()
            .iter()
            .any(|(key, _)| key.contains("/blobs/")),
        "not shared yet"
    );

    let a = Larder::start_in(&data_dir, &config);
    let back = Instant::now();
    loop {
        let objects = moto.objects();
        let blob = objects
            .iter()
            .any(|(key, size)| key.contains("/blobs/") && *size == zip.len() as u64);
        let pointer = objects.iter().any(|(key, _)| key.contains("/pointers/"));
        if blob && pointer && queued(&data_dir) == 0 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "not shared within a minute of the bucket's return: {objects:?}\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("shared {:?} after the restart", back.elapsed());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = scrape(&a.url);
        let up = metric(&metrics, "larder_bucket_up") == Some(1.0);
        if up && metric(&metrics, "larder_bucket_share_queue") == Some(0.0) {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }

    upstream.set_mode(Mode::Down);
    upstream.clear_requests();
    let fresh = Larder::start(&config);
    let response = get(&fresh.at(&format!("go{ZIP}")));
    assert_eq!(response.status(), 200, "{}", fresh.log());
    assert!(response.bytes().unwrap() == zip);
    assert!(upstream.requests().is_empty(), "served from the bucket");
}
