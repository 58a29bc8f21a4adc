//! Row 8 of `benches/README.md`, "build cache": the Go example's whole compiling RUN step,
//! `go mod download && go build`, built with buildah `--no-cache` in three modes against the
//! fixture GOPROXY on 127.0.0.1:
//!
//! - **plain**: the go command straight at the fixture, no cache: downloads and compiles all;
//! - **cache mount**: the same with BuildKit's recipe for Go, cache mounts on the module cache
//!   (`/root/go/pkg/mod`) and the build cache (`/root/.cache/go-build`), measured once a first
//!   build has filled them;
//! - **larder warm**: no mount; `GOPROXY` at larder and `GOCACHEPROG="larder gocache"`,
//!   measured once a first build has filled larder.
//!
//! All three run in the same image: the tools base image of `tests/dockerfiles` with Debian's
//! Go 1.23 built with the cacheprog experiment (`tests/buildcache/dockerfile.rs` makes it), the
//! helper copied in. Timed: the RUN step, from buildah's `STEP` line to the next one; rounds
//! interleaved with the modes' order rotating; medians.
//!
//! `cargo bench --bench build_cache -- [--rounds N]` (through `benches/run --only buildcache`).

#[path = "../tests/support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../tests/apt/fixture.rs"]
mod apt_fixture;
#[allow(dead_code)]
#[path = "../tests/dockerfiles/buildah.rs"]
mod buildah;
#[allow(dead_code)]
#[path = "../tests/dockerfiles/examples.rs"]
mod examples;
#[allow(dead_code)]
#[path = "../tests/go/fixture.rs"]
mod go_fixture;
#[path = "../tests/buildcache/go_image.rs"]
mod go_image;
#[allow(dead_code)]
#[path = "../tests/npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../tests/pypi/fixture.rs"]
mod pypi_fixture;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use buildah::Buildah;
use support::Larder;

const STEP: &str = "go mod download && go build";

/// The Go example's two RUN steps as one, GOCACHEPROG set only when larder's URL is given.
const DOCKERFILE: &str = r#"ARG GO_IMAGE
FROM ${GO_IMAGE}
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOEXPERIMENT=cacheprog
ARG GOPROXY
ARG LARDER_URL
COPY . .
RUN if [ -n "$LARDER_URL" ]; then export GOCACHEPROG="/src/larder gocache --url $LARDER_URL"; fi && go mod download && go build -o /usr/local/bin/app .
"#;

const CACHE_MOUNTS: &str =
    "RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build if";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    CacheMount,
    Larder,
}

const MODES: [Mode; 3] = [Mode::Plain, Mode::CacheMount, Mode::Larder];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::CacheMount => "cache mount",
            Mode::Larder => "larder warm",
        }
    }
}

struct Setup {
    context: tempfile::TempDir,
    mount_context: tempfile::TempDir,
    direct_args: Vec<String>,
    larder_args: Vec<String>,
    /// buildah's TMPDIR, where it keeps the cache mounts.
    tmp: tempfile::TempDir,
}

