//! sccache (from crates.io, with its WebDAV backend) as cargo's RUSTC_WRAPPER, against larder.

use crate::support::Larder;
use std::path::Path;
use std::process::Command;

/// A package with a library of its own and two path dependencies: three cacheable compiles
/// (sccache does not cache the link of a binary).
fn write_crates(root: &Path) {
    let files = [
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nshout = { path = \"../shout\" }\nsum = { path = \"../sum\" }\n",
        ),
        (
            "app/src/lib.rs",
            "pub fn greet(name: &str) -> String { format!(\"{} {}\", shout::loud(name), sum::of(&[1, 2, 3])) }\n",
        ),
        ("shout/Cargo.toml", "[package]\nname = \"shout\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        ("shout/src/lib.rs", "pub fn loud(s: &str) -> String { s.to_uppercase() }\n"),
        ("sum/Cargo.toml", "[package]\nname = \"sum\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        ("sum/src/lib.rs", "pub fn of(xs: &[i32]) -> i32 { xs.iter().sum() }\n"),
    ];
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sccache_env(command: &mut Command, endpoint: &str, state: &Path, port: u16) {
    command
        .env("SCCACHE_WEBDAV_ENDPOINT", endpoint)
        .env("SCCACHE_DIR", state.join("sccache"))
        .env("SCCACHE_SERVER_PORT", port.to_string())
        .env("SCCACHE_IDLE_TIMEOUT", "0")
        .env("SCCACHE_LOG", "warn")
        // sccache does not cache incremental compiles (cargo's dev profile default).
        .env("CARGO_INCREMENTAL", "0")
        .env("SCCACHE_ERROR_LOG", state.join("sccache.log"))
        .env_remove("RUSTC_WRAPPER")
        .env_remove("SCCACHE_BUCKET")
        .env_remove("SCCACHE_REDIS");
}

fn sccache(args: &[&str], endpoint: &str, state: &Path, port: u16) -> String {
    let mut command = Command::new("sccache");
    command.args(args);
    sccache_env(&mut command, endpoint, state, port);
    let out = command
        .output()
        .expect("sccache runs: install it with .ci/install/buildcache.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "sccache {args:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The sum of one of `--show-stats --stats-format json`'s per-language counts.
fn count(stats: &serde_json::Value, field: &str) -> u64 {
    stats["stats"][field]["counts"]
        .as_object()
        .map_or(0, |counts| counts.values().filter_map(|v| v.as_u64()).sum())
}

#[test]
fn a_second_build_with_empty_local_state_is_all_hits() {
    let larder = Larder::start("");
    let endpoint = larder.at("cache/sccache");
    let temp = tempfile::tempdir().unwrap();
    write_crates(temp.path());
    let app = temp.path().join("app");
    let mut rounds = Vec::new();
    for round in ["first", "second"] {
        // Nothing local survives: a new server, a new sccache dir, no target dir.
        let state = temp.path().join(format!("state-{round}"));
        std::fs::create_dir_all(&state).unwrap();
        let _ = std::fs::remove_dir_all(app.join("target"));
        let port = free_port();
        sccache(&["--start-server"], &endpoint, &state, port);
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "--offline", "--lib"])
            .current_dir(&app)
            .env("RUSTC_WRAPPER", "sccache")
            .env("CARGO_TARGET_DIR", app.join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTC_WRAPPER");
        sccache_env(&mut cargo, &endpoint, &state, port);
        cargo.env("RUSTC_WRAPPER", "sccache");
        let built = cargo.output().expect("cargo runs");
        let stats_text = sccache(
            &["--show-stats", "--stats-format", "json"],
            &endpoint,
            &state,
            port,
        );
        sccache(&["--stop-server"], &endpoint, &state, port);
        assert!(
            built.status.success(),
            "cargo build failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let stats: serde_json::Value = serde_json::from_str(&stats_text)
            .unwrap_or_else(|err| panic!("sccache stats are not JSON ({err}):\n{stats_text}"));
        rounds.push((
            count(&stats, "cache_hits"),
            count(&stats, "cache_misses"),
            stats,
        ));
    }
    let (first_hits, first_misses, first) = &rounds[0];
    assert_eq!((*first_hits, *first_misses), (0, 3), "{first}");
    let (second_hits, second_misses, second) = &rounds[1];
    assert_eq!((*second_hits, *second_misses), (3, 0), "{second}");
}
