//! The tarballs a lockfile names, as larder paths: what `larder warm` fetches for npm.
//!
//! Pure functions from a lockfile's bytes to a list of [`Tarball`]s. Formats: npm's
//! `package-lock.json` (lockfileVersion 2 and 3: the `packages` map) and `pnpm-lock.yaml`
//! (versions 5 to 9: the `packages:` section, read line by line, since only its keys and
//! `resolution` lines matter). Malformed input is an error naming the line or key, never a panic.

use crate::name::PackageName;
use crate::platform::Platforms;
use larder_adapter::{Fetch, Lockfile, Match, Probe};
use std::fmt;

/// The formats `larder warm` reads for npm.
pub const LOCKFILES: [Lockfile; 2] = [
    Lockfile {
        kind: "package-lock.json",
        recognize: is_package_lock,
        parse: |bytes, _| fetches(package_lock(bytes)?),
        needs: &[Probe::Platform],
    },
    Lockfile {
        kind: "pnpm-lock.yaml",
        recognize: |name, _| (name == "pnpm-lock.yaml").then_some(Match::Name),
        parse: |bytes, _| fetches(pnpm_lock(bytes)?),
        needs: &[Probe::Platform],
    },
];

/// `package-lock.json` and `npm-shrinkwrap.json` by name; another `.json` by its
/// `lockfileVersion` key.
fn is_package_lock(name: &str, bytes: &[u8]) -> Option<Match> {
    match name {
        "package-lock.json" | "npm-shrinkwrap.json" => Some(Match::Name),
        _ if name.ends_with(".json") && memmem(bytes, b"lockfileVersion") => Some(Match::Pattern),
        _ => None,
    }
}

fn memmem(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Each tarball, with the lockfile's integrity in the header npm sends it in, so that larder
/// verifies against the lockfile as `npm ci` would; a package for some platforms only, for the
/// target's (every platform when the target names none).
fn fetches(tarballs: Vec<Tarball>) -> Result<Vec<Fetch>, larder_adapter::LockfileError> {
    Ok(tarballs
        .into_iter()
        .map(|t| {
            let get = Fetch::Get {
                path: t.path,
                headers: t
                    .integrity
                    .map(|i| (crate::INTEGRITY_HEADER, i))
                    .into_iter()
                    .collect(),
            };
            if t.platforms.is_any() {
                return get;
            }
            let platforms = t.platforms;
            Fetch::When {
                applies: Box::new(move |target| {
                    target.platform.as_ref().is_none_or(|p| platforms.allow(p))
                }),
                fetch: Box::new(get),
            }
        })
        .collect())
}

impl From<LockfileError> for larder_adapter::LockfileError {
    fn from(err: LockfileError) -> Self {
        larder_adapter::LockfileError(err.0)
    }
}

/// One tarball to fetch: the path under larder's `/npm/` prefix and the integrity the lockfile
/// expects (sent as `pacote-integrity`, so larder verifies against the lockfile, as `npm ci`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tarball {
    /// `react/-/react-18.2.0.tgz`, `@scope/name/-/name-1.0.0.tgz` (no leading slash).
    pub path: String,
    pub integrity: Option<String>,
    /// The package's `os`/`cpu`/`libc`: npm installs it only on those platforms.
    pub platforms: Platforms,
}

/// Why a lockfile could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockfileError(pub String);

impl fmt::Display for LockfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LockfileError {}

/// The tarball path of `name@version` under `/npm/`.
pub fn tarball_path(name: &str, version: &str) -> Result<String, LockfileError> {
    let (scope, bare) = match name.starts_with('@') {
        true => match name.split_once('/') {
            Some((scope, bare)) => (Some(scope), bare),
            None => return Err(LockfileError(format!("invalid package name {name:?}"))),
        },
        false => (None, name),
    };
    let parsed = PackageName::parse(scope, bare)
        .map_err(|err| LockfileError(format!("invalid package name {name:?}: {err}")))?;
    let version_ok = !version.is_empty()
        && version.len() <= 256
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'_'));
    if !version_ok {
        return Err(LockfileError(format!(
            "invalid version {version:?} for {name}"
        )));
    }
    Ok(format!("{name}/-/{}-{version}.tgz", parsed.bare()))
}