fn setup(proxy: &support::Upstream, larder: &Larder) -> Setup {
    let context = tempfile::tempdir().expect("context");
    examples::go_project(context.path(), proxy);
    std::fs::copy(env!("CARGO_BIN_EXE_larder"), context.path().join("larder"))
        .expect("copy larder");
    std::fs::write(context.path().join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    let mount_context = tempfile::tempdir().expect("context");
    for entry in std::fs::read_dir(context.path()).expect("context") {
        let path = entry.expect("entry").path();
        let to = mount_context.path().join(path.file_name().expect("name"));
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(&path)
            .arg(&to)
            .status();
        assert!(copied.is_ok_and(|s| s.success()), "copy {}", path.display());
    }
    let with_mounts = DOCKERFILE.replacen("RUN if", CACHE_MOUNTS, 1);
    assert_ne!(with_mounts, DOCKERFILE);
    std::fs::write(mount_context.path().join("Dockerfile"), with_mounts).expect("Dockerfile");
    let image = format!("GO_IMAGE={}", go_image::go_image(&Buildah::new()));
    Setup {
        context,
        mount_context,
        direct_args: vec![format!("GOPROXY={}", proxy.url), image.clone()],
        larder_args: vec![
            format!("GOPROXY={}/go", larder.url),
            format!("LARDER_URL={}", larder.url),
            image,
        ],
        tmp: tempfile::tempdir_in("/var/tmp").expect("buildah TMPDIR"),
    }
}

/// One `--no-cache` build; returns the timed RUN step and the whole build.
fn build(setup: &Setup, mode: Mode, n: usize) -> (Duration, Duration) {
    let buildah = Buildah::new();
    let (context, args) = match mode {
        Mode::Plain => (setup.context.path(), &setup.direct_args),
        Mode::CacheMount => (setup.mount_context.path(), &setup.direct_args),
        Mode::Larder => (setup.context.path(), &setup.larder_args),
    };
    let tag = format!(
        "localhost/larder-bench/buildcache-{}:{}-{n}",
        mode.name().replace(' ', "-"),
        std::process::id()
    );
    let started = Instant::now();
    let mut child = buildah
        .command()
        .args(buildah::bud_args(context, args, &tag, true))
        .env("TMPDIR", setup.tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("buildah (run .ci/install/dockerfiles.sh)");
    let mut marks: Vec<(Instant, String)> = Vec::new();
    let mut transcript = String::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let Ok(line) = line else { break };
        if line.starts_with("STEP ") || line.starts_with("COMMIT") {
            marks.push((Instant::now(), line.clone()));
        }
        transcript.push_str(&line);
        transcript.push('\n');
    }
    let ok = child.wait().is_ok_and(|s| s.success());
    let whole = started.elapsed();
    assert!(
        ok,
        "{} build failed:\n{}",
        mode.name(),
        buildah::tail(&transcript, 40)
    );
    let at = marks
        .iter()
        .position(|(_, l)| l.contains(": RUN ") && l.contains(STEP))
        .unwrap_or_else(|| panic!("no RUN step with {STEP:?}:\n{transcript}"));
    let step = marks
        .get(at + 1)
        .map(|(t, _)| *t - marks[at].0)
        .unwrap_or_else(|| panic!("no line after the RUN step:\n{transcript}"));
    buildah.remove_image(&tag);
    (step, whole)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    let mut rounds = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--quick" => rounds = 1,
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N")
            }
            other => panic!("unknown option {other}; see the header of benches/build_cache.rs"),
        }
    }
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let load_before = load();
    let proxy = examples::go_proxy();
    let larder = Larder::start(&format!("[go]\nupstream = \"{}/\"\n", proxy.url));
    let setup = setup(&proxy, &larder);
    for mode in [Mode::CacheMount, Mode::Larder] {
        let (step, _) = build(&setup, mode, 0);
        eprintln!(
            "[build_cache] first {} build: step {:.2}s",
            mode.name(),
            step.as_secs_f64()
        );
    }
    let mut steps: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut wholes: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for round in 0..rounds {
        for i in 0..MODES.len() {
            let which = (i + round) % MODES.len();
            let (step, whole) = build(&setup, MODES[which], round + 1);
            eprintln!(
                "[build_cache] round {}: {}: step {:.2}s",
                round + 1,
                MODES[which].name(),
                step.as_secs_f64()
            );
            steps[which].push(step.as_secs_f64());
            wholes[which].push(whole.as_secs_f64());
        }
    }
    let step = |i: usize| median(steps[i].clone());
    let whole = |i: usize| median(wholes[i].clone());
    let ratio = step(2) / step(1);
    println!(
        "build cache, {}: load average {load_before} before, {} after; medians of {rounds} interleaved rounds\n",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        load()
    );
    println!("| timed RUN step | plain | cache mount | larder warm | larder / cache mount | larder / plain | target ≤ 1.1 | whole build, larder / cache mount |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| `{STEP}` | {:.2} s | {:.2} s | {:.2} s | {ratio:.2}× | {:.2}× | {} | {:.2}× |",
        step(0),
        step(1),
        step(2),
        step(2) / step(0),
        if ratio <= 1.1 { "yes" } else { "**no**" },
        whole(2) / whole(1)
    );
}
