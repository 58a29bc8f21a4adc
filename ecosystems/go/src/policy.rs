//! What `[policy]` needs of a GOPROXY: publish times from `.info` (`Time`), and `@v/list` and
//! `@latest` without withheld versions. `@v/list` states no times, so each listed version's
//! `.info` judges it (immutable for canonical versions, so fetched once); `@latest` states its
//! own, and when its version is withheld nothing can remain of it: the refusal is answered
//! instead, and the go command, which asks `@latest` only when the list is empty, reports it.

use crate::escape;
use larder_adapter::policy::parse_rfc3339;
use larder_adapter::{Offer, PublishTimes, Withheld};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    List,
    Latest,
}

/// The escaped module path of a version listing's key (`proxy/<module>/@v/list`,
/// `proxy/<module>/@latest`).
pub fn listing(key: &str) -> Option<(&str, Listing)> {
    let rest = key.strip_prefix("proxy/")?;
    if let Some(module) = rest.strip_suffix("/@v/list") {
        return Some((module, Listing::List));
    }
    rest.strip_suffix("/@latest")
        .map(|module| (module, Listing::Latest))
}

/// The escaped module path and version of a zip's key (`proxy/<module>/@v/<version>.zip`).
pub fn zip_parts(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("proxy/")?;
    let (module, file) = rest.split_once("/@v/")?;
    Some((module, file.strip_suffix(".zip")?))
}

/// A version as the proxy protocol writes it in paths: upper-case letters as `!` + lower case.
pub fn escape_version(version: &str) -> String {
    let mut escaped = String::with_capacity(version.len());
    for c in version.chars() {
        if c.is_ascii_uppercase() {
            escaped.push('!');
            escaped.push(c.to_ascii_lowercase());
        } else {
            escaped.push(c);
        }
    }
    escaped
}

#[derive(serde::Deserialize)]
struct Info {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Time", default)]
    time: Option<String>,
}

/// `{"Version": …, "Time": …}` of a `.info` or `@latest` body.
pub fn publish_times(body: &[u8]) -> PublishTimes {
    let Ok(info) = serde_json::from_slice::<Info>(body) else {
        return PublishTimes::new();
    };
    match info.time.as_deref().and_then(parse_rfc3339) {
        Some(at) => [(info.version, at)].into_iter().collect(),
        None => PublishTimes::new(),
    }
}

pub fn offers(module: &str, listing: Listing, body: &[u8]) -> Result<Vec<Offer>, String> {
    let package = escape::module_path(module).map_err(|e| e.to_string())?;
    let offer = |version: &str| Offer {
        package: package.clone(),
        version: version.to_string(),
        key: version.to_string(),
    };
    match listing {
        Listing::List => {
            let text = std::str::from_utf8(body).map_err(|_| "@v/list is not UTF-8".to_string())?;
            Ok(text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(offer)
                .collect())
        }
        Listing::Latest => {
            let info: Info = serde_json::from_slice(body)
                .map_err(|e| format!("@latest is not a version's info: {e}"))?;
            Ok(vec![offer(&info.version)])
        }
    }
}

pub fn withhold(listing: Listing, body: &[u8], withheld: &Withheld) -> Result<Vec<u8>, String> {
    match listing {
        Listing::List => {
            let text = std::str::from_utf8(body).map_err(|_| "@v/list is not UTF-8".to_string())?;
            let mut out = String::with_capacity(text.len());
            for line in text.lines().filter(|l| !withheld.contains(l.trim())) {
                out.push_str(line);
                out.push('\n');
            }
            Ok(out.into_bytes())
        }
        Listing::Latest => Err("the latest version is withheld".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_lose_withheld_versions_and_latest_cannot() {
        let withheld: Withheld = ["v1.2.0".to_string()].into_iter().collect();
        let list = withhold(Listing::List, b"v1.0.0\nv1.2.0\nv1.1.0\n", &withheld).unwrap();
        assert_eq!(list, b"v1.0.0\nv1.1.0\n");
        assert!(withhold(Listing::Latest, b"{}", &withheld).is_err());
        let offered = offers("github.com/!burnt!sushi/toml", Listing::List, b"v1.0.0\n").unwrap();
        assert_eq!(offered[0].package, "github.com/BurntSushi/toml");
        let times = publish_times(br#"{"Version":"v1.2.0","Time":"2019-03-01T22:32:12Z"}"#);
        assert_eq!(times["v1.2.0"], 1_551_479_532);
        assert_eq!(
            listing("proxy/example.com/m/@v/list"),
            Some(("example.com/m", Listing::List))
        );
        assert_eq!(
            zip_parts("proxy/example.com/m/@v/v1.0.0.zip"),
            Some(("example.com/m", "v1.0.0"))
        );
        assert_eq!(escape_version("v1.0.0-Beta"), "v1.0.0-!beta");
    }

    #[test]
    fn malformed_listings_are_errors_never_panics() {
        let some: Withheld = ["v1.0.0".to_string()].into_iter().collect();
        let latest = br#"{"Version":"v1.0.0","Time":"2019-03-01T22:32:12Z"}"#;
        larder_adapter::testing::sweep(latest, |bytes| {
            let _ = publish_times(bytes);
            let _ = offers("example.com/m", Listing::Latest, bytes);
            let _ = offers("example.com/m", Listing::List, bytes);
            let _ = withhold(Listing::List, bytes, &some);
        });
    }
}
