//! The fixture module graph: module versions laid out as a GOPROXY tree (`<escaped path>/@v/...`),
//! with module zips in the module zip layout, and a main module that depends on them.
//!
//! The graph exercises what a proxy must get right: an upper-case module path (`!`-escaped in
//! URLs, verbatim inside the zip), several versions with a pre-release so that `list` and
//! `@latest` decide what the go command picks, a pseudo-version, and a dependency reached only
//! through another module's go.mod.

use std::collections::BTreeMap;
use std::path::Path;

/// One module version: its files (go.mod included) keyed by name relative to the module root.
pub struct ModuleVersion {
    pub path: &'static str,
    pub version: &'static str,
    pub time: &'static str,
    pub files: Vec<(&'static str, String)>,
}

impl ModuleVersion {
    pub fn go_mod(&self) -> &str {
        self.files
            .iter()
            .find(|(name, _)| *name == "go.mod")
            .map(|(_, body)| body.as_str())
            .expect("every fixture version has a go.mod")
    }

    pub fn info(&self) -> String {
        format!(
            "{{\"Version\":\"{}\",\"Time\":\"{}\"}}\n",
            self.version, self.time
        )
    }

    /// The module zip: every file under `<module path>@<version>/`, the path unescaped. A
    /// `+incompatible` version predates modules: its zip has no go.mod (the proxy's `.mod` is
    /// synthesized), or the go command refuses it.
    pub fn zip(&self) -> Vec<u8> {
        let prefix = format!("{}@{}/", self.path, self.version);
        let incompatible = self.version.ends_with("+incompatible");
        let entries: Vec<(String, &[u8])> = self
            .files
            .iter()
            .filter(|(name, _)| !(incompatible && *name == "go.mod"))
            .map(|(name, body)| (format!("{prefix}{name}"), body.as_bytes()))
            .collect();
        stored_zip(&entries)
    }
}

pub const APP_OUTPUT: &str =
    "hello Lib v0.2.0 via greet v1.1.0; pseudo 20240102030405; extra v1.3.0";

fn library(
    path: &'static str,
    version: &'static str,
    time: &'static str,
    requires: &str,
    package: &str,
    body: &str,
) -> ModuleVersion {
    let require = if requires.is_empty() {
        String::new()
    } else {
        format!("\nrequire {requires}\n")
    };
    ModuleVersion {
        path,
        version,
        time,
        files: vec![
            ("go.mod", format!("module {path}\n\ngo 1.19\n{require}")),
            (
                "lib.go",
                format!(
                    "// Package {package} is a larder test fixture.\npackage {package}\n\n{body}\n"
                ),
            ),
        ],
    }
}

/// Every module version the fixture upstream serves.
pub fn graph() -> Vec<ModuleVersion> {
    let mut graph = Vec::new();
    for (version, time) in [
        ("v0.1.0", "2024-01-01T00:00:00Z"),
        ("v0.2.0", "2024-02-01T00:00:00Z"),
    ] {
        let body = format!("func Name() string {{ return \"Lib {version}\" }}");
        graph.push(library(
            "example.com/Upper/Lib",
            version,
            time,
            "",
            "lib",
            &body,
        ));
    }
    for (version, time) in [
        ("v1.0.0", "2024-01-01T00:00:00Z"),
        ("v1.1.0", "2024-02-01T00:00:00Z"),
        ("v1.2.0", "2024-03-01T00:00:00Z"),
    ] {
        let body = format!("import lib \"example.com/Upper/Lib\"\n\nfunc Hello() string {{ return \"hello \" + lib.Name() + \" via greet {version}\" }}");
        graph.push(library(
            "example.com/greet",
            version,
            time,
            "example.com/Upper/Lib v0.2.0",
            "greet",
            &body,
        ));
    }
    graph.push(library(
        "example.com/pseudo",
        "v0.0.0-20240102030405-abcdefabcdef",
        "2024-01-02T03:04:05Z",
        "",
        "pseudo",
        "func Tag() string { return \"pseudo 20240102030405\" }",
    ));
    // v1.3.0 is the latest release; v1.4.0-rc.1 is listed but must not be picked.
    for (version, time) in [
        ("v1.0.0", "2024-01-01T00:00:00Z"),
        ("v1.3.0", "2024-03-01T00:00:00Z"),
        ("v1.4.0-rc.1", "2024-04-01T00:00:00Z"),
    ] {
        let body = format!("func Version() string {{ return \"extra {version}\" }}");
        graph.push(library(
            "example.com/extra",
            version,
            time,
            "",
            "extra",
            &body,
        ));
    }
    // A pre-modules v2 release: `+incompatible`, go.mod synthesized by the proxy.
    let mut old = library(
        "example.com/old",
        "v2.0.0+incompatible",
        "2019-01-01T00:00:00Z",
        "",
        "old",
        "const Old = true",
    );
    old.files[0].1 = "module example.com/old\n".into();
    graph.push(old);
    graph.push(library(
        "example.com/tampered",
        "v1.0.0",
        "2024-01-01T00:00:00Z",
        "",
        "tampered",
        "const Genuine = true",
    ));
    graph
}

/// `example.com/extra` v1.5.0, published while larder already holds the module's `list`.
pub fn extra_v1_5_0() -> ModuleVersion {
    library(
        "example.com/extra",
        "v1.5.0",
        "2024-05-01T00:00:00Z",
        "",
        "extra",
        "func Version() string { return \"extra v1.5.0\" }",
    )
}

/// A one-version module (`v1.0.0`) for the fall-through tests, which only the second proxy in a
/// `GOPROXY` list has.
pub fn simple(path: &'static str) -> ModuleVersion {
    library(
        path,
        "v1.0.0",
        "2024-01-01T00:00:00Z",
        "",
        "simple",
        "const Here = true",
    )
}

/// The tampered zip served in place of `example.com/tampered@v1.0.0`'s genuine one.
pub fn tampered_zip() -> Vec<u8> {
    library(
        "example.com/tampered",
        "v1.0.0",
        "2024-01-01T00:00:00Z",
        "",
        "tampered",
        "const Genuine = false",
    )
    .zip()
}

/// Writes the main module: it requires greet and pseudo, and imports `example.com/extra` without
/// requiring it, so the go command must ask `list` to resolve it (`-mod=mod`).
pub fn write_app(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("go.mod"),
        "module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/greet v1.1.0\n\texample.com/pseudo v0.0.0-20240102030405-abcdefabcdef\n)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/extra\"\n\t\"example.com/greet\"\n\t\"example.com/pseudo\"\n)\n\nfunc main() {\n\tfmt.Printf(\"%s; %s; %s\\n\", greet.Hello(), pseudo.Tag(), extra.Version())\n}\n",
    )
    .unwrap();
}

