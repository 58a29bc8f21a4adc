//! npm: `package-lock.json` and `pnpm-lock.yaml`.

use crate::npm_client::Project;
use crate::npm_fixture::{Registry, EXPECTED, PROJECT_DEPS};
use crate::support::{Larder, Mode, Routes, Upstream};
use crate::{run_larder, text, warm_ok};
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(180);

fn setup() -> (Registry, Upstream, Larder) {
    let registry = Registry::generate();
    let upstream = Upstream::start(Routes::new());
    registry.publish(&upstream);
    let larder = Larder::start(&format!("[npm]\nupstream = \"{}/\"\n", upstream.url));
    (registry, upstream, larder)
}

fn tarballs_fetched(upstream: &Upstream) -> usize {
    upstream
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(".tgz"))
        .count()
}

#[test]
fn warm_from_package_lock_then_npm_ci_with_the_upstream_down() {
    let (registry, upstream, larder) = setup();
    let lock = registry.lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    let project = Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    let lock_path = project.dir.join("package-lock.json");

    let printed = warm_ok(&larder.url, &[&lock_path], &[]);
    assert!(
        printed.contains(&format!("{} fetched, 0 already cached", EXPECTED.len())),
        "{printed}"
    );
    for (name, version) in EXPECTED {
        let path = registry.package(name).tarball_path(version);
        assert_eq!(upstream.count(&path), 1, "{path} fetched once by warm");
    }
    let again = warm_ok(&larder.url, &[&lock_path], &[]);
    assert!(
        again.contains(&format!("0 fetched, {} already cached", EXPECTED.len())),
        "{again}"
    );

    upstream.set_mode(Mode::Down);
    upstream.clear_requests();
    project
        .npm(
            &["ci"],
            &larder.at("npm/"),
            &project.fresh_cache("down"),
            RUN_LIMIT,
        )
        .assert_ok("npm ci after warm, upstream down");
    project.assert_installed(EXPECTED);
    assert_eq!(tarballs_fetched(&upstream), 0);
}

#[test]
fn warm_from_pnpm_lock_then_pnpm_install_with_the_upstream_down() {
    let (_registry, upstream, larder) = setup();
    let project = Project::new(&Registry::manifest(PROJECT_DEPS), None);
    // pnpm writes the lockfile from packuments alone; warm then fetches every tarball.
    project
        .pnpm(
            &["install", "--lockfile-only"],
            &larder.at("npm/"),
            &project.fresh_cache("lock"),
            RUN_LIMIT,
        )
        .assert_ok("pnpm lockfile");
    assert_eq!(tarballs_fetched(&upstream), 0, "no tarball before warm");
    warm_ok(&larder.url, &[&project.dir.join("pnpm-lock.yaml")], &[]);
    assert!(tarballs_fetched(&upstream) >= 4);

    upstream.set_mode(Mode::Down);
    project
        .pnpm(
            &["install", "--frozen-lockfile"],
            &larder.at("npm/"),
            &project.fresh_cache("down"),
            RUN_LIMIT,
        )
        .assert_ok("pnpm install after warm, upstream down");
}

