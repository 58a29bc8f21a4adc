//! A full disk costs caching, never a request: misses pass through uncached.

use crate::harness::{payload, TestLarder};
use crate::support::{http_client, Resource, Routes, Upstream};
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
        let mut filler = std::fs::File::create(self.dir.path().join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
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
    for _ in 0..2 {
        let response = client.get(larder.at("blob/a")).send().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-larder-cache"], "bypass");
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
