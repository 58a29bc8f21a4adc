//! deploy/office-mirror/: the systemd unit verifies and stays hardened; the sample config is
//! accepted by larder as written.

use crate::tools::{repo, run, said};
use std::process::Command;

/// The unit with ExecStart pointing at the binary under test (`verify` checks it exists).
fn unit_under_test(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("deploy/office-mirror/larder.service"))
        .expect("larder.service");
    assert!(text.contains("ExecStart=/usr/local/bin/larder serve --config /etc/larder/larder.toml"));
    let path = dir.join("larder.service");
    std::fs::write(
        &path,
        text.replace("/usr/local/bin/larder", env!("CARGO_BIN_EXE_larder")),
    )
    .expect("write unit");
    path
}

#[test]
fn systemd_unit_verifies_without_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_under_test(dir.path());
    let verified = run("systemd-analyze", &["verify", unit.to_str().expect("path")]);
    let output = said(&verified);
    assert!(verified.status.success(), "{output}");
    // verify exits 0 on an unknown or misspelt setting; it only prints a line about it.
    let about_unit: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("larder.service"))
        .collect();
    assert!(about_unit.is_empty(), "{output}");
}

#[test]
fn systemd_unit_exposure_stays_low() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = unit_under_test(dir.path());
    let unit = unit.to_str().expect("path");
    let rated = run(
        "systemd-analyze",
        &["security", "--offline=true", "--no-pager", unit],
    );
    let output = said(&rated);
    let level = output
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for larder.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{output}"));
    println!("systemd-analyze security: exposure {level}");
    assert!(level <= 2.0, "exposure {level} (was 1.1):\n{output}");
}

#[test]
fn sample_config_is_accepted_and_keeps_the_token_out_of_the_output() {
    let config = repo().join("deploy/office-mirror/larder.toml");
    let shown = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["config", "--config", config.to_str().expect("path")])
        .env("NPM_TOKEN", "npm_sEcReT")
        .output()
        .expect("larder config runs");
    let text = said(&shown);
    assert!(shown.status.success(), "{text}");
    assert!(text.contains("listen = \"0.0.0.0:7878\""), "{text}");
    assert!(text.contains("data_dir = \"/var/lib/larder\""), "{text}");
    assert!(text.contains("shutdown_grace = \"1m\""), "{text}");
    assert!(text.contains("max_size = "), "{text}");
    assert!(!text.contains("npm_sEcReT"), "{text}");

    // The unit's stop timeout leaves larder time to finish by itself.
    let unit =
        std::fs::read_to_string(repo().join("deploy/office-mirror/larder.service")).expect("unit");
    assert!(unit.contains("TimeoutStopSec=90"));
    assert!(unit.contains("StateDirectory=larder"));

    // Without the credential, `config` still shows the configuration and names the variable;
    // `serve` says which variable is missing instead of starting.
    let shown = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["config", "--config", config.to_str().expect("path")])
        .env_remove("NPM_TOKEN")
        .output()
        .expect("larder config runs");
    assert!(shown.status.success(), "{}", said(&shown));
    assert!(said(&shown).contains("NPM_TOKEN"), "{}", said(&shown));
    let mut serve = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["serve", "--config", config.to_str().expect("path")])
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("NPM_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("larder serve starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while serve.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = serve.kill();
            panic!("larder serve started without the secret its config names");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refused = serve.wait_with_output().expect("output");
    assert!(!refused.status.success());
    assert!(said(&refused).contains("NPM_TOKEN"), "{}", said(&refused));
}
