//! The real `cargo`, with a fresh `CARGO_HOME` whose config sends crates.io (or a named
//! registry) to a sparse index: larder's, or the fixture's for comparison.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct CargoHome {
    pub home: PathBuf,
}

/// What one cargo run printed.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    #[track_caller]
    pub fn assert_ok(&self, what: &str) -> &Run {
        assert!(self.ok, "{what} failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
}

impl CargoHome {
    /// A `CARGO_HOME` under `dir` that replaces crates.io with the sparse index at `index`
    /// (`http://127.0.0.1:PORT/cargo/crates-io/`), as a Dockerfile's RUN step would.
    pub fn replacing_crates_io(dir: &Path, index: &str) -> CargoHome {
        let config = format!(
            "[source.crates-io]\nreplace-with = \"larder\"\n\n[source.larder]\nregistry = \"sparse+{index}\"\n\n[net]\nretry = 0\n"
        );
        CargoHome::with_config(dir, &config)
    }

    /// A `CARGO_HOME` with a named registry `name` at `index`.
    pub fn with_registry(dir: &Path, name: &str, index: &str) -> CargoHome {
        let config =
            format!("[registries.{name}]\nindex = \"sparse+{index}\"\n\n[net]\nretry = 0\n");
        CargoHome::with_config(dir, &config)
    }

    fn with_config(dir: &Path, config: &str) -> CargoHome {
        let home = dir.join("cargo-home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("config.toml"), config).unwrap();
        CargoHome { home }
    }

    /// `cargo <args>` in `project`, with only this home's configuration. `extra_env` adds
    /// variables (`CARGO_HTTP_DEBUG`).
    pub fn run(&self, project: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let started = Instant::now();
        let mut command = Command::new("cargo");
        command
            .args(args)
            .current_dir(project)
            .env("CARGO_HOME", &self.home)
            .env("CARGO_TARGET_DIR", project.join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_INCREMENTAL", "0")
            // The toolchain comes from the machine's rustup, whatever CARGO_HOME says.
            .env("RUSTUP_HOME", rustup_home())
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("CARGO_REGISTRIES_CRATES_IO_PROTOCOL")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy");
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let output = command.output().expect("run cargo");
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

fn rustup_home() -> PathBuf {
    if let Some(home) = std::env::var_os("RUSTUP_HOME") {
        return home.into();
    }
    let user = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&user).join(".rustup")
}
