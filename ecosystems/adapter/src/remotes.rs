//! Named remotes (`[apt.remotes]`, `[maven.remotes]`): the shape shared by every adapter that
//! serves several upstream repositories under `/<adapter>/<remote>/...`.
//!
//! ```toml
//! [maven]
//! default_remotes = true                            # keep the adapter's built-in remotes
//! [maven.remotes]
//! google = "https://maven.google.com/"             # name = base URL
//! ```
//!
//! This module reads the two keys and checks the URLs; each adapter decides which names it
//! accepts (apt's are host names, so proxy requests can name them) and what its defaults are.

use crate::{parse_base_url, Section, SettingsError};
use url::Url;

/// The `default_remotes` key: whether the adapter's built-in remotes are kept (default: yes).
pub fn keep_defaults(section: &Section, adapter: &str) -> Result<bool, SettingsError> {
    match section.extra.get("default_remotes") {
        None => Ok(true),
        Some(serde_json::Value::Bool(keep)) => Ok(*keep),
        Some(other) => Err(SettingsError(format!(
            "[{adapter}] default_remotes must be true or false, got {other}"
        ))),
    }
}

/// The `[<adapter>.remotes]` table as (name as written, base URL) pairs, in the table's order.
/// `example` is a base URL shown in the error for a value that is not a string.
pub fn configured(
    section: &Section,
    adapter: &str,
    example: &str,
) -> Result<Vec<(String, Url)>, SettingsError> {
    let table = match section.extra.get("remotes") {
        None => return Ok(Vec::new()),
        Some(serde_json::Value::Object(table)) => table,
        Some(other) => {
            return Err(SettingsError(format!(
                "[{adapter}] remotes must be a table of name = \"base URL\", got {other}"
            )))
        }
    };
    table
        .iter()
        .map(|(name, value)| {
            let serde_json::Value::String(url) = value else {
                return Err(SettingsError(format!(
                    "[{adapter}.remotes] {name:?} must be a base URL string like \"{example}\", got {value}"
                )));
            };
            let url = parse_base_url(&format!("[{adapter}.remotes] {name:?}"), url)?;
            Ok((name.clone(), url))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn section(extra: serde_json::Value) -> Section {
        Section {
            upstream: Url::parse("http://up.example/").unwrap(),
            metadata_ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(10),
            extra: match extra {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
        }
    }

    #[test]
    fn reads_the_table_and_makes_directories() {
        let s = section(serde_json::json!({"remotes": {
            "b": "https://b.example/repo", "a": "http://a.example/"
        }}));
        let remotes = configured(&s, "x", "http://e/").unwrap();
        let urls: Vec<_> = remotes.iter().map(|(_, url)| url.as_str()).collect();
        assert!(urls.contains(&"https://b.example/repo/"), "{urls:?}");
        assert!(urls.contains(&"http://a.example/"), "{urls:?}");
        assert!(keep_defaults(&s, "x").unwrap());
        let none = section(serde_json::json!({"default_remotes": false}));
        assert!(!keep_defaults(&none, "x").unwrap());
        assert!(configured(&none, "x", "http://e/").unwrap().is_empty());
    }

    #[test]
    fn bad_values_say_what_to_fix() {
        for (extra, needle) in [
            (
                serde_json::json!({"remotes": {"r": 1}}),
                "[x.remotes] \"r\" must be a base URL string like \"http://e/\"",
            ),
            (
                serde_json::json!({"remotes": {"r": "ftp://a/"}}),
                "http:// or https://",
            ),
            (
                serde_json::json!({"remotes": {"r": "nope"}}),
                "is not a URL",
            ),
            (
                serde_json::json!({"remotes": {"r": "http://a/#f"}}),
                "#fragment",
            ),
            (
                serde_json::json!({"remotes": "http://a/"}),
                "[x] remotes must be a table",
            ),
        ] {
            let err = configured(&section(extra.clone()), "x", "http://e/").unwrap_err();
            assert!(err.0.contains(needle), "{extra}: {err}");
        }
        let err =
            keep_defaults(&section(serde_json::json!({"default_remotes": "no"})), "x").unwrap_err();
        assert!(
            err.0.contains("[x] default_remotes must be true or false"),
            "{err}"
        );
    }
}
