//! npm: packuments lose what the policy withholds, tarballs of it are refused, cached or not.

use crate::npm_client::Project;
use crate::npm_fixture::{integrity, shasum, tarball, CORGI};
use crate::support::{self, Larder, Resource, Routes, Upstream};
use crate::{now, rfc3339, DAY};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const RUN_LIMIT: Duration = Duration::from_secs(180);

/// One version of a fixture package, published at `at` (seconds since the epoch).
struct Published {
    version: String,
    at: i64,
    bytes: Vec<u8>,
}

struct Package {
    name: String,
    versions: Vec<Published>,
}

impl Package {
    fn new(work: &Path, name: &str, versions: &[(&str, i64)]) -> Package {
        Package {
            name: name.to_string(),
            versions: versions
                .iter()
                .map(|(version, at)| Published {
                    version: version.to_string(),
                    at: *at,
                    bytes: tarball(work, name, version, &[]),
                })
                .collect(),
        }
    }

    fn tarball_path(&self, version: &str) -> String {
        format!("/{}/-/{}-{version}.tgz", self.name, self.name)
    }

    fn version(&self, version: &str) -> &Published {
        self.versions
            .iter()
            .find(|v| v.version == version)
            .expect("a fixture version")
    }

    fn packument(&self, registry: &str, abbreviated: bool) -> Vec<u8> {
        let mut versions = Map::new();
        let mut time = Map::new();
        time.insert("created".into(), json!(rfc3339(self.versions[0].at)));
        for v in &self.versions {
            versions.insert(
                v.version.clone(),
                json!({
                    "name": self.name,
                    "version": v.version,
                    "dist": {
                        "integrity": integrity(&v.bytes),
                        "shasum": shasum(&v.bytes),
                        "tarball": format!("{registry}{}", self.tarball_path(&v.version)),
                    },
                }),
            );
            time.insert(v.version.clone(), json!(rfc3339(v.at)));
        }
        time.insert("modified".into(), json!(rfc3339(now())));
        let latest = &self.versions.last().expect("versions").version;
        let mut document = json!({
            "name": self.name,
            "dist-tags": { "latest": latest },
            "versions": versions,
        });
        if !abbreviated {
            document["time"] = Value::Object(time);
        }
        serde_json::to_vec(&document).expect("JSON")
    }

    fn publish(&self, upstream: &Upstream) {
        let full = Resource::new("application/json", self.packument(&upstream.url, false));
        let corgi = Resource::new(CORGI, self.packument(&upstream.url, true)).for_accept(CORGI);
        upstream.insert_all(&format!("/{}", self.name), vec![corgi, full]);
        for v in &self.versions {
            upstream.insert(
                &self.tarball_path(&v.version),
                Resource::new("application/octet-stream", v.bytes.clone()),
            );
        }
    }

    /// A package-lock.json (v3) that pins `version`, resolved at `registry`.
    fn lockfile(&self, version: &str, registry: &str) -> (Value, Value) {
        let manifest = json!({
            "name": "app", "version": "1.0.0",
            "dependencies": { self.name.clone(): version },
        });
        let lock = json!({
            "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
            "packages": {
                "": { "name": "app", "version": "1.0.0", "dependencies": { self.name.clone(): version } },
                format!("node_modules/{}", self.name): {
                    "version": version,
                    "resolved": format!("{}{}", registry.trim_end_matches('/'), self.tarball_path(version)),
                    "integrity": integrity(&self.version(version).bytes),
                },
            },
        });
        (manifest, lock)
    }
}

fn upstream_with(packages: &[&Package]) -> Upstream {
    let upstream = Upstream::start(Routes::new());
    for package in packages {
        package.publish(&upstream);
    }
    upstream
}

fn config(upstream: &Upstream, policy: &str) -> String {
    format!(
        "[npm]\nupstream = \"{}/\"\n\n[policy]\n{policy}\n",
        upstream.url
    )
}

fn abbreviated(larder: &Larder, name: &str) -> (reqwest::header::HeaderMap, Value) {
    let response = support::http_client()
        .get(larder.at(&format!("npm/{name}")))
        .header(
            "accept",
            "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
        )
        .send()
        .expect("larder answers");
    let headers = response.headers().clone();
    (headers, json_of(response))
}

fn json_of(response: reqwest::blocking::Response) -> Value {
    serde_json::from_slice(&response.bytes().expect("a body")).expect("JSON")
}

