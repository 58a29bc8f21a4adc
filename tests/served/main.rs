//! The served-log end to end: real `npm ci` and `pip install` through the real larder binary,
//! each build tagged by the id `larder env --build-id` writes into its settings, then
//! `larder served` (offline, on the data dir) and `/-/served` as SBOMs checked by validators
//! from PyPI (`.ci/install/served.sh`) and against what the clients installed. And the log's
//! files after a SIGKILL, within their bound.

#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../npm/client.rs"]
mod npm_client;
#[allow(dead_code)]
#[path = "../npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../pypi/clients.rs"]
mod pypi_clients;
#[allow(dead_code)]
#[path = "../pypi/fixture.rs"]
mod pypi_fixture;

mod sbom;

use npm_fixture::{Registry, EXPECTED, LEFT, PROJECT_DEPS};
use sbom::{larder_command, validate, Component};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Larder, Routes, Upstream};

const RUN_LIMIT: Duration = Duration::from_secs(180);
const BUILD: &str = "ci-4711";
const OTHER_BUILD: &str = "nightly.2026-12-02";

/// The npm and PyPI fixtures, and larder in front of both on `data_dir`.
struct Fixtures {
    registry: Registry,
    _npm: Upstream,
    pypi: pypi_fixture::Index,
}

impl Fixtures {
    fn start() -> Fixtures {
        let registry = Registry::generate();
        let npm = Upstream::start(Routes::new());
        registry.publish(&npm);
        let pypi = pypi_fixture::Index::start();
        Fixtures {
            registry,
            _npm: npm,
            pypi,
        }
    }

    fn config(&self, extra: &str) -> String {
        format!(
            "[npm]\nupstream = \"{}/\"\n{}{extra}",
            self._npm.url,
            self.pypi.config("10m")
        )
    }
}

/// `larder env --build-id` for this larder: the variables a build's RUN steps get.
fn build_env(larder: &Larder, build: &str) -> std::collections::BTreeMap<String, String> {
    let out = larder_command(&[
        "env",
        "--url",
        &larder.url,
        "--build-id",
        build,
        "--format",
        "env",
    ]);
    out.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), value.trim_matches('\'').to_string()))
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the lockfile names, as components: the purl and the sha256 of the tarball bytes.
fn npm_expected(registry: &Registry, lock: &serde_json::Value) -> BTreeSet<(String, String)> {
    lock["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(path, entry)| {
            let name = path.strip_prefix("node_modules/")?;
            let version = entry["version"].as_str().unwrap();
            let purl = match name.split_once('/') {
                Some((scope, bare)) => {
                    format!("pkg:npm/{}/{bare}@{version}", scope.replace('@', "%40"))
                }
                None => format!("pkg:npm/{name}@{version}"),
            };
            let tarball = registry.package(name).version(version).tarball.clone()?;
            Some((purl, sha256_hex(&tarball)))
        })
        .collect()
}

/// What pip installed, as components; each digest is one of that release's files.
fn pypi_expected(installed: &std::collections::BTreeMap<String, String>) -> BTreeSet<String> {
    installed
        .iter()
        .map(|(name, version)| format!("pkg:pypi/{name}@{version}"))
        .collect()
}

fn pypi_digests(project: &str) -> BTreeSet<String> {
    pypi_fixture::artifacts()
        .projects
        .iter()
        .filter(|(name, _)| pypi_clients::normalize(name) == project)
        .flat_map(|(_, files)| files.iter().map(|file| file.sha256.clone()))
        .collect()
}

/// Another build fetching while the first one runs: one artifact the first build also gets,
/// and others it never asks for; plus an untagged download.
fn other_build(larder: &Larder, registry: &Registry) -> Vec<String> {
    let client = support::http_client();
    let left = registry.package(LEFT);
    let paths = [
        format!("npm{}", left.tarball_path("1.0.0")),
        format!("npm{}", left.tarball_path("1.1.0")),
    ];
    let mut fetched = Vec::new();
    for path in &paths {
        let response = client
            .get(larder.at(path))
            .header("x-larder-build", OTHER_BUILD)
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().unwrap();
        fetched.push(path.clone());
    }
    let untagged = client.get(larder.at(&paths[1])).send().unwrap();
    assert_eq!(untagged.status(), 200);
    untagged.bytes().unwrap();
    fetched
}

