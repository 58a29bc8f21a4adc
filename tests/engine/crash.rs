//! A process killed mid-download leaves nothing that is ever served, and recovers.

use crate::harness::payload;
use crate::support::{http_client, Larder, Mode, Resource, Routes, Upstream};
use std::io::Read;
use std::time::Duration;

#[test]
fn sigkill_mid_download_then_restart_refetches_and_never_serves_a_partial_blob() {
    let body = payload(3 * 1024 * 1024, 13);
    let zip = "/example.com/m/@v/v1.0.0.zip";
    let mut routes = Routes::new();
    routes.insert(
        zip.into(),
        vec![Resource::new("application/zip", body.clone())],
    );
    let upstream = Upstream::start(routes);
    upstream.set_mode(Mode::Slow {
        latency: Duration::ZERO,
        bytes_per_sec: 1024 * 1024,
    });
    let config = format!("[go]\nupstream = \"{}/\"\n", upstream.url);
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");

    let mut larder = Larder::start_in(&data_dir, &config);
    let url = larder.at("go/example.com/m/@v/v1.0.0.zip");
    let reader = std::thread::spawn(move || {
        let mut response = http_client().get(url).send().unwrap();
        let mut sink = Vec::new();
        let _ = response.read_to_end(&mut sink);
        sink.len()
    });
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        crate::support::count_files(&data_dir.join("tmp")) >= 1,
        "a fill was in progress"
    );
    larder.kill();
    let received = reader.join().unwrap();
    assert!(
        received < body.len(),
        "the client saw a broken download, not a complete one"
    );
    assert_eq!(
        crate::support::count_files(&data_dir.join("blobs")),
        0,
        "no half-written blob was published"
    );

    upstream.set_mode(Mode::Normal);
    let larder = Larder::start_in(&data_dir, &config);
    assert_eq!(
        crate::support::count_files(&data_dir.join("tmp")),
        0,
        "temp files swept at start-up"
    );
    let response = http_client()
        .get(larder.at("go/example.com/m/@v/v1.0.0.zip"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().unwrap() == body);
    assert_eq!(upstream.count(zip), 2, "refetched after the crash");
}