fn version_keys(packument: &Value) -> Vec<String> {
    packument["versions"]
        .as_object()
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn npm_installs_the_newest_version_older_than_min_age_and_npm_ci_of_a_younger_one_shows_the_refusal(
) {
    let work = tempfile::tempdir().unwrap();
    let now = now();
    let cool = Package::new(
        work.path(),
        "larder-policy-cool",
        &[
            ("1.0.0", now - 30 * DAY),
            ("1.1.0", now - 10 * DAY),
            ("1.2.0", now - DAY),
        ],
    );
    let upstream = upstream_with(&[&cool]);
    let larder = Larder::start(&config(&upstream, "min_age = \"7d\""));
    let registry = larder.at("npm/");

    // Metadata: the abbreviated packument (which has no `time`) is judged by the full one's.
    let (head, corgi) = abbreviated(&larder, &cool.name);
    assert_eq!(version_keys(&corgi), ["1.0.0", "1.1.0"]);
    assert_eq!(corgi["dist-tags"]["latest"], "1.1.0");
    assert_eq!(head["x-larder-policy"], "withheld 1");
    let etag = head["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with("\"policy-"), "{etag}");
    let again = support::http_client()
        .get(larder.at(&format!("npm/{}", cool.name)))
        .header("accept", "application/vnd.npm.install-v1+json")
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(
        again.status(),
        304,
        "the filtered document's own ETag revalidates"
    );
    let full = json_of(support::get(&larder.at(&format!("npm/{}", cool.name))));
    assert_eq!(version_keys(&full), ["1.0.0", "1.1.0"]);
    assert!(full["time"].get("1.2.0").is_none() && full["time"].get("1.1.0").is_some());

    // `npm install` resolves against what remains.
    let project = Project::new(
        &json!({"name": "app", "version": "1.0.0", "dependencies": {cool.name.clone(): "^1.0.0"}}),
        None,
    );
    let cache = project.fresh_cache("install");
    project
        .npm(&["install", "--no-audit"], &registry, &cache, RUN_LIMIT)
        .assert_ok("npm install");
    project.assert_installed(&[(cool.name.as_str(), "1.1.0")]);

    // `npm ci` of a lockfile that pins the too-young version gets the tarball's 403, and npm
    // prints larder's reason.
    let (manifest, lock) = cool.lockfile("1.2.0", &registry);
    let locked = Project::new(&manifest, Some(&lock));
    let run = locked.npm(
        &["ci", "--no-audit"],
        &registry,
        &locked.fresh_cache("ci"),
        RUN_LIMIT,
    );
    assert!(
        !run.success,
        "npm ci installed a version younger than min_age:\n{}",
        run.output
    );
    assert!(
        run.output
            .contains("larder policy refuses npm larder-policy-cool 1.2.0")
            && run.output.contains("min_age = \"7days\""),
        "npm's output does not show the refusal:\n{}",
        run.output
    );

    // The refusal names the rule, the package, the version and its publish time.
    let refused = support::get(&larder.at(&format!("npm{}", cool.tarball_path("1.2.0"))));
    assert_eq!(refused.status(), 403);
    let body = json_of(refused);
    let message = body["error"].as_str().unwrap();
    let published = rfc3339(now - DAY);
    assert!(
        message.contains(&format!("published {}", &published[..19])),
        "{message}"
    );
    let metrics = support::scrape(&larder.url);
    assert!(
        support::metric(
            &metrics,
            "larder_policy_refusals_total{ecosystem=\"npm\",rule=\"min_age\"}"
        )
        .is_some_and(|n| n >= 2.0),
        "{metrics}"
    );
    let status = support::get(&larder.url).text().unwrap();
    assert!(
        status.contains("Policy in force") && status.contains("min_age 7days"),
        "{status}"
    );
    assert!(
        !status.contains("Refused today: 0") && status.contains("larder-policy-cool 1.2.0"),
        "the status page does not list today's refusals:\n{status}"
    );
}

#[test]
fn a_cached_too_young_tarball_is_refused_and_served_once_it_ages_out() {
    let work = tempfile::tempdir().unwrap();
    // Old enough 15 s from now.
    let ages_out_in = 15;
    let fresh = Package::new(
        work.path(),
        "larder-policy-fresh",
        &[("1.0.0", now() - 7 * DAY + ages_out_in)],
    );
    let upstream = upstream_with(&[&fresh]);
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let tarball = format!("npm{}", fresh.tarball_path("1.0.0"));
    let started = Instant::now();
    {
        let larder = Larder::start_in(&data_dir, &config(&upstream, ""));
        let first = support::get(&larder.at(&tarball));
        assert_eq!(first.status(), 200);
        assert_eq!(
            first.bytes().unwrap().len(),
            fresh.version("1.0.0").bytes.len()
        );
        // The record is written once the fill is verified, just after the last byte.
        std::thread::sleep(Duration::from_millis(500));
    }
    let larder = Larder::start_in(&data_dir, &config(&upstream, "min_age = \"7d\""));
    let refused = support::get(&larder.at(&tarball));
    assert_eq!(refused.status(), 403, "a cached copy bypassed min_age");
    let fetched = upstream.count(&fresh.tarball_path("1.0.0"));
    let wait = Duration::from_secs(ages_out_in as u64 + 2).saturating_sub(started.elapsed());
    std::thread::sleep(wait);
    let served = support::get(&larder.at(&tarball));
    assert_eq!(served.status(), 200, "still refused after it aged out");
    assert_eq!(served.headers()["x-larder-cache"], "hit");
    assert_eq!(
        served.bytes().unwrap().as_ref(),
        fresh.version("1.0.0").bytes.as_slice()
    );
    assert_eq!(
        upstream.count(&fresh.tarball_path("1.0.0")),
        fetched,
        "served from the cache"
    );
}

