//! larder's image (deploy/Dockerfile + deploy/stage.sh), built with buildah and run with
//! `buildah run` as a container engine would: its own user, its own environment.

use crate::support::{self, Resource, Routes, Upstream};
use crate::tools::{ok, repo, run, said};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ZIP: &str = "/example.com/m/@v/v1.0.0.zip";

/// An image and its working containers, removed when dropped.
struct Built {
    tag: String,
    containers: Vec<String>,
    server: Option<Child>,
}

impl Drop for Built {
    fn drop(&mut self) {
        if let Some(server) = &mut self.server {
            // Only larder itself: a signal to `buildah run` makes it tear the container down
            // from under its process, which can disturb the terminal it was started from.
            for (pid, _) in larder_processes(server.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = server.wait();
        }
        for container in &self.containers {
            let _ = run("buildah", &["rm", container]);
        }
        let _ = run("buildah", &["rmi", "-f", &self.tag]);
    }
}

fn buildah_run(container: &str, listen: &str, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = [
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--env",
        &format!("LARDER_LISTEN={listen}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.push(container.into());
    all.push("--".into());
    all.extend(args.iter().map(|s| s.to_string()));
    all
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Processes in process group `pgid` whose command is `larder`, with their real uid.
fn larder_processes(pgid: u32) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let pgrp = rest
            .split_whitespace()
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        if pgrp != Some(pgid) || !head.ends_with("(larder") {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse().ok());
        if let Some(uid) = uid {
            found.push((pid, uid));
        }
    }
    found
}

#[test]
fn image_builds_runs_as_non_root_serves_and_stops_on_sigterm() {
    let context = tempfile::tempdir().expect("temp dir");
    let context_dir = context.path().to_str().expect("utf-8 path");
    let stage = repo().join("deploy/stage.sh");
    ok(
        "bash",
        &[
            stage.to_str().expect("path"),
            env!("CARGO_BIN_EXE_larder"),
            context_dir,
        ],
    );

    let tag = format!("localhost/larder-test:{}", std::process::id());
    let mut built = Built {
        tag: tag.clone(),
        containers: Vec::new(),
        server: None,
    };
    let dockerfile = repo().join("deploy/Dockerfile");
    ok(
        "buildah",
        &[
            "bud",
            "--quiet",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "--pull=never",
            "-f",
            dockerfile.to_str().expect("path"),
            "-t",
            &tag,
            context_dir,
        ],
    );

    // What `docker run` will use: the image's configuration.
    let inspect: serde_json::Value =
        serde_json::from_str(&ok("buildah", &["inspect", "--type", "image", &tag]))
            .expect("inspect is JSON");
    let config = &inspect["Docker"]["config"];
    assert_eq!(config["User"], "10001:10001", "{config:#}");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(env.contains(&"LARDER_LISTEN=0.0.0.0:7878"), "{env:?}");
    assert!(
        env.contains(&"LARDER_DATA_DIR=/var/cache/larder"),
        "{env:?}"
    );
    assert!(
        config["Volumes"].get("/var/cache/larder").is_some(),
        "{config:#}"
    );
    assert!(
        config["ExposedPorts"].get("7878/tcp").is_some(),
        "{config:#}"
    );
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/usr/local/bin/larder", "health"]),
        "no HEALTHCHECK (was the image built with --format docker?)"
    );
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/larder"])
    );
    assert_eq!(config["Cmd"], serde_json::json!(["serve"]));
    assert_eq!(config["StopSignal"], "SIGTERM");

    let container = ok("buildah", &["from", "--pull=never", &tag])
        .trim()
        .to_string();
    built.containers.push(container.clone());

    // The image's own environment, as `docker run larder config` shows it.
    let shown = ok(
        "buildah",
        &[
            "run",
            "--isolation",
            "chroot",
            &container,
            "--",
            "/usr/local/bin/larder",
            "config",
        ],
    );
    assert!(shown.contains("listen = \"0.0.0.0:7878\""), "{shown}");
    assert!(
        shown.contains("data_dir = \"/var/cache/larder\""),
        "{shown}"
    );

    // Serve on a free loopback port (the host's network, as `--network host` would), with a
    // fixture Go proxy as the upstream.
    let mut routes = Routes::new();
    let zip: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    routes.insert(
        ZIP.into(),
        vec![Resource::new("application/zip", zip.clone())],
    );
    let proxy = Upstream::start(routes);
    let listen = format!("127.0.0.1:{}", free_port());
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut args = buildah_run(&container, &listen, &["/usr/local/bin/larder", "serve"]);
    args.insert(1, format!("LARDER_GO_UPSTREAM={}/", proxy.url));
    args.insert(1, "--env".into());
    let server = {
        use std::os::unix::process::CommandExt;
        Command::new("buildah")
            .args(&args)
            .env("NO_COLOR", "1")
            .stdout(log.reopen().expect("log"))
            .stderr(log.reopen().expect("log"))
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("buildah run starts")
    };
    let pgid = server.id();
    built.server = Some(server);
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();

    let health = |container: &str| {
        let args = buildah_run(container, &listen, &["/usr/local/bin/larder", "health"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("buildah", &args)
    };
    let started = Instant::now();
    loop {
        let probe = health(&container);
        if probe.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the image never became healthy: {}\nlarder's log:\n{}",
            said(&probe),
            log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let processes = larder_processes(pgid);
    assert!(!processes.is_empty(), "no larder process in the container");
    assert!(
        processes.iter().all(|(_, uid)| *uid == 10001),
        "larder must run as uid 10001: {processes:?}"
    );

    // A miss is fetched and stored in the volume (writable by uid 10001); the second GET is
    // a hit that does not reach upstream.
    let url = format!("http://{listen}/go{ZIP}");
    let first = support::get(&url);
    assert_eq!(first.status(), 200, "{}", log_text());
    assert!(first.bytes().expect("body") == zip);
    let second = support::get(&url);
    assert_eq!(second.status(), 200);
    assert_eq!(
        second.headers()["x-larder-cache"],
        "hit",
        "not stored in the image's data dir:\n{}",
        log_text()
    );
    assert!(second.bytes().expect("body") == zip);
    assert_eq!(proxy.count(ZIP), 1);

    // `docker stop`: SIGTERM to the container's main process; larder exits 0 by itself and
    // `buildah run` with it.
    for (pid, _) in &processes {
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
    let started = Instant::now();
    let server = built.server.as_mut().expect("server");
    let exit = loop {
        if let Some(exit) = server.try_wait().expect("status") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM:\n{}",
            log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    built.server = None;
    assert!(exit.success(), "exit {exit:?}:\n{}", log_text());
    assert!(log_text().contains("stopped"), "{}", log_text());
    let probe = health(&container);
    assert!(
        !probe.status.success(),
        "healthy after stop: {}",
        said(&probe)
    );
}
