//! Which lockfile a file is, and the fetches it asks for. Parsing is the adapters' (pure, in
//! `larder_<ecosystem>::lockfile`); this only picks the parser and turns its answer into jobs.

use anyhow::{bail, Context, Result};
use larder_pypi::lockfile::{Pin, Tags};
use std::path::Path;
use std::process::Command;

/// One thing to fetch through larder.
#[derive(Clone, Debug)]
pub enum Job {
    /// GET `<larder>/<path>`, with extra request headers.
    Get {
        path: String,
        headers: Vec<(&'static str, String)>,
    },
    /// GET an absolute archive URI through larder as a forward proxy (apt).
    Proxy { uri: String },
    /// Find the file for a pin on its project's page through larder, then GET it.
    Python { pin: Pin },
    /// GET a crate's index file, then the `.crate` at the `dl` of larder's `config.json`.
    Cargo { pin: larder_cargo::lockfile::Pin },
}

impl Job {
    pub fn label(&self) -> String {
        match self {
            Job::Get { path, .. } => path.clone(),
            Job::Proxy { uri } => uri.clone(),
            Job::Python { pin } => format!("pypi {}=={}", pin.name, pin.version),
            Job::Cargo { pin } => format!("cargo {}@{}", pin.name, pin.version),
        }
    }
}

/// The lockfile formats `larder warm` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    PackageLock,
    PnpmLock,
    Requirements,
    UvLock,
    GoSum,
    AptUris,
    CargoLock,
    MavenDependencyList,
}

/// Recognizes a file by its name, and by its content for apt's `--print-uris` output (which
/// has no conventional name) and for `-` (standard input).
pub fn detect(path: &Path, bytes: &[u8]) -> Result<Format> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let looks_like_apt = bytes
        .split(|&b| b == b'\n')
        .any(|line| line.starts_with(b"'http://") || line.starts_with(b"'https://"));
    let looks_like_maven = bytes
        .windows(MAVEN_LIST_HEADING.len())
        .any(|w| w == MAVEN_LIST_HEADING);
    Ok(match name.as_str() {
        "package-lock.json" | "npm-shrinkwrap.json" => Format::PackageLock,
        "pnpm-lock.yaml" => Format::PnpmLock,
        "uv.lock" => Format::UvLock,
        "go.sum" => Format::GoSum,
        "cargo.lock" => Format::CargoLock,
        _ if looks_like_apt => Format::AptUris,
        _ if looks_like_maven => Format::MavenDependencyList,
        _ if name.ends_with(".txt") => Format::Requirements,
        _ if name.ends_with(".json") && bytes.windows(15).any(|w| w == b"lockfileVersion") => {
            Format::PackageLock
        }
        _ => bail!(
            "{}: not a lockfile larder knows (package-lock.json, pnpm-lock.yaml, requirements*.txt, uv.lock, go.sum, Cargo.lock, or the output of `apt-get install --print-uris` or `mvn dependency:list`)",
            path.display()
        ),
    })
}

/// The fetches a lockfile asks for.
pub fn jobs(format: Format, bytes: &[u8]) -> Result<Vec<Job>> {
    Ok(match format {
        Format::PackageLock | Format::PnpmLock => {
            let tarballs = if format == Format::PackageLock {
                larder_npm::lockfile::package_lock(bytes)?
            } else {
                larder_npm::lockfile::pnpm_lock(bytes)?
            };
            tarballs
                .into_iter()
                .map(|t| Job::Get {
                    path: format!("npm/{}", t.path),
                    headers: t
                        .integrity
                        .map(|i| (larder_npm::INTEGRITY_HEADER, i))
                        .into_iter()
                        .collect(),
                })
                .collect()
        }
        Format::Requirements | Format::UvLock => {
            let pins = if format == Format::Requirements {
                larder_pypi::lockfile::requirements_txt(bytes)?
            } else {
                larder_pypi::lockfile::uv_lock(bytes)?
            };
            pins.into_iter().map(|pin| Job::Python { pin }).collect()
        }
        Format::GoSum => larder_go::lockfile::go_sum(bytes)?
            .into_iter()
            .map(|path| Job::Get {
                path: format!("go/{path}"),
                headers: Vec::new(),
            })
            .collect(),
        Format::AptUris => larder_apt::print_uris::print_uris(bytes)?
            .into_iter()
            .map(|u| Job::Proxy { uri: u.uri })
            .collect(),
        Format::CargoLock => larder_cargo::lockfile::cargo_lock(bytes)?
            .into_iter()
            .map(|pin| Job::Cargo { pin })
            .collect(),
        Format::MavenDependencyList => {
            let text =
                std::str::from_utf8(bytes).context("mvn dependency:list output is not UTF-8")?;
            larder_maven::coordinates::paths(text, "central")
                .into_iter()
                .map(|path| Job::Get {
                    path: format!("maven/{path}"),
                    headers: Vec::new(),
                })
                .collect()
        }
    })
}

/// The heading `mvn dependency:list` prints above its coordinates, on the console and in
/// `-DoutputFile` (which has no conventional name).
const MAVEN_LIST_HEADING: &[u8] = b"The following files have been resolved:";

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

/// The wheel tags to pick files for: the running interpreter's, with `--python-version` and
/// `--platform` overriding its version and platforms.
pub fn target_tags(python_version: Option<&str>, platforms: &[String]) -> Result<Tags> {
    let asked = Command::new("python3").args(["-c", ASK_PYTHON]).output();
    let (mut version, mut own_platforms, own_tags) = match asked {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut version = None;
            let mut plats: Vec<String> = Vec::new();
            let mut tag_lines = String::new();
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
                        tag_lines.push_str(tag);
                        tag_lines.push('\n');
                    }
                    _ => {}
                }
            }
            (version, plats, Tags::from_lines(&tag_lines))
        }
        _ => (None, Vec::new(), Tags::default()),
    };
    if python_version.is_none() && platforms.is_empty() && !own_tags.0.is_empty() {
        return Ok(own_tags);
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
    Ok(Tags::for_cpython(major, minor, &own_platforms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name_and_content() {
        let detect = |name: &str, bytes: &[u8]| detect(Path::new(name), bytes).ok();
        assert_eq!(
            detect("a/package-lock.json", b"{}"),
            Some(Format::PackageLock)
        );
        assert_eq!(detect("pnpm-lock.yaml", b""), Some(Format::PnpmLock));
        assert_eq!(
            detect("requirements-dev.txt", b"x==1"),
            Some(Format::Requirements)
        );
        assert_eq!(
            detect("uris.txt", b"Reading\n'http://a/b.deb' b.deb 1 SHA256:x\n"),
            Some(Format::AptUris)
        );
        assert_eq!(
            detect("-", b"'http://a/b.deb' b.deb 1 SHA256:x\n"),
            Some(Format::AptUris)
        );
        assert_eq!(detect("go.sum", b""), Some(Format::GoSum));
        assert_eq!(detect("uv.lock", b""), Some(Format::UvLock));
        assert_eq!(
            detect(
                "deps.txt",
                b"\nThe following files have been resolved:\n   junit:junit:jar:4.13.2:test\n"
            ),
            Some(Format::MavenDependencyList)
        );
        assert_eq!(detect("Cargo.lock", b""), Some(Format::CargoLock));
        assert_eq!(detect("Gemfile.lock", b""), None);
    }
}
