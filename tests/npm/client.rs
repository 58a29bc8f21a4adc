//! Running the real npm and pnpm clients the way a `RUN` step in a `docker build` would: a fresh
//! project directory, a fresh cache, only the registry setting pointing at larder, and none of
//! this machine's own npm configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one client run did.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub elapsed: Duration,
    pub output: String,
}

impl Run {
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            self.success,
            "{what} failed after {:?}:\n{}",
            self.elapsed, self.output
        );
        self
    }
}

/// A project directory with its `package.json` and, optionally, a lockfile.
pub struct Project {
    pub dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl Project {
    pub fn new(manifest: &serde_json::Value, lockfile: Option<&serde_json::Value>) -> Project {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("package.json"),
            serde_json::to_vec_pretty(manifest).unwrap(),
        )
        .unwrap();
        if let Some(lock) = lockfile {
            std::fs::write(
                dir.join("package-lock.json"),
                serde_json::to_vec_pretty(lock).unwrap(),
            )
            .unwrap();
        }
        // An empty user config: the machine's ~/.npmrc (audit=false, omitted `resolved`) must
        // not change what these tests exercise.
        std::fs::write(temp.path().join("npmrc"), "").unwrap();
        Project { dir, _temp: temp }
    }

    fn userconfig(&self) -> PathBuf {
        self.dir.parent().unwrap().join("npmrc")
    }

    /// A cache directory no earlier run has touched.
    pub fn fresh_cache(&self, label: &str) -> PathBuf {
        let cache = self.dir.parent().unwrap().join(format!("cache-{label}"));
        assert!(!cache.exists(), "cache {label} reused");
        cache
    }

    /// Deletes what an install produced, keeping package.json and the lockfile(s).
    pub fn clean(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join("node_modules"));
    }

    /// `npm <args>` with `registry` (ending in `/`) and a fresh cache, killed after `limit`.
    pub fn npm(&self, args: &[&str], registry: &str, cache: &Path, limit: Duration) -> Run {
        let mut command = Command::new("npm");
        command
            .args(args)
            .current_dir(&self.dir)
            .env("npm_config_registry", registry)
            .env("npm_config_cache", cache)
            .env("npm_config_userconfig", self.userconfig())
            .env("npm_config_audit", "true")
            .env("npm_config_fund", "false")
            .env("npm_config_update_notifier", "false")
            .env("npm_config_loglevel", "http")
            .env("npm_config_fetch_retries", "1")
            .env("npm_config_fetch_retry_mintimeout", "1000")
            .env("npm_config_fetch_retry_maxtimeout", "2000");
        run(command, limit)
    }

    /// `pnpm <args>` with `registry`, a fresh store and cache, killed after `limit`.
    pub fn pnpm(&self, args: &[&str], registry: &str, store: &Path, limit: Duration) -> Run {
        let mut command = Command::new("pnpm");
        command
            .args(args)
            .arg("--registry")
            .arg(registry)
            .arg("--store-dir")
            .arg(store.join("store"))
            .arg("--cache-dir")
            .arg(store.join("cache"))
            .current_dir(&self.dir)
            .env("npm_config_userconfig", self.userconfig())
            .env("npm_config_update_notifier", "false")
            .env("npm_config_fetch_retries", "1");
        run(command, limit)
    }

    /// The version of `node_modules/<name>` as installed.
    pub fn installed_version(&self, name: &str) -> Option<String> {
        let manifest = std::fs::read(
            self.dir
                .join("node_modules")
                .join(name)
                .join("package.json"),
        )
        .ok()?;
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).ok()?;
        manifest["version"].as_str().map(str::to_string)
    }

    pub fn assert_installed(&self, expected: &[(&str, &str)]) {
        for (name, version) in expected {
            assert_eq!(
                self.installed_version(name).as_deref(),
                Some(*version),
                "node_modules/{name}"
            );
        }
    }
}

fn run(mut command: Command, limit: Duration) -> Run {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "npm_config_proxy",
        "npm_config_https_proxy",
    ] {
        command.env_remove(var);
    }
    let output_dir = tempfile::tempdir().unwrap();
    let log = output_dir.path().join("out");
    let file = std::fs::File::create(&log).unwrap();
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .expect("spawn the client (installed by .ci/install/npm.sh)");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let mut output = std::fs::read_to_string(&log).unwrap_or_default();
    if status.is_none() {
        output.push_str(&format!("\n[killed after {limit:?}]"));
    }
    Run {
        success: status.is_some_and(|s| s.success()),
        elapsed,
        output,
    }
}
