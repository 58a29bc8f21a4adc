//! Real pip and uv, run in fresh virtual environments against an index URL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The packages every install asks for, and what must be resolved.
pub const REQUIREMENTS: &[&str] = &["app-main", "future-only", "big-wheel"];
pub const EXPECTED: &[(&str, &str)] = &[
    ("app-main", "1.0"),
    ("big-wheel", "1.0"),
    ("dep-lib", "1.1"),
    ("future-only", "1.0"),
];

/// Installs are heavy for the 2-core machine: one at a time across this target's tests.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A fresh virtual environment without pip (pip runs from the machine's Python with
/// `--python`, which keeps venv creation under a second).
pub struct Venv {
    _dir: tempfile::TempDir,
    pub python: PathBuf,
    pub cache: PathBuf,
}

impl Venv {
    pub fn new() -> Venv {
        let dir = tempfile::tempdir().expect("venv dir");
        let status = Command::new("python3")
            .args(["-m", "venv", "--without-pip"])
            .arg(dir.path().join("venv"))
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "python3 -m venv failed");
        Venv {
            python: dir.path().join("venv/bin/python"),
            cache: dir.path().join("uv-cache"),
            _dir: dir,
        }
    }

    /// `name==version` of everything installed, names normalized.
    pub fn installed(&self) -> BTreeMap<String, String> {
        let out = Command::new(&self.python)
            .args(["-c", "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'], d.version)"])
            .output()
            .expect("list distributions");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(name, version)| (normalize(name), version.to_owned()))
            .collect()
    }
}

pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub fn expected() -> BTreeMap<String, String> {
    EXPECTED
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// What one install did.
pub struct Install {
    pub output: Output,
    pub took: Duration,
}

impl Install {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }

    pub fn log(&self) -> String {
        format!(
            "exit {:?} after {:?}\nstdout:\n{}\nstderr:\n{}",
            self.output.status.code(),
            self.took,
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }
}

fn run(mut command: Command) -> Install {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "UV_EXTRA_INDEX_URL",
        "UV_FIND_LINKS",
        "UV_INDEX",
    ] {
        command.env_remove(var);
    }
    let started = Instant::now();
    let output = command.output().expect("run installer");
    Install {
        output,
        took: started.elapsed(),
    }
}

/// `pip install --no-cache-dir` into `venv` from `index_url`, without pip's retries (a test
/// of a failure would otherwise wait them out).
pub fn pip_install(venv: &Venv, index_url: &str, packages: &[&str]) -> Install {
    let mut command = pip_command(venv, index_url, packages);
    command.env("PIP_RETRIES", "0");
    run(command)
}

/// The same, with pip's own retries, as a user runs it.
pub fn pip_install_retrying(venv: &Venv, index_url: &str, packages: &[&str]) -> Install {
    run(pip_command(venv, index_url, packages))
}

fn pip_command(venv: &Venv, index_url: &str, packages: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command
        .args(["-m", "pip", "--python"])
        .arg(&venv.python)
        .args([
            "install",
            "--no-cache-dir",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .args(packages)
        .env("PIP_INDEX_URL", index_url)
        .env("PIP_TRUSTED_HOST", "127.0.0.1")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_DEFAULT_TIMEOUT", "60");
    command
}

/// The uv binary that `.ci/install/pypi.sh` installed.
pub fn uv_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import uv; print(uv.find_uv_bin())"])
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "uv is not installed: run .ci/install/pypi.sh\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// `uv pip install` into `venv` from `index_url`, with the venv's own (fresh) uv cache.
pub fn uv_install(venv: &Venv, index_url: &str, packages: &[&str]) -> Install {
    let mut command = Command::new(uv_bin());
    command
        .args(["pip", "install", "--python"])
        .arg(&venv.python)
        .args(packages)
        .env("UV_DEFAULT_INDEX", index_url)
        .env("UV_INDEX_URL", index_url)
        .env("UV_INSECURE_HOST", "127.0.0.1")
        .env("UV_CACHE_DIR", &venv.cache)
        .env("UV_NO_CONFIG", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_HTTP_TIMEOUT", "60")
        .env("UV_NO_PROGRESS", "1")
        // The debug log shows which requests uv sent (HEAD before range reads).
        .arg("--verbose");
    run(command)
}
