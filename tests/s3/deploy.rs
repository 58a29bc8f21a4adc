//! deploy/office-mirror/compose-replicas.yaml and kubernetes.yaml: valid against their schemas
//! (compose-spec; the Kubernetes API's), wired as their comments say, and with settings larder
//! accepts.

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

fn kubernetes_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/office-mirror/kubernetes.yaml")
}

/// kubernetes-validate --strict (unknown fields are errors) for one Kubernetes version.
fn kubernetes_validate(path: &std::path::Path, version: &str) -> std::process::Output {
    Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "-k", version])
        .arg(path)
        .output()
        .expect("python3 runs (kubernetes-validate comes from .ci/install/deploy.sh)")
}

#[test]
fn kubernetes_manifest_matches_the_kubernetes_schemas() {
    // The oldest Kubernetes still commonly run, and a current one.
    for version in ["1.29.0", "1.34.0"] {
        let checked = kubernetes_validate(&kubernetes_file(), version);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        assert!(checked.status.success(), "{version}: {said}");
        for resource in [
            "deployment/larder",
            "service/larder",
            "poddisruptionbudget/larder",
        ] {
            assert!(
                said.contains(&format!("passed for resource {resource}")),
                "{version}: {resource} was checked: {said}"
            );
        }
    }
    // The validator does catch a misspelt field.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let text = std::fs::read_to_string(kubernetes_file()).unwrap();
    std::fs::write(&broken, text.replace("readinessProbe:", "readinesProbe:")).unwrap();
    assert!(!kubernetes_validate(&broken, "1.34.0").status.success());
}

/// The manifest's documents, parsed by a YAML parser (ruamel.yaml, which check-jsonschema
/// brings), as JSON.
fn kubernetes_documents() -> Vec<serde_json::Value> {
    let script = "import json, sys\nfrom ruamel.yaml import YAML\n\
                  json.dump(list(YAML(typ='safe').load_all(open(sys.argv[1]))), sys.stdout)";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(kubernetes_file())
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("YAML as JSON")
}

#[test]
fn kubernetes_manifest_wires_readiness_service_and_budget_to_the_replicas() {
    let documents = kubernetes_documents();
    let kind = |kind: &str| {
        documents
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind}"))
            .clone()
    };
    let (deployment, service, budget) = (
        kind("Deployment"),
        kind("Service"),
        kind("PodDisruptionBudget"),
    );
    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert!(
        deployment["spec"]["replicas"].as_u64() >= Some(2),
        "a fleet"
    );
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        &service["spec"]["selector"], labels,
        "the Service reaches the pods"
    );
    assert_eq!(&budget["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(budget["spec"]["maxUnavailable"], 1);
    let container = &pod["spec"]["containers"][0];
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"], 7878);
    for probe in ["readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["httpGet"]["path"], "/-/health", "{probe}");
        assert_eq!(container[probe]["httpGet"]["port"], port["name"], "{probe}");
    }
    assert_eq!(service["spec"]["ports"][0]["targetPort"], port["name"]);
}

#[test]
fn kubernetes_settings_are_accepted_by_larder_config() {
    let documents = kubernetes_documents();
    let deployment = documents
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env");
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "a-client-token\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command.arg("config").current_dir(dir.path());
    let mut count = 0;
    for var in env {
        let (Some(name), Some(value)) = (var["name"].as_str(), var["value"].as_str()) else {
            continue; // from a Secret
        };
        let value = match name {
            "LARDER_ACCESS_TOKENS_FILE" => tokens.display().to_string(),
            "LARDER_DATA_DIR" => dir.path().join("data").display().to_string(),
            _ => value.to_string(),
        };
        command.env(name, value);
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
    assert!(printed.contains("timeout = \"2s\""), "{printed}");
    assert!(printed.contains("[access]"), "{printed}");
}