/// `larder served` until it lists `want` components (the last records may still be queued
/// for the writer for a moment after the client exits).
fn served_until(data_dir: &Path, args: &[&str], want: usize) -> String {
    let started = Instant::now();
    loop {
        let mut all = vec!["served", "--data-dir", data_dir.to_str().unwrap()];
        all.extend(args);
        let out = larder_command(&all);
        let count = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["components"].as_array().map(Vec::len));
        if count == Some(want) || started.elapsed() > Duration::from_secs(10) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_builds_sbom_lists_exactly_what_its_npm_ci_and_pip_install_downloaded() {
    let fx = Fixtures::start();
    let larder = Larder::start(&fx.config(""));
    let env = build_env(&larder, BUILD);
    let npm_registry = &env["NPM_CONFIG_REGISTRY"];
    let pip_index = &env["PIP_INDEX_URL"];
    assert!(
        npm_registry.ends_with(&format!("/b/{BUILD}/npm/")),
        "{env:?}"
    );
    assert!(
        pip_index.ends_with(&format!("/b/{BUILD}/pypi/simple/")),
        "{env:?}"
    );

    let lock = fx
        .registry
        .lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    let project = npm_client::Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    let other = std::thread::scope(|scope| {
        let other = scope.spawn(|| other_build(&larder, &fx.registry));
        project
            .npm(&["ci"], npm_registry, &project.fresh_cache("ci"), RUN_LIMIT)
            .assert_ok("npm ci with a build id");
        other.join().unwrap()
    });
    project.assert_installed(EXPECTED);
    assert_eq!(other.len(), 2);

    let venv = pypi_clients::Venv::new();
    let pip = pypi_clients::pip_install(&venv, pip_index, pypi_clients::REQUIREMENTS);
    assert!(pip.ok(), "{}\nlarder:\n{}", pip.log(), larder.log());
    let installed = venv.installed();
    assert_eq!(installed, pypi_clients::expected());

    let want_npm = npm_expected(&fx.registry, &lock);
    let want_pypi = pypi_expected(&installed);
    let want = want_npm.len() + want_pypi.len();
    let dir = tempfile::tempdir().unwrap();

    let text = served_until(
        &larder.data_dir,
        &["--build", BUILD, "--format", "cyclonedx"],
        want,
    );
    let bom_path = dir.path().join("bom.json");
    std::fs::write(&bom_path, &text).unwrap();
    validate("cyclonedx", &bom_path);
    let bom: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bom["specVersion"], "1.5");
    assert!(
        bom["metadata"]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "larder:build" && p["value"] == BUILD),
        "the build id is in the metadata: {}",
        bom["metadata"]
    );
    let components = Component::all(&bom);

    let got_npm: BTreeSet<(String, String)> = components
        .iter()
        .filter(|c| c.purl.starts_with("pkg:npm/"))
        .map(|c| (c.purl.clone(), c.sha256.clone()))
        .collect();
    assert_eq!(got_npm, want_npm, "npm: exactly what the lockfile names");
    let got_pypi: BTreeSet<String> = components
        .iter()
        .filter(|c| c.purl.starts_with("pkg:pypi/"))
        .map(|c| c.purl.clone())
        .collect();
    assert_eq!(got_pypi, want_pypi, "pypi: exactly what pip installed");
    for c in components
        .iter()
        .filter(|c| c.purl.starts_with("pkg:pypi/"))
    {
        let project = c.name.as_str();
        assert!(
            pypi_digests(project).contains(&c.sha256),
            "{}: {} is the sha256 of one of its files",
            c.purl,
            c.sha256
        );
    }
    assert!(
        components.iter().all(|c| c.count == 1),
        "each artifact downloaded once by this build (the other build's copy of {LEFT} 1.0.0 \
         is not counted): {components:?}"
    );

    // SPDX of the same build: valid, the same packages.
    let spdx = larder_command(&[
        "served",
        "--data-dir",
        larder.data_dir.to_str().unwrap(),
        "--build",
        BUILD,
        "--format",
        "spdx",
    ]);
    let spdx_path = dir.path().join("bom.spdx.json");
    std::fs::write(&spdx_path, &spdx).unwrap();
    validate("spdx", &spdx_path);
    let spdx: serde_json::Value = serde_json::from_str(&spdx).unwrap();
    let spdx_purls: BTreeSet<&str> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["externalRefs"][0]["referenceLocator"].as_str().unwrap())
        .collect();
    let bom_purls: BTreeSet<&str> = components.iter().map(|c| c.purl.as_str()).collect();
    assert_eq!(spdx_purls, bom_purls);

    // The other build, from the server: its two tarballs only, as CSV.
    let csv = support::http_client()
        .get(larder.at(&format!("/-/served?build={OTHER_BUILD}&format=csv")))
        .send()
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().unwrap();
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("ecosystem,package,version,purl,sha256,size,count,first_served,last_served,builds")
    );
    let rows: Vec<Vec<&str>> = rows.map(|row| row.split(',').collect()).collect();
    let versions: BTreeSet<(&str, &str)> = rows.iter().map(|r| (r[1], r[2])).collect();
    assert_eq!(
        versions,
        BTreeSet::from([(LEFT, "1.0.0"), (LEFT, "1.1.0")]),
        "{csv}"
    );
    assert!(rows.iter().all(|r| r[9] == OTHER_BUILD), "{csv}");

    // Everything, untagged included: the untagged 1.1.0 download is one more count.
    let all = larder_command(&[
        "served",
        "--data-dir",
        larder.data_dir.to_str().unwrap(),
        "--since",
        "2020-01-01",
        "--format",
        "csv",
    ]);
    let left_110 = all
        .lines()
        .find(|row| row.contains(&format!("{LEFT}@1.1.0")))
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(left_110.split(',').nth(6), Some("2"), "{all}");
}