/// The sample records (`tests/policy/malicious/`), copied so that a test can add to them.
fn sample_records() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy/malicious");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(source.join("osv"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    copy
}

#[test]
fn deny_entries_and_deny_file_records_refuse_in_metadata_and_download_and_the_file_reloads() {
    let work = tempfile::tempdir().unwrap();
    let old = now() - 100 * DAY;
    let cool = Package::new(
        work.path(),
        "larder-policy-listed",
        &[("1.0.0", old), ("1.1.0", old + DAY)],
    );
    let evil = Package::new(work.path(), "larder-policy-evil", &[("1.0.0", old)]);
    let later = Package::new(work.path(), "larder-policy-later", &[("3.0.0", old)]);
    let upstream = upstream_with(&[&cool, &evil, &later]);
    let records = sample_records();
    let deny_file = records.path().join("osv");
    let larder = Larder::start(&config(
        &upstream,
        &format!(
            "deny = [\"larder-policy-listed@^1.1.0\"]\ndeny_file = {:?}",
            deny_file.display().to_string()
        ),
    ));

    let (_, listed) = abbreviated(&larder, &cool.name);
    assert_eq!(version_keys(&listed), ["1.0.0"]);
    assert_eq!(listed["dist-tags"]["latest"], "1.0.0");
    let denied = support::get(&larder.at(&format!("npm{}", cool.tarball_path("1.1.0"))));
    assert_eq!(denied.status(), 403);
    assert!(denied
        .text()
        .unwrap()
        .contains("deny entry \\\"larder-policy-listed@^1.1.0\\\""));

    let (_, evil_doc) = abbreviated(&larder, &evil.name);
    assert!(version_keys(&evil_doc).is_empty(), "{evil_doc}");
    assert!(evil_doc["dist-tags"].get("latest").is_none(), "{evil_doc}");
    let refused = support::get(&larder.at(&format!("npm{}", evil.tarball_path("1.0.0"))));
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .unwrap()
        .contains("deny_file record MAL-2099-0001"));

    // A new record, written while larder serves, is in force within seconds.
    let later_tarball = larder.at(&format!("npm{}", later.tarball_path("3.0.0")));
    assert_eq!(support::get(&later_tarball).status(), 200);
    let added = deny_file.join("malicious/npm/larder-policy-later");
    std::fs::create_dir_all(&added).unwrap();
    let record = r#"{"id": "MAL-2099-0002", "affected": [{"package": {"ecosystem": "npm", "name": "larder-policy-later"}, "versions": ["3.0.0"]}]}"#;
    std::fs::write(added.join("MAL-2099-0002.json"), record).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = support::get(&later_tarball);
        if response.status() == 403 {
            assert!(response.text().unwrap().contains("MAL-2099-0002"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new record was not picked up:\n{}",
            larder.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn exclude_newer_serves_the_registry_as_it_was_on_a_date() {
    let work = tempfile::tempdir().unwrap();
    let dated = Package::new(
        work.path(),
        "larder-policy-dated",
        &[("1.0.0", 1_654_041_600), ("1.1.0", 1_685_577_600)], // 2022-06-01, 2023-06-01
    );
    let upstream = upstream_with(&[&dated]);
    let larder = Larder::start(&config(
        &upstream,
        "exclude_newer = \"2023-01-01T00:00:00Z\"",
    ));
    let project = Project::new(&json!({"name": "app", "version": "1.0.0"}), None);
    let run = project.npm(
        &["view", &dated.name, "version"],
        &larder.at("npm/"),
        &project.fresh_cache("view"),
        RUN_LIMIT,
    );
    run.assert_ok("npm view");
    assert_eq!(
        run.output.lines().last().map(str::trim),
        Some("1.0.0"),
        "{}",
        run.output
    );
    let refused = support::get(&larder.at(&format!("npm{}", dated.tarball_path("1.1.0"))));
    assert_eq!(refused.status(), 403);
    let text = refused.text().unwrap();
    assert!(
        text.contains(
            "exclude_newer = \\\"2023-01-01T00:00:00Z\\\" (published 2023-06-01T00:00:00Z)"
        ),
        "{text}"
    );
}
