//! `[maven.remotes]`: which Maven repositories larder serves, by name, under
//! `/maven/<name>/...`. The same shape as `[apt.remotes]` (`larder_adapter::remotes`).

use larder_adapter::{remotes, Section, SettingsError};
use std::collections::BTreeMap;
use url::Url;

/// The remote served without any configuration. `[maven] upstream = "..."` points it elsewhere
/// (a company's Nexus in front of Central); `default_remotes = false` drops it.
pub const CENTRAL: (&str, &str) = ("central", "https://repo.maven.apache.org/maven2/");

/// Configured remotes: lower-cased name → base URL (ending with '/').
#[derive(Clone, Debug)]
pub struct Remotes {
    by_name: BTreeMap<String, Url>,
}

impl Remotes {
    pub fn from_section(section: &Section) -> Result<Remotes, SettingsError> {
        let mut by_name = BTreeMap::new();
        if remotes::keep_defaults(section, "maven")? {
            let url =
                larder_adapter::parse_base_url("[maven] upstream", section.upstream.as_str())?;
            by_name.insert(CENTRAL.0.to_string(), url);
        }
        for (name, url) in remotes::configured(section, "maven", "https://maven.google.com/")? {
            by_name.insert(check_name(&name)?, url);
        }
        if by_name.is_empty() {
            return Err(SettingsError(
                "[maven] has no remotes: add some under [maven.remotes] or drop default_remotes = false"
                    .to_string(),
            ));
        }
        Ok(Remotes { by_name })
    }

    /// The base URL of the remote called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Url> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    pub fn urls(&self) -> Vec<Url> {
        self.by_name.values().cloned().collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// A name is one path segment of the client's repository URL (`/maven/google/`).
fn check_name(name: &str) -> Result<String, SettingsError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !name.starts_with('.');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(SettingsError(format!(
            "[maven.remotes] name {name:?} must be a plain word of letters, digits, '.', '-', '_' \
             (it becomes the path segment in http://HOST/maven/<name>/)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn section(extra: serde_json::Value) -> Section {
        Section {
            upstream: Url::parse(CENTRAL.1).unwrap(),
            metadata_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(60),
            extra: match extra {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
        }
    }

    #[test]
    fn central_is_built_in_and_others_add_to_it() {
        let remotes = Remotes::from_section(&section(serde_json::json!({"remotes": {
            "Google": "https://maven.google.com",
            "gradle-plugins": "https://plugins.gradle.org/m2/"
        }})))
        .unwrap();
        assert_eq!(remotes.get("central").unwrap().as_str(), CENTRAL.1);
        assert_eq!(
            remotes.get("google").unwrap().as_str(),
            "https://maven.google.com/"
        );
        assert_eq!(
            remotes.names().collect::<Vec<_>>(),
            ["central", "google", "gradle-plugins"]
        );
    }

    #[test]
    fn upstream_points_central_and_defaults_can_be_dropped() {
        let mut s = section(serde_json::json!({}));
        s.upstream = Url::parse("http://nexus.lan/repository/central").unwrap();
        let remotes = Remotes::from_section(&s).unwrap();
        assert_eq!(
            remotes.get("central").unwrap().as_str(),
            "http://nexus.lan/repository/central/"
        );
        let only = Remotes::from_section(&section(serde_json::json!({
            "default_remotes": false, "remotes": {"fixture": "http://127.0.0.1:1/m2/"}
        })))
        .unwrap();
        assert_eq!(only.names().collect::<Vec<_>>(), ["fixture"]);
        let err = Remotes::from_section(&section(serde_json::json!({"default_remotes": false})))
            .unwrap_err();
        assert!(err.0.contains("[maven.remotes]"), "{err}");
    }

    #[test]
    fn bad_names_say_what_to_fix() {
        for bad in ["a/b", "", ".hidden", "a b"] {
            let err = Remotes::from_section(&section(serde_json::json!({
                "remotes": {bad: "http://a/"}
            })))
            .unwrap_err();
            assert!(err.0.contains("plain word"), "{bad}: {err}");
        }
    }
}
