//! Opt-in against the real npm registry and PyPI (`LARDER_LIVE=1`): the registries as they
//! were on 2023-01-01. Never part of the default suite.

use crate::npm_client::Project;
use crate::support::Larder;
use std::process::Command;
use std::time::Duration;

fn live() -> Option<Larder> {
    if std::env::var("LARDER_LIVE").as_deref() != Ok("1") {
        eprintln!("skipped: set LARDER_LIVE=1 to go through larder to the real registries");
        return None;
    }
    Some(Larder::start(
        "[policy]\nexclude_newer = \"2023-01-01T00:00:00Z\"\n",
    ))
}

#[test]
#[ignore = "live: reaches registry.npmjs.org; run with LARDER_LIVE=1 and --ignored"]
fn live_npm_as_it_was_on_new_years_day_2023() {
    let Some(larder) = live() else {
        return;
    };

    // typescript 4.9.4 was published on 2022-12-07, 5.0 in March 2023.
    let project = Project::new(
        &serde_json::json!({"name": "app", "version": "1.0.0"}),
        None,
    );
    let view = project.npm(
        &["view", "typescript", "version"],
        &larder.at("npm/"),
        &project.fresh_cache("view"),
        Duration::from_secs(300),
    );
    view.assert_ok("npm view typescript version");
    let said = view
        .output
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        said.starts_with("4.9."),
        "npm view typescript version said {said:?}:\n{}",
        view.output
    );
}

#[test]
#[ignore = "live: reaches pypi.org; run with LARDER_LIVE=1 and --ignored"]
fn live_pypi_as_it_was_on_new_years_day_2023() {
    let Some(larder) = live() else {
        return;
    };
    // requests 2.28.1 was uploaded on 2022-06-29, 2.28.2 on 2023-01-12.
    let venv = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path().join("v"))
        .status()
        .unwrap();
    assert!(status.success());
    let pip = Command::new(venv.path().join("v/bin/pip"))
        .args([
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "requests",
        ])
        .env("PIP_INDEX_URL", larder.at("pypi/simple/"))
        .env("PIP_TRUSTED_HOST", "127.0.0.1")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&pip.stdout),
        String::from_utf8_lossy(&pip.stderr)
    );
    assert!(pip.status.success(), "{log}");
    let show = Command::new(venv.path().join("v/bin/python"))
        .args(["-c", "import requests; print(requests.__version__)"])
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&show.stdout).trim().to_string();
    let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    assert!(
        parts.as_slice() <= [2, 28, 1].as_slice(),
        "requests {version} installed:\n{log}"
    );
}
