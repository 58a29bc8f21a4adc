//! Which lockfile a file is, and the fetches it asks for. Formats and parsing are the adapters'
//! (pure, registered as [`larder_adapter::Lockfile`]s on their factories); this picks the format
//! and does the I/O they need: asking `python3` for its wheel tags.

use anyhow::{bail, Context, Result};
use larder_adapter::{
    lockfile, AdapterFactory, Fetch, Lockfile, Platform, Probe, PythonTarget, Target,
};
use std::path::Path;
use std::process::Command;
use url::Url;

/// One thing to fetch through larder, for one ecosystem.
#[derive(Debug)]
pub struct Job {
    /// The adapter's name: its mount point under larder's URL.
    pub ecosystem: &'static str,
    pub fetch: Fetch,
}

impl Job {
    pub fn label(&self) -> String {
        label(self.ecosystem, &self.fetch)
    }
}

fn label(ecosystem: &str, fetch: &Fetch) -> String {
    match fetch {
        Fetch::Get { path, .. } => format!("{ecosystem}/{path}"),
        Fetch::Proxy { uri } => uri.clone(),
        Fetch::Pick { label, .. } => format!("{ecosystem} {label}"),
        Fetch::Refused { label, .. } => label.clone(),
        Fetch::When { fetch, .. } => label(ecosystem, fetch),
    }
}

/// A lockfile format, and the ecosystem whose adapter reads it.
#[derive(Clone, Copy, Debug)]
pub struct Format {
    pub ecosystem: &'static str,
    pub lockfile: &'static Lockfile,
}

