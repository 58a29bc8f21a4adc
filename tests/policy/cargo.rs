//! Cargo: index files lose versions whose `pubtime` is too young (or missing), and their
//! crates are refused.

use crate::support::{self, Larder, Resource, Routes, Upstream};
use crate::{now, rfc3339, DAY};
use sha2::{Digest as _, Sha256};

#[test]
fn index_lines_are_judged_by_pubtime_and_crates_of_withheld_versions_are_refused() {
    let upstream = Upstream::start(Routes::new());
    upstream.insert(
        "/index/config.json",
        Resource::new(
            "application/json",
            format!(
                "{{\"dl\":\"{}/api/v1/crates\",\"api\":\"{}\"}}",
                upstream.url, upstream.url
            ),
        ),
    );
    let now = now();
    let mut index = String::new();
    let mut cksums = std::collections::HashMap::new();
    for (version, pubtime) in [
        ("1.0.0", Some(now - 30 * DAY)),
        ("1.1.0", Some(now - DAY)),
        ("1.2.0", None),
    ] {
        let bytes = format!("the crate tick {version}");
        let cksum = hex::encode(Sha256::digest(bytes.as_bytes()));
        cksums.insert(version, cksum.clone());
        let pubtime = pubtime.map_or(String::new(), |at| {
            format!(",\"pubtime\":\"{}\"", rfc3339(at))
        });
        index.push_str(&format!(
            "{{\"name\":\"tick\",\"vers\":\"{version}\",\"deps\":[],\"cksum\":\"{cksum}\",\"features\":{{}},\"yanked\":false{pubtime}}}\n"
        ));
        upstream.insert(
            &format!("/api/v1/crates/tick/{version}/download"),
            Resource::new("application/octet-stream", bytes),
        );
    }
    upstream.insert("/index/ti/ck/tick", Resource::new("text/plain", index));
    let larder = Larder::start(&format!(
        "[cargo]\nupstream = \"{}/index/\"\n\n[policy]\nmin_age = \"7d\"\n",
        upstream.url
    ));
    let lines = support::get(&larder.at("cargo/crates-io/ti/ck/tick"))
        .text()
        .unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("\"vers\":\"1.0.0\""));

    let config: serde_json::Value = serde_json::from_slice(
        &support::get(&larder.at("cargo/crates-io/config.json"))
            .bytes()
            .unwrap(),
    )
    .unwrap();
    let dl = config["dl"].as_str().unwrap().to_string();
    // larder's dl template: `{crate}`, `{version}` and `{sha256-checksum}` markers.
    let download = |version: &str| {
        let url = dl
            .replace("{crate}", "tick")
            .replace("{version}", version)
            .replace("{sha256-checksum}", &cksums[version]);
        support::get(&url)
    };
    assert_eq!(download("1.0.0").status(), 200);
    let young = download("1.1.0");
    assert_eq!(young.status(), 403);
    let text = young.text().unwrap();
    assert!(
        text.contains("larder policy refuses cargo tick 1.1.0") && text.contains("published"),
        "{text}"
    );
    let untimed = download("1.2.0").text().unwrap();
    assert!(untimed.contains("no publish time"), "{untimed}");
}
