//! `[cargo.registries]`: which sparse registries larder serves, by name.
//!
//! A registry's name is the path segment after `/cargo/` (`/cargo/crates-io/`); its value is
//! the index URL (`"https://index.crates.io/"`), or a table `{ index = "…", dl = "…" }` when
//! its crates are downloaded from a host other than the index's. Downloads are fetched only
//! under `dl` (default: the index's origin, and for crates.io also `https://static.crates.io/`),
//! whatever the registry's `config.json` says, so a client can never make larder fetch from
//! elsewhere.

use larder_adapter::{parse_base_url as base_url, Section, SettingsError};
use std::collections::BTreeMap;
use url::Url;

/// The registry served without configuration, and the one the common `upstream` key sets.
pub const CRATES_IO: &str = "crates-io";
pub const CRATES_IO_INDEX: &str = "https://index.crates.io/";
/// Where crates.io's `config.json` sends downloads (`"dl":"https://static.crates.io/crates"`).
pub const CRATES_IO_DL: &str = "https://static.crates.io/";

/// One sparse registry larder serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    /// The sparse index root, ending with '/'.
    pub index: Url,
    /// Base URLs (ending with '/') under which its crates may be downloaded.
    pub downloads: Vec<Url>,
}

impl Registry {
    /// True when `url` lies under one of the download bases (same origin, path below).
    pub fn allows_download(&self, url: &Url) -> bool {
        self.downloads
            .iter()
            .any(|base| base.origin() == url.origin() && url.path().starts_with(base.path()))
    }
}

/// Configured registries, by name.
#[derive(Clone, Debug)]
pub struct Registries {
    by_name: BTreeMap<String, Registry>,
}

