//! `[apt.remotes]`: which archives larder serves, by name.
//!
//! A remote's name is what a client names: in proxy mode the host (with `:port` when apt's
//! source line has one) of its absolute-form requests, in mirror mode the first path segment
//! after `/apt/`. Its value is the base URL larder fetches from, http or https, so that an
//! https archive can be cached through a plain-http mirror line.

use larder_adapter::{parse_base_url as base_url, remotes, Section, SettingsError};
use std::collections::BTreeMap;
use url::Url;

/// Debian's and Ubuntu's archives, served without any configuration. Configured remotes are
/// added to these; a configured name that is also a default replaces its URL (a local mirror
/// for `deb.debian.org`). `default_remotes = false` drops them all.
pub const DEFAULT_REMOTES: [(&str, &str); 5] = [
    ("deb.debian.org", "http://deb.debian.org/"),
    ("security.debian.org", "http://security.debian.org/"),
    ("archive.ubuntu.com", "http://archive.ubuntu.com/"),
    ("security.ubuntu.com", "http://security.ubuntu.com/"),
    ("ports.ubuntu.com", "http://ports.ubuntu.com/"),
];

/// The remote whose URL the common `upstream` key sets when it is not the default.
pub const UPSTREAM_REMOTE: &str = "deb.debian.org";

/// One archive larder serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// Base URL, ending with '/'.
    pub url: Url,
}

/// Configured remotes, by lower-cased name.
#[derive(Clone, Debug)]
pub struct Remotes {
    by_name: BTreeMap<String, Remote>,
}

impl Remotes {
    pub fn from_section(section: &Section) -> Result<Remotes, SettingsError> {
        let mut by_name = BTreeMap::new();
        if remotes::keep_defaults(section, "apt")? {
            for (name, url) in DEFAULT_REMOTES {
                let url = base_url(name, url)?;
                by_name.insert(name.to_string(), Remote { url });
            }
            // `upstream` stands for the Debian archive (the factory's default upstream), so
            // `[apt] upstream = "http://mirror.lan/"` points `deb.debian.org` at a local mirror.
            let url = base_url("[apt] upstream", section.upstream.as_str())?;
            by_name.insert(UPSTREAM_REMOTE.to_string(), Remote { url });
        }
        for (name, url) in remotes::configured(section, "apt", "http://deb.debian.org/")? {
            by_name.insert(check_name(&name)?, Remote { url });
        }
        if by_name.is_empty() {
            return Err(SettingsError(
                "[apt] has no remotes: add some under [apt.remotes] or drop default_remotes = false"
                    .to_string(),
            ));
        }
        Ok(Remotes { by_name })
    }

    /// The remote called `name` (matched case-insensitively, as host names are).
    pub fn get(&self, name: &str) -> Option<&Remote> {
        self.by_name.get(&name.to_ascii_lowercase())
    }

    pub fn urls(&self) -> Vec<Url> {
        self.by_name
            .values()
            .map(|remote| remote.url.clone())
            .collect()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Names that can be the host of an absolute-form request (`host` or `host:port`).
    pub fn proxy_hosts(&self) -> Vec<String> {
        self.names()
            .filter(|name| is_host(name))
            .map(str::to_string)
            .collect()
    }
}

/// A name must be usable as one path segment in mirror mode.
fn check_name(name: &str) -> Result<String, SettingsError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        && name != "."
        && name != "..";
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(SettingsError(format!(
            "[apt.remotes] name {name:?} must be a host name (optionally with :port) or a plain word \
             of letters, digits, '.', '-', '_'"
        )))
    }
}

/// `deb.debian.org`, `127.0.0.1:8080`, `mirror-1`: a host with an optional numeric port.
fn is_host(name: &str) -> bool {
    let (host, port) = match name.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (name, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    port_ok && host_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn section(extra: serde_json::Value) -> Section {
        Section {
            upstream: Url::parse("http://deb.debian.org/").unwrap(),
            metadata_ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(10),
            extra: match extra {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
        }
    }

    #[test]
    fn defaults_cover_debian_and_ubuntu() {
        let remotes = Remotes::from_section(&section(serde_json::json!({}))).unwrap();
        for (name, url) in DEFAULT_REMOTES {
            assert_eq!(remotes.get(name).unwrap().url.as_str(), url);
        }
        assert_eq!(remotes.proxy_hosts().len(), 5);
    }

    #[test]
    fn configured_remotes_extend_and_override() {
        let remotes = Remotes::from_section(&section(serde_json::json!({"remotes": {
            "deb.debian.org": "https://mirror.example/debian-root",
            "127.0.0.1:8080": "http://127.0.0.1:8080/",
            "Docker": "https://download.docker.com/linux/"
        }})))
        .unwrap();
        assert_eq!(
            remotes.get("DEB.debian.org").unwrap().url.as_str(),
            "https://mirror.example/debian-root/"
        );
        assert_eq!(
            remotes.get("docker").unwrap().url.as_str(),
            "https://download.docker.com/linux/"
        );
        assert!(remotes.get("archive.ubuntu.com").is_some(), "defaults kept");
        let hosts = remotes.proxy_hosts();
        assert!(hosts.contains(&"127.0.0.1:8080".to_string()));
        assert!(
            hosts.contains(&"docker".to_string()),
            "a single label is a valid host"
        );
    }

    #[test]
    fn upstream_key_points_the_debian_remote() {
        let mut s = section(serde_json::json!({}));
        s.upstream = Url::parse("http://mirror.lan:3142").unwrap();
        let remotes = Remotes::from_section(&s).unwrap();
        assert_eq!(
            remotes.get("deb.debian.org").unwrap().url.as_str(),
            "http://mirror.lan:3142/"
        );
    }

    #[test]
    fn defaults_can_be_dropped() {
        let remotes = Remotes::from_section(&section(serde_json::json!({
            "default_remotes": false, "remotes": {"r": "http://127.0.0.1:1/"}
        })))
        .unwrap();
        assert_eq!(remotes.names().collect::<Vec<_>>(), ["r"]);
        let err = Remotes::from_section(&section(serde_json::json!({"default_remotes": false})))
            .unwrap_err();
        assert!(err.0.contains("[apt.remotes]"), "{err}");
    }

    #[test]
    fn bad_config_says_what_to_fix() {
        for (extra, needle) in [
            (
                serde_json::json!({"remotes": {"x": 1}}),
                "must be a base URL",
            ),
            (
                serde_json::json!({"remotes": {"x": "ftp://a/"}}),
                "http:// or https://",
            ),
            (
                serde_json::json!({"remotes": {"x": "not a url"}}),
                "is not a URL",
            ),
            (
                serde_json::json!({"remotes": {"a/b": "http://a/"}}),
                "host name",
            ),
            (
                serde_json::json!({"remotes": {"x": "http://a/?q"}}),
                "query",
            ),
            (serde_json::json!({"remotes": "http://a/"}), "table"),
            (
                serde_json::json!({"default_remotes": "no"}),
                "true or false",
            ),
        ] {
            let err = Remotes::from_section(&section(extra.clone())).unwrap_err();
            assert!(err.0.contains(needle), "{extra}: {err}");
        }
    }

    #[test]
    fn host_syntax() {
        for good in ["deb.debian.org", "127.0.0.1:8080", "mirror-1", "a.b:1"] {
            assert!(is_host(good), "{good}");
        }
        for bad in ["a:", "a:99999", ":80", "a..b", "-a", "a_b", "a:b"] {
            assert!(!is_host(bad), "{bad}");
        }
    }
}