#[test]
fn what_cannot_be_fetched_is_listed_and_fails_the_run() {
    let (registry, _upstream, larder) = setup();
    let mut lock = registry.lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    lock["packages"]["node_modules/larder-fixture-missing"] = serde_json::json!({
        "version": "9.9.9",
        "resolved": "https://registry.npmjs.org/larder-fixture-missing/-/larder-fixture-missing-9.9.9.tgz",
        "integrity": "sha512-AAAA"
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package-lock.json");
    std::fs::write(&path, serde_json::to_vec(&lock).unwrap()).unwrap();
    let output = run_larder(&["warm", "--url", &larder.url, path.to_str().unwrap()]);
    let printed = text(&output);
    assert!(!output.status.success(), "{printed}");
    assert!(
        printed.contains("larder-fixture-missing/-/larder-fixture-missing-9.9.9.tgz")
            && printed.contains("404"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("{} fetched", EXPECTED.len())),
        "{printed}"
    );

    let output = run_larder(&[
        "warm",
        "--url",
        "http://127.0.0.1:9",
        path.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("cannot reach larder"),
        "{}",
        text(&output)
    );

    std::fs::write(&path, b"{\"lockfileVersion\": 3, \"packages\": ").unwrap();
    let output = run_larder(&["warm", "--url", &larder.url, path.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("not a JSON package-lock"),
        "{}",
        text(&output)
    );
}

/// `--data-dir`: no running larder; warm runs the engine in-process on that data dir, which a
/// larder then serves offline.
#[test]
fn warm_straight_into_a_data_dir_then_serve_it_offline() {
    let (registry, upstream, _larder) = setup();
    let lock = registry.lockfile(PROJECT_DEPS, EXPECTED, None);
    let project = Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    let work = tempfile::tempdir().unwrap();
    let data_dir = work.path().join("data");
    let config = work.path().join("larder.toml");
    let config_toml = format!("[npm]\nupstream = \"{}/\"\n", upstream.url);
    std::fs::write(&config, &config_toml).unwrap();
    let output = run_larder(&[
        "warm",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
        project.dir.join("package-lock.json").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains(&format!("{} fetched", EXPECTED.len())),
        "{}",
        text(&output)
    );

    upstream.set_mode(Mode::Down);
    let offline = Larder::start_with_args(&data_dir, &config_toml, &["--offline"]);
    for (name, version) in EXPECTED {
        let path = registry.package(name).tarball_path(version);
        let response = crate::support::get(&offline.at(&format!("npm{path}")));
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.bytes().unwrap().to_vec(),
            registry
                .package(name)
                .version(version)
                .tarball
                .clone()
                .unwrap()
        );
    }
}

/// The package a test marks as built for another platform (an optional native binary, like
/// `@typescript/native-preview-win32-arm64`): a direct dependency of the fixture project that
/// no other package depends on (npm refuses a required package for another platform).
const FOREIGN: &str = crate::npm_fixture::MANY;
const FOREIGN_VERSION: &str = "1.0.299";

/// The fixture project with [`FOREIGN`] as an optional dependency for a platform that is
/// neither this machine's OS nor its CPU, whatever it is: the manifest and its lockfile.
fn project_with_a_foreign_optional_dependency(
    registry: &Registry,
) -> (serde_json::Value, serde_json::Value) {
    let mut manifest = Registry::manifest(PROJECT_DEPS);
    let mut lock = registry.lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    for root in [&mut manifest, &mut lock["packages"][""]] {
        let range = root["dependencies"]
            .as_object_mut()
            .and_then(|deps| deps.remove(FOREIGN))
            .expect("a direct dependency");
        root["optionalDependencies"] = serde_json::json!({ FOREIGN: range });
    }
    let entry = &mut lock["packages"][format!("node_modules/{FOREIGN}")];
    assert!(entry.is_object(), "the fixture's lockfile lists {FOREIGN}");
    entry["optional"] = serde_json::json!(true);
    entry["os"] = serde_json::json!(["!linux", "!darwin", "!win32"]);
    entry["cpu"] = serde_json::json!(["s390x"]);
    (manifest, lock)
}

#[test]
fn packages_for_other_platforms_are_skipped_unless_all_platforms_are_asked_for() {
    let (registry, upstream, larder) = setup();
    let (manifest, lock) = project_with_a_foreign_optional_dependency(&registry);
    let project = Project::new(&manifest, Some(&lock));
    let lock_path = project.dir.join("package-lock.json");
    let foreign = registry.package(FOREIGN).tarball_path(FOREIGN_VERSION);

    let printed = warm_ok(&larder.url, &[&lock_path], &[]);
    assert!(
        printed.contains("skipped 1 packages for other platforms"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("{} fetched", EXPECTED.len() - 1)),
        "{printed}"
    );
    assert_eq!(
        upstream.count(&foreign),
        0,
        "{foreign} is for another platform"
    );

    // What warm left out, npm does not install here either: npm ci succeeds without upstream.
    upstream.set_mode(Mode::Down);
    project
        .npm(
            &["ci"],
            &larder.at("npm/"),
            &project.fresh_cache("down"),
            RUN_LIMIT,
        )
        .assert_ok("npm ci after warm, upstream down, a foreign optional dependency");
    let others: Vec<(&str, &str)> = EXPECTED
        .iter()
        .copied()
        .filter(|(name, _)| *name != FOREIGN)
        .collect();
    project.assert_installed(&others);
    assert_eq!(
        project.installed_version(FOREIGN),
        None,
        "not for this platform"
    );
    upstream.set_mode(Mode::Normal);

    // The build's platform named on the command line: that package is for it.
    let printed = warm_ok(
        &larder.url,
        &[&lock_path],
        &["--os", "aix", "--cpu", "s390x"],
    );
    assert!(printed.contains("1 fetched"), "{printed}");
    assert_eq!(upstream.count(&foreign), 1);

    let printed = warm_ok(&larder.url, &[&lock_path], &["--all-platforms"]);
    assert!(!printed.contains("skipped"), "{printed}");
    assert!(
        printed.contains(&format!("0 fetched, {} already cached", EXPECTED.len())),
        "{printed}"
    );
}
