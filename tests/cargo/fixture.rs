//! A tiny sparse registry in cargo's own layout: `config.json`, index files with one JSON line
//! per version (real `cksum`s), and `.crate` files (gzipped tarballs of `<name>-<version>/`,
//! made with the system's `tar`), served on 127.0.0.1.
//!
//! The crates: `leaf` 0.1.0, 0.1.1 and a yanked 0.1.2; `Mid-Dep` 0.2.0 (an upper-case name)
//! depending on `leaf ^0.1`. The app depends on `Mid-Dep`, so a build through larder resolves
//! leaf 0.1.1 from the index, skips the yanked version, and prints [`APP_OUTPUT`].

use crate::support::{Resource, Routes, Upstream};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::process::Command;

pub const APP_OUTPUT: &str = "app via Mid-Dep 0.2.0 and leaf 0.1.1";

/// One published version.
pub struct Published {
    pub name: &'static str,
    pub version: &'static str,
    pub deps: &'static [(&'static str, &'static str)],
    pub lib_rs: String,
    pub yanked: bool,
}

pub fn crates() -> Vec<Published> {
    let leaf = |version: &'static str, yanked| Published {
        name: "leaf",
        version,
        deps: &[],
        lib_rs: format!("pub fn version() -> &'static str {{ \"leaf {version}\" }}\n"),
        yanked,
    };
    vec![
        leaf("0.1.0", false),
        leaf("0.1.1", false),
        leaf("0.1.2", true),
        Published {
            name: "Mid-Dep",
            version: "0.2.0",
            deps: &[("leaf", "^0.1")],
            lib_rs: "pub fn describe() -> String { format!(\"Mid-Dep 0.2.0 and {}\", leaf::version()) }\n"
                .to_string(),
            yanked: false,
        },
    ]
}

/// Where each file lives in the fixture: how `dl` names downloads.
#[derive(Clone, Copy)]
pub enum DlForm {
    /// `dl` without markers, as crates.io's: cargo appends `/{crate}/{version}/download`.
    CratesIo,
    /// `dl` with markers, as private registries often have.
    Markers,
}

/// The registry's files, path (below the fixture root) → body: the index under `/index/`, the
/// crates where `dl` (under `dl_root`) says. `api_root` is what `config.json` names as `api`.
pub fn registry_files(
    work: &Path,
    api_root: &str,
    dl_root: &str,
    form: DlForm,
) -> Vec<(String, Vec<u8>)> {
    let dl = match form {
        DlForm::CratesIo => format!("{dl_root}/api/v1/crates"),
        DlForm::Markers => format!("{dl_root}/files/{{lowerprefix}}/{{crate}}-{{version}}.crate"),
    };
    let config = format!("{{\"dl\":\"{dl}\",\"api\":\"{api_root}\"}}");
    let mut files = vec![("/index/config.json".to_string(), config.into_bytes())];
    let mut index: std::collections::BTreeMap<String, String> = Default::default();
    for published in crates() {
        let crate_file = package(work, &published);
        let cksum = hex::encode(Sha256::digest(&crate_file));
        let deps: Vec<String> = published
            .deps
            .iter()
            .map(|(name, req)| {
                format!(
                    "{{\"name\":\"{name}\",\"req\":\"{req}\",\"features\":[],\"optional\":false,\"default_features\":true,\"target\":null,\"kind\":\"normal\"}}"
                )
            })
            .collect();
        let line = format!(
            "{{\"name\":\"{}\",\"vers\":\"{}\",\"deps\":[{}],\"cksum\":\"{cksum}\",\"features\":{{}},\"yanked\":{},\"v\":2}}\n",
            published.name,
            published.version,
            deps.join(","),
            published.yanked
        );
        index
            .entry(larder_cargo::index_path(published.name))
            .or_default()
            .push_str(&line);
        let path = crate_path(form, published.name, published.version);
        files.push((path, crate_file));
    }
    for (path, lines) in index {
        files.push((format!("/index/{path}"), lines.into_bytes()));
    }
    files
}

/// The fixture registry on 127.0.0.1, each index file with an ETag as registries send them.
pub fn start(work: &Path, form: DlForm) -> Upstream {
    let upstream = Upstream::start(Routes::new());
    for (path, body) in registry_files(work, &upstream.url, &upstream.url, form) {
        upstream.insert(&path, resource(&path, body));
    }
    upstream
}

/// The same registry with its crates on a host of their own, as crates.io's are: returns the
/// index's fixture and the downloads' fixture.
pub fn start_split(work: &Path, form: DlForm) -> (Upstream, Upstream) {
    let index = Upstream::start(Routes::new());
    let files = Upstream::start(Routes::new());
    for (path, body) in registry_files(work, &index.url, &files.url, form) {
        let host = if path.starts_with("/index/") {
            &index
        } else {
            &files
        };
        host.insert(&path, resource(&path, body));
    }
    (index, files)
}

pub fn resource(path: &str, body: Vec<u8>) -> Resource {
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..16]);
    let content_type = if path.ends_with(".json") {
        "application/json"
    } else if path.starts_with("/index/") {
        "text/plain"
    } else {
        "application/gzip"
    };
    Resource::new(content_type, body).header("etag", &etag)
}

/// The path of `name`'s `.crate` in the fixture of `form`.
pub fn crate_path(form: DlForm, name: &str, version: &str) -> String {
    match form {
        DlForm::CratesIo => format!("/api/v1/crates/{name}/{version}/download"),
        DlForm::Markers => {
            let index = larder_cargo::index_path(name);
            let dirs = index.rsplit_once('/').map(|(d, _)| d).unwrap_or_default();
            format!("/files/{dirs}/{name}-{version}.crate")
        }
    }
}

/// A `.crate`: `<name>-<version>/Cargo.toml` and `src/lib.rs`, gzipped tar.
fn package(work: &Path, published: &Published) -> Vec<u8> {
    let stem = format!("{}-{}", published.name, published.version);
    let root = work.join("packages");
    let dir = root.join(&stem);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut manifest = format!(
        "[package]\nname = \"{}\"\nversion = \"{}\"\nedition = \"2021\"\n\n[dependencies]\n",
        published.name, published.version
    );
    for (name, req) in published.deps {
        manifest.push_str(&format!("{name} = \"{req}\"\n"));
    }
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), &published.lib_rs).unwrap();
    let out = root.join(format!("{stem}.crate"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(&root)
        .arg(&stem)
        .status()
        .expect("run tar");
    assert!(status.success(), "tar failed for {stem}");
    std::fs::read(out).unwrap()
}

/// The application: depends on `Mid-Dep` (through `replace-with`, so as from crates.io, or
/// from the named registry `registry`).
pub fn write_app(dir: &Path, registry: Option<&str>) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let dep = match registry {
        None => "\"0.2\"".to_string(),
        Some(name) => format!("{{ version = \"0.2\", registry = \"{name}\" }}"),
    };
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nMid-Dep = {dep}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() { println!(\"app via {}\", Mid_Dep::describe()); }\n",
    )
    .unwrap();
}
