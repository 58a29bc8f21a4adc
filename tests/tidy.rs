//! The invariants `docs/ARCHITECTURE.md` states, checked on the source text, so that a change
//! that breaks one fails here with the rule it broke rather than drifting from the doc.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A file's code: its lines without `//` comments (doc comments included), so that prose may
/// name anything.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a readable source file");
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The files of `src/` outside the given top-level modules, with their code.
fn src_files_except(allowed: &[&str]) -> Vec<(String, String)> {
    rust_files(&Path::new(ROOT).join("src"))
        .into_iter()
        .map(|path| (relative(&path), code_of(&path)))
        .filter(|(name, _)| !allowed.iter().any(|a| name.starts_with(a)))
        .collect()
}

/// The ecosystem adapter crates: every directory under `ecosystems/` but the shared vocabulary.
fn ecosystems() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(ROOT).join("ecosystems"))
        .expect("ecosystems/")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "adapter")
        .collect();
    names.sort();
    names
}

#[test]
fn only_the_http_layer_knows_axum() {
    for (name, code) in src_files_except(&["src/http/"]) {
        assert!(
            !code.contains("axum"),
            "{name} uses axum: only src/http/ may"
        );
    }
}

/// Upstream connections are opened in one place (the allow-list lives there); the response
/// head is read by the triage; `larder warm` and `larder gocache` talk to larder itself.
#[test]
fn only_the_upstream_client_its_triage_and_larders_own_clients_know_reqwest() {
    let allowed = [
        "src/upstream/",
        "src/triage.rs",
        "src/warm/",
        "src/gocache/",
    ];
    for (name, code) in src_files_except(&allowed) {
        assert!(
            !code.contains("reqwest"),
            "{name} uses reqwest: connections to upstreams go through src/upstream/"
        );
    }
}

#[test]
fn no_store_code_blocks_on_a_runtime() {
    for path in rust_files(&Path::new(ROOT).join("src/store")) {
        let code = code_of(&path);
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(
            !code.contains("block_on"),
            "{} calls block_on: store code is either blocking (run through AsyncStore) or async",
            relative(&path)
        );
    }
}

#[test]
fn every_adapter_crate_forbids_unsafe_code() {
    let mut crates = ecosystems();
    crates.push("adapter".into());
    for name in crates {
        let lib = Path::new(ROOT)
            .join("ecosystems")
            .join(&name)
            .join("src/lib.rs");
        let text = std::fs::read_to_string(&lib).expect("an adapter's lib.rs");
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "ecosystems/{name}/src/lib.rs lacks #![forbid(unsafe_code)]"
        );
    }
}

/// Adapters do no I/O: no runtime, no sockets, no files, no clock.
#[test]
fn adapters_do_no_io() {
    let forbidden = [
        "std::fs",
        "std::net",
        "tokio",
        "reqwest",
        "SystemTime",
        "Instant::now",
        "std::process",
        "std::env",
    ];
    for path in rust_files(&Path::new(ROOT).join("ecosystems")) {
        let name = relative(&path);
        // Tests may read captured documents; fuzz targets are not part of the adapter.
        if name.contains("/fuzz/") || name.ends_with("tests.rs") || name.contains("/tests/") {
            continue;
        }
        let code = code_of(&path);
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for word in forbidden {
            assert!(
                !code.contains(word),
                "{name} uses {word}: adapters are pure, the engine does all I/O"
            );
        }
    }
}

/// Nothing in `src/` but the registration list names an ecosystem or reaches into an adapter
/// crate: the engine never matches on a name, and `larder env`, the status page and `larder
/// warm` take what they need from each factory. A new ecosystem is a crate and one line.
#[test]
fn only_the_registration_list_names_the_ecosystems() {
    for path in rust_files(&Path::new(ROOT).join("src")) {
        let name = relative(&path);
        // The build cache names build tools (the go command's cache among them), not
        // ecosystems.
        if name == "src/adapters.rs" || name.starts_with("src/buildcache/") {
            continue;
        }
        let code = code_of(&path);
        let code = code.split("#[cfg(test)]").next().unwrap_or_default();
        for eco in ecosystems() {
            let crate_name = format!("larder_{eco}");
            assert!(!code.contains(&crate_name), "{name} uses {crate_name}");
            let literal = format!("\"{eco}\"");
            assert!(
                !code.contains(&literal),
                "{name} names the ecosystem {literal}: only src/adapters.rs may"
            );
        }
    }
}

/// The top-level modules of `src/` form layers: no two import each other, directly or through
/// others (a child module may use its parent's items, as `engine/` does).
#[test]
fn src_modules_import_no_loops() {
    let src = Path::new(ROOT).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).expect("under src/");
        let module = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .unwrap_or_default();
        if module == "main" || module == "lib" {
            continue;
        }
        let code = code_of(&path);
        let code = code
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .to_string();
        let uses = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let used: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !used.is_empty() && used != module {
                uses.insert(used);
            }
        }
    }
    // A depth-first search for a cycle, reporting its path.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("an import loop between src/ modules: {}", cycle.join(" → "));
        }
    }
}
