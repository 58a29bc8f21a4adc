//! PyPI: simple pages (JSON and HTML) lose the files the policy withholds, judged by PEP 700
//! `upload-time`; the files themselves are refused, and pip and uv show why.

#[allow(dead_code)]
#[path = "../pypi/clients.rs"]
mod clients;

use crate::support::{self, Larder, Resource, Routes, Upstream};
use crate::{now, rfc3339, DAY};
use clients::{pip_install, uv_install, Venv};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::process::Command;

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// One wheel of the fixture project, uploaded at `at`.
struct Wheel {
    filename: String,
    bytes: Vec<u8>,
    at: i64,
}

/// A minimal pure-Python wheel, built by python3's zipfile (no build backend, no network).
fn wheel(project: &str, version: &str, at: i64) -> Wheel {
    let dir = tempfile::tempdir().unwrap();
    let filename = format!("{project}-{version}-py3-none-any.whl");
    let out = dir.path().join(&filename);
    let script = r#"
import sys, zipfile
out, name, version = sys.argv[1:4]
info = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VERSION = {version!r}\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: larder-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(out, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
"#;
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&out)
        .args([project, version])
        .status()
        .expect("python3 (installed by .ci/install/pypi.sh)");
    assert!(status.success(), "building {filename}");
    Wheel {
        filename,
        bytes: std::fs::read(&out).unwrap(),
        at,
    }
}

struct Index {
    index: Upstream,
    files: Upstream,
}

fn file_path(wheel: &Wheel) -> String {
    let hex = hex::encode(Sha256::digest(&wheel.bytes));
    format!(
        "packages/{}/{}/{}/{}",
        &hex[..2],
        &hex[2..4],
        &hex[4..],
        wheel.filename
    )
}

/// Serves `project`'s wheels: JSON pages with `upload-time`, HTML pages, the files host.
fn publish(project: &str, wheels: &[Wheel]) -> Index {
    let files = Upstream::start(Routes::new());
    let index = Upstream::start(Routes::new());
    let base = format!("{}/", files.url);
    let mut html = format!("<!DOCTYPE html>\n<html><body><h1>Links for {project}</h1>\n");
    let mut entries = Vec::new();
    let mut versions = Vec::new();
    for w in wheels {
        let path = file_path(w);
        let sha = hex::encode(Sha256::digest(&w.bytes));
        files.insert(
            &format!("/{path}"),
            Resource::new("application/octet-stream", w.bytes.clone()),
        );
        html.push_str(&format!(
            "<a href=\"{base}{path}#sha256={sha}\">{}</a><br />\n",
            w.filename
        ));
        entries.push(json!({
            "filename": w.filename, "url": format!("{base}{path}"), "hashes": {"sha256": sha},
            "size": w.bytes.len(), "upload-time": rfc3339(w.at), "yanked": false,
        }));
        versions.push(w.filename.split('-').nth(1).unwrap().to_string());
    }
    html.push_str("</body></html>\n");
    let page = json!({"meta": {"api-version": "1.1"}, "name": project, "versions": versions, "files": entries});
    index.insert_all(
        &format!("/simple/{}/", project.replace('_', "-")),
        vec![
            Resource::new(JSON_TYPE, page.to_string()).for_accept(JSON_TYPE),
            Resource::new("text/html", html),
        ],
    );
    Index { index, files }
}

fn start(index: &Index, policy: &str) -> Larder {
    Larder::start(&format!(
        "[pypi]\nupstream = \"{}/simple/\"\nfiles_upstream = \"{}/\"\n\n[policy]\n{policy}\n",
        index.index.url, index.files.url
    ))
}

