//! A damaged disk never reaches a client as a good file: a stored blob with a flipped byte or
//! cut short is refetched, or its response fails, as curl sees it; never a `200` that curl takes
//! for a complete download of the wrong bytes.

use crate::harness::{payload, sha256_hex, TestLarder};
use crate::support::{metric, scrape, Resource, Routes, Upstream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Served from memory with the lookup (≤ 64 KiB).
const SMALL: usize = 20_000;
/// Streamed by positioned reads, hashed whole before the engine answers (≤ 16 MiB).
const LARGE: usize = 3_000_000;
/// Hashed as it streams (> 16 MiB, `store::integrity::HASH_FIRST_UP_TO`).
const HUGE: usize = 17 * 1024 * 1024;

/// What curl made of one GET.
struct Curl {
    /// curl's exit status: 0 is a complete 2xx download.
    exit: i32,
    body: Vec<u8>,
    headers: String,
    stderr: String,
}

impl Curl {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `curl --fail` as a script would run it (`extra`: more arguments, e.g. a range).
fn curl(url: &str, extra: &[&str]) -> Curl {
    let dir = tempfile::tempdir().expect("temp dir");
    let (body, headers) = (dir.path().join("body"), dir.path().join("headers"));
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--noproxy", "*"])
        .arg("--output")
        .arg(&body)
        .arg("--dump-header")
        .arg(&headers)
        .args(extra)
        .arg(url)
        .output()
        .expect("curl runs (.ci/install/engine.sh installs it)");
    Curl {
        exit: output.status.code().unwrap_or(-1),
        body: std::fs::read(&body).unwrap_or_default(),
        headers: std::fs::read_to_string(&headers).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn blob_path(larder: &TestLarder, bytes: &[u8]) -> PathBuf {
    let sha = sha256_hex(bytes);
    larder
        .data_dir
        .join("blobs/sha256")
        .join(&sha[..2])
        .join(sha)
}

/// Rewrites a stored blob the way a bad disk or a stray write would. A moment after the blob
/// was published: a file's modification time moves in steps of a clock tick.
fn damage(path: &PathBuf, change: impl FnOnce(&mut Vec<u8>)) {
    std::thread::sleep(Duration::from_millis(20));
    let mut bytes = std::fs::read(path).expect("the blob is stored");
    change(&mut bytes);
    std::fs::write(path, bytes).expect("damage the blob");
}

fn quarantined(larder: &TestLarder, kind: &str) -> f64 {
    let text = scrape(larder.url.trim_end_matches("/t"));
    let series = format!("larder_quarantined_blobs_total{{ecosystem=\"t\",kind=\"{kind}\"}}");
    metric(&text, &series).unwrap_or_else(|| panic!("{series} missing from:\n{text}"))
}

fn quarantine_files(larder: &TestLarder) -> usize {
    std::fs::read_dir(larder.data_dir.join("quarantine")).map_or(0, |dir| dir.count())
}

fn setup(bytes: &[u8]) -> (Upstream, TestLarder, String) {
    let mut routes = Routes::new();
    routes.insert(
        "/blob/pkg".into(),
        vec![Resource::new("application/octet-stream", bytes.to_vec())],
    );
    let upstream = Upstream::start(routes);
    let larder = TestLarder::start(&upstream.url, "");
    let url = larder.at(&format!("blob/pkg?sha256={}", sha256_hex(bytes)));
    let first = curl(&url, &[]);
    assert_eq!(first.exit, 0, "cold: {}", first.stderr);
    assert!(first.body == bytes, "cold: the right bytes");
    (upstream, larder, url)
}

/// A refetched response: complete, the right bytes, from upstream again.
fn assert_refetched(got: &Curl, good: &[u8], upstream: &Upstream, fetches: usize) {
    assert_eq!(got.exit, 0, "curl: {}\n{}", got.stderr, got.headers);
    assert!(got.body == good, "the refetched bytes are the good ones");
    assert_eq!(
        got.header("x-larder-cache"),
        Some("miss"),
        "{}",
        got.headers
    );
    assert_eq!(
        got.header("content-length"),
        Some(good.len().to_string().as_str())
    );
    assert_eq!(upstream.count("/blob/pkg"), fetches);
}

#[test]
fn a_blob_with_a_flipped_byte_is_refetched_before_anything_is_sent() {
    for (len, seed) in [(SMALL, 1), (LARGE, 2)] {
        let good = payload(len, seed);
        let (upstream, larder, url) = setup(&good);
        damage(&blob_path(&larder, &good), |bytes| bytes[len / 2] ^= 0x01);

        // Hashed before the response starts: the client never notices.
        let again = curl(&url, &[]);
        assert_refetched(&again, &good, &upstream, 2);
        assert_eq!(quarantined(&larder, "digest"), 1.0, "{len} bytes");
        assert_eq!(quarantine_files(&larder), 1);
        let hit = curl(&url, &[]);
        assert_eq!(hit.exit, 0, "{}", hit.stderr);
        assert!(hit.body == good);
        assert_eq!(hit.header("x-larder-cache"), Some("hit"));
        assert_eq!(upstream.count("/blob/pkg"), 2);
    }
}

#[test]
fn a_huge_blob_with_a_flipped_byte_fails_its_response_and_the_next_is_refetched() {
    let good = payload(HUGE, 3);
    let (upstream, larder, url) = setup(&good);
    damage(&blob_path(&larder, &good), |bytes| bytes[10] ^= 0x80);

    // Streamed and hashed as it goes: the bad byte went out, but the last chunk is held and
    // the connection cut, so curl fails instead of keeping a wrong file.
    let broken = curl(&url, &[]);
    assert_ne!(broken.exit, 0, "curl took a damaged blob for a good file");
    assert!(
        broken.body.len() < HUGE,
        "only part of the body was sent: {}",
        broken.body.len()
    );
    assert_eq!(quarantined(&larder, "digest"), 1.0);
    assert_eq!(quarantine_files(&larder), 1);

    assert_refetched(&curl(&url, &[]), &good, &upstream, 2);
    let hit = curl(&url, &[]);
    assert_eq!((hit.exit, hit.header("x-larder-cache")), (0, Some("hit")));
    assert!(hit.body == good);
}

#[test]
fn a_range_of_a_damaged_blob_is_never_served_from_it() {
    let range = ["--range", "1000-1999"];
    for (len, seed) in [(LARGE, 4), (HUGE, 5)] {
        let good = payload(len, seed);
        let (upstream, larder, url) = setup(&good);
        let part = curl(&url, &range);
        assert_eq!(part.exit, 0, "{}", part.stderr);
        assert!(part.body == good[1000..2000]);

        // Damage far from the range asked for: the whole blob is hashed before a part is sent.
        damage(&blob_path(&larder, &good), |bytes| bytes[len - 5] ^= 0x01);
        let damaged = curl(&url, &range);
        if len <= 16 * 1024 * 1024 {
            // A miss: the part comes from the refetch.
            assert_eq!(damaged.exit, 0, "{}", damaged.stderr);
            assert!(damaged.body == good[1000..2000]);
        } else {
            assert_ne!(damaged.exit, 0, "a range of a damaged blob was served");
            assert!(damaged.body.is_empty(), "nothing of it was sent");
        }
        assert_eq!(quarantined(&larder, "digest"), 1.0, "{len} bytes");
        // The whole: from the refetch, joined or finished, so the next part is a hit.
        let whole = curl(&url, &[]);
        assert_eq!(whole.exit, 0, "{}", whole.stderr);
        assert!(whole.body == good);
        assert_eq!(upstream.count("/blob/pkg"), 2);
        let part = curl(&url, &range);
        assert_eq!((part.exit, part.header("x-larder-cache")), (0, Some("hit")));
        assert!(part.body == good[1000..2000]);
    }
}

#[test]
fn a_truncated_blob_is_a_miss_never_a_short_file() {
    for (len, seed) in [(SMALL, 6), (LARGE, 7)] {
        let good = payload(len, seed);
        let (upstream, larder, url) = setup(&good);
        damage(&blob_path(&larder, &good), |bytes| bytes.truncate(len / 2));

        // Its size differs from its record: refetched, with the full length announced.
        assert_refetched(&curl(&url, &[]), &good, &upstream, 2);
        assert_eq!(quarantined(&larder, "size"), 1.0, "{len} bytes");
        assert_eq!(quarantine_files(&larder), 1);
        let hit = curl(&url, &[]);
        assert_eq!((hit.exit, hit.header("x-larder-cache")), (0, Some("hit")));
        assert!(hit.body == good);
    }
}

#[test]
fn a_blob_damaged_while_larder_was_stopped_is_caught_on_its_first_hit() {
    let good = payload(LARGE, 8);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut routes = Routes::new();
    routes.insert(
        "/blob/pkg".into(),
        vec![Resource::new("application/octet-stream", good.clone())],
    );
    let upstream = Upstream::start(routes);
    let url_of = |larder: &TestLarder| larder.at(&format!("blob/pkg?sha256={}", sha256_hex(&good)));
    {
        let larder = TestLarder::start_in(dir.path(), &upstream.url, "");
        assert_eq!(curl(&url_of(&larder), &[]).exit, 0);
    }
    // Damaged while no larder ran, its modification time put back: only the fact that the next
    // larder has verified nothing yet can catch it.
    let sha = sha256_hex(&good);
    let path = dir.path().join("blobs/sha256").join(&sha[..2]).join(&sha);
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    damage(&path, |bytes| bytes[LARGE / 2] ^= 0x01);
    std::fs::File::open(&path)
        .and_then(|file| file.set_modified(mtime))
        .expect("put the mtime back");
    let larder = TestLarder::start_in(dir.path(), &upstream.url, "");
    let url = url_of(&larder);
    assert_refetched(&curl(&url, &[]), &good, &upstream, 2);
    let hit = curl(&url, &[]);
    assert_eq!((hit.exit, hit.header("x-larder-cache")), (0, Some("hit")));
    assert!(hit.body == good);
}
