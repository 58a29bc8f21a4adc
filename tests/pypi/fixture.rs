//! The fixture index: artifacts built once per test run by `fixture.py`, served by two fixture
//! upstreams, an index (PEP 503 HTML and PEP 691 JSON pages, negotiated on `Accept`) and a files
//! host, as PyPI splits them.

use crate::support::{Resource, Routes, Upstream};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// One published file, as the manifest describes it.
#[derive(Clone, Debug)]
pub struct File {
    pub filename: String,
    /// Relative to the files host: `packages/ab/cd/<hex>/<filename>`.
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub requires_python: Option<String>,
    pub yanked: Option<String>,
    pub metadata_sha256: Option<String>,
}

impl File {
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(artifacts().dir.join("files").join(&self.path)).expect("fixture file")
    }

    pub fn metadata_bytes(&self) -> Option<Vec<u8>> {
        self.metadata_sha256.as_ref()?;
        std::fs::read(
            artifacts()
                .dir
                .join("files")
                .join(format!("{}.metadata", self.path)),
        )
        .ok()
    }
}

/// The built fixture set.
pub struct Artifacts {
    pub dir: PathBuf,
    /// (normalized project, its files).
    pub projects: Vec<(String, Vec<File>)>,
}

impl Artifacts {
    pub fn file(&self, filename: &str) -> &File {
        self.projects
            .iter()
            .flat_map(|(_, files)| files)
            .find(|f| f.filename == filename)
            .unwrap_or_else(|| panic!("no fixture file {filename}"))
    }
}

/// Builds the artifacts once per test process.
pub fn artifacts() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypi-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pypi/fixture.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "fixture.py failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
                .expect("manifest json");
        let projects = manifest["projects"]
            .as_object()
            .expect("projects")
            .iter()
            .map(|(name, files)| {
                let files = files
                    .as_array()
                    .expect("files")
                    .iter()
                    .map(|f| File {
                        filename: f["filename"].as_str().unwrap().to_owned(),
                        path: f["path"].as_str().unwrap().to_owned(),
                        sha256: f["sha256"].as_str().unwrap().to_owned(),
                        size: f["size"].as_u64().unwrap(),
                        requires_python: f["requires_python"].as_str().map(str::to_owned),
                        yanked: f["yanked"].as_str().map(str::to_owned),
                        metadata_sha256: f["metadata_sha256"].as_str().map(str::to_owned),
                    })
                    .collect();
                (name.clone(), files)
            })
            .collect();
        Artifacts { dir, projects }
    })
}

/// The two fixture upstreams.
pub struct Index {
    pub index: Upstream,
    pub files: Upstream,
}

impl Index {
    /// Starts the index and the files host, every file served with its true bytes except
    /// `bad_hash-1.0-py3-none-any.whl`, whose bytes differ from the sha256 its pages declare.
    pub fn start() -> Index {
        Index::launch(true)
    }

    /// Like [`Index::start`], but the index speaks only PEP 503: it answers every `Accept` with
    /// HTML, as many private and static indexes do.
    pub fn start_html_only() -> Index {
        Index::launch(false)
    }

    fn launch(json: bool) -> Index {
        let artifacts = artifacts();
        let files = Upstream::start(Routes::new());
        for (project, project_files) in &artifacts.projects {
            if PAGE_RELATIVE.contains(&project.as_str()) {
                continue;
            }
            for file in project_files {
                let mut bytes = file.bytes();
                if file.filename.starts_with("bad_hash-") {
                    let middle = bytes.len() / 2;
                    bytes[middle] ^= 0xff;
                }
                files.insert(
                    &format!("/{}", file.path),
                    Resource::new("application/octet-stream", bytes),
                );
                if let Some(metadata) = file.metadata_bytes() {
                    files.insert(
                        &format!("/{}.metadata", file.path),
                        Resource::new("application/octet-stream", metadata),
                    );
                }
            }
        }
        let index = Upstream::start(Routes::new());
        let files_base = format!("{}/", files.url);
        let mut root_html = String::from("<!DOCTYPE html><html><body>\n");
        for (project, project_files) in &artifacts.projects {
            if PAGE_RELATIVE.contains(&project.as_str()) {
                publish_page_relative(&index, project, project_files);
            } else if json {
                publish_page(&index, project, project_files, &files_base);
            } else {
                let html = html_page(project, project_files, &files_base);
                index.insert(
                    &format!("/simple/{project}/"),
                    Resource::new("text/html", html),
                );
            }
            root_html.push_str(&format!("<a href=\"/simple/{project}/\">{project}</a>\n"));
        }
        root_html.push_str("</body></html>\n");
        index.insert("/simple/", Resource::new("text/html", root_html));
        Index { index, files }
    }

