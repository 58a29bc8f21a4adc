//! Running `larder` and the SBOM validators, and reading components back.

use std::path::Path;
use std::process::Command;

/// `larder <args>`'s standard output; panics with its stderr when it fails.
pub fn larder_command(args: &[&str]) -> String {
    larder_command_with_stderr(args).0
}

pub fn larder_command_with_stderr(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run larder");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "larder {args:?} failed:\n{stderr}");
    (String::from_utf8(out.stdout).expect("utf-8"), stderr)
}

/// Checks `path` with `validate.py` (the validators of `.ci/install/served.sh`).
pub fn validate(kind: &str, path: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/served/validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(kind)
        .arg(path)
        .output()
        .expect("python3 runs (validators from .ci/install/served.sh)");
    assert!(
        out.status.success(),
        "{kind} validation of {} failed:\n{}{}\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// One CycloneDX component as the tests look at it.
#[derive(Debug)]
pub struct Component {
    pub name: String,
    pub purl: String,
    pub sha256: String,
    pub count: u64,
}

impl Component {
    pub fn all(bom: &serde_json::Value) -> Vec<Component> {
        bom["components"]
            .as_array()
            .expect("components")
            .iter()
            .map(|c| Component {
                name: c["name"].as_str().unwrap().to_string(),
                purl: c["purl"].as_str().unwrap().to_string(),
                sha256: c["hashes"][0]["content"].as_str().unwrap_or("").to_string(),
                count: c["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "larder:served_count")
                    .and_then(|p| p["value"].as_str()?.parse().ok())
                    .unwrap(),
            })
            .collect()
    }
}