/// Recognizes a file by its name and content among the formats `factories` read (`-` is
/// standard input, known by content alone).
pub fn detect(factories: &[&'static AdapterFactory], path: &Path, bytes: &[u8]) -> Result<Format> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let all: Vec<&'static Lockfile> = factories.iter().flat_map(|f| f.lockfiles).collect();
    let Some(found) = lockfile::recognize(&all, &name, bytes) else {
        bail!(
            "{}: not a lockfile larder knows ({})",
            path.display(),
            lockfile::describe(&all)
        );
    };
    let ecosystem = factories
        .iter()
        .find(|f| f.lockfiles.iter().any(|l| std::ptr::eq(l, found)))
        .map_or("", |f| f.name);
    Ok(Format {
        ecosystem,
        lockfile: found,
    })
}

/// The fetches a lockfile asks for; `larder` is larder's base URL as warm reaches it.
pub fn jobs(format: Format, bytes: &[u8], larder: &Url) -> Result<Vec<Job>> {
    Ok((format.lockfile.parse)(bytes, larder)?
        .into_iter()
        .map(|fetch| Job {
            ecosystem: format.ecosystem,
            fetch,
        })
        .collect())
}

/// What the user said about the target machine; the rest is this machine's.
#[derive(Clone, Debug, Default)]
pub struct TargetFlags {
    pub python_version: Option<String>,
    /// Wheel platform tags.
    pub platforms: Vec<String>,
    /// npm's names: `linux`, `x64`, `glibc`.
    pub os: Option<String>,
    pub cpu: Option<String>,
    pub libc: Option<String>,
    /// Prepare for every platform: skip no package for its `os`/`cpu`.
    pub all_platforms: bool,
}

/// What the target machine is, as far as `needs` asks.
pub fn target(needs: &[Probe], flags: &TargetFlags) -> Result<Target> {
    let mut target = Target::default();
    if needs.contains(&Probe::Python) {
        target.python = Some(python_target(
            flags.python_version.as_deref(),
            &flags.platforms,
        )?);
    }
    if needs.contains(&Probe::Platform) && !flags.all_platforms {
        target.platform = Some(Platform {
            os: flags
                .os
                .clone()
                .unwrap_or_else(|| node_name(std::env::consts::OS)),
            cpu: flags
                .cpu
                .clone()
                .unwrap_or_else(|| node_name(std::env::consts::ARCH)),
            libc: flags.libc.clone().or_else(own_libc),
        });
    }
    Ok(target)
}

/// Node.js's name (`process.platform`, `process.arch`) for Rust's `std::env::consts` one.
fn node_name(rust: &str) -> String {
    match rust {
        "macos" => "darwin",
        "windows" => "win32",
        "x86_64" => "x64",
        "x86" => "ia32",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
    .to_string()
}

/// This machine's C library on Linux, as npm names it: musl when its dynamic loader is there.
fn own_libc() -> Option<String> {
    if std::env::consts::OS != "linux" {
        return None;
    }
    let musl = std::fs::read_dir("/lib").ok()?.flatten().any(|entry| {
        entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with("ld-musl-"))
    });
    Some(if musl { "musl" } else { "glibc" }.to_string())
}

/// The jobs for `target`: each [`Fetch::When`] unwrapped where it applies and dropped where it
/// does not; also how many were dropped.
pub fn for_target(jobs: Vec<Job>, target: &Target) -> (Vec<Job>, usize) {
    let mut kept = Vec::with_capacity(jobs.len());
    let mut skipped = 0;
    for job in jobs {
        let mut fetch = job.fetch;
        loop {
            match fetch {
                Fetch::When {
                    applies,
                    fetch: inner,
                } => {
                    if !applies(target) {
                        skipped += 1;
                        break;
                    }
                    fetch = *inner;
                }
                other => {
                    kept.push(Job {
                        ecosystem: job.ecosystem,
                        fetch: other,
                    });
                    break;
                }
            }
        }
    }
    (kept, skipped)
}

/// What `python3` says about itself: its `sys_tags()` (best first), or its version and platform
/// when `packaging` is not importable.
const ASK_PYTHON: &str = r#"
import sys
try:
    from packaging.tags import sys_tags
except ImportError:
    try:
        from pip._vendor.packaging.tags import sys_tags
    except ImportError:
        sys_tags = None
print("version", sys.version_info[0], sys.version_info[1])
if sys_tags:
    for t in sys_tags():
        print(t)
else:
    import sysconfig
    print("platform", sysconfig.get_platform().replace("-", "_").replace(".", "_"))
"#;

/// The wheels to pick: the running interpreter's tags, or, with `--python-version` and
/// `--platform` overriding its version and platforms, a CPython version and platforms.
fn python_target(python_version: Option<&str>, platforms: &[String]) -> Result<PythonTarget> {
    let asked = Command::new("python3").args(["-c", ASK_PYTHON]).output();
    let (mut version, mut own_platforms, own_tags) = match asked {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut version = None;
            let mut plats: Vec<String> = Vec::new();
            let mut tag_lines = Vec::new();
            for line in text.lines() {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words[..] {
                    ["version", major, minor] => {
                        version = major.parse::<u32>().ok().zip(minor.parse::<u32>().ok())
                    }
                    ["platform", plat] => plats.push(plat.to_string()),
                    [tag] => {
                        if let Some(plat) = tag.splitn(3, '-').nth(2) {
                            if plat != "any" && !plats.iter().any(|p| p == plat) {
                                plats.push(plat.to_string());
                            }
                        }
                        tag_lines.push(tag.to_string());
                    }
                    _ => {}
                }
            }
            (version, plats, tag_lines)
        }
        _ => (None, Vec::new(), Vec::new()),
    };
    if python_version.is_none() && platforms.is_empty() && !own_tags.is_empty() {
        return Ok(PythonTarget::Tags(own_tags));
    }
    if let Some(raw) = python_version {
        let parsed = raw
            .split_once('.')
            .and_then(|(a, b)| a.parse::<u32>().ok().zip(b.parse::<u32>().ok()));
        version = Some(parsed.with_context(|| {
            format!("--python-version {raw:?}: expected MAJOR.MINOR, like 3.12")
        })?);
    }
    if !platforms.is_empty() {
        own_platforms = platforms.to_vec();
    }
    let Some((major, minor)) = version else {
        bail!("cannot ask python3 for its version and wheel tags; pass --python-version (and --platform)");
    };
    Ok(PythonTarget::Version {
        major,
        minor,
        platforms: own_platforms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_and_content() {
        let factories: Vec<&AdapterFactory> = crate::adapters::all().iter().collect();
        let detect = |name: &str, bytes: &[u8]| {
            detect(&factories, Path::new(name), bytes)
                .ok()
                .map(|f| (f.ecosystem, f.lockfile.kind))
        };
        assert_eq!(
            detect("a/package-lock.json", b"{}"),
            Some(("npm", "package-lock.json"))
        );
        assert_eq!(
            detect("npm-shrinkwrap.json", b"{}"),
            Some(("npm", "package-lock.json"))
        );
        assert_eq!(
            detect("old.json", b"{\"lockfileVersion\": 3}"),
            Some(("npm", "package-lock.json"))
        );
        assert_eq!(detect("other.json", b"{}"), None);
        assert_eq!(
            detect("pnpm-lock.yaml", b""),
            Some(("npm", "pnpm-lock.yaml"))
        );
        assert_eq!(
            detect("requirements-dev.txt", b"x==1"),
            Some(("pypi", "requirements*.txt"))
        );
        let apt = Some(("apt", "the output of `apt-get install --print-uris`"));
        assert_eq!(
            detect("uris.txt", b"Reading\n'http://a/b.deb' b.deb 1 SHA256:x\n"),
            apt
        );
        assert_eq!(detect("-", b"'http://a/b.deb' b.deb 1 SHA256:x\n"), apt);
        assert_eq!(detect("go.sum", b""), Some(("go", "go.sum")));
        assert_eq!(detect("uv.lock", b""), Some(("pypi", "uv.lock")));
        assert_eq!(detect("Cargo.lock", b""), Some(("cargo", "Cargo.lock")));
        assert_eq!(detect("Gemfile.lock", b""), None);
    }

    #[test]
    fn an_unknown_file_lists_every_format() {
        let factories: Vec<&AdapterFactory> = crate::adapters::all().iter().collect();
        let err = detect(&factories, Path::new("Gemfile.lock"), b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Gemfile.lock: not a lockfile larder knows (package-lock.json, pnpm-lock.yaml, \
             requirements*.txt, uv.lock, go.sum, the output of `apt-get install --print-uris`, \
             Cargo.lock, or the output of `mvn dependency:list`)"
        );
    }

    #[test]
    fn jobs_are_named_as_larder_paths() {
        let factories: Vec<&AdapterFactory> = crate::adapters::all().iter().collect();
        let larder = Url::parse("http://127.0.0.1:7878").unwrap();
        let sum =
            b"golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n";
        let format = detect(&factories, Path::new("go.sum"), sum).unwrap();
        let labels: Vec<String> = jobs(format, sum, &larder)
            .unwrap()
            .iter()
            .map(Job::label)
            .collect();
        assert_eq!(labels, ["go/golang.org/x/text/@v/v0.3.0.mod"]);

        let uris = b"'https://deb.example/pool/a.deb' a.deb 1 SHA256:x\n\
                     'http://127.0.0.1:7878/apt/r/pool/b.deb' b.deb 1 SHA256:y\n";
        let format = detect(&factories, Path::new("-"), uris).unwrap();
        let found = jobs(format, uris, &larder).unwrap();
        let https = found.iter().find(|j| j.label().starts_with("https://"));
        let larders = found.iter().find(|j| j.label().starts_with("http://127."));
        assert!(
            matches!(https.map(|j| &j.fetch), Some(Fetch::Refused { why, .. }) if why.contains("mirror")),
            "{found:?}"
        );
        assert!(
            matches!(larders.map(|j| &j.fetch), Some(Fetch::Proxy { .. })),
            "{found:?}"
        );
    }
}
