//! A generated npm registry for the tests: real `.tgz` tarballs (built with `tar czf`), their
//! sha512 integrity and sha1 shasum, full and abbreviated packuments, and the lockfiles a project
//! depending on them would have.

use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha1::Sha1;
use sha2::{Digest as _, Sha512};
use std::path::Path;
use std::process::Command;

use crate::support::{Resource, Upstream};

pub const CORGI: &str = "application/vnd.npm.install-v1+json";

/// One published version.
#[derive(Clone, Debug)]
pub struct Version {
    pub version: String,
    pub dependencies: Vec<(String, String)>,
    /// The bytes the fixture serves; `None` for versions no test installs (their dist names a
    /// tarball the fixture does not have).
    pub tarball: Option<Vec<u8>>,
    pub integrity: String,
    pub shasum: String,
}

/// One package with all its versions.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: String,
    pub versions: Vec<Version>,
    /// Extra bytes in every version's `description`, to make the packument large.
    pub padding: usize,
}

impl Package {
    /// `name` without its scope, as tarball file names use it.
    pub fn bare(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    pub fn file(&self, version: &str) -> String {
        format!("{}-{version}.tgz", self.bare())
    }

    /// The path a registry serves the packument at (`/@scope%2fname`).
    pub fn packument_path(&self) -> String {
        format!("/{}", self.name.replace('/', "%2f"))
    }

    pub fn tarball_path(&self, version: &str) -> String {
        format!("/{}/-/{}", self.name, self.file(version))
    }

    pub fn version(&self, version: &str) -> &Version {
        self.versions
            .iter()
            .find(|v| v.version == version)
            .unwrap_or_else(|| panic!("{}@{version}", self.name))
    }

    pub fn latest(&self) -> &Version {
        self.versions.last().expect("a package has versions")
    }

    /// The packument, full or abbreviated, with tarball links under `registry` (no trailing /).
    pub fn packument(&self, registry: &str, abbreviated: bool) -> Vec<u8> {
        let pad = "x".repeat(self.padding);
        let mut versions = Map::new();
        let mut time = Map::new();
        for v in &self.versions {
            let deps: Map<String, Value> = v
                .dependencies
                .iter()
                .map(|(n, r)| (n.clone(), Value::String(r.clone())))
                .collect();
            let mut manifest = json!({
                "name": self.name,
                "version": v.version,
                "description": format!("{} {}", self.name, pad),
                "dependencies": deps,
                "dist": {
                    "integrity": v.integrity,
                    "shasum": v.shasum,
                    "tarball": format!("{registry}{}", self.tarball_path(&v.version)),
                },
            });
            if !abbreviated {
                manifest["_id"] = json!(format!("{}@{}", self.name, v.version));
                manifest["license"] = json!("MIT");
                manifest["readme"] = json!("");
            }
            versions.insert(v.version.clone(), manifest);
            time.insert(v.version.clone(), json!("2026-01-01T00:00:00.000Z"));
        }
        let latest = &self.latest().version;
        let document = if abbreviated {
            json!({
                "name": self.name,
                "modified": "2026-01-01T00:00:00.000Z",
                "dist-tags": { "latest": latest },
                "versions": versions,
            })
        } else {
            json!({
                "_id": self.name,
                "name": self.name,
                "description": "a larder test fixture",
                "dist-tags": { "latest": latest },
                "versions": versions,
                "time": time,
                "readme": format!("# {}\n\nSee https://example.invalid/{}\n", self.name, self.name),
            })
        };
        serde_json::to_vec(&document).expect("fixture JSON serializes")
    }

    /// Publishes the packument (all spellings of the path, both variants) and every tarball.
    pub fn publish(&self, upstream: &Upstream) {
        let full = Resource::new("application/json", self.packument(&upstream.url, false));
        let corgi = Resource::new(CORGI, self.packument(&upstream.url, true)).for_accept(CORGI);
        let encoded = self.packument_path();
        for path in [
            encoded.clone(),
            encoded.replace("%2f", "%2F"),
            format!("/{}", self.name),
        ] {
            upstream.insert_all(&path, vec![corgi.clone(), full.clone()]);
        }
        let tags = format!(r#"{{"latest":"{}"}}"#, self.latest().version);
        upstream.insert(
            &format!("/-/package{encoded}/dist-tags"),
            Resource::new("application/json", tags),
        );
        for v in &self.versions {
            if let Some(bytes) = &v.tarball {
                upstream.insert(
                    &self.tarball_path(&v.version),
                    Resource::new("application/octet-stream", bytes.clone()),
                );
            }
        }
    }
}

/// Builds `<name>-<version>.tgz` with `package/package.json` and `package/index.js` inside.
pub fn tarball(
    work: &Path,
    name: &str,
    version: &str,
    dependencies: &[(String, String)],
) -> Vec<u8> {
    let root = work.join(format!("{}-{version}", name.replace('/', "__")));
    let package = root.join("package");
    std::fs::create_dir_all(&package).unwrap();
    let deps: Map<String, Value> = dependencies
        .iter()
        .map(|(n, r)| (n.clone(), Value::String(r.clone())))
        .collect();
    let manifest = json!({
        "name": name, "version": version, "main": "index.js", "license": "MIT", "dependencies": deps,
    });
    std::fs::write(
        package.join("package.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    std::fs::write(
        package.join("index.js"),
        format!("module.exports = {:?};\n", format!("{name}@{version}")),
    )
    .unwrap();
    let out = root.join("out.tgz");
    let status = Command::new("tar")
        .arg("czf")
        .arg(&out)
        .arg("-C")
        .arg(&root)
        .arg("package")
        .status()
        .expect("run tar (installed by .ci/install/npm.sh)");
    assert!(status.success(), "tar czf failed for {name}@{version}");
    std::fs::read(out).unwrap()
}

pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes))
    )
}