#[test]
fn rewritten_metadata_keeps_the_build_prefix_and_bad_ids_are_refused() {
    let fx = Fixtures::start();
    let larder = Larder::start(&fx.config(""));
    let client = support::http_client();
    let left = fx.registry.package(LEFT);
    // The cold miss streams before its digest (and so its ETag) is known.
    client
        .get(larder.at(&format!("npm{}", left.packument_path())))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let plain = client
        .get(larder.at(&format!("npm{}", left.packument_path())))
        .send()
        .unwrap();
    let plain_etag = plain.headers()["etag"].clone();
    let tagged = client
        .get(larder.at(&format!("b/{BUILD}/npm{}", left.packument_path())))
        .send()
        .unwrap();
    assert_eq!(tagged.status(), 200);
    assert_ne!(
        tagged.headers()["etag"],
        plain_etag,
        "a document rewritten for another base has another ETag"
    );
    let body = tagged.text().unwrap();
    assert!(
        body.contains(&format!("{}/b/{BUILD}/npm/{LEFT}/-/", larder.url)),
        "tarball links keep the build prefix: {body}"
    );

    let redirect = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(larder.at(&format!("b/{BUILD}/pypi/simple/Dep.Lib/")))
        .send()
        .unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(
        redirect.headers()["location"],
        format!("/b/{BUILD}/pypi/simple/dep-lib/").as_str()
    );

    for bad in ["b/has%20space/npm/x", "b/.hidden/npm/x"] {
        let response = client.get(larder.at(bad)).send().unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.text().unwrap().contains("build id"));
    }
    let response = client
        .get(larder.at(&format!("npm{}", left.packument_path())))
        .header("x-larder-build", "no/slashes")
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[test]
fn a_sigkill_while_recording_leaves_a_readable_log_within_its_bound() {
    let fx = Fixtures::start();
    let config = fx.config("[served]\nmax_file_size = \"8KiB\"\nfiles = 3\n");
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let mut larder = Larder::start_in(&data_dir, &config);
    let path = format!(
        "b/{BUILD}/npm{}",
        fx.registry.package(LEFT).tarball_path("1.0.0")
    );
    let tarball = larder.at(&path);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let served = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let client = support::http_client();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match client.get(&tarball).send().and_then(|r| r.bytes()) {
                        Ok(_) => served.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        Err(_) => break,
                    };
                }
            });
        }
        // Enough downloads for several rotations, then a kill in the middle of them.
        let started = Instant::now();
        while served.load(std::sync::atomic::Ordering::Relaxed) < 300
            && started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        larder.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(served.into_inner() >= 300);

    // A kill that lands inside a write tears the last line: make sure one is torn.
    let dir = data_dir.join("served");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let last = files.last().unwrap().clone();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(br#"{"at_ms":1,"ecosystem":"npm","package":"torn"#);
    std::fs::write(&last, &bytes).unwrap();

    let (csv, stderr) = sbom::larder_command_with_stderr(&[
        "served",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--build",
        BUILD,
        "--format",
        "csv",
    ]);
    assert!(stderr.contains("skipped 1 torn"), "{stderr}");
    let row = csv.lines().nth(1).expect("a row for the tarball");
    let count: u64 = row.split(',').nth(6).unwrap().parse().unwrap();
    assert!(count > 0 && !row.contains("torn"), "{csv}");

    // Restarted on the same data dir: new records go to a new file, after the torn one, and
    // the bound still holds.
    let larder = Larder::start_in(&data_dir, &config);
    let client = support::http_client();
    for _ in 0..50 {
        client
            .get(larder.at(&path))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
    }
    let after = served_csv_count(&data_dir);
    assert!(after >= 50, "{after}");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(files.len() <= 3, "{} files kept", files.len());
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // Each file takes whole batches, so a file may pass 8 KiB by one batch.
    assert!(
        total <= 3 * 8192 + 64 * 1024,
        "{total} bytes in {}",
        dir.display()
    );
}

