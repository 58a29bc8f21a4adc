//! `Cargo.lock` → the crates `larder warm` asks larder for.
//!
//! Only packages from a registry are warmed; path and git dependencies have nothing to fetch
//! from one. A lockfile names its registry by source (`registry+https://github.com/rust-lang/crates.io-index`
//! or `sparse+https://index.crates.io/` for crates.io, `sparse+<index URL>` for others); the
//! caller maps it to the larder registry that mirrors it.

use larder_adapter::{Fetch, Match};
use serde::Deserialize;

/// `Cargo.lock`, for `larder warm`: per crate, larder's `config.json` of its registry (cargo
/// reads it first), then the index file and the download its `dl` names, as cargo asks them.
pub const LOCKFILES: [larder_adapter::Lockfile; 1] = [larder_adapter::Lockfile {
    kind: "Cargo.lock",
    recognize: |name, _| (name == "cargo.lock").then_some(Match::Name),
    parse: |bytes, larder| {
        let base = larder.as_str().trim_end_matches('/').to_string();
        let pins = cargo_lock(bytes).map_err(|err| larder_adapter::LockfileError(err.0))?;
        Ok(pins.into_iter().map(|pin| fetch(pin, &base)).collect())
    },
    needs: &[],
}];

fn fetch(pin: Pin, larder_base: &str) -> Fetch {
    let label = format!("{} {}", pin.name, pin.version);
    let Some(registry) = pin.larder_registry(larder_base) else {
        return Fetch::Refused {
            label,
            why: format!(
                "its registry {} is not one reached through this larder; name it in [cargo.registries] and build with its index at {larder_base}/cargo/<name>/",
                pin.registry
            ),
        };
    };
    if pin.checksum.is_none() {
        return Fetch::Refused {
            label,
            why: "the lockfile has no checksum for it (a version 1 Cargo.lock: run `cargo update -w` to rewrite it)".into(),
        };
    }
    Fetch::Pick {
        label,
        path: format!("{registry}/config.json"),
        headers: Vec::new(),
        pick: Box::new(move |config, _| {
            let dl = dl_of(config).ok_or_else(|| {
                larder_adapter::LockfileError("the registry's config.json has no `dl`".into())
            })?;
            let download = pin.download_url(&dl).ok_or_else(|| {
                larder_adapter::LockfileError(format!(
                    "{} {} has no checksum",
                    pin.name, pin.version
                ))
            })?;
            // The index path is relative to config.json: both lie under /cargo/<registry>/.
            Ok(vec![pin.index_path(), download])
        }),
    }
}

/// A registry package pinned by a lockfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// The lockfile's `source`, without its `registry+`/`sparse+` kind, or [`crate::CRATES_IO`]
    /// for crates.io (whichever protocol the lockfile was written with).
    pub registry: String,
    pub name: String,
    pub version: String,
    /// The `.crate`'s sha256 (hex); absent in version 1 lockfiles, which keep it elsewhere.
    pub checksum: Option<String>,
}

impl Pin {
    /// The index file larder serves for this crate, below `/cargo/<registry>/`.
    pub fn index_path(&self) -> String {
        crate::name::index_path(&self.name)
    }

    /// The URL cargo would download this crate from, given the `dl` of the `config.json` it
    /// read (larder's, for a crate through larder). `None` without a checksum, which larder's
    /// `dl` needs.
    pub fn download_url(&self, dl: &str) -> Option<String> {
        let checksum = self.checksum.as_deref()?;
        Some(crate::dl::substitute(
            dl,
            &self.name,
            &self.version,
            checksum,
        ))
    }

    /// The name of the larder registry (`/cargo/<name>/`) that serves this pin, for larder at
    /// `larder_base` (`http://host:7878`): crates.io's packages (also when cargo replaced the
    /// source with larder: the lockfile keeps crates.io's), or a registry whose lockfile source
    /// is larder's own URL. `None` for a registry the lockfile reaches around larder.
    pub fn larder_registry(&self, larder_base: &str) -> Option<String> {
        if self.registry == crate::CRATES_IO {
            return Some(self.registry.clone());
        }
        let prefix = format!("{}/cargo/", larder_base.trim_end_matches('/'));
        let name = self.registry.strip_prefix(&prefix)?.trim_end_matches('/');
        let ok = !name.is_empty() && !name.contains(['/', '?', '#']);
        ok.then(|| name.to_string())
    }
}

