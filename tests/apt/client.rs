//! The real `apt-get`, confined to a private state directory.
//!
//! Everything apt reads or writes is redirected under one temp dir through an `APT_CONFIG`
//! file: sources, keyrings, lists, the package cache, the dpkg status (empty, so nothing counts
//! as installed) and the `apt.conf.d` parts directory (empty, so the machine's own proxy or
//! docker-clean settings do not apply). `Debug::NoLocking` keeps it off the system's locks.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixture::{Repo, ROOT, SUITE};

/// How apt reaches the archive.
#[derive(Clone, Debug)]
pub enum Via {
    /// Straight from the fixture, for comparison.
    Direct,
    /// `Acquire::http::Proxy` pointing at larder; sources name the fixture itself.
    Proxy { larder: String },
    /// Sources name larder's `/apt/<remote>/` mirror path.
    Mirror { larder: String, remote: String },
}

pub struct Apt {
    temp: tempfile::TempDir,
}

/// What one apt-get run printed.
pub struct Run {
    pub ok: bool,
    pub output: String,
    pub elapsed: Duration,
}

impl Run {
    /// Fails the test with apt's own words unless it succeeded without a hash mismatch.
    #[track_caller]
    pub fn assert_ok(&self, what: &str) -> &Run {
        assert!(self.ok, "{what} failed:\n{}", self.output);
        self.assert_no_hash_mismatch(what);
        self
    }

    #[track_caller]
    pub fn assert_no_hash_mismatch(&self, what: &str) {
        for bad in [
            "Hash Sum mismatch",
            "Hashes of expected file",
            "File has unexpected size",
        ] {
            assert!(
                !self.output.contains(bad),
                "{what}: apt saw {bad:?}:\n{}",
                self.output
            );
        }
    }
}

impl Apt {
    /// A fresh, empty apt state for `repo` served at `fixture_url` (`http://127.0.0.1:PORT`).
    pub fn new(repo: &Repo, fixture_url: &str, via: &Via) -> Apt {
        let signed_by = format!("signed-by={}", repo.keyring().display());
        Apt::with_options(fixture_url, via, &signed_by, "")
    }

    /// Like [`Apt::new`], with the source line's `[options]` and extra apt.conf lines.
    pub fn with_options(
        fixture_url: &str,
        via: &Via,
        source_options: &str,
        extra_conf: &str,
    ) -> Apt {
        let base = match via {
            Via::Direct | Via::Proxy { .. } => format!("{fixture_url}/{ROOT}"),
            Via::Mirror { larder, remote } => format!("{larder}/apt/{remote}/{ROOT}"),
        };
        let sources = format!("deb [{source_options}] {base} {SUITE} main\n");
        let proxy = match via {
            Via::Proxy { larder } => Some(larder.as_str()),
            _ => None,
        };
        Apt::with_sources(&sources, proxy, extra_conf)
    }

    /// Any `sources.list`, through `proxy` (larder's URL) or direct.
    pub fn with_sources(sources: &str, proxy: Option<&str>, extra_conf: &str) -> Apt {
        let temp = tempfile::tempdir().expect("apt temp dir");
        let dir = temp.path();
        for sub in [
            "lists/partial",
            "cache/archives/partial",
            "etc/parts",
            "etc/sources.d",
            "etc/trusted.d",
            "etc/prefs.d",
            "log",
        ] {
            std::fs::create_dir_all(dir.join(sub)).expect("apt dirs");
        }
        std::fs::write(dir.join("status"), "").expect("dpkg status");
        std::fs::write(dir.join("etc/empty"), "").expect("empty file");
        std::fs::write(dir.join("etc/sources.list"), sources).expect("sources.list");
        let proxy = match proxy {
            Some(larder) => format!("Acquire::http::Proxy \"{larder}/\";\n"),
            None => "Acquire::http::Proxy \"DIRECT\";\n".to_string(),
        };
        let d = dir.display();
        let config = format!(
            "Dir::Etc::Parts \"{d}/etc/parts\";\n\
             Dir::Etc::main \"{d}/etc/empty\";\n\
             Dir::Etc::SourceList \"{d}/etc/sources.list\";\n\
             Dir::Etc::SourceParts \"{d}/etc/sources.d\";\n\
             Dir::Etc::Trusted \"{d}/etc/empty\";\n\
             Dir::Etc::TrustedParts \"{d}/etc/trusted.d\";\n\
             Dir::Etc::Preferences \"{d}/etc/empty\";\n\
             Dir::Etc::PreferencesParts \"{d}/etc/prefs.d\";\n\
             Dir::State \"{d}\";\n\
             Dir::State::Lists \"{d}/lists\";\n\
             Dir::State::status \"{d}/status\";\n\
             Dir::Cache \"{d}/cache\";\n\
             Dir::Log \"{d}/log\";\n\
             Debug::NoLocking \"1\";\n\
             APT::Sandbox::User \"root\";\n\
             APT::Architecture \"amd64\";\n\
             APT::Architectures {{ \"amd64\"; }};\n\
             Acquire::Languages \"none\";\n\
             Acquire::Retries \"0\";\n\
             Acquire::http::Timeout \"20\";\n\
             {proxy}{extra_conf}\n"
        );
        std::fs::write(dir.join("apt.conf"), config).expect("apt.conf");
        Apt { temp }
    }

    fn apt_get(&self, args: &[&str]) -> Run {
        let started = Instant::now();
        let output = Command::new("apt-get")
            .env("APT_CONFIG", self.temp.path().join("apt.conf"))
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTPS_PROXY")
            .args(["-q", "-y"])
            .args(args)
            .output()
            .expect("run apt-get (run .ci/install/apt.sh)");
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        // apt-get update exits 0 on some fetch failures and says so with W:/E: lines.
        let failed = text
            .lines()
            .any(|l| l.starts_with("E:") || l.starts_with("W: Failed") || l.starts_with("Err:"));
        Run {
            ok: output.status.success() && !failed,
            output: text,
            elapsed: started.elapsed(),
        }
    }

    pub fn update(&self) -> Run {
        self.apt_get(&["update"])
    }

    pub fn download(&self, packages: &[&str]) -> Run {
        let mut args = vec!["install", "--download-only"];
        args.extend_from_slice(packages);
        self.apt_get(&args)
    }

    /// `apt-cache policy`-free check: the candidate version apt now knows for `package`.
    pub fn knows(&self, package: &str) -> bool {
        let output = Command::new("apt-cache")
            .env("APT_CONFIG", self.temp.path().join("apt.conf"))
            .args(["show", "--no-all-versions", package])
            .output()
            .expect("apt-cache");
        output.status.success()
            && String::from_utf8_lossy(&output.stdout).contains(&format!("Package: {package}"))
    }

    /// A package apt downloaded into its cache.
    pub fn downloaded(&self, name: &str, version: &str) -> Vec<u8> {
        let path = self.archives().join(format!("{name}_{version}_all.deb"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }

    fn archives(&self) -> PathBuf {
        self.temp.path().join("cache/archives")
    }
}
