//! The real go command, run hermetically: a cleared environment, its own GOPATH and GOMODCACHE,
//! and only the proxy and checksum database settings a test gives it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One simulated build machine: a fresh module cache and GOPATH under `root`.
pub struct GoEnv {
    pub root: PathBuf,
    pub goproxy: String,
    /// `off`, or a verifier key (`name+hash+key`).
    pub gosumdb: String,
}

/// What one go command run printed, and how long it took.
pub struct Run {
    pub output: Output,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Panics with everything the go command said unless it succeeded.
    pub fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            self.ok(),
            "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.output.status,
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The build cache is shared by every test of this target: compiled packages do not depend on
/// where module sources came from, and a cold build cache only makes the tests slower.
fn shared_gocache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-build-cache")
}

impl GoEnv {
    pub fn new(root: &Path, goproxy: &str, gosumdb: &str) -> GoEnv {
        std::fs::create_dir_all(root).unwrap();
        GoEnv {
            root: root.to_path_buf(),
            goproxy: goproxy.to_string(),
            gosumdb: gosumdb.to_string(),
        }
    }

    pub fn modcache(&self) -> PathBuf {
        self.root.join("modcache")
    }

    /// Runs `go <args>` in `dir`.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let home = self.root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut command = Command::new("go");
        command
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("GOENV", "off")
            .env("GO111MODULE", "on")
            .env("GOWORK", "off")
            .env("GOPATH", self.root.join("gopath"))
            .env("GOMODCACHE", self.modcache())
            .env("GOCACHE", shared_gocache())
            .env("GOPROXY", &self.goproxy)
            .env("GOSUMDB", &self.gosumdb)
            .env("GONOSUMDB", "")
            .env("GOPRIVATE", "")
            .env("GOINSECURE", "")
            .env("GOFLAGS", "-mod=mod")
            // Go 1.21+ would otherwise fetch a newer toolchain through the proxy when a go.mod
            // asks for one; Debian's 1.19 ignores it.
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .stdin(Stdio::null());
        let started = Instant::now();
        let output = command.output().unwrap_or_else(|err| {
            panic!("cannot run the go command ({err}); run .ci/install/go.sh")
        });
        Run {
            output,
            elapsed: started.elapsed(),
        }
    }
}

/// Builds the checksum database fixture (tests/go/sumdb_fixture) in GOPATH mode against Debian's
/// golang-golang-x-mod-dev sources. Returns the binary.
pub fn build_sumdb_fixture(out_dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/sumdb_fixture/main.go");
    let binary = out_dir.join("sumdb_fixture");
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(&source)
        .current_dir(out_dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", out_dir)
        .env("GOENV", "off")
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", shared_gocache())
        .env("CGO_ENABLED", "0")
        .output()
        .expect("go command (run .ci/install/go.sh)");
    assert!(
        output.status.success(),
        "building the checksum database fixture failed (is golang-golang-x-mod-dev installed? run .ci/install/go.sh):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}
