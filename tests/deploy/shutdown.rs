//! Graceful shutdown as `docker stop` and systemd do it: SIGTERM, then SIGKILL if larder is
//! still there after their timeout.

use crate::support::{self, Larder, Mode, Resource, Routes, Upstream};
use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ZIP: &str = "/example.com/m/@v/v1.0.0.zip";

/// A Go proxy fixture serving one module zip of `size` bytes at `bytes_per_sec`.
fn slow_proxy(size: usize, bytes_per_sec: u64) -> (Upstream, Vec<u8>) {
    let body: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let mut routes = Routes::new();
    routes.insert(
        ZIP.into(),
        vec![Resource::new("application/zip", body.clone())],
    );
    let proxy = Upstream::start(routes);
    proxy.set_mode(Mode::Slow {
        latency: Duration::ZERO,
        bytes_per_sec,
    });
    (proxy, body)
}

fn config(proxy: &Upstream, grace: &str) -> String {
    format!(
        "shutdown_grace = \"{grace}\"\n[go]\nupstream = \"{}/\"\n",
        proxy.url
    )
}

/// SIGTERM without waiting for the exit.
fn sigterm(larder: &Larder) {
    let status = Command::new("kill")
        .arg(larder.pid().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits (bounded) until larder has exited; returns its status and when it exited.
fn wait_exit(larder: &mut Larder, within: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = larder.try_wait() {
            return status;
        }
        assert!(
            started.elapsed() < within,
            "larder still running {within:?} after SIGTERM:\n{}",
            larder.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the fixture has been asked for `path` and has had time to send some bytes.
fn wait_for_download(proxy: &Upstream, path: &str) {
    let started = Instant::now();
    while proxy.count(path) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no upstream request"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
}

fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(read) => read
            .map(|e| e.expect("dir entry").path().display().to_string())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn blob_files(data_dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for shard in entries(&data_dir.join("blobs/sha256")) {
        found.extend(entries(Path::new(&shard)));
    }
    found
}

/// A download in progress at SIGTERM completes for its client, is stored, and larder then exits
/// on its own (well before the grace period), refusing new connections meanwhile.
#[test]
fn sigterm_lets_a_download_in_progress_finish_and_store() {
    let (proxy, body) = slow_proxy(240_000, 120_000);
    let mut larder = Larder::start(&config(&proxy, "30s"));
    let url = larder.at(&format!("/go{ZIP}"));
    let client = std::thread::spawn(move || {
        let mut response = support::get(&url);
        let status = response.status().as_u16();
        let mut got = Vec::new();
        let read = response.read_to_end(&mut got);
        (status, read.map_err(|e| e.to_string()), got)
    });
    wait_for_download(&proxy, ZIP);
    let addr = larder.url.trim_start_matches("http://").to_string();
    sigterm(&larder);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "larder still accepts connections after SIGTERM"
    );

    let (status, read, got) = client.join().expect("client thread");
    assert_eq!(status, 200);
    assert!(read.is_ok(), "download cut by shutdown: {read:?}");
    assert!(got == body, "got {} of {} bytes", got.len(), body.len());
    let exit = wait_exit(&mut larder, Duration::from_secs(15));
    assert!(exit.success(), "exit {exit:?}:\n{}", larder.log());
    assert!(entries(&larder.data_dir.join("tmp")).is_empty());
    assert_eq!(blob_files(&larder.data_dir).len(), 1);

    // What a user sees: the next larder serves it from disk, upstream gone.
    drop(proxy);
    let offline = Larder::start_with_args(&larder.data_dir, "", &["--offline"]);
    let again = support::get(&offline.at(&format!("/go{ZIP}")));
    assert_eq!(again.status(), 200);
    assert!(again.bytes().expect("body") == body);
}

/// A download whose only client hung up is not thrown away at SIGTERM: larder waits for it
/// (within the grace period), stores it, and exits.
#[test]
fn sigterm_waits_for_a_download_whose_client_left() {
    let (proxy, body) = slow_proxy(240_000, 120_000);
    let mut larder = Larder::start(&config(&proxy, "30s"));
    {
        let mut response = support::get(&larder.at(&format!("/go{ZIP}")));
        let mut first = [0u8; 1000];
        response.read_exact(&mut first).expect("first bytes");
    } // the client disconnects here
    wait_for_download(&proxy, ZIP);
    sigterm(&larder);
    let exit = wait_exit(&mut larder, Duration::from_secs(15));
    assert!(exit.success(), "exit {exit:?}:\n{}", larder.log());
    assert!(entries(&larder.data_dir.join("tmp")).is_empty());

    drop(proxy);
    let offline = Larder::start_with_args(&larder.data_dir, "", &["--offline"]);
    let again = support::get(&offline.at(&format!("/go{ZIP}")));
    assert_eq!(again.status(), 200, "{}", larder.log());
    assert!(again.bytes().expect("body") == body);
}

/// A download that outlasts the grace period is cut: larder exits within it (before `docker
/// stop` would SIGKILL), the client gets a broken response rather than a complete-looking one,
/// and nothing partial is left on disk or served later.
#[test]
fn sigterm_cuts_a_download_after_the_grace_period_and_leaves_nothing() {
    let (proxy, body) = slow_proxy(2_000_000, 100_000);
    let mut larder = Larder::start(&config(&proxy, "1s"));
    let url = larder.at(&format!("/go{ZIP}"));
    let client = std::thread::spawn(move || {
        let mut response = support::get(&url);
        let mut got = Vec::new();
        let read = response.read_to_end(&mut got);
        (read.is_ok(), got.len())
    });
    wait_for_download(&proxy, ZIP);
    let signalled = Instant::now();
    sigterm(&larder);
    let exit = wait_exit(&mut larder, Duration::from_secs(9));
    assert!(
        signalled.elapsed() >= Duration::from_millis(900),
        "exited before the grace period"
    );
    assert!(exit.success(), "exit {exit:?}:\n{}", larder.log());
    let (complete, got) = client.join().expect("client thread");
    assert!(
        !complete && got < body.len(),
        "the client saw a complete response ({got} bytes)"
    );
    assert!(larder.log().contains("shutdown_grace"), "{}", larder.log());
    assert!(
        entries(&larder.data_dir.join("tmp")).is_empty(),
        "temp files left: {:?}",
        entries(&larder.data_dir.join("tmp"))
    );
    assert!(blob_files(&larder.data_dir).is_empty());

    let offline = Larder::start_with_args(&larder.data_dir, "", &["--offline"]);
    let again = support::get(&offline.at(&format!("/go{ZIP}")));
    assert_eq!(again.status(), 424, "a cut download must not be served");
}

/// An idle keep-alive connection (a build tool's pool between two steps) does not hold
/// larder up at SIGTERM.
#[test]
fn sigterm_does_not_wait_for_idle_keep_alive_connections() {
    let larder_config = "shutdown_grace = \"30s\"\n";
    let mut larder = Larder::start(larder_config);
    let client = support::http_client();
    let health = client
        .get(larder.at("/-/health"))
        .send()
        .expect("health answers");
    assert_eq!(health.status(), 200);
    let _ = health.bytes();
    sigterm(&larder);
    let exit = wait_exit(&mut larder, Duration::from_secs(10));
    assert!(exit.success(), "exit {exit:?}:\n{}", larder.log());
    drop(client);
}