/// The tarballs of an npm `package-lock.json` (or `npm-shrinkwrap.json`), lockfileVersion 2 or 3.
/// Skips the root, links (workspaces), bundled dependencies and non-registry sources (git,
/// `file:`, tarball URLs whose file name is not the registry's for that name and version).
/// Entries without `resolved` are fetched by name and version, as npm does.
pub fn package_lock(bytes: &[u8]) -> Result<Vec<Tarball>, LockfileError> {
    let doc: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| LockfileError(format!("not a JSON package-lock: {err}")))?;
    let version = doc.get("lockfileVersion").and_then(|v| v.as_u64());
    let Some(packages) = doc.get("packages").and_then(|p| p.as_object()) else {
        return Err(LockfileError(match version {
            Some(1) => "lockfileVersion 1 has no \"packages\" map; run `npm install --lockfile-version 3` to upgrade it".into(),
            _ => "no \"packages\" map: not a package-lock.json of lockfileVersion 2 or 3".into(),
        }));
    };
    let mut out = Vec::new();
    for (key, entry) in packages {
        if key.is_empty() {
            continue;
        }
        let flag = |name: &str| entry.get(name).and_then(|v| v.as_bool()) == Some(true);
        if flag("link") || flag("inBundle") || flag("bundled") {
            continue;
        }
        // Without `resolved` (npm's `omit-lockfile-registry-resolved`), npm fetches from the
        // configured registry by name and version, and so does warm.
        let resolved = entry.get("resolved").and_then(|v| v.as_str());
        if resolved.is_some_and(|r| !(r.starts_with("https://") || r.starts_with("http://"))) {
            continue; // git, file:, a directory: not the registry's.
        }
        if entry.get("version").is_none() && resolved.is_none() {
            continue; // a workspace folder or an optional dependency never installed
        }
        let name = match entry.get("name").and_then(|v| v.as_str()) {
            Some(name) => name,
            None => match key.rfind("node_modules/") {
                Some(at) => &key[at + "node_modules/".len()..],
                None => continue, // a workspace folder
            },
        };
        let version = entry
            .get("version")
            .and_then(|v| v.as_str())
            .ok_or_else(|| LockfileError(format!("package {key:?} has no version")))?;
        let path =
            tarball_path(name, version).map_err(|err| LockfileError(format!("{key}: {err}")))?;
        if resolved.is_some_and(|r| !r.ends_with(&path[path.rfind('/').unwrap_or(0)..])) {
            continue; // a tarball URL that is not the registry's layout for this name
        }
        let integrity = entry
            .get("integrity")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let list = |field: &str| -> Vec<String> {
            match entry.get(field) {
                Some(serde_json::Value::String(one)) => vec![one.clone()],
                Some(serde_json::Value::Array(all)) => all
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let platforms = Platforms {
            os: list("os"),
            cpu: list("cpu"),
            libc: list("libc"),
        };
        out.push(Tarball {
            path,
            integrity,
            platforms,
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The tarballs of a `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x).
pub fn pnpm_lock(bytes: &[u8]) -> Result<Vec<Tarball>, LockfileError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LockfileError("pnpm-lock.yaml is not UTF-8".into()))?;
    let mut in_packages = false;
    let mut seen_packages = false;
    let mut current: Option<(usize, String, String)> = None; // line, name, version
    let mut out = Vec::new();
    let mut integrity: Option<String> = None;
    let mut platforms = Platforms::default();
    let mut skip_current = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_end();
        if trimmed.is_empty() || trimmed.trim_start().starts_with('#') {
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start().len();
        if indent == 0 {
            if in_packages {
                if !skip_current {
                    finish(
                        current.take(),
                        integrity.take(),
                        std::mem::take(&mut platforms),
                        &mut out,
                    )?;
                }
                current = None;
            }
            in_packages = trimmed == "packages:";
            seen_packages |= in_packages;
            continue;
        }
        if !in_packages {
            continue;
        }
        if indent == 2 {
            if !skip_current {
                finish(
                    current.take(),
                    integrity.take(),
                    std::mem::take(&mut platforms),
                    &mut out,
                )?;
            }
            integrity = None;
            platforms = Platforms::default();
            let key = trimmed.trim_start().strip_suffix(':').ok_or_else(|| {
                LockfileError(format!(
                    "pnpm-lock.yaml line {number}: expected a package key ending in ':'"
                ))
            })?;
            let key = key.trim_matches(|c| c == '\'' || c == '"');
            let (name, version) = split_pnpm_key(key).ok_or_else(|| {
                LockfileError(format!(
                    "pnpm-lock.yaml line {number}: cannot read a name and version from {key:?}"
                ))
            })?;
            // Versions that are URLs or paths (tarball:, git, file:) are not the registry's.
            skip_current = version.contains(':') || version.contains('/');
            current = Some((number, name, version));
            continue;
        }
        let body = trimmed.trim_start();
        if let Some(rest) = body.strip_prefix("resolution:") {
            if rest.contains("tarball:") || rest.contains("repo:") || rest.contains("directory:") {
                skip_current = true;
            }
            if let Some(at) = rest.find("integrity:") {
                let value = rest[at + "integrity:".len()..]
                    .trim_start()
                    .split(|c: char| c == ',' || c == '}' || c.is_whitespace())
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c| c == '\'' || c == '"');
                if !value.is_empty() {
                    integrity = Some(value.to_string());
                }
            }
        } else if let Some(rest) = body.strip_prefix("integrity:") {
            // The multi-line form: `resolution:` then `integrity: …` one level deeper.
            let value = rest.trim().trim_matches(|c| c == '\'' || c == '"');
            if !value.is_empty() {
                integrity = Some(value.to_string());
            }
        } else if body.starts_with("tarball:") {
            skip_current = true;
        } else if let Some(rest) = body.strip_prefix("os:") {
            platforms.os = flow_list(rest);
        } else if let Some(rest) = body.strip_prefix("cpu:") {
            platforms.cpu = flow_list(rest);
        } else if let Some(rest) = body.strip_prefix("libc:") {
            platforms.libc = flow_list(rest);
        }
    }
    if in_packages && !skip_current {
        finish(current.take(), integrity.take(), platforms, &mut out)?;
    }
    if !seen_packages && !text.contains("lockfileVersion") {
        return Err(LockfileError(
            "no lockfileVersion and no packages: section: not a pnpm-lock.yaml".into(),
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn finish(
    current: Option<(usize, String, String)>,
    integrity: Option<String>,
    platforms: Platforms,
    out: &mut Vec<Tarball>,
) -> Result<(), LockfileError> {
    if let Some((line, name, version)) = current {
        let path = tarball_path(&name, &version)
            .map_err(|err| LockfileError(format!("pnpm-lock.yaml line {line}: {err}")))?;
        out.push(Tarball {
            path,
            integrity,
            platforms,
        });
    }
    Ok(())
}

/// `[darwin, linux]` (YAML's flow sequence, as pnpm writes `os:` and `cpu:`), or one plain value.
fn flow_list(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(raw);
    inner
        .split(',')
        .map(|item| item.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// `/name@1.0.0`, `name@1.0.0(peer@2.0.0)`, `/@scope/name@1.0.0`, `/name/1.0.0_peer@2.0.0` (v5).
fn split_pnpm_key(key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next()?;
    let name_start = usize::from(key.starts_with('@'));
    if let Some(at) = key[name_start..].find('@') {
        let at = at + name_start;
        let (name, version) = (&key[..at], &key[at + 1..]);
        // v6+ keys: the name has no `/` (one after a scope); otherwise a v5 key with peers.
        if name.matches('/').count() == name_start {
            if name.len() <= name_start || version.is_empty() {
                return None;
            }
            return Some((name.to_string(), version.to_string()));
        }
    }
    // v5: `name/version` or `@scope/name/version`, peers after `_`.
    let at = key.rfind('/')?;
    let (name, version) = (&key[..at], &key[at + 1..]);
    let version = version.split('_').next()?;
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_string(), version.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warmed_for(fetches: &[Fetch], platform: Option<(&str, &str)>) -> Vec<String> {
        let target = larder_adapter::Target {
            platform: platform.map(|(os, cpu)| larder_adapter::Platform {
                os: os.into(),
                cpu: cpu.into(),
                libc: Some("glibc".into()),
            }),
            ..Default::default()
        };
        let mut paths = Vec::new();
        for fetch in fetches {
            let fetch = match fetch {
                Fetch::When { applies, fetch } if applies(&target) => fetch.as_ref(),
                Fetch::When { .. } => continue,
                other => other,
            };
            if let Fetch::Get { path, .. } = fetch {
                paths.push(path.clone());
            }
        }
        paths
    }

    #[test]
    fn optional_packages_for_other_platforms_are_skipped_unless_every_platform_is_wanted() {
        let lock = br#"{"lockfileVersion": 3, "packages": {
            "": {"name": "app"},
            "node_modules/tsc": {"version": "1.0.0", "resolved": "https://r/tsc/-/tsc-1.0.0.tgz",
                "optionalDependencies": {"@t/tsc-linux-x64": "1.0.0", "@t/tsc-darwin-arm64": "1.0.0"}},
            "node_modules/@t/tsc-linux-x64": {"version": "1.0.0", "optional": true,
                "os": ["linux"], "cpu": ["x64"], "libc": ["glibc"]},
            "node_modules/@t/tsc-linux-x64-musl": {"version": "1.0.0", "optional": true,
                "os": ["linux"], "cpu": ["x64"], "libc": ["musl"]},
            "node_modules/@t/tsc-darwin-arm64": {"version": "1.0.0", "optional": true,
                "os": ["darwin"], "cpu": ["arm64"]},
            "node_modules/@t/tsc-win32-x64": {"version": "1.0.0", "optional": true,
                "os": "win32", "cpu": ["x64"]}
        }}"#;
        let larder = url::Url::parse("http://127.0.0.1:7878").unwrap();
        let fetches = (LOCKFILES[0].parse)(lock, &larder).unwrap();
        assert_eq!(
            warmed_for(&fetches, Some(("linux", "x64"))),
            [
                "@t/tsc-linux-x64/-/tsc-linux-x64-1.0.0.tgz",
                "tsc/-/tsc-1.0.0.tgz"
            ]
        );
        assert_eq!(
            warmed_for(&fetches, Some(("darwin", "arm64"))),
            [
                "@t/tsc-darwin-arm64/-/tsc-darwin-arm64-1.0.0.tgz",
                "tsc/-/tsc-1.0.0.tgz"
            ]
        );
        assert_eq!(warmed_for(&fetches, None).len(), 5, "every platform");

        let pnpm = b"lockfileVersion: '9.0'\npackages:\n  '@t/tsc-darwin-arm64@1.0.0':\n    resolution: {integrity: sha512-D=}\n    cpu: [arm64]\n    os: [darwin]\n  '@t/tsc-linux-x64@1.0.0':\n    resolution: {integrity: sha512-L=}\n    cpu: [x64]\n    os: [linux]\n  tsc@1.0.0:\n    resolution: {integrity: sha512-T=}\n";
        let fetches = (LOCKFILES[1].parse)(pnpm, &larder).unwrap();
        assert_eq!(
            warmed_for(&fetches, Some(("linux", "x64"))),
            [
                "@t/tsc-linux-x64/-/tsc-linux-x64-1.0.0.tgz",
                "tsc/-/tsc-1.0.0.tgz"
            ]
        );
        assert_eq!(warmed_for(&fetches, None).len(), 3, "every platform");
    }

    fn paths(tarballs: &[Tarball]) -> Vec<&str> {
        tarballs.iter().map(|t| t.path.as_str()).collect()
    }

    #[test]
    fn package_lock_v3_lists_registry_tarballs_with_integrity() {
        let lock = br#"{
          "name": "app", "lockfileVersion": 3,
          "packages": {
            "": {"name": "app", "dependencies": {"a": "^1"}},
            "node_modules/a": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz", "integrity": "sha512-AAA="},
            "node_modules/a/node_modules/@s/b": {"version": "2.0.0", "resolved": "https://registry.npmjs.org/@s/b/-/b-2.0.0.tgz", "integrity": "sha512-BBB="},
            "node_modules/alias": {"name": "real", "version": "3.0.0", "resolved": "https://registry.npmjs.org/real/-/real-3.0.0.tgz"},
            "node_modules/ws": {"resolved": "packages/ws", "link": true},
            "node_modules/g": {"version": "1.0.0", "resolved": "git+ssh://git@github.com/x/g.git#abc"},
            "node_modules/bundled": {"version": "1.0.0", "inBundle": true},
            "node_modules/plain": {"version": "4.0.0", "integrity": "sha512-PPP="},
            "node_modules/other": {"version": "1.0.0", "resolved": "https://example.com/files/whatever.tgz"}
          }}"#;
        let tarballs = package_lock(lock).unwrap();
        assert_eq!(
            paths(&tarballs),
            [
                "@s/b/-/b-2.0.0.tgz",
                "a/-/a-1.0.0.tgz",
                "plain/-/plain-4.0.0.tgz",
                "real/-/real-3.0.0.tgz"
            ]
        );
        assert_eq!(tarballs[1].integrity.as_deref(), Some("sha512-AAA="));
        assert_eq!(tarballs[3].integrity, None);
    }

    #[test]
    fn package_lock_v1_and_garbage_are_clear_errors() {
        let err = package_lock(br#"{"lockfileVersion": 1, "dependencies": {}}"#).unwrap_err();
        assert!(err.0.contains("lockfileVersion 1"), "{err}");
        assert!(package_lock(b"{").unwrap_err().0.contains("not a JSON"));
        let err = package_lock(
            br#"{"lockfileVersion": 3, "packages": {"node_modules/x": {"resolved": "https://r/x/-/x-1.tgz"}}}"#,
        )
        .unwrap_err();
        assert!(err.0.contains("no version"), "{err}");
        let err = package_lock(br#"{"lockfileVersion": 3, "packages": {"node_modules/../x": {"version": "1.0.0", "resolved": "https://r/x-1.0.0.tgz"}}}"#).unwrap_err();
        assert!(err.0.contains("invalid package name"), "{err}");
    }

    #[test]
    fn pnpm_lock_v9_v6_and_v5_keys() {
        let v9 = b"lockfileVersion: '9.0'\n\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: ^1\n        version: 1.0.0\n\npackages:\n\n  '@s/b@2.0.0':\n    resolution: {integrity: sha512-BBB=}\n\n  a@1.0.0:\n    resolution: {integrity: sha512-AAA=}\n    engines: {node: '>=8'}\n\n  c@1.0.0(a@1.0.0):\n    resolution: {integrity: sha512-CCC=}\n\n  t@1.0.0:\n    resolution: {tarball: https://example.com/t.tgz}\n\nsnapshots:\n\n  a@1.0.0: {}\n";
        let tarballs = pnpm_lock(v9).unwrap();
        assert_eq!(
            paths(&tarballs),
            ["@s/b/-/b-2.0.0.tgz", "a/-/a-1.0.0.tgz", "c/-/c-1.0.0.tgz"]
        );
        assert_eq!(tarballs[1].integrity.as_deref(), Some("sha512-AAA="));
        let v6 = b"lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    resolution: {integrity: sha512-AAA=}\n    dev: false\n  /@s/b@2.0.0(a@1.0.0):\n    resolution:\n      integrity: sha512-BBB=\n";
        let tarballs = pnpm_lock(v6).unwrap();
        assert_eq!(paths(&tarballs), ["@s/b/-/b-2.0.0.tgz", "a/-/a-1.0.0.tgz"]);
        assert_eq!(tarballs[0].integrity.as_deref(), Some("sha512-BBB="));
        let v5 = b"lockfileVersion: 5.4\npackages:\n  /a/1.0.0_b@2.0.0:\n    resolution: {integrity: sha512-AAA=}\n  /@s/b/2.0.0:\n    resolution: {integrity: sha512-BBB=}\n";
        assert_eq!(
            paths(&pnpm_lock(v5).unwrap()),
            ["@s/b/-/b-2.0.0.tgz", "a/-/a-1.0.0.tgz"]
        );
    }

    #[test]
    fn malformed_pnpm_locks_are_errors_not_panics() {
        assert!(pnpm_lock(b"\xff\xfe").is_err());
        assert!(pnpm_lock(b"hello: world\n").is_err());
        assert!(pnpm_lock(b"lockfileVersion: '9.0'\npackages:\n  a@1.0.0\n").is_err());
        assert!(pnpm_lock(b"lockfileVersion: '9.0'\npackages:\n  '@':\n").is_err());
        for input in [
            "lockfileVersion: 9\npackages:\n  @@@:\n",
            "packages:\n  /:\n",
            "packages:\n  a@:\n",
        ] {
            let _ = pnpm_lock(input.as_bytes());
        }
    }

    use larder_adapter::testing::sweep;

    #[test]
    fn truncated_and_mangled_lockfiles_never_panic() {
        let lock = br#"{"lockfileVersion": 3, "packages": {"": {}, "node_modules/@s/b": {"version": "2.0.0", "resolved": "https://r/@s/b/-/b-2.0.0.tgz", "integrity": "sha512-B="}, "node_modules/a": {"name": "x", "version": "1.0.0"}}}"#;
        sweep(lock, |b| drop(package_lock(b)));
        let pnpm = b"lockfileVersion: '9.0'\npackages:\n  '@s/b@2.0.0(a@1.0.0)':\n    resolution: {integrity: sha512-B=}\n  /a/1.0.0_b@2.0.0:\n    resolution:\n      integrity: sha512-A=\n";
        sweep(pnpm, |b| drop(pnpm_lock(b)));
    }
}
