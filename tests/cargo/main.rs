//! The real cargo against a fixture sparse registry through larder: what a `RUN cargo build`
//! in a docker build would see, cold, with the registry down, after a crash, and when the
//! registry serves a tampered crate.
//!
//! Needs cargo (the toolchain that builds larder) and `tar`; `.ci/install/cargo.sh`.

#[allow(unused_imports)] // the shared harness exports more than this target uses
#[path = "../support/mod.rs"]
mod support;

mod client;
mod fixture;
mod live;

use client::CargoHome;
use fixture::{DlForm, APP_OUTPUT};
use std::path::Path;
use support::{Larder, Mode, Upstream};

fn config(registry: &Upstream) -> String {
    format!("[cargo]\nupstream = \"{}/index/\"\n", registry.url)
}

fn larder_index(larder: &Larder) -> String {
    larder.at("cargo/crates-io/")
}

/// `cargo run` of a fresh copy of the app; returns what it printed.
fn build_and_run(home: &CargoHome, work: &Path, what: &str) -> String {
    let app = work.join("app");
    fixture::write_app(&app, None);
    let run = home.run(&app, &["run", "-q"], &[]);
    run.assert_ok(what);
    run.stdout.trim().to_string()
}

fn download_count(registry: &Upstream, form: DlForm) -> usize {
    fixture::crates()
        .iter()
        .map(|c| registry.count(&fixture::crate_path(form, c.name, c.version)))
        .sum()
}

/// The fixture is a valid sparse registry on its own, so a failure through larder is larder's.
#[test]
fn fixture_registry_builds_straight_from_the_fixture() {
    let work = tempfile::tempdir().unwrap();
    let registry = fixture::start(work.path(), DlForm::CratesIo);
    let home = CargoHome::replacing_crates_io(work.path(), &format!("{}/index/", registry.url));
    assert_eq!(build_and_run(&home, work.path(), "straight"), APP_OUTPUT);
    assert_eq!(
        download_count(&registry, DlForm::CratesIo),
        2,
        "Mid-Dep and leaf 0.1.1"
    );
}

#[test]
fn cold_build_then_a_fresh_machine_builds_with_the_registry_down() {
    let work = tempfile::tempdir().unwrap();
    let registry = fixture::start(work.path(), DlForm::CratesIo);
    // A one-second TTL, so that the second build's index files are honestly stale.
    let larder = Larder::start(&format!("{}metadata_ttl = \"1s\"\n", config(&registry)));

    let cold = CargoHome::replacing_crates_io(&work.path().join("cold"), &larder_index(&larder));
    assert_eq!(
        build_and_run(&cold, &work.path().join("cold"), "cold"),
        APP_OUTPUT
    );
    assert_eq!(
        download_count(&registry, DlForm::CratesIo),
        2,
        "each crate fetched from upstream once: {:#?}",
        registry.requests()
    );
    assert!(
        registry.count("/index/config.json") >= 1,
        "config.json came from upstream"
    );
    let metrics = support::scrape(&larder.url);
    assert!(
        support::metric(&metrics, "larder_requests_total{ecosystem=\"cargo\"}").unwrap_or(0.0)
            >= 5.0,
        "{metrics}"
    );

    std::thread::sleep(std::time::Duration::from_millis(1100));
    registry.set_mode(Mode::Down);
    let warm = CargoHome::replacing_crates_io(&work.path().join("warm"), &larder_index(&larder));
    let run_dir = work.path().join("warm");
    assert_eq!(
        build_and_run(&warm, &run_dir, "registry down"),
        APP_OUTPUT,
        "larder log:\n{}",
        larder.log()
    );
    let metrics = support::scrape(&larder.url);
    assert!(
        support::metric(&metrics, "larder_stale_served_total{ecosystem=\"cargo\"}").unwrap_or(0.0)
            >= 1.0,
        "index files were served stale: {metrics}"
    );
}