/// The `dl` of a `config.json` (larder's, when read through larder).
pub fn dl_of(config_json: &[u8]) -> Option<String> {
    let config: serde_json::Value = serde_json::from_slice(config_json).ok()?;
    Some(config.get("dl")?.as_str()?.to_string())
}

/// Why a lockfile could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockfileError(pub String);

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
}

const CRATES_IO_SOURCES: [&str; 2] = [
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// The registry packages of a `Cargo.lock`, in file order.
pub fn cargo_lock(bytes: &[u8]) -> Result<Vec<Pin>, LockfileError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LockfileError("Cargo.lock is not UTF-8 text".to_string()))?;
    let lockfile: Lockfile = toml::from_str(text)
        .map_err(|err| LockfileError(format!("Cargo.lock does not parse as a lockfile: {err}")))?;
    let mut pins = Vec::new();
    for package in lockfile.package {
        let Some(source) = package.source else {
            continue; // a path dependency or a workspace member
        };
        let registry = if CRATES_IO_SOURCES.contains(&source.as_str()) {
            crate::CRATES_IO.to_string()
        } else if let Some(index) = source.strip_prefix("sparse+") {
            index.to_string()
        } else {
            continue; // git sources, and git-protocol registries larder does not mirror
        };
        if !crate::name::is_crate_name(&package.name) {
            return Err(LockfileError(format!(
                "Cargo.lock names a package {:?}, which is not a crate name",
                package.name.chars().take(100).collect::<String>()
            )));
        }
        pins.push(Pin {
            registry,
            name: package.name,
            version: package.version,
            checksum: package.checksum,
        });
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde"]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f"

[[package]]
name = "corp-lib"
version = "2.0.0"
source = "sparse+https://cargo.corp.example/index/"
checksum = "0000000000000000000000000000000000000000000000000000000000000001"

[[package]]
name = "from-git"
version = "0.1.0"
source = "git+https://example.com/x.git#abc"
"#;

    #[test]
    fn registry_packages_are_pinned() {
        let pins = cargo_lock(LOCK.as_bytes()).unwrap();
        assert_eq!(pins.len(), 2, "{pins:?}");
        assert_eq!(pins[0].registry, "crates-io");
        assert_eq!(pins[0].index_path(), "se/rd/serde");
        assert_eq!(pins[1].registry, "https://cargo.corp.example/index/");
        assert_eq!(
            pins[0].download_url("http://l/cargo/crates-io/dl/T/{crate}/{version}/{sha256-checksum}"),
            Some("http://l/cargo/crates-io/dl/T/serde/1.0.200/ddc6f9cc94d67c0e21aaf7eda3a010fd3af78ebf6e096aa6e2e13c79749cce4f".to_string())
        );
    }

    #[test]
    fn pins_map_to_larder_registries() {
        let pins = cargo_lock(LOCK.as_bytes()).unwrap();
        assert_eq!(
            pins[0].larder_registry("http://l:1").as_deref(),
            Some("crates-io")
        );
        assert_eq!(pins[1].larder_registry("http://l:1"), None, "around larder");
        let through = Pin {
            registry: "http://l:1/cargo/corp/".into(),
            ..pins[1].clone()
        };
        assert_eq!(
            through.larder_registry("http://l:1/").as_deref(),
            Some("corp")
        );
        assert_eq!(
            dl_of(br#"{"dl":"http://l/x"}"#).as_deref(),
            Some("http://l/x")
        );
        assert_eq!(dl_of(b"{}"), None);
    }

    #[test]
    fn malformed_lockfiles_are_errors() {
        assert!(cargo_lock(b"[[package]]\nname = 1\n").is_err());
        assert!(cargo_lock(b"\xff").is_err());
        assert!(cargo_lock(
            b"[[package]]\nname = \"../x\"\nversion = \"1\"\nsource = \"sparse+http://a/\"\n"
        )
        .is_err());
        assert_eq!(cargo_lock(b"").unwrap(), vec![]);
    }
}
