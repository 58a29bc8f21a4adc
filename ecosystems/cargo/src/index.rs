//! A crate's index file: one JSON object per line, one line per published version.

use larder_adapter::{Algorithm, Digest, Listing};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    vers: Cow<'a, str>,
    #[serde(borrow, default)]
    cksum: Option<Cow<'a, str>>,
}

/// The sha256 the index declares for `version` (its line's `cksum`). Lines that do not parse
/// are skipped, as cargo skips them: a registry may add versions in a newer schema.
pub fn find_cksum(index_body: &[u8], version: &str) -> Listing {
    for raw in index_body.split(|&b| b == b'\n') {
        let Ok(line) = serde_json::from_slice::<Line<'_>>(raw) else {
            continue;
        };
        if line.vers != version {
            continue;
        }
        return match line
            .cksum
            .and_then(|cksum| Digest::from_hex(Algorithm::Sha256, &cksum))
        {
            Some(digest) => Listing::Found(digest),
            None => Listing::Unverifiable,
        };
    }
    Listing::Absent
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM_A: &str = "aa00000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn finds_the_version_line() {
        let body = format!(
            "{{\"name\":\"x\",\"vers\":\"0.1.0\",\"cksum\":\"{}\"}}\nnot json\n{{\"name\":\"x\",\"vers\":\"1.0.0\",\"deps\":[],\"cksum\":\"{SUM_A}\",\"yanked\":true}}\n",
            "bb".repeat(32)
        );
        assert_eq!(
            find_cksum(body.as_bytes(), "1.0.0"),
            Listing::Found(Digest::from_hex(Algorithm::Sha256, SUM_A).unwrap())
        );
        assert_eq!(find_cksum(body.as_bytes(), "2.0.0"), Listing::Absent);
        assert_eq!(find_cksum(b"", "1.0.0"), Listing::Absent);
    }

    #[test]
    fn a_line_without_a_usable_cksum_is_unverifiable() {
        assert_eq!(
            find_cksum(br#"{"vers":"1.0.0","cksum":"xyz"}"#, "1.0.0"),
            Listing::Unverifiable
        );
        assert_eq!(
            find_cksum(br#"{"vers":"1.0.0"}"#, "1.0.0"),
            Listing::Unverifiable
        );
    }
}