#[test]
fn after_sigkill_a_restarted_larder_serves_builds_offline() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let registry = fixture::start(work.path(), DlForm::Markers);
    let registry_config = format!(
        "[cargo.registries]\nfixture = \"{}/index/\"\n",
        registry.url
    );
    let mut larder = Larder::start_in(&data, &registry_config);
    let first = CargoHome::with_registry(
        &work.path().join("a"),
        "fixture",
        &larder.at("cargo/fixture/"),
    );
    let app = work.path().join("a/app");
    fixture::write_app(&app, Some("fixture"));
    let run = first.run(&app, &["run", "-q"], &[]);
    assert_eq!(run.assert_ok("first build").stdout.trim(), APP_OUTPUT);
    assert_eq!(
        download_count(&registry, DlForm::Markers),
        2,
        "{:#?}",
        registry.requests()
    );
    larder.kill();

    registry.set_mode(Mode::Down);
    let restarted = Larder::start_with_args(&data, &registry_config, &["--offline"]);
    let second = CargoHome::with_registry(
        &work.path().join("b"),
        "fixture",
        &restarted.at("cargo/fixture/"),
    );
    let app = work.path().join("b/app");
    fixture::write_app(&app, Some("fixture"));
    let run = second.run(&app, &["run", "-q"], &[]);
    assert_eq!(
        run.assert_ok("after SIGKILL, offline").stdout.trim(),
        APP_OUTPUT,
        "larder log:\n{}",
        restarted.log()
    );
}

#[test]
fn a_tampered_crate_is_refused_and_never_stored() {
    let work = tempfile::tempdir().unwrap();
    let registry = fixture::start(work.path(), DlForm::CratesIo);
    let leaf = fixture::crate_path(DlForm::CratesIo, "leaf", "0.1.1");
    let honest = support::get(&format!("{}{leaf}", registry.url))
        .bytes()
        .unwrap()
        .to_vec();
    let mut tampered = honest.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    registry.insert(&leaf, fixture::resource(&leaf, tampered));
    let larder = Larder::start(&config(&registry));

    let home = CargoHome::replacing_crates_io(&work.path().join("t"), &larder_index(&larder));
    let app = work.path().join("t/app");
    fixture::write_app(&app, None);
    let run = home.run(&app, &["build"], &[]);
    assert!(!run.ok, "cargo built with a tampered leaf:\n{}", run.stderr);
    assert!(
        run.stderr.contains("leaf"),
        "cargo names the crate it could not get:\n{}",
        run.stderr
    );
    let metrics = support::scrape(&larder.url);
    assert!(
        support::metric(
            &metrics,
            "larder_upstream_errors_total{ecosystem=\"cargo\",kind=\"digest_mismatch\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{metrics}"
    );

    // Nothing was stored: once the registry serves the real crate, a fresh client builds.
    registry.insert(&leaf, fixture::resource(&leaf, honest));
    let fresh = CargoHome::replacing_crates_io(&work.path().join("f"), &larder_index(&larder));
    assert_eq!(
        build_and_run(&fresh, &work.path().join("f"), "honest again"),
        APP_OUTPUT
    );
}

#[test]
fn index_files_are_revalidated_with_if_none_match() {
    let work = tempfile::tempdir().unwrap();
    let registry = fixture::start(work.path(), DlForm::CratesIo);
    let larder = Larder::start(&config(&registry));
    let home = CargoHome::replacing_crates_io(work.path(), &larder_index(&larder));
    let app = work.path().join("app");
    fixture::write_app(&app, None);
    // A miss is streamed as it arrives, before larder knows its digest, so it carries no ETag:
    // cargo keeps one from the second answer (a hit) and sends it from the third on.
    home.run(&app, &["generate-lockfile"], &[])
        .assert_ok("cold resolve");
    home.run(&app, &["generate-lockfile"], &[])
        .assert_ok("warm resolve");
    let run = home.run(
        &app,
        &["generate-lockfile"],
        &[("CARGO_HTTP_DEBUG", "true"), ("CARGO_LOG", "network=debug")],
    );
    run.assert_ok("third resolve");
    for index_file in ["le/af/leaf", "mi/d-/mid-dep"] {
        let request = run
            .stderr
            .split("> GET ")
            .find(|request| request.starts_with(&format!("/cargo/crates-io/{index_file} ")))
            .unwrap_or_else(|| panic!("cargo never asked for {index_file}:\n{}", run.stderr));
        assert!(
            request.contains("> if-none-match: \""),
            "cargo sent no If-None-Match for {index_file}:\n{request}"
        );
        assert!(
            request.contains("< HTTP/1.1 304 Not Modified"),
            "larder did not answer 304 for {index_file}:\n{request}"
        );
    }

    // The same, asked directly.
    let url = larder.at("cargo/crates-io/le/af/leaf");
    let first = support::get(&url);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let again = support::http_client()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[test]
fn config_json_sends_downloads_to_larder_and_publishing_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let registry = fixture::start(work.path(), DlForm::CratesIo);
    let larder = Larder::start(&config(&registry));
    let response = support::get(&larder.at("cargo/crates-io/config.json"));
    assert_eq!(response.status(), 200);
    let config: serde_json::Value = serde_json::from_slice(&response.bytes().unwrap()).unwrap();
    let dl = config["dl"].as_str().unwrap();
    assert!(dl.starts_with(&larder.at("cargo/crates-io/dl/")), "{dl}");
    assert_eq!(
        config["api"],
        registry.url.as_str(),
        "api is the registry's own"
    );

    let refused = support::http_client()
        .put(larder.at("cargo/crates-io/api/v1/crates/new"))
        .body("x")
        .send()
        .unwrap();
    assert_eq!(refused.status(), 405);
    let body: serde_json::Value = serde_json::from_slice(&refused.bytes().unwrap()).unwrap();
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("read-only mirror"),
        "{body}"
    );
    let missing = support::get(&larder.at("cargo/crates-io/no/ne/nonexistent"));
    assert_eq!(missing.status(), 404, "upstream's 404 is passed on");

    // The status page tells cargo users what to paste, with the URL they opened it at.
    let page = support::get(&larder.at("")).text().unwrap();
    let snippet = format!(
        "registry = &quot;sparse+{}&quot;",
        larder.at("cargo/crates-io/")
    );
    let plain = format!("registry = \"sparse+{}\"", larder.at("cargo/crates-io/"));
    assert!(
        page.contains(&snippet) || page.contains(&plain),
        "no cargo snippet on the status page:\n{page}"
    );
    assert!(
        page.contains("CARGO_LARDER_INDEX"),
        "no cargo build-arg:\n{page}"
    );
}

