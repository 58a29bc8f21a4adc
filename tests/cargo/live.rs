//! Opt-in: the real crates.io through larder (`LARDER_LIVE=1 cargo test --test cargo -- --ignored
//! --nocapture live`). A project depending on serde, tokio and clap is fetched cold, again by a
//! larder on the same data dir with `--offline` (upstream unreachable by construction), and
//! again after that larder was SIGKILLed and restarted. Prints the timings.

use crate::client::CargoHome;
use crate::support::Larder;
use std::path::Path;

const MANIFEST: &str = r#"[package]
name = "live-app"
version = "0.1.0"
edition = "2021"

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }
clap = { version = "4", features = ["derive"] }
"#;

fn fetch(larder: &Larder, dir: &Path, what: &str) -> std::time::Duration {
    let home = CargoHome::replacing_crates_io(dir, &larder.at("cargo/crates-io/"));
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(app.join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(app.join("src/main.rs"), "fn main() {}\n").unwrap();
    let run = home.run(&app, &["fetch"], &[]);
    run.assert_ok(what);
    let crates = std::fs::read_dir(home.home.join("registry/cache"))
        .unwrap()
        .flat_map(|registry| std::fs::read_dir(registry.unwrap().path()).unwrap())
        .count();
    eprintln!(
        "{what}: cargo fetch of {crates} crates in {:.1?}",
        run.elapsed
    );
    assert!(crates > 20, "{what}: only {crates} crates fetched");
    run.elapsed
}

#[test]
#[ignore = "reaches the real crates.io: run with LARDER_LIVE=1 and --ignored"]
fn live_crates_io_cold_offline_and_after_sigkill() {
    if std::env::var_os("LARDER_LIVE").is_none() {
        eprintln!("LARDER_LIVE is not set: skipped");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let cold = Larder::start_in(&data, "");
    fetch(&cold, &work.path().join("cold"), "cold, from crates.io");
    drop(cold);

    let mut offline = Larder::start_with_args(&data, "", &["--offline"]);
    fetch(&offline, &work.path().join("offline"), "warm, --offline");
    offline.kill();

    let restarted = Larder::start_with_args(&data, "", &["--offline"]);
    fetch(
        &restarted,
        &work.path().join("restart"),
        "after SIGKILL, --offline",
    );
}
