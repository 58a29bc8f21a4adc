//! The store's lifecycle, as a user sees it: eviction under `max_size` while clients download,
//! `larder verify` finding and repairing damage, `larder gc` (and its dry run) on a store that
//! a larder is serving from.

#[path = "../support/mod.rs"]
mod support;

#[path = "../engine/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{payload, sha256_hex, TestLarder};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};
use support::{get, Resource, Routes, Upstream};

const KIB: usize = 1024;

fn upstream_with(blobs: &[(&str, Vec<u8>)]) -> Upstream {
    let mut routes = Routes::new();
    for (name, body) in blobs {
        routes.insert(
            format!("/blob/{name}"),
            vec![Resource::new("application/octet-stream", body.clone())],
        );
    }
    Upstream::start(routes)
}

/// Every published blob: path → size.
fn blobs(data_dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut found = BTreeMap::new();
    for shard in std::fs::read_dir(data_dir.join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            if let Ok(meta) = file.metadata() {
                found.insert(file.path(), meta.len());
            }
        }
    }
    found
}

fn blob_path(data_dir: &Path, body: &[u8]) -> PathBuf {
    let sha = sha256_hex(body);
    data_dir.join("blobs/sha256").join(&sha[..2]).join(sha)
}

/// The whole store, for "nothing changed": every file with its length, mtime and content hash.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, String)> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                found.insert(
                    entry.path(),
                    (meta.len(), meta.modified().unwrap(), sha256_hex(&bytes)),
                );
            }
        }
    }
    found
}

/// Runs the real `larder` command (outside any directory with a larder.toml).
fn run_larder(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(args)
        .current_dir(cwd.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run larder")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A GET that reads the status line and headers, then only as much body as asked for, so that
/// larder holds the blob open while the client lingers.
struct SlowReader {
    stream: TcpStream,
    received: Vec<u8>,
}

impl SlowReader {
    fn start(url: &str) -> SlowReader {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = TcpStream::connect(host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reader = SlowReader {
            stream,
            received: Vec::new(),
        };
        reader.read_at_least(64 * KIB);
        reader
    }

    fn read_at_least(&mut self, n: usize) {
        let mut buf = vec![0; 16 * KIB];
        while self.received.len() < n {
            let got = self.stream.read(&mut buf).unwrap();
            assert!(got > 0, "connection closed early");
            self.received.extend_from_slice(&buf[..got]);
        }
    }

    /// Reads to the end; returns the body after checking the head announced its full length.
    fn finish(mut self) -> Vec<u8> {
        self.stream.read_to_end(&mut self.received).unwrap();
        let split = self
            .received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&self.received[..split]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let body = self.received[split + 4..].to_vec();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "body of {} bytes after head {head}",
            body.len()
        );
        body
    }
}

#[test]
fn eviction_keeps_the_store_under_max_size_while_clients_download() {
    const MAX: u64 = 1024 * 1024;
    // larder's log, shown if the test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("larder=info")
        .with_test_writer()
        .try_init();
    // Larger than loopback socket buffers can absorb, so larder must hold it open while the
    // reader lingers.
    let big = payload(24 * 1024 * KIB, 200);
    let hot = payload(64 * KIB, 201);
    let small: Vec<(String, Vec<u8>)> = (0..40u8)
        .map(|i| (format!("s{i}"), payload(64 * KIB, i)))
        .collect();
    let mut all: Vec<(&str, Vec<u8>)> = vec![("big", big.clone()), ("hot", hot.clone())];
    all.extend(small.iter().map(|(n, b)| (n.as_str(), b.clone())));
    let upstream = upstream_with(&all);
    let larder = TestLarder::start(&upstream.url, "max_size = \"1MiB\"");

    assert_eq!(
        get(&larder.at("blob/big")).bytes().unwrap().as_ref(),
        &big[..]
    );
    let lingering = SlowReader::start(&larder.at("blob/big"));
    assert_eq!(
        get(&larder.at("blob/hot")).bytes().unwrap().as_ref(),
        &hot[..]
    );

    // Four clients download the small blobs concurrently (each one a fill that publishes and
    // pushes the store past max_size), coming back to "hot" between downloads.
    std::thread::scope(|scope| {
        for lane in 0..4 {
            let (larder, small, hot) = (&larder, &small, &hot);
            scope.spawn(move || {
                for (name, body) in small.iter().skip(lane).step_by(4) {
                    let got = get(&larder.at(&format!("blob/{name}"))).bytes().unwrap();
                    assert!(
                        got.as_ref() == &body[..],
                        "{name}: {} bytes, want {}",
                        got.len(),
                        body.len()
                    );
                    let got = get(&larder.at("blob/hot")).bytes().unwrap();
                    assert!(got.as_ref() == &hot[..], "hot: {} bytes", got.len());
                }
            });
        }
    });

    // Passes have run while the big blob was being served: it is over max_size on its own and
    // the least recently used, yet still on disk because it is open.
    let deadline = Instant::now() + Duration::from_secs(20);
    while blobs(&larder.data_dir).len() > 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        blob_path(&larder.data_dir, &big).exists(),
        "a blob being served was evicted"
    );
    let first_small = blob_path(&larder.data_dir, &small[0].1);
    assert!(
        !first_small.exists(),
        "nothing was evicted: {:?}",
        blobs(&larder.data_dir)
    );

    assert!(
        lingering.finish() == big,
        "the lingering client got a different body"
    );

    // Once nobody reads it, the big blob goes too, and the store ends under the limit.
    let deadline = Instant::now() + Duration::from_secs(20);
    let total = || blobs(&larder.data_dir).values().sum::<u64>();
    while total() > MAX && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        total() <= MAX,
        "the store holds {} bytes, max_size is {MAX}",
        total()
    );
    assert!(!blob_path(&larder.data_dir, &big).exists());
    assert_eq!(larder.temp_count(), 0);

    // The recently used object survived: served from the store, no new upstream request.
    let response = get(&larder.at("blob/hot"));
    assert_eq!(response.headers()["x-larder-cache"], "hit");
    assert_eq!(response.bytes().unwrap().as_ref(), &hot[..]);
    assert_eq!(upstream.count("/blob/hot"), 1);
    // An evicted one is fetched again, whole.
    let body = get(&larder.at("blob/s0")).bytes().unwrap();
    assert!(body.as_ref() == &small[0].1[..]);
    assert_eq!(upstream.count("/blob/s0"), 2);
}

