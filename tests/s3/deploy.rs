//! deploy/office-mirror/compose-replicas.yaml: valid compose, and the replicas' settings are
//! ones larder accepts.

use std::path::PathBuf;
use std::process::Command;

fn compose_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/office-mirror/compose-replicas.yaml")
}

#[test]
fn replicas_compose_file_matches_the_compose_spec_schema() {
    let checked = Command::new("python3")
        .args([
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
        ])
        .arg(compose_file())
        .output()
        .expect("python3 runs (check-jsonschema comes from .ci/install/deploy.sh)");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn replicas_settings_are_accepted_by_larder_config() {
    let text = std::fs::read_to_string(compose_file()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "a-client-token\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command.arg("config").current_dir(dir.path());
    let mut count = 0;
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        if !key.starts_with("LARDER_") {
            continue;
        }
        let value = value.trim().trim_matches('"');
        let value = match key {
            "LARDER_ACCESS_TOKENS_FILE" => tokens.display().to_string(),
            "LARDER_PUBLIC_URL" => "http://mirror.internal:7878".into(),
            _ => value.to_string(),
        };
        command.env(key, value);
        count += 1;
    }
    assert!(count >= 10, "found the replicas' settings ({count})");
    let output = command.output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("backend = \"s3\""), "{printed}");
    assert!(printed.contains("[access]"), "{printed}");
    assert!(!printed.contains("a-client-token"), "{printed}");
}