#[test]
fn a_registry_with_downloads_on_another_host_needs_its_dl_configured() {
    let work = tempfile::tempdir().unwrap();
    let (index, files) = fixture::start_split(work.path(), DlForm::Markers);

    // Without `dl`, larder refuses the other host before contacting it, and says what to add.
    let plain = Larder::start(&format!(
        "[cargo.registries]\nsplit = \"{}/index/\"\n",
        index.url
    ));
    let home = CargoHome::with_registry(&work.path().join("a"), "split", &plain.at("cargo/split/"));
    let app = work.path().join("a/app");
    fixture::write_app(&app, Some("split"));
    let refused = home.run(&app, &["build"], &[]);
    assert!(
        !refused.ok,
        "cargo built from an unconfigured download host"
    );
    assert!(
        refused.stderr.contains("403") && refused.stderr.contains("[cargo.registries]"),
        "cargo shows larder's reason: {}",
        refused.stderr
    );
    assert!(files.requests().is_empty(), "{:#?}", files.requests());

    let larder = Larder::start(&format!(
        "[cargo.registries]\nsplit = {{ index = \"{}/index/\", dl = \"{}/files/\" }}\n",
        index.url, files.url
    ));
    let home =
        CargoHome::with_registry(&work.path().join("b"), "split", &larder.at("cargo/split/"));
    let app = work.path().join("b/app");
    fixture::write_app(&app, Some("split"));
    let run = home.run(&app, &["run", "-q"], &[]);
    assert_eq!(run.assert_ok("split registry").stdout.trim(), APP_OUTPUT);
    assert_eq!(
        download_count(&files, DlForm::Markers),
        2,
        "{:#?}",
        files.requests()
    );
}