#[test]
fn verify_finds_a_corrupted_blob_and_repair_makes_the_next_request_refetch_it() {
    let good = payload(100 * KIB, 1);
    let other = payload(10 * KIB, 2);
    let upstream = upstream_with(&[("good", good.clone()), ("other", other.clone())]);
    let larder = TestLarder::start(&upstream.url, "");
    let dir = larder.data_dir.to_str().unwrap().to_string();
    assert_eq!(
        get(&larder.at("blob/good")).bytes().unwrap().as_ref(),
        &good[..]
    );
    assert_eq!(
        get(&larder.at("blob/other")).bytes().unwrap().as_ref(),
        &other[..]
    );

    let output = run_larder(&["verify", "--data-dir", &dir]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("2 blobs"), "{}", text(&output));

    // Flip bytes in the middle of one blob (same length: only a re-hash can tell), and lose
    // the other's file.
    let path = blob_path(&larder.data_dir, &good);
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[50_000..50_010] {
        *b ^= 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    std::fs::remove_file(blob_path(&larder.data_dir, &other)).unwrap();

    let output = run_larder(&["verify", "--data-dir", &dir]);
    let report = text(&output);
    assert!(
        !output.status.success(),
        "damage must fail verify: {report}"
    );
    assert!(
        report.contains("corrupt blob") && report.contains("t/blob/good"),
        "{report}"
    );
    assert!(
        report.contains("t/blob/other") && report.contains("points nowhere"),
        "{report}"
    );
    assert!(report.contains("--repair"), "{report}");
    assert!(path.exists(), "verify without --repair must change nothing");

    let output = run_larder(&["verify", "--data-dir", &dir, "--repair"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("2 repaired"), "{}", text(&output));
    assert!(!path.exists());

    // The next requests refetch both, whole and correct.
    let response = get(&larder.at("blob/good"));
    assert_ne!(response.headers()["x-larder-cache"], "hit");
    assert!(response.bytes().unwrap().as_ref() == &good[..]);
    assert_eq!(upstream.count("/blob/good"), 2);
    assert!(get(&larder.at("blob/other")).bytes().unwrap().as_ref() == &other[..]);
    assert_eq!(upstream.count("/blob/other"), 2);

    let output = run_larder(&["verify", "--data-dir", &dir]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("0 damaged"), "{}", text(&output));
}

/// What `dir` takes on disk, by `du` itself, less the served-log (it has a bound of its own).
fn du(dir: &std::path::Path) -> u64 {
    let output = std::process::Command::new("du")
        .args(["-s", "--block-size=1", "--exclude=served"])
        .arg(dir)
        .output()
        .expect("du");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("du's total")
}

#[test]
fn gc_dry_run_changes_nothing_and_gc_brings_the_store_under_the_size() {
    let bodies: Vec<(String, Vec<u8>)> = (0..10u8)
        .map(|i| (format!("b{i}"), payload(10 * KIB, 50 + i)))
        .collect();
    let named: Vec<(&str, Vec<u8>)> = bodies
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let upstream = upstream_with(&named);
    let larder = TestLarder::start(&upstream.url, "");
    let dir = larder.data_dir.to_str().unwrap().to_string();
    for (name, body) in &bodies {
        assert!(
            get(&larder.at(&format!("blob/{name}")))
                .bytes()
                .unwrap()
                .as_ref()
                == &body[..]
        );
        // Distinct times of last use, oldest first.
        std::thread::sleep(Duration::from_millis(20));
    }

    // The bound is on what the data dir takes on disk, as `du` counts it (pointer records,
    // directories and all): room for the store as it is, less about half the blobs.
    let du_before = du(&larder.data_dir);
    let max = du_before - 60 * KIB as u64;
    let max_arg = format!("{max}B");
    let before = snapshot(&larder.data_dir);
    let output = run_larder(&[
        "gc",
        "--data-dir",
        &dir,
        "--max-size",
        &max_arg,
        "--dry-run",
    ]);
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    let would = report.matches("would remove blob").count();
    assert!((5..10).contains(&would), "{report}");
    assert!(
        report.contains("t/blob/b0") && !report.contains("t/blob/b9"),
        "the least recently used go first: {report}"
    );
    assert_eq!(
        snapshot(&larder.data_dir),
        before,
        "a dry run changed the store"
    );

    let output = run_larder(&["gc", "--data-dir", &dir, "--max-size", &max_arg]);
    let report = text(&output);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains(&format!("in {would} blobs and {would} pointers")),
        "{report}"
    );
    let du_after = du(&larder.data_dir);
    assert!(
        du_after <= max,
        "du says {du_after} bytes, over the {max} asked for (before: {du_before})"
    );

    // The most recently used are still served from the store; the oldest are fetched again.
    let response = get(&larder.at("blob/b9"));
    assert_eq!(response.headers()["x-larder-cache"], "hit");
    assert_eq!(upstream.count("/blob/b9"), 1);
    assert!(get(&larder.at("blob/b0")).bytes().unwrap().as_ref() == &bodies[0].1[..]);
    assert_eq!(upstream.count("/blob/b0"), 2);
}

#[test]
fn gc_and_verify_refuse_a_directory_that_is_not_a_store() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    for args in [
        vec!["gc", "--data-dir", dir],
        vec!["verify", "--data-dir", dir],
    ] {
        let output = run_larder(&args);
        assert!(!output.status.success());
        assert!(
            text(&output).contains("is not a larder store"),
            "{}",
            text(&output)
        );
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "nothing created"
        );
    }
}
