//! Finding a tarball's digest in a packument.
//!
//! Packuments reach tens of MB (full) and a few MB (abbreviated). The parser walks the document
//! once with serde, keeping only `versions.*.dist.{tarball,integrity,shasum}` of the version
//! whose tarball matches and skipping everything else with `IgnoredAny`: linear time, and memory
//! bounded by one version's `dist` rather than by the document.

use larder_adapter::{Algorithm, Digest, Listing};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// What `packument` declares for the tarball named `file` (`name-1.0.0.tgz`).
pub fn find(packument: &[u8], file: &str) -> Listing {
    let mut deserializer = serde_json::Deserializer::from_slice(packument);
    let found = match (DocumentSeed { file }).deserialize(&mut deserializer) {
        Ok(found) => found,
        Err(_) => return Listing::Unverifiable,
    };
    if deserializer.end().is_err() {
        return Listing::Unverifiable;
    }
    match found {
        None => Listing::Absent,
        Some(dist) => dist.digest().map_or(Listing::Unverifiable, Listing::Found),
    }
}

/// The part of `versions.<v>.dist` larder reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Dist {
    tarball: Option<String>,
    integrity: Option<String>,
    shasum: Option<String>,
}

impl Dist {
    /// sha512 SRI when present and parseable (npm's own preference), else the sha1 `shasum`.
    fn digest(&self) -> Option<Digest> {
        self.integrity
            .as_deref()
            .and_then(Digest::from_sri)
            .or_else(|| {
                self.shasum
                    .as_deref()
                    .and_then(|hex| Digest::from_hex(Algorithm::Sha1, hex))
            })
    }

    fn names(&self, file: &str) -> bool {
        let Some(url) = self.tarball.as_deref() else {
            return false;
        };
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let last = path.rsplit('/').next().unwrap_or(path);
        last == file
            || percent_encoding::percent_decode_str(last)
                .decode_utf8()
                .is_ok_and(|decoded| decoded == file)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Version {
    dist: Option<Dist>,
}

/// The whole document: a map in which only `versions` matters.
struct DocumentSeed<'f> {
    file: &'f str,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = Option<Dist>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = Option<Dist>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a packument object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key.is_versions && found.is_none() {
                found = map.next_value_seed(VersionsSeed { file: self.file })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// `versions`: version → manifest. Returns the first `dist` whose tarball is `file` and that
/// carries a usable digest, else the first whose tarball is `file`.
struct VersionsSeed<'f> {
    file: &'f str,
}

impl<'de> DeserializeSeed<'de> for VersionsSeed<'_> {
    type Value = Option<Dist>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for VersionsSeed<'_> {
    type Value = Option<Dist>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of versions")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<Dist> = None;
        while map.next_key::<IgnoredAny>()?.is_some() {
            let settled = found.as_ref().is_some_and(|dist| dist.digest().is_some());
            if settled {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let version: Version = map.next_value()?;
            if let Some(dist) = version.dist.filter(|dist| dist.names(self.file)) {
                if found.is_none() || dist.digest().is_some() {
                    found = Some(dist);
                }
            }
        }
        Ok(found)
    }
}

