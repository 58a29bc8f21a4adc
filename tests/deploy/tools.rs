//! Running the deploy tools (buildah, systemd-analyze, python3 with check-jsonschema).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args`, failing the test with its output if it cannot start.
pub fn run(program: &str, args: &[&str]) -> Output {
    // No terminal on stdin: `buildah run` would otherwise attach the container to it.
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| {
            panic!("cannot run {program}: {err}; .ci/install/deploy.sh installs it")
        })
}

/// Runs `program args` and returns its stdout, failing the test unless it exits 0.
pub fn ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Everything a command printed, for assertions.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