#[test]
fn records_name_the_token_by_its_fingerprint_and_the_export_is_behind_access() {
    let fx = Fixtures::start();
    let token = "s3cret-build-token";
    let larder = Larder::start(&fx.config(&format!("[access]\ntokens = [\"{token}\"]\n")));
    let client = support::http_client();
    let tarball = larder.at(&format!(
        "b/{BUILD}/npm{}",
        fx.registry.package(LEFT).tarball_path("1.0.0")
    ));
    for _ in 0..2 {
        let response = client.get(&tarball).bearer_auth(token).send().unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().unwrap();
    }
    let export = larder.at(&format!("/-/served?build={BUILD}&format=csv"));
    assert_eq!(client.get(&export).send().unwrap().status(), 401);
    let csv = client.get(&export).bearer_auth(token).send().unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.text().unwrap().contains(",2,"),
        "two downloads, one row"
    );

    let log: String = std::fs::read_dir(larder.data_dir.join("served"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let records: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["miss", "hit"], "{log}");
    let fingerprint = format!("token-{}", &sha256_hex(token.as_bytes())[..8]);
    assert!(
        records.iter().all(|r| r["token"] == fingerprint.as_str()),
        "{log}"
    );
    assert!(
        !log.contains(token),
        "the token itself is never written: {log}"
    );
}

/// How many downloads of the build the log holds now (after the writer caught up).
fn served_csv_count(data_dir: &Path) -> u64 {
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(5) {
        let csv = larder_command(&[
            "served",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--build",
            BUILD,
            "--format",
            "csv",
        ]);
        last = csv
            .lines()
            .skip(1)
            .filter_map(|row| row.split(',').nth(6)?.parse::<u64>().ok())
            .sum();
        if last >= 50 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}
