//! deploy/compose.yaml: valid against the compose specification's schema, and consistent in
//! what it promises (each way of reaching larder from a build is wired as its comment says).

use crate::tools::{ok, repo, run, said};
use serde_json::Value;

fn compose_path() -> String {
    repo().join("deploy/compose.yaml").display().to_string()
}

/// The file parsed by a YAML parser (ruamel.yaml, which check-jsonschema brings), as JSON.
fn parsed(path: &str) -> Value {
    let script = "import json, sys\nfrom ruamel.yaml import YAML\n\
                  json.dump(YAML(typ='safe').load(open(sys.argv[1])), sys.stdout)";
    serde_json::from_str(&ok("python3", &["-c", script, path])).expect("YAML as JSON")
}

fn schema_check(path: &str) -> std::process::Output {
    run(
        "python3",
        &[
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            path,
        ],
    )
}

#[test]
fn compose_file_matches_the_compose_spec_schema() {
    let checked = schema_check(&compose_path());
    assert!(checked.status.success(), "{}", said(&checked));

    // The check can fail: a misspelt build key is caught.
    let text = std::fs::read_to_string(compose_path()).expect("compose.yaml");
    assert!(text.contains("      network: host\n"));
    let broken = tempfile::NamedTempFile::with_suffix(".yaml").expect("temp file");
    std::fs::write(
        broken.path(),
        text.replace("      network: host\n", "      netwrok: host\n"),
    )
    .expect("write");
    let caught = schema_check(&broken.path().display().to_string());
    assert!(!caught.status.success(), "{}", said(&caught));
}

#[test]
fn compose_wires_both_ways_of_reaching_larder_from_a_build() {
    let compose = parsed(&compose_path());
    let services = &compose["services"];
    let larder = &services["larder"];

    let ports: Vec<&str> = larder["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(ports.contains(&"127.0.0.1:7878:7878"), "{ports:?}");
    assert!(
        ports
            .iter()
            .all(|p| !p.starts_with("7878") && !p.starts_with("0.0.0.0")),
        "larder must not be published on every interface: {ports:?}"
    );
    let gateway = ports
        .iter()
        .find(|p| p.contains("LARDER_GATEWAY_ADDR"))
        .expect("a port on the bridge gateway address");
    assert!(gateway.contains(":-172.17.0.1}"), "{gateway}");
    assert_eq!(larder["volumes"][0], "larder-data:/var/cache/larder");
    assert_eq!(
        larder["healthcheck"]["test"],
        serde_json::json!(["CMD", "/usr/local/bin/larder", "health"])
    );

    // Docker's SIGKILL comes after stop_grace_period; larder must be done before that.
    let grace =
        |raw: &Value| larder::config::duration(raw.as_str().expect("a duration")).expect("parses");
    assert!(
        grace(&larder["stop_grace_period"])
            > grace(&larder["environment"]["LARDER_SHUTDOWN_GRACE"])
    );

    // Way 1: host networking, larder on the host's loopback.
    let loopback = &services["via-loopback"]["build"];
    assert_eq!(loopback["network"], "host");
    // Way 2: the build's own network, larder through host-gateway.
    let via_gateway = &services["via-gateway"]["build"];
    assert!(via_gateway.get("network").is_none());
    assert_eq!(
        via_gateway["extra_hosts"],
        serde_json::json!(["host.docker.internal:host-gateway"])
    );
    for (build, host) in [
        (loopback, "127.0.0.1"),
        (via_gateway, "host.docker.internal"),
    ] {
        let args = build["args"].as_object().expect("build args");
        for name in [
            "APT_PROXY",
            "PIP_INDEX_URL",
            "NPM_CONFIG_REGISTRY",
            "GOPROXY",
        ] {
            let url = args[name].as_str().expect("a URL");
            assert!(
                url.starts_with(&format!("http://{host}:7878")),
                "{name} = {url} cannot reach larder from this build"
            );
        }
        assert_eq!(args["PIP_TRUSTED_HOST"], host);
        // No build may name the service: builds cannot resolve it.
        assert!(args
            .values()
            .all(|v| !v.as_str().unwrap_or("").contains("//larder")));
    }

    // The example build takes exactly those arguments.
    let dockerfile = std::fs::read_to_string(repo().join("deploy/compose-build/Dockerfile"))
        .expect("example Dockerfile");
    for name in loopback["args"].as_object().expect("args").keys() {
        assert!(dockerfile.contains(&format!("ARG {name}")), "no ARG {name}");
    }
}