/// A packument key, remembered only as "is it `versions`?".
struct Key {
    is_versions: bool,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(Key {
            is_versions: key == "versions",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA512: &str =
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";
    const SHA1: &str = "a8be253b96cb21553188aa93ecff4a8d19dfc91e";

    fn doc(dist: &str) -> String {
        format!(
            r#"{{"name":"a","versions":{{"0.9.0":{{"dist":{{"tarball":"https://r/a/-/a-0.9.0.tgz","shasum":"{SHA1}"}}}},"1.0.0":{{"name":"a","dist":{dist}}}}},"time":{{}}}}"#
        )
    }

    #[test]
    fn prefers_integrity_then_shasum() {
        let both = doc(&format!(
            r#"{{"tarball":"https://r/a/-/a-1.0.0.tgz","integrity":"{SHA512}","shasum":"{SHA1}"}}"#
        ));
        assert_eq!(
            find(both.as_bytes(), "a-1.0.0.tgz"),
            Listing::Found(Digest::from_sri(SHA512).unwrap())
        );
        let sha1_only = doc(&format!(
            r#"{{"tarball":"https://r/a/-/a-1.0.0.tgz","shasum":"{SHA1}"}}"#
        ));
        assert_eq!(
            find(sha1_only.as_bytes(), "a-1.0.0.tgz"),
            Listing::Found(Digest::from_hex(Algorithm::Sha1, SHA1).unwrap())
        );
        let bad_sri = doc(&format!(
            r#"{{"tarball":"https://r/a/-/a-1.0.0.tgz","integrity":"sha512-!!","shasum":"{SHA1}"}}"#
        ));
        assert_eq!(
            find(bad_sri.as_bytes(), "a-1.0.0.tgz"),
            Listing::Found(Digest::from_hex(Algorithm::Sha1, SHA1).unwrap())
        );
    }

    #[test]
    fn absent_and_unverifiable() {
        let listed = doc(r#"{"tarball":"https://r/a/-/a-1.0.0.tgz"}"#);
        assert_eq!(
            find(listed.as_bytes(), "a-1.0.0.tgz"),
            Listing::Unverifiable,
            "listed without digest"
        );
        assert_eq!(find(listed.as_bytes(), "a-2.0.0.tgz"), Listing::Absent);
        assert_eq!(find(br#"{"name":"a"}"#, "a-1.0.0.tgz"), Listing::Absent);
        assert_eq!(find(br#"{"versions":{}}"#, "a-1.0.0.tgz"), Listing::Absent);
        for malformed in [
            &b""[..],
            b"[]",
            b"{",
            b"{\"versions\":[]}",
            b"{\"versions\":{\"1\":{\"dist\":7}}}",
            b"{} x",
            b"\xff",
        ] {
            assert_eq!(
                find(malformed, "a-1.0.0.tgz"),
                Listing::Unverifiable,
                "{:?}",
                String::from_utf8_lossy(malformed)
            );
        }
    }

    #[test]
    fn tarball_urls_with_queries_or_escapes_match_by_file_name() {
        let other_host = doc(&format!(
            r#"{{"tarball":"https://cdn.example/x/a-1.0.0.tgz?sig=1","shasum":"{SHA1}"}}"#
        ));
        assert!(matches!(
            find(other_host.as_bytes(), "a-1.0.0.tgz"),
            Listing::Found(_)
        ));
        let escaped = doc(&format!(
            r#"{{"tarball":"https:\/\/r\/a\/-\/a-1.0.0.tgz","shasum":"{SHA1}"}}"#
        ));
        assert!(matches!(
            find(escaped.as_bytes(), "a-1.0.0.tgz"),
            Listing::Found(_)
        ));
    }

    #[test]
    fn realistic_captured_packument() {
        let body = include_bytes!("../tests/data/abbreviated-scoped.json");
        let listing = find(body, "core-7.24.0.tgz");
        let Listing::Found(digest) = listing else {
            panic!("{listing:?}")
        };
        assert_eq!(digest.algorithm, Algorithm::Sha512);
        let old = find(body, "core-7.0.0-beta.4.tgz");
        let Listing::Found(digest) = old else {
            panic!("{old:?}")
        };
        assert_eq!(
            digest.algorithm,
            Algorithm::Sha1,
            "old versions only carry shasum"
        );
        assert_eq!(find(body, "core-99.0.0.tgz"), Listing::Absent);
    }

    /// `cargo test --release -p larder-npm -- --ignored --nocapture forty_mb`
    #[test]
    #[ignore]
    fn forty_mb_packument_timing() {
        let mut body = String::from(r#"{"name":"big","versions":{"#);
        for i in 0..10_000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#""1.0.{i}":{{"name":"big","description":"{pad}","dist":{{"tarball":"https://r/big/-/big-1.0.{i}.tgz","integrity":"{SHA512}"}}}}"#,
                pad = "y".repeat(3800)
            ));
        }
        body.push_str("}}");
        let started = std::time::Instant::now();
        assert!(matches!(
            find(body.as_bytes(), "big-1.0.9999.tgz"),
            Listing::Found(_)
        ));
        println!(
            "find_digest over {} bytes: {:?}",
            body.len(),
            started.elapsed()
        );
    }

    #[test]
    fn large_packument_is_parsed_in_one_pass() {
        let mut body = String::from(r#"{"name":"big","readme":""#);
        body.push_str(&"x".repeat(2_000_000));
        body.push_str(r#"","versions":{"#);
        for i in 0..20_000 {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&format!(
                r#""1.0.{i}":{{"name":"big","description":"{pad}","dependencies":{{"a":"^1"}},"dist":{{"tarball":"https://r/big/-/big-1.0.{i}.tgz","shasum":"{SHA1}","integrity":"{SHA512}"}}}}"#,
                pad = "y".repeat(200)
            ));
        }
        body.push_str("}}");
        assert!(body.len() > 8_000_000);
        assert!(matches!(
            find(body.as_bytes(), "big-1.0.19999.tgz"),
            Listing::Found(_)
        ));
        assert_eq!(find(body.as_bytes(), "big-2.0.0.tgz"), Listing::Absent);
    }
}
