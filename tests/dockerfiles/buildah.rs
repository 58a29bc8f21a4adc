//! Debian's buildah, on a storage kept between runs, and the local base image the examples
//! build on (no image registry is reachable here).
//!
//! The storage lives under `LARDER_BUILDAH_DIR` (default `/var/tmp/larder-tests/buildah`), so
//! the base image made by `base-image.sh` (a few minutes: debootstrap plus Debian's nodejs, npm,
//! python3-venv and golang-go) is made once per machine; the images each test builds are
//! removed again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::support::Larder;

/// The base images' names (see `base-image.sh`): Debian's minbase, like debian:bookworm-slim,
/// and the same with nodejs, npm, python3-venv and golang-go. Bump the tag whenever
/// `base-image.sh` changes what it builds.
pub const MINBASE_IMAGE: &str = "localhost/larder-test/bookworm-minbase:4";
pub const TOOLS_IMAGE: &str = "localhost/larder-test/bookworm-tools:4";

pub struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
}

/// What one buildah command did.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub output: String,
    pub elapsed: Duration,
}

impl Run {
    #[track_caller]
    pub fn assert_ok(&self, what: &str) -> &Run {
        assert!(
            self.ok,
            "{what} failed after {:?}:\n{}",
            self.elapsed, self.output
        );
        self
    }
}

/// Builds are heavy for the 2-core machine: one at a time across this target's tests.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Buildah {
    pub fn new() -> Buildah {
        let dir = std::env::var_os("LARDER_BUILDAH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/tmp/larder-tests/buildah"));
        std::fs::create_dir_all(&dir).expect("buildah dir");
        Buildah {
            root: dir.join("storage"),
            runroot: dir.join("run"),
        }
    }

    /// `buildah` on this storage, without the host's proxy settings.
    pub fn command(&self) -> Command {
        let mut command = Command::new("buildah");
        command
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(["--storage-driver", "overlay"])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY");
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = self
            .command()
            .args(args)
            .output()
            .expect("run buildah (run .ci/install/dockerfiles.sh)");
        finish(output, started)
    }

    /// `buildah bud` as the issue prescribes: chroot isolation, the host's network (larder is on
    /// 127.0.0.1), never pulling, no layer cache (`--no-cache` on top for the second build).
    pub fn bud(&self, context: &Path, build_args: &[String], tag: &str, no_cache: bool) -> Run {
        let args = bud_args(context, build_args, tag, no_cache);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&refs)
    }

    /// Runs `script` with `sh -c` in a throw-away container of `image`; returns its stdout.
    /// The output goes to a file in the container, read through `buildah mount`: `buildah run`
    /// (1.28, chroot isolation) was seen to drop the stdout of a quick process.
    pub fn query(&self, image: &str, script: &str) -> String {
        let from = self.run(&["from", "--pull-never", image]);
        from.assert_ok(&format!("buildah from {image}"));
        let container = from.stdout.trim().to_string();
        let out = "/larder-test-query.out";
        let run = self.run(&[
            "run",
            "--isolation",
            "chroot",
            "--network",
            "host",
            &container,
            "--",
            "sh",
            "-c",
            &format!("( {script} ) > {out}"),
        ]);
        let mount = self.run(&["mount", &container]);
        let stdout = std::fs::read_to_string(Path::new(mount.stdout.trim()).join(&out[1..]));
        self.run(&["umount", &container]);
        self.run(&["rm", &container]);
        run.assert_ok(&format!("{script:?} in {image}"));
        mount.assert_ok(&format!("buildah mount of {image}"));
        stdout.unwrap_or_else(|err| panic!("{script:?} in {image}: reading its output: {err}"))
    }

    pub fn remove_image(&self, image: &str) {
        self.run(&["rmi", "--force", image]);
    }

    /// The image with the client tools; see [`Buildah::make_base_images`].
    pub fn tools_image(&self) -> &'static str {
        self.make_base_images();
        TOOLS_IMAGE
    }

    /// The minbase image; see [`Buildah::make_base_images`].
    pub fn minbase_image(&self) -> &'static str {
        self.make_base_images();
        MINBASE_IMAGE
    }

    /// Makes the base images once per machine (see `base-image.sh`), with a larder in front of
    /// the live Debian archive.
    fn make_base_images(&self) {
        static MADE: OnceLock<()> = OnceLock::new();
        MADE.get_or_init(|| {
            let cached = [MINBASE_IMAGE, TOOLS_IMAGE]
                .iter()
                .all(|image| self.run(&["inspect", "--type", "image", image]).ok);
            if cached {
                return;
            }
            // Base images of earlier recipes are never used again.
            let names = self.run(&["images", "--format", "{{.Name}}:{{.Tag}}"]);
            for old in names.stdout.lines() {
                if old.starts_with("localhost/larder-test/bookworm-")
                    && ![MINBASE_IMAGE, TOOLS_IMAGE].contains(&old)
                {
                    self.remove_image(old);
                }
            }
            let archive = archive_host();
            let remote = if archive == "deb.debian.org" {
                String::new()
            } else {
                format!("[apt.remotes]\n\"{archive}\" = \"http://{archive}/\"\n")
            };
            let larder = Larder::start(&format!("[apt]\n{remote}"));
            let started = Instant::now();
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dockerfiles/base-image.sh");
            let output = Command::new("bash")
                .arg(&script)
                .arg(&larder.url)
                .arg(&archive)
                .arg(MINBASE_IMAGE)
                .arg(TOOLS_IMAGE)
                .env("BUILDAH_ROOT", &self.root)
                .env("BUILDAH_RUNROOT", &self.runroot)
                .output()
                .expect("run base-image.sh");
            let run = finish(output, started);
            assert!(
                run.ok,
                "making the base images failed (debootstrap and Debian's packages through larder's apt mirror):\n{}\nlarder log (tail):\n{}",
                run.output,
                tail(&larder.log(), 40)
            );
            eprintln!(
                "base images {MINBASE_IMAGE} and {TOOLS_IMAGE} made in {:?}",
                run.elapsed
            );
        });
    }
}

/// The arguments of [`Buildah::bud`] (`benches/run_steps.rs` runs the same build, timing each
/// step as buildah prints it).
pub fn bud_args(context: &Path, build_args: &[String], tag: &str, no_cache: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "bud",
        "--isolation",
        "chroot",
        "--network",
        "host",
        "--pull=never",
        "--layers=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if no_cache {
        args.push("--no-cache".into());
    }
    for arg in build_args {
        args.push("--build-arg".into());
        args.push(arg.clone());
    }
    args.extend(["-t".into(), tag.into()]);
    args.push(context.display().to_string());
    args
}

fn finish(output: Output, started: Instant) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut text = stdout.clone();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Run {
        ok: output.status.success(),
        stdout,
        output: text,
        elapsed: started.elapsed(),
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The Debian archive host this machine's apt sources name (`deb.debian.org` if none does).
pub fn archive_host() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|ext| ext == "list" || ext == "sources")
            })
            .collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for word in text.split_whitespace() {
            let Some(rest) = word
                .strip_prefix("http://")
                .or_else(|| word.strip_prefix("https://"))
            else {
                continue;
            };
            if let Some((host, path)) = rest.split_once('/') {
                if path.trim_end_matches('/') == "debian" {
                    return host.to_string();
                }
            }
        }
    }
    "deb.debian.org".to_string()
}