pub fn shasum(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// A version with a real tarball.
pub fn real(work: &Path, name: &str, version: &str, dependencies: &[(&str, &str)]) -> Version {
    let dependencies: Vec<(String, String)> = dependencies
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    let bytes = tarball(work, name, version, &dependencies);
    Version {
        version: version.to_string(),
        integrity: integrity(&bytes),
        shasum: shasum(&bytes),
        dependencies,
        tarball: Some(bytes),
    }
}

/// A version listed in the packument whose tarball nobody fetches.
pub fn listed_only(name: &str, version: &str) -> Version {
    let stand_in = format!("{name}@{version} is never downloaded");
    Version {
        version: version.to_string(),
        dependencies: Vec::new(),
        integrity: integrity(stand_in.as_bytes()),
        shasum: shasum(stand_in.as_bytes()),
        tarball: None,
    }
}

/// The fixture registry's packages.
pub struct Registry {
    pub packages: Vec<Package>,
    _work: tempfile::TempDir,
}

pub const LEFT: &str = "larder-fixture-left";
pub const UTIL: &str = "@larder-fixture/util";
pub const SCOPED: &str = "@larder-fixture/scoped";
pub const MANY: &str = "larder-fixture-many";
pub const BIG: &str = "larder-fixture-big";
pub const BAD: &str = "larder-fixture-bad";

/// What the test project depends on, and the versions npm must install.
pub const PROJECT_DEPS: &[(&str, &str)] = &[
    (LEFT, "1.0.0"),
    (SCOPED, "^2.0.0"),
    (MANY, "^1.0.0"),
    (BIG, "^1.0.0"),
];
pub const EXPECTED: &[(&str, &str)] = &[
    (LEFT, "1.0.0"),
    (SCOPED, "2.0.0"),
    (UTIL, "1.2.0"),
    (MANY, "1.0.299"),
    (BIG, "1.0.1499"),
];

impl Registry {
    pub fn generate() -> Registry {
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let left = Package {
            name: LEFT.into(),
            versions: vec![real(w, LEFT, "1.0.0", &[]), real(w, LEFT, "1.1.0", &[])],
            padding: 0,
        };
        let util = Package {
            name: UTIL.into(),
            versions: vec![listed_only(UTIL, "1.0.0"), real(w, UTIL, "1.2.0", &[])],
            padding: 0,
        };
        let scoped = Package {
            name: SCOPED.into(),
            versions: vec![real(
                w,
                SCOPED,
                "2.0.0",
                &[(LEFT, "^1.0.0"), (UTIL, "^1.0.0")],
            )],
            padding: 0,
        };
        // Many versions: only the one `^1.0.0` resolves to has a tarball.
        let mut many: Vec<Version> = (0..299)
            .map(|i| listed_only(MANY, &format!("1.0.{i}")))
            .collect();
        many.push(real(w, MANY, "1.0.299", &[]));
        let many = Package {
            name: MANY.into(),
            versions: many,
            padding: 0,
        };
        // A packument of several MB, in both variants.
        let mut big: Vec<Version> = (0..1499)
            .map(|i| listed_only(BIG, &format!("1.0.{i}")))
            .collect();
        big.push(real(w, BIG, "1.0.1499", &[]));
        let big = Package {
            name: BIG.into(),
            versions: big,
            padding: 2048,
        };
        // Declares the integrity of one tarball; `publish_bad` serves other bytes.
        let bad = Package {
            name: BAD.into(),
            versions: vec![real(w, BAD, "1.0.0", &[])],
            padding: 0,
        };
        Registry {
            packages: vec![left, util, scoped, many, big, bad],
            _work: work,
        }
    }

    pub fn package(&self, name: &str) -> &Package {
        self.packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no fixture package {name}"))
    }

    /// Publishes every package on `upstream`, the bad one with bytes that do not match its
    /// integrity, and an empty audit answer.
    pub fn publish(&self, upstream: &Upstream) {
        for package in &self.packages {
            package.publish(upstream);
        }
        let bad = self.package(BAD);
        upstream.insert(
            &bad.tarball_path("1.0.0"),
            Resource::new(
                "application/octet-stream",
                b"these are not the bytes the packument declares".to_vec(),
            ),
        );
        for audit in [
            "/-/npm/v1/security/advisories/bulk",
            "/-/npm/v1/security/audits/quick",
        ] {
            upstream.insert(audit, Resource::new("application/json", "{}"));
        }
    }

    /// `package.json` for a project depending on `deps`.
    pub fn manifest(deps: &[(&str, &str)]) -> Value {
        let deps: Map<String, Value> = deps
            .iter()
            .map(|(n, r)| (n.to_string(), json!(r)))
            .collect();
        json!({ "name": "larder-npm-test-project", "version": "1.0.0", "private": true, "dependencies": deps })
    }

    /// A lockfile (v3) for `PROJECT_DEPS` as npm writes it; `resolved` URLs under
    /// `resolved_base` (`https://registry.npmjs.org`) or none at all.
    pub fn lockfile(
        &self,
        deps: &[(&str, &str)],
        installed: &[(&str, &str)],
        resolved_base: Option<&str>,
    ) -> Value {
        let mut packages = Map::new();
        let root_deps: Map<String, Value> = deps
            .iter()
            .map(|(n, r)| (n.to_string(), json!(r)))
            .collect();
        packages.insert(
            String::new(),
            json!({ "name": "larder-npm-test-project", "version": "1.0.0", "dependencies": root_deps }),
        );
        for (name, version) in installed {
            let package = self.package(name);
            let v = package.version(version);
            let mut entry =
                json!({ "version": version, "integrity": v.integrity, "license": "MIT" });
            if let Some(base) = resolved_base {
                entry["resolved"] = json!(format!("{base}{}", package.tarball_path(version)));
            }
            if !v.dependencies.is_empty() {
                let d: Map<String, Value> = v
                    .dependencies
                    .iter()
                    .map(|(n, r)| (n.clone(), json!(r)))
                    .collect();
                entry["dependencies"] = Value::Object(d);
            }
            packages.insert(format!("node_modules/{name}"), entry);
        }
        json!({
            "name": "larder-npm-test-project",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": true,
            "packages": packages,
        })
    }
}
