//! An adapter's configuration section, as the engine hands it over.

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

/// How the binary registers an ecosystem: its name, defaults, extra keys, and constructor.
pub struct AdapterFactory {
    pub name: &'static str,
    pub default_upstream: &'static str,
    pub default_metadata_ttl: Duration,
    pub default_negative_ttl: Duration,
    /// Keys the section accepts beyond the common ones; anything else is a config error.
    pub extra_keys: &'static [&'static str],
    pub build: fn(&Section) -> Result<Box<dyn Ecosystem>, SettingsError>,
}
