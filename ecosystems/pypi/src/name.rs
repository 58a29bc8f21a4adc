//! Project names: PEP 503 normalization and the validation that keeps odd bytes and path
//! traversal out of cache keys and upstream URLs.

use percent_encoding::percent_decode_str;

/// Longest project name accepted. PyPI has no hard limit, but nothing real comes close; the bound
/// keeps keys and URLs small.
const MAX_NAME_LEN: usize = 200;

/// PEP 503 normalization: runs of `-`, `_` and `.` become one `-`, and ASCII is lowercased.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// Decodes a percent-encoded path segment and checks that it is a valid PEP 508 project name
/// (ASCII letters and digits, with `-`, `_`, `.` inside). Returns the decoded name as the client
/// spelled it; `None` for anything else (`..`, `%2F`, spaces, non-UTF-8, an empty name).
pub fn parse(segment: &str) -> Option<String> {
    let decoded = percent_decode_str(segment).decode_utf8().ok()?;
    let bytes = decoded.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    valid.then(|| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_pep_503() {
        for (raw, want) in [
            ("friendly-bard", "friendly-bard"),
            ("Friendly-Bard", "friendly-bard"),
            ("FRIENDLY-BARD", "friendly-bard"),
            ("friendly.bard", "friendly-bard"),
            ("friendly_bard", "friendly-bard"),
            ("friendly--bard", "friendly-bard"),
            ("FrIeNdLy-._.-bArD", "friendly-bard"),
            ("zope.interface", "zope-interface"),
            ("A", "a"),
        ] {
            assert_eq!(normalize(raw), want, "{raw}");
        }
    }

    #[test]
    fn accepts_valid_names_and_decodes_them() {
        assert_eq!(parse("Django").as_deref(), Some("Django"));
        assert_eq!(parse("zope.interface").as_deref(), Some("zope.interface"));
        assert_eq!(parse("Foo%2Ebar").as_deref(), Some("Foo.bar"));
        assert_eq!(parse("a").as_deref(), Some("a"));
        assert_eq!(parse("3to2").as_deref(), Some("3to2"));
    }

    #[test]
    fn rejects_traversal_and_odd_bytes() {
        for bad in [
            "",
            "..",
            ".",
            "%2e%2e",
            "a%2Fb",
            "a/b",
            "a b",
            "a%20b",
            "-a",
            "a-",
            ".a",
            "a\\b",
            "caf%C3%A9",
            "%FF",
            "a%00",
            "a;b",
            "a?b",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse(&"a".repeat(MAX_NAME_LEN + 1)), None);
    }
}
