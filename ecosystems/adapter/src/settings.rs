//! An adapter's configuration section, as the engine hands it over, and the factory through
//! which the binary registers an adapter.

use crate::clients::{ClientBase, ClientSettings};
use crate::lockfile::Lockfile;
use crate::Ecosystem;
use std::time::Duration;
use url::Url;

/// The resolved `[<name>]` section. Credentials (`token`, `password_env`, …) stay with the
/// engine, which attaches them to requests for the configured upstream's origin only.
#[derive(Clone, Debug)]
pub struct Section {
    pub upstream: Url,
    pub metadata_ttl: Duration,
    pub negative_ttl: Duration,
    /// Keys the adapter declared in [`AdapterFactory::extra_keys`], as JSON values.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Section {
    /// A declared extra key that must be a URL (`sumdb_upstream`, `files_upstream`).
    pub fn extra_url(&self, key: &str, default: &str) -> Result<Url, SettingsError> {
        let raw = match self.extra.get(key) {
            None => default,
            Some(serde_json::Value::String(raw)) => raw.as_str(),
            Some(other) => {
                return Err(SettingsError(format!(
                    "`{key}` must be a URL string, got {other}"
                )))
            }
        };
        Url::parse(raw)
            .map_err(|err| SettingsError(format!("`{key}` = {raw:?} is not a URL: {err}")))
    }
}

/// A configuration problem an adapter found in its section.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// A base URL that paths are appended to (an upstream, a files host, an apt remote): http or
/// https with a host, no `?query` or `#fragment` (which appending would silently drop or
/// garble), and a path that ends with `/` (added when missing). `what` names the setting in
/// the error: `[npm] upstream`.
pub fn base_url(what: &str, mut url: Url) -> Result<Url, SettingsError> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SettingsError(format!(
            "{what} = \"{url}\" must be an http:// or https:// URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SettingsError(format!(
            "{what} = \"{url}\" must be a plain base URL without ?query or #fragment"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// [`base_url`] of a string setting.
pub fn parse_base_url(what: &str, raw: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(raw)
        .map_err(|err| SettingsError(format!("{what} = {raw:?} is not a URL: {err}")))?;
    base_url(what, url)
}

/// How the binary registers an ecosystem: everything it needs to know about one, as data and
/// pure functions. A new ecosystem is a crate that returns one of these, plus one line in the
/// binary's adapter list (`src/adapters.rs`).
pub struct AdapterFactory {
    /// The URL prefix (`/npm/`) and the config section (`[npm]`).
    pub name: &'static str,
    pub default_upstream: &'static str,
    pub default_metadata_ttl: Duration,
    pub default_negative_ttl: Duration,
    /// Keys the section accepts beyond the common ones; anything else is a config error.
    pub extra_keys: &'static [&'static str],
    pub build: fn(&Section) -> Result<Box<dyn Ecosystem>, SettingsError>,
    /// How the ecosystem's clients are pointed at larder at a base URL: the environment
    /// variables `larder env` prints and the status page's snippets.
    pub clients: fn(&ClientBase<'_>) -> ClientSettings,
    /// The lockfile formats `larder warm` reads for this ecosystem; empty for none.
    pub lockfiles: &'static [Lockfile],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_end_with_a_slash_and_have_no_query() {
        let url = parse_base_url("[x] upstream", "https://registry.example.com/npm").unwrap();
        assert_eq!(url.as_str(), "https://registry.example.com/npm/");
        let url = parse_base_url("[x] upstream", "http://127.0.0.1:8080/").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/");
        for (raw, needle) in [
            ("ftp://a/", "http:// or https://"),
            ("file:///srv/mirror/", "with a host"),
            ("https://a/simple/?x=1", "?query"),
            ("https://a/#top", "#fragment"),
            ("not a url", "is not a URL"),
        ] {
            let err = parse_base_url("[x] upstream", raw).unwrap_err();
            assert!(err.0.contains(needle), "{raw}: {err}");
            assert!(err.0.starts_with("[x] upstream = "), "{raw}: {err}");
        }
    }
}
