//! A full disk costs caching, never a request: misses pass through uncached.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, Resource, Routes, Upstream};
use sha2::Digest as _;
use std::io::Write;
use std::process::Command;

/// A small tmpfs, unmounted when dropped. Needs root (CI runs as root).
struct TinyDisk {
    dir: tempfile::TempDir,
}

impl TinyDisk {
    fn mount(size: &str) -> TinyDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root: run the suite as root (CI does)"
        );
        TinyDisk { dir }
    }

    /// Writes a file until the disk refuses more.
    fn fill(&self) {
        self.fill_leaving(0);
    }

    /// Fills the disk, then gives `free` bytes back.
    fn fill_leaving(&self, free: u64) {
        let mut filler = std::fs::File::create(self.dir.path().join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
        let len = filler.metadata().unwrap().len();
        filler.set_len(len.saturating_sub(free)).unwrap();
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        // Lazy: larder's runtime may still be closing files on it.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn misses_on_a_full_disk_are_served_uncached_and_complete() {
    let disk = TinyDisk::mount("1m");
    let artifact = payload(300_000, 17);
    let mut routes = Routes::new();
    routes.insert(
        "/blob/a".into(),
        vec![Resource::new("application/octet-stream", artifact.clone())],
    );
    routes.insert(
        "/meta/m".into(),
        vec![Resource::new("application/json", "{\"m\":1}")],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start_in(disk.dir.path(), &upstream.url, "");
    disk.fill();

    let client = http_client();
    for attempt in 0..2 {
        let response = client.get(larder.at("blob/a")).send().unwrap();
        assert_eq!(response.status(), 200);
        // The first fill finds the disk full at its first write and streams from memory; by
        // then the store is known to refuse writes, and later misses pass straight through.
        if attempt > 0 {
            assert_eq!(response.headers()["x-larder-cache"], "bypass");
        }
        assert!(
            response.bytes().unwrap() == artifact,
            "the whole artifact, from upstream"
        );
    }
    let meta = client.get(larder.at("meta/m")).send().unwrap();
    assert_eq!(meta.status(), 200);
    assert_eq!(meta.text().unwrap(), "{\"m\":1}");
    assert_eq!(larder.blob_count(), 0, "nothing could be stored");
    assert_eq!(
        larder.temp_count(),
        0,
        "no partial temp files left on the full disk"
    );
}

/// The disk fills up half-way through a download: every client of it still gets the whole
/// file, verified (against a sha512, which the bytes that never reached the disk are hashed
/// with too), from one upstream request; nothing half-written stays on the disk.
#[test]
fn a_download_the_disk_fills_up_under_completes_for_all_its_clients() {
    let disk = TinyDisk::mount("4m");
    let artifact = payload(3_000_000, 23);
    let sha512 = hex::encode(sha2::Sha512::digest(&artifact));
    let mut routes = Routes::new();
    routes.insert(
        "/blob/big".into(),
        vec![Resource::new("application/octet-stream", artifact.clone()).trickle(4_000_000)],
    );
    routes.insert(
        "/blob/tampered".into(),
        vec![Resource::new("application/octet-stream", artifact.clone()).trickle(4_000_000)],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start_in(disk.dir.path(), &upstream.url, "");
    disk.fill_leaving(512 * 1024);

    let url = larder.at(&format!("blob/big?sha512={sha512}"));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let response = http_client().get(url).send().unwrap();
                let status = response.status();
                (status, response.bytes().map(|body| body.to_vec()))
            })
        })
        .collect();
    for client in clients {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, 200);
        let body = body.expect("the whole body, though the disk filled up under it");
        assert!(body == artifact, "every byte right ({} bytes)", body.len());
    }
    assert_eq!(
        upstream.count("/blob/big"),
        1,
        "one fetch for all three clients"
    );
    assert_eq!(larder.blob_count(), 0, "it could not be stored");
    assert_eq!(larder.temp_count(), 0, "no partial temp file left");

    // Bytes that contradict their digest are refused though they never reached the disk.
    let wrong = "0".repeat(128);
    let response = http_client()
        .get(larder.at(&format!("blob/tampered?sha512={wrong}")))
        .send()
        .unwrap();
    let body = response.bytes();
    assert!(
        body.as_ref()
            .map_or(true, |body| body.len() < artifact.len()),
        "a mismatching download is cut short, never completed"
    );
}
