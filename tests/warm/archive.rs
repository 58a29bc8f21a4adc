//! `larder export` from one data dir while it serves, `larder import` into another, served
//! offline; a tampered export refused with nothing imported.

use crate::npm_client::Project;
use crate::npm_fixture::{Registry, EXPECTED, PROJECT_DEPS};
use crate::support::{Larder, Mode, Routes, Upstream};
use crate::{run_larder, text, warm_ok};
use std::time::Duration;

#[test]
fn export_import_then_serve_offline_and_refuse_a_tampered_archive() {
    let registry = Registry::generate();
    let upstream = Upstream::start(Routes::new());
    registry.publish(&upstream);
    let config = format!("[npm]\nupstream = \"{}/\"\n", upstream.url);
    let source = Larder::start(&config);
    let lock = registry.lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    let project = Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    warm_ok(&source.url, &[&project.dir.join("package-lock.json")], &[]);

    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("cache.tar");
    let source_dir = source.data_dir.to_str().unwrap();
    // While the source larder is serving.
    let output = run_larder(&[
        "export",
        "--data-dir",
        source_dir,
        archive.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("{} blobs", EXPECTED.len())),
        "{}",
        text(&output)
    );
    let future = run_larder(&[
        "export",
        "--data-dir",
        source_dir,
        "--since",
        "2999-01-01T00:00:00Z",
        work.path().join("none.tar").to_str().unwrap(),
    ]);
    assert!(
        text(&future).contains("exported 0 pointers"),
        "{}",
        text(&future)
    );
    let recent = run_larder(&[
        "export",
        "--data-dir",
        source_dir,
        "--since",
        "1h",
        work.path().join("recent.tar").to_str().unwrap(),
    ]);
    assert!(
        text(&recent).contains(&format!("{} blobs", EXPECTED.len())),
        "{}",
        text(&recent)
    );

    // Another machine: import, then serve offline.
    upstream.set_mode(Mode::Down);
    let target = work.path().join("target");
    let output = run_larder(&[
        "import",
        "--data-dir",
        target.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let offline = Larder::start_with_args(&target, &config, &["--offline"]);
    project
        .npm(
            &["ci"],
            &offline.at("npm/"),
            &project.fresh_cache("offline"),
            Duration::from_secs(180),
        )
        .assert_ok("npm ci from an imported store, offline");
    project.assert_installed(EXPECTED);

    // One blob's bytes changed: refused, named, and nothing imported.
    let mut bytes = std::fs::read(&archive).unwrap();
    let (name, version) = EXPECTED[0];
    let tarball = registry
        .package(name)
        .version(version)
        .tarball
        .clone()
        .unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &tarball[..64])
        .expect("the tarball is in the archive");
    bytes[at + 32] ^= 0xff;
    let tampered = work.path().join("tampered.tar");
    std::fs::write(&tampered, &bytes).unwrap();
    let clean = work.path().join("clean");
    let output = run_larder(&[
        "import",
        "--data-dir",
        clean.to_str().unwrap(),
        tampered.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let sha = crate::fixture::sha256_hex(&tarball);
    assert!(
        text(&output).contains(&format!("blob {sha}"))
            && text(&output).contains("nothing imported"),
        "{}",
        text(&output)
    );
    assert_eq!(crate::support::count_files(&clean.join("blobs")), 0);
    assert_eq!(crate::support::count_files(&clean.join("pointers")), 0);
    assert_eq!(crate::support::count_files(&clean.join("tmp")), 0);
}