fn page(larder: &Larder, project: &str, accept: &str) -> String {
    support::http_client()
        .get(larder.at(&format!("pypi/simple/{project}/")))
        .header("accept", accept)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn pip_and_uv_install_the_newest_file_older_than_min_age_and_a_younger_file_is_refused() {
    let _serial = clients::serial();
    let now = now();
    let project = "larder_policy_demo";
    let wheels = [
        wheel(project, "1.0", now - 40 * DAY),
        wheel(project, "1.1", now - 9 * DAY),
        wheel(project, "1.2", now - 2 * DAY),
    ];
    let index = publish(project, &wheels);
    let larder = start(&index, "min_age = \"7d\"");
    let index_url = larder.at("pypi/simple/");
    let normalized = "larder-policy-demo";

    // Both page forms lose the young file; the JSON one keeps the others' upload-time.
    let json_page: serde_json::Value =
        serde_json::from_str(&page(&larder, normalized, JSON_TYPE)).unwrap();
    let names: Vec<&str> = json_page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [wheels[0].filename.as_str(), wheels[1].filename.as_str()]
    );
    assert_eq!(json_page["files"][1]["upload-time"], rfc3339(wheels[1].at));
    assert_eq!(json_page["versions"], json!(["1.0", "1.1"]));
    let html = page(&larder, normalized, "text/html");
    assert!(
        html.contains(&wheels[1].filename) && !html.contains(&wheels[2].filename),
        "{html}"
    );

    let venv = Venv::new();
    let pip = pip_install(&venv, &index_url, &[normalized]);
    assert!(pip.ok(), "{}", pip.log());
    assert_eq!(
        venv.installed().get(normalized).map(String::as_str),
        Some("1.1"),
        "{}",
        pip.log()
    );

    let venv = Venv::new();
    let uv = uv_install(&venv, &index_url, &[normalized]);
    assert!(uv.ok(), "{}", uv.log());
    assert_eq!(
        venv.installed().get(normalized).map(String::as_str),
        Some("1.1"),
        "{}",
        uv.log()
    );

    // The young file itself, as a lockfile's URL names it: refused, and pip says why.
    let young = larder.at(&format!(
        "pypi/files/{normalized}/{}",
        file_path(&wheels[2])
    ));
    let refused = support::get(&young);
    assert_eq!(refused.status(), 403);
    let text = refused.text().unwrap();
    assert!(
        text.contains(&format!("larder policy refuses pypi {normalized} 1.2"))
            && text.contains("min_age"),
        "{text}"
    );
    let venv = Venv::new();
    let pip = pip_install(&venv, &index_url, &[&young]);
    assert!(
        !pip.ok(),
        "pip installed a file younger than min_age:\n{}",
        pip.log()
    );
    assert!(
        pip.log()
            .contains("Forbidden by larder policy (min_age 7days)"),
        "{}",
        pip.log()
    );
    let venv = Venv::new();
    let uv = uv_install(&venv, &index_url, &[&format!("{normalized} @ {young}")]);
    assert!(
        !uv.ok(),
        "uv installed a file younger than min_age:\n{}",
        uv.log()
    );
    // uv prints the status line's reason phrase too.
    assert!(
        uv.log()
            .contains("403 Forbidden by larder policy (min_age 7days)"),
        "{}",
        uv.log()
    );
}

#[test]
fn a_pep440_deny_range_and_exclude_newer_apply_to_pages_and_files() {
    let _serial = clients::serial();
    let project = "larder_policy_dated";
    let wheels = [
        wheel(project, "2.27.0", 1_640_995_200), // 2022-01-01
        wheel(project, "2.28.1", 1_656_633_600), // 2022-07-01
        wheel(project, "2.31.0", 1_685_577_600), // 2023-06-01
    ];
    let index = publish(project, &wheels);
    let larder = start(
        &index,
        "exclude_newer = \"2023-01-01T00:00:00Z\"\n[policy.pypi]\ndeny = [\"Larder_Policy_Dated@>=2.28,<2.29\"]",
    );
    let normalized = "larder-policy-dated";
    let json_page: serde_json::Value =
        serde_json::from_str(&page(&larder, normalized, JSON_TYPE)).unwrap();
    assert_eq!(json_page["versions"], json!(["2.27.0"]), "{json_page}");
    let venv = Venv::new();
    let pip = pip_install(&venv, &larder.at("pypi/simple/"), &[normalized]);
    assert!(pip.ok(), "{}", pip.log());
    assert_eq!(
        venv.installed().get(normalized).map(String::as_str),
        Some("2.27.0")
    );
    let denied = support::get(&larder.at(&format!(
        "pypi/files/{normalized}/{}",
        file_path(&wheels[1])
    )));
    assert_eq!(denied.status(), 403);
    assert!(denied
        .text()
        .unwrap()
        .contains("deny entry \"Larder_Policy_Dated@>=2.28,<2.29\""));
    let newer = support::get(&larder.at(&format!(
        "pypi/files/{normalized}/{}",
        file_path(&wheels[2])
    )));
    assert_eq!(newer.status(), 403);
    assert!(newer
        .text()
        .unwrap()
        .contains("exclude_newer = \"2023-01-01T00:00:00Z\" (published 2023-06-01T00:00:00Z)"));
}

#[test]
fn a_malicious_packages_record_names_a_project_as_published_and_matches_it_normalized() {
    let project = "larder_policy_bad";
    let old = now() - 300 * DAY;
    let wheels = [wheel(project, "0.9.1", old), wheel(project, "1.0", old)];
    let index = publish(project, &wheels);
    let records =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy/malicious/osv");
    let larder = start(
        &index,
        &format!("deny_file = {:?}", records.display().to_string()),
    );
    let normalized = "larder-policy-bad";
    let json_page: serde_json::Value =
        serde_json::from_str(&page(&larder, normalized, JSON_TYPE)).unwrap();
    assert_eq!(json_page["versions"], json!(["1.0"]), "{json_page}");
    let refused = support::get(&larder.at(&format!(
        "pypi/files/{normalized}/{}",
        file_path(&wheels[0])
    )));
    assert_eq!(refused.status(), 403);
    let text = refused.text().unwrap();
    assert!(text.contains("deny_file record MAL-2099-0003"), "{text}");
    let served = support::get(&larder.at(&format!(
        "pypi/files/{normalized}/{}",
        file_path(&wheels[1])
    )));
    assert_eq!(served.status(), 200);
}
