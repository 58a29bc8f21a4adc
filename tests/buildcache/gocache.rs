//! The real go command (Debian's Go 1.23 with the `cacheprog` experiment) through
//! `larder gocache`.

use crate::support::{http_client, metric, Larder};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Go 1.23 from bookworm-backports, its go command and compiler rebuilt with
/// `GOEXPERIMENT=cacheprog` by `.ci/install/buildcache.sh` (before Go 1.24 only such a go
/// command reads GOCACHEPROG); 1.19, bookworm's own, has no GOCACHEPROG at all.
const GOROOT_BIN: &str = "/usr/local/lib/larder/go1.23-cacheprog/bin";
const GO: &str = "/usr/local/lib/larder/go1.23-cacheprog/bin/go";

/// A module with a main package and three packages of its own, one importing another.
pub fn write_module(dir: &Path) {
    let files = [
        ("go.mod", "module example.test/app\n\ngo 1.21\n".to_string()),
        (
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/app/greet\"\n\t\"example.test/app/sum\"\n)\n\nfunc main() {\n\tfmt.Println(greet.Hello(\"larder\"), sum.Of(1, 2, 3))\n}\n".into(),
        ),
        (
            "greet/greet.go",
            "package greet\n\nimport (\n\t\"strings\"\n\n\t\"example.test/app/shout\"\n)\n\nfunc Hello(name string) string { return \"hello \" + shout.Loud(strings.TrimSpace(name)) }\n".into(),
        ),
        (
            "shout/shout.go",
            "package shout\n\nimport \"strings\"\n\nfunc Loud(s string) string { return strings.ToUpper(s) }\n".into(),
        ),
        (
            "sum/sum.go",
            "package sum\n\nfunc Of(xs ...int) int {\n\tt := 0\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t\n}\n".into(),
        ),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// `go build -x` of the module in `module`, with a fresh GOCACHE and helper directory under
/// `scratch`, the helper pointed at `url`.
fn go_build(module: &Path, scratch: &Path, url: &str, out: &Path) -> std::process::Child {
    assert!(
        Path::new(GO).exists(),
        "{GO} is missing: run .ci/install/buildcache.sh (Go 1.23 built with the cacheprog experiment)"
    );
    let helper = format!(
        "{} gocache --url {url} --dir {} --stats",
        env!("CARGO_BIN_EXE_larder"),
        scratch.join("helper").display()
    );
    Command::new(GO)
        .args(["build", "-x", "-o"])
        .arg(out)
        .arg(".")
        .current_dir(module)
        .env_clear()
        .env("PATH", format!("{GOROOT_BIN}:/usr/bin:/bin"))
        .env("HOME", scratch)
        .env("GOCACHE", scratch.join("gocache"))
        .env("GOPATH", scratch.join("gopath"))
        .env("GOEXPERIMENT", "cacheprog")
        .env("GOCACHEPROG", helper)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start go build")
}

fn finished(child: std::process::Child) -> (Output, String) {
    let output = child.wait_with_output().expect("go build runs");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "go build failed:\n{stderr}");
    (output, stderr)
}

/// The compiler runs `go build -x` printed.
fn compiles(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|line| line.contains("/compile ") && line.contains(" -o "))
        .count()
}

/// One of the counters `larder gocache --stats` prints.
fn counter(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .rfind(|line| line.starts_with("larder gocache: gets="))
        .unwrap_or_else(|| panic!("the helper printed no counters:\n{stderr}"));
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(&format!("{name}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

fn run_binary(path: &Path) -> String {
    let out = Command::new(path).output().expect("run the built binary");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn scratch(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_second_build_in_a_fresh_gocache_compiles_nothing_and_is_byte_identical() {
    let larder = Larder::start("");
    let temp = tempfile::tempdir().unwrap();
    let module = scratch(temp.path(), "module");
    write_module(&module);

    let first_bin = temp.path().join("app1");
    let (_, first) = finished(go_build(
        &module,
        &scratch(temp.path(), "one"),
        &larder.url,
        &first_bin,
    ));
    assert!(
        compiles(&first) >= 5,
        "the cold build compiles the module and the standard library:\n{first}"
    );
    assert_eq!(run_binary(&first_bin), "hello LARDER 6\n");

    let second_bin = temp.path().join("app2");
    let (_, second) = finished(go_build(
        &module,
        &scratch(temp.path(), "two"),
        &larder.url,
        &second_bin,
    ));
    assert_eq!(compiles(&second), 0, "the warm build compiled:\n{second}");
    // Every package came from larder (a few gets the go command makes for the link may miss).
    assert!(counter(&second, "remote_hits") >= 20, "{second}");
    assert_eq!(
        std::fs::read(&first_bin).unwrap(),
        std::fs::read(&second_bin).unwrap()
    );

    let metrics = http_client()
        .get(larder.at("-/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metric(&metrics, "larder_buildcache_hits_total{tool=\"go\"}").unwrap() > 10.0);
}

#[test]
fn larder_stopped_mid_build_leaves_a_cold_build_that_succeeds() {
    let mut larder = Larder::start("");
    let temp = tempfile::tempdir().unwrap();
    let module = scratch(temp.path(), "module");
    write_module(&module);
    let bin = temp.path().join("app");
    let build = go_build(&module, &scratch(temp.path(), "one"), &larder.url, &bin);

    // Stop larder once the build has stored a few outputs in it, while it compiles the rest.
    let started = Instant::now();
    loop {
        let puts = http_client()
            .get(larder.at("-/metrics"))
            .send()
            .ok()
            .and_then(|r| r.text().ok())
            .and_then(|text| metric(&text, "larder_buildcache_puts_total{tool=\"go\"}"))
            .unwrap_or(0.0);
        if puts >= 4.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the build stored nothing in larder"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    larder.kill();

    let (_, stderr) = finished(build);
    assert!(
        stderr.contains("did not answer"),
        "the helper never noticed larder had gone:\n{stderr}"
    );
    assert_eq!(run_binary(&bin), "hello LARDER 6\n");
}