    /// The `[pypi]` section pointing larder at this fixture.
    pub fn config(&self, metadata_ttl: &str) -> String {
        format!(
            "[pypi]\nupstream = \"{}/simple/\"\nfiles_upstream = \"{}/\"\nmetadata_ttl = \"{metadata_ttl}\"\n",
            self.index.url, self.files.url
        )
    }
}

/// Projects served as pypiserver serves them: HTML only, files on the index itself, linked
/// relative to the page (`../../packages/<file>`, and `<file>` beside the page).
pub const PAGE_RELATIVE: [&str; 2] = ["rel-up", "rel-same"];

fn publish_page_relative(index: &Upstream, project: &str, files: &[File]) {
    let up = project == "rel-up";
    for file in files {
        let at = if up {
            format!("/packages/{}", file.filename)
        } else {
            format!("/simple/{project}/{}", file.filename)
        };
        index.insert(&at, Resource::new("application/octet-stream", file.bytes()));
    }
    let html = html_page_with(project, files, |f| {
        if up {
            format!("../../packages/{}", f.filename)
        } else {
            f.filename.clone()
        }
    });
    index.insert(
        &format!("/simple/{project}/"),
        Resource::new("text/html", html),
    );
}

/// Serves `files` as the project's page, in both forms, at `/simple/<project>/`.
pub fn publish_page(index: &Upstream, project: &str, files: &[File], files_base: &str) {
    index.insert_all(
        &format!("/simple/{project}/"),
        vec![
            Resource::new(JSON_TYPE, json_page(project, files, files_base)).for_accept(JSON_TYPE),
            Resource::new("text/html", html_page(project, files, files_base)),
        ],
    );
}

/// A PEP 503 page as PyPI writes it (api 1.1 meta tag, escaped requires-python, both metadata
/// attribute spellings).
pub fn html_page(project: &str, files: &[File], files_base: &str) -> String {
    html_page_with(project, files, |f| format!("{files_base}{}", f.path))
}

/// A PEP 503 page whose links `href` writes.
pub fn html_page_with(project: &str, files: &[File], href: impl Fn(&File) -> String) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {project}</title>\n  </head>\n  <body>\n    <h1>Links for {project}</h1>\n"
    );
    for f in files {
        let mut attrs = String::new();
        if let Some(rp) = &f.requires_python {
            attrs.push_str(&format!(
                " data-requires-python=\"{}\"",
                rp.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            ));
        }
        if let Some(m) = &f.metadata_sha256 {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={m}\" data-core-metadata=\"sha256={m}\""
            ));
        }
        if let Some(y) = &f.yanked {
            attrs.push_str(&format!(" data-yanked=\"{y}\""));
        }
        page.push_str(&format!(
            "    <a href=\"{}#sha256={}\"{attrs}>{}</a><br />\n",
            href(f),
            f.sha256,
            f.filename
        ));
    }
    page.push_str("  </body>\n</html>\n<!--SERIAL 1-->\n");
    page
}

/// A PEP 691 page with PEP 700 fields, compact as PyPI writes it.
pub fn json_page(project: &str, files: &[File], files_base: &str) -> String {
    let mut versions: Vec<String> = files
        .iter()
        .filter_map(|f| {
            f.filename
                .trim_end_matches(".tar.gz")
                .split('-')
                .nth(1)
                .map(str::to_owned)
        })
        .collect();
    versions.sort();
    versions.dedup();
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "filename": f.filename,
                "url": format!("{files_base}{}", f.path),
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "yanked": f.yanked.clone().map_or(Value::Bool(false), Value::String),
                "core-metadata": f.metadata_sha256.clone().map_or(Value::Bool(false), |m| json!({"sha256": m})),
                "size": f.size,
                "upload-time": "2024-01-01T00:00:00.000000Z",
            })
        })
        .collect();
    json!({"meta": {"api-version": "1.1", "_last-serial": 1}, "name": project, "versions": versions, "files": files})
        .to_string()
}