impl Registries {
    pub fn from_section(section: &Section) -> Result<Registries, SettingsError> {
        let mut by_name = BTreeMap::new();
        let index = base_url("[cargo] upstream", section.upstream.as_str())?;
        let downloads = default_downloads(&index)?;
        by_name.insert(CRATES_IO.to_string(), Registry { index, downloads });
        match section.extra.get("registries") {
            None => {}
            Some(serde_json::Value::Object(table)) => {
                for (name, value) in table {
                    let registry = registry(name, value)?;
                    by_name.insert(check_name(name)?, registry);
                }
            }
            Some(other) => {
                return Err(SettingsError(format!(
                    "[cargo] registries must be a table of name = \"index URL\", got {other}"
                )))
            }
        }
        Ok(Registries { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Registry> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Every base URL larder may fetch from for these registries.
    pub fn urls(&self) -> Vec<Url> {
        let mut urls: Vec<Url> = self
            .by_name
            .values()
            .flat_map(|r| std::iter::once(r.index.clone()).chain(r.downloads.iter().cloned()))
            .collect();
        urls.sort();
        urls.dedup();
        urls
    }
}

fn registry(name: &str, value: &serde_json::Value) -> Result<Registry, SettingsError> {
    let what = format!("[cargo.registries] {name:?}");
    let (index, dl) = match value {
        serde_json::Value::String(index) => (index.as_str(), None),
        serde_json::Value::Object(table) => {
            if let Some(unknown) = table.keys().find(|k| !matches!(k.as_str(), "index" | "dl")) {
                return Err(SettingsError(format!(
                    "{what} has an unknown key {unknown:?}: only `index` and `dl` are known"
                )));
            }
            let text = |key: &str| match table.get(key) {
                None => Ok(None),
                Some(serde_json::Value::String(raw)) => Ok(Some(raw.as_str())),
                Some(other) => Err(SettingsError(format!(
                    "{what}.{key} must be a URL string, got {other}"
                ))),
            };
            let Some(index) = text("index")? else {
                return Err(SettingsError(format!(
                    "{what} needs `index`, the sparse index URL (what follows `sparse+` in cargo's config)"
                )));
            };
            (index, text("dl")?)
        }
        other => {
            return Err(SettingsError(format!(
                "{what} must be the sparse index URL, like \"https://index.crates.io/\", or a table {{ index = \"…\", dl = \"…\" }}, got {other}"
            )))
        }
    };
    let index = base_url(&what, index.strip_prefix("sparse+").unwrap_or(index))?;
    let downloads = match dl {
        Some(dl) => vec![base_url(&format!("{what}.dl"), dl)?],
        None => default_downloads(&index)?,
    };
    Ok(Registry { index, downloads })
}

/// Where a registry's crates may come from when its entry names no `dl`: the index's origin,
/// and for crates.io's own index also the host its `config.json` sends downloads to.
fn default_downloads(index: &Url) -> Result<Vec<Url>, SettingsError> {
    let mut downloads = vec![origin_of(index)];
    if index.as_str() == CRATES_IO_INDEX {
        downloads.push(base_url("crates.io's dl", CRATES_IO_DL)?);
    }
    Ok(downloads)
}

/// A name must be one path segment of larder's URL, and readable in `larder env`.
fn check_name(name: &str) -> Result<String, SettingsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(SettingsError(format!(
            "[cargo.registries] name {name:?} must be a word of letters, digits, '-' and '_' (at most 64)"
        )))
    }
}

/// `https://host:port/` of a URL.
fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn section(extra: serde_json::Value) -> Section {
        Section {
            upstream: Url::parse(CRATES_IO_INDEX).unwrap(),
            metadata_ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(10),
            extra: match extra {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
        }
    }

    #[test]
    fn crates_io_is_built_in() {
        let registries = Registries::from_section(&section(serde_json::json!({}))).unwrap();
        let crates_io = registries.get(CRATES_IO).unwrap();
        assert_eq!(crates_io.index.as_str(), CRATES_IO_INDEX);
        let static_host = Url::parse("https://static.crates.io/crates/serde/1.0.0/download");
        assert!(crates_io.allows_download(&static_host.unwrap()));
        assert!(!crates_io.allows_download(&Url::parse("https://evil.example/crates/x").unwrap()));
        assert_eq!(
            registries
                .urls()
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>(),
            ["https://index.crates.io/", "https://static.crates.io/"]
        );
    }

    #[test]
    fn configured_registries_and_their_download_bases() {
        let registries = Registries::from_section(&section(serde_json::json!({"registries": {
            "corp": "sparse+https://cargo.corp.example/index",
            "split": {"index": "http://127.0.0.1:9/index/", "dl": "http://127.0.0.1:10/files"}
        }})))
        .unwrap();
        let corp = registries.get("corp").unwrap();
        assert_eq!(corp.index.as_str(), "https://cargo.corp.example/index/");
        assert!(corp.allows_download(&Url::parse("https://cargo.corp.example/api/dl/x").unwrap()));
        let split = registries.get("split").unwrap();
        assert!(split.allows_download(&Url::parse("http://127.0.0.1:10/files/x/1").unwrap()));
        assert!(!split.allows_download(&Url::parse("http://127.0.0.1:10/other/x").unwrap()));
        assert!(!split.allows_download(&Url::parse("http://127.0.0.1:9/index/x").unwrap()));
        assert_eq!(registries.names().count(), 3);

        let named = Registries::from_section(&section(serde_json::json!({"registries": {
            "crates-io": "sparse+https://index.crates.io/"
        }})))
        .unwrap();
        let static_host = Url::parse("https://static.crates.io/crates/serde/1.0.0/download");
        assert!(
            named
                .get(CRATES_IO)
                .unwrap()
                .allows_download(&static_host.unwrap()),
            "crates.io named explicitly keeps its download host"
        );
    }

    #[test]
    fn upstream_key_points_crates_io_at_a_mirror() {
        let mut s = section(serde_json::json!({}));
        s.upstream = Url::parse("http://mirror.lan:8080/index").unwrap();
        let registries = Registries::from_section(&s).unwrap();
        let crates_io = registries.get(CRATES_IO).unwrap();
        assert_eq!(crates_io.index.as_str(), "http://mirror.lan:8080/index/");
        assert_eq!(
            crates_io.downloads.len(),
            1,
            "static.crates.io only for the real index"
        );
    }

    #[test]
    fn bad_config_says_what_to_fix() {
        for (extra, needle) in [
            (
                serde_json::json!({"registries": {"x": 1}}),
                "sparse index URL",
            ),
            (
                serde_json::json!({"registries": {"x": "ftp://a/"}}),
                "http:// or https://",
            ),
            (
                serde_json::json!({"registries": {"x": "not a url"}}),
                "is not a URL",
            ),
            (
                serde_json::json!({"registries": {"a/b": "http://a/"}}),
                "a word of",
            ),
            (
                serde_json::json!({"registries": {"x": {"dl": "http://a/"}}}),
                "needs `index`",
            ),
            (
                serde_json::json!({"registries": {"x": {"index": "http://a/", "api": "x"}}}),
                "unknown key",
            ),
            (serde_json::json!({"registries": "http://a/"}), "table"),
        ] {
            let err = Registries::from_section(&section(extra.clone())).unwrap_err();
            assert!(err.0.contains(needle), "{extra}: {err}");
        }
    }
}