/// The go command's `!`-escaping of upper-case letters.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The GOPROXY tree for `versions`: relative path (`example.com/!upper/!lib/@v/list`) → body.
pub fn proxy_tree(versions: &[ModuleVersion]) -> BTreeMap<String, Vec<u8>> {
    let mut tree = BTreeMap::new();
    let mut lists: BTreeMap<&str, Vec<&ModuleVersion>> = BTreeMap::new();
    for v in versions {
        let base = format!("{}/@v/{}", escape(v.path), escape(v.version));
        tree.insert(format!("{base}.info"), v.info().into_bytes());
        tree.insert(format!("{base}.mod"), v.go_mod().as_bytes().to_vec());
        tree.insert(format!("{base}.zip"), v.zip());
        lists.entry(v.path).or_default().push(v);
    }
    for (path, versions) in lists {
        // As on the public proxy, `list` names tagged versions only: a module with nothing but
        // pseudo-versions has an empty list, and the go command asks `@latest` instead.
        let list: String = versions
            .iter()
            .filter(|v| !is_pseudo(v.version))
            .map(|v| format!("{}\n", v.version))
            .collect();
        tree.insert(format!("{}/@v/list", escape(path)), list.into_bytes());
        // The fixture's idea of latest: the last release in the list (the go command prefers
        // `list` when it is not empty, as the public proxy's clients do).
        let latest = versions
            .iter()
            .rev()
            .find(|v| !v.version.contains('-'))
            .unwrap_or(&versions[0]);
        tree.insert(
            format!("{}/@latest", escape(path)),
            latest.info().into_bytes(),
        );
    }
    tree
}

/// `v0.0.0-20240102030405-abcdefabcdef` and its `-0.2024…` / `.0.2024…` forms.
fn is_pseudo(version: &str) -> bool {
    version
        .split(['-', '.'])
        .any(|part| part.len() == 14 && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes a tree to disk (the checksum database fixture hashes the genuine zips from there).
pub fn write_tree(dir: &Path, tree: &BTreeMap<String, Vec<u8>>) {
    for (relative, body) in tree {
        let file = dir.join(relative);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }
}

/// A zip archive with every entry stored (method 0): valid for the go command, which reads
/// module zips with archive/zip, and simple enough to write by hand here.
pub fn stored_zip(entries: &[(String, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, body) in entries {
        let offset = out.len() as u32;
        let crc = crc32(body);
        let size = body.len() as u32;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x0021u16.to_le_bytes()); // date: 1980-01-01
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x0021u16.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
