//! Module paths and versions as they travel in GOPROXY URLs.
//!
//! The go command escapes every upper-case letter as `!` plus its lower-case form
//! (`github.com/BurntSushi/toml` → `github.com/!burnt!sushi/toml`), so that a proxy backed by a
//! case-insensitive file system cannot confuse two modules. It then percent-encodes the result
//! (it sends `%21` for `!`). This module undoes the percent-encoding, checks the `!`-escaping and
//! the decoded path or version with the go command's own rules, and refuses anything else: a
//! request that fails here gets 400 and is never forwarded upstream.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt;

/// Longest escaped module path accepted. Real module paths stay far below (the longest on the
/// public proxy are about 150 bytes); the bound keeps cache keys and upstream URLs sane.
pub const MAX_PATH_LEN: usize = 1024;
/// Longest escaped version accepted (pseudo-versions are about 40 bytes, branch names rarely
/// more than 100).
pub const MAX_VERSION_LEN: usize = 256;

/// Why a request was refused, worded for the person reading the 400 body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn malformed(what: &str, raw: &str, why: impl fmt::Display) -> Malformed {
    // The raw text is echoed back shortened so that an absurd request cannot make an absurd reply.
    let shown: String = raw.chars().take(120).collect();
    let ellipsis = if shown.len() < raw.len() { "…" } else { "" };
    Malformed(format!("malformed {what} {shown:?}{ellipsis}: {why}"))
}

/// Undoes the URL's percent-encoding. Rejects a `%` not followed by two hex digits (so that one
/// decoded string has one encoded form) and bytes that are not UTF-8.
pub fn percent_decode(raw: &str) -> Result<String, Malformed> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + offset;
        let ok = bytes.get(at + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(at + 2).is_some_and(u8::is_ascii_hexdigit);
        if !ok {
            return Err(malformed(
                "URL path",
                raw,
                "'%' not followed by two hex digits",
            ));
        }
        i = at + 3;
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| malformed("URL path", raw, "percent-encoded bytes are not UTF-8"))
}

/// Undoes the `!`-escaping: `!x` → `X`. The escaped form must be ASCII without upper-case
/// letters, and every `!` must be followed by a lower-case letter.
fn unescape(what: &str, escaped: &str) -> Result<String, Malformed> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return Err(malformed(
                what,
                escaped,
                format!("non-ASCII character {c:?} in the escaped form"),
            ));
        }
        if bang {
            bang = false;
            if !c.is_ascii_lowercase() {
                return Err(malformed(
                    what,
                    escaped,
                    format!("'!' must be followed by a lower-case letter, not {c:?}"),
                ));
            }
            out.push(c.to_ascii_uppercase());
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return Err(malformed(
                what,
                escaped,
                format!(
                    "upper-case {c:?} in the escaped form (the go command sends '!{}')",
                    c.to_ascii_lowercase()
                ),
            ));
        } else {
            out.push(c);
        }
    }
    if bang {
        return Err(malformed(what, escaped, "ends with a lone '!'"));
    }
    Ok(out)
}

/// Characters allowed in a module path element (the go command's `modPathOK`).
fn module_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Characters allowed in a version (the go command's `fileNameOK`, ASCII part: the escaped form
/// is ASCII, so no other letter can arrive).
fn version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " !#$%&()+,-.=@[]^_{}~".contains(c)
}

/// Checks an escaped module path (`github.com/!burnt!sushi/toml`) and returns it decoded
/// (`github.com/BurntSushi/toml`). The rules are the go command's rules (`module.CheckPath`): non-empty
/// elements of `[A-Za-z0-9-._~]` that are not all dots and neither start nor end with a dot; a
/// first element of lower-case letters, digits, `-` and `.` that contains a dot and does not
/// start with `-`.
pub fn module_path(escaped: &str) -> Result<String, Malformed> {
    const WHAT: &str = "module path";
    if escaped.len() > MAX_PATH_LEN {
        return Err(malformed(
            WHAT,
            escaped,
            format!("longer than {MAX_PATH_LEN} bytes"),
        ));
    }
    let decoded = unescape(WHAT, escaped)?;
    for element in decoded.split('/') {
        if element.is_empty() {
            return Err(malformed(
                WHAT,
                escaped,
                "empty path element (leading, trailing or doubled '/')",
            ));
        }
        if element.chars().all(|c| c == '.') {
            return Err(malformed(
                WHAT,
                escaped,
                format!("path element {element:?} is only dots"),
            ));
        }
        if element.starts_with('.') || element.ends_with('.') {
            return Err(malformed(
                WHAT,
                escaped,
                format!("path element {element:?} starts or ends with a dot"),
            ));
        }
        if let Some(bad) = element.chars().find(|&c| !module_path_char(c)) {
            return Err(malformed(
                WHAT,
                escaped,
                format!("character {bad:?} is not allowed in a module path"),
            ));
        }
    }
    let first = decoded.split('/').next().unwrap_or_default();
    if !first.contains('.') {
        return Err(malformed(
            WHAT,
            escaped,
            "first path element has no dot (module paths start with a domain)",
        ));
    }
    if first.starts_with('-') {
        return Err(malformed(
            WHAT,
            escaped,
            "first path element starts with '-'",
        ));
    }
    if let Some(bad) = first
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'))
    {
        return Err(malformed(
            WHAT,
            escaped,
            format!("character {bad:?} is not allowed in the first path element"),
        ));
    }
    Ok(decoded)
}

/// A `!`-escaped version (or version query: a branch, a tag, a commit prefix) from a request.
#[derive(Debug)]
pub struct Version {
    pub escaped: String,
    pub decoded: String,
}

/// Checks an escaped version with the go command's rules (`module.UnescapeVersion`): one
/// non-empty file-name element, not all dots, no trailing dot, no `/`.
pub fn version(escaped: &str) -> Result<Version, Malformed> {
    const WHAT: &str = "version";
    if escaped.len() > MAX_VERSION_LEN {
        return Err(malformed(
            WHAT,
            escaped,
            format!("longer than {MAX_VERSION_LEN} bytes"),
        ));
    }
    let decoded = unescape(WHAT, escaped)?;
    if decoded.is_empty() {
        return Err(malformed(WHAT, escaped, "empty version"));
    }
    if decoded.chars().all(|c| c == '.') || decoded.ends_with('.') {
        return Err(malformed(
            WHAT,
            escaped,
            "a version cannot be only dots or end with a dot",
        ));
    }
    if let Some(bad) = decoded.chars().find(|&c| !version_char(c)) {
        return Err(malformed(
            WHAT,
            escaped,
            format!("character {bad:?} is not allowed in a version"),
        ));
    }
    Ok(Version {
        escaped: escaped.to_owned(),
        decoded,
    })
}

/// Characters percent-encoded when an escaped path or version goes into an upstream URL: all but
/// RFC 3986's unreserved characters, sub-delimiters, `:`, `@` and `/`.
const URL_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Encodes a checked escaped path or version for an upstream URL. `!` stays as it is, as the
/// public proxy's own URLs have it.
pub fn for_url(escaped: &str) -> String {
    utf8_percent_encode(escaped, URL_PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_letters_decode_from_bang_escapes() {
        let path = module_path("github.com/!burnt!sushi/toml").unwrap();
        assert_eq!(path, "github.com/BurntSushi/toml");
        assert_eq!(
            module_path("example.com/!a!b!c").unwrap(),
            "example.com/ABC"
        );
        assert_eq!(module_path("example.com/x!y").unwrap(), "example.com/xY");
        assert_eq!(version("v1.0.0-!r!c.1").unwrap().decoded, "v1.0.0-RC.1");
        assert_eq!(
            version("v2.0.0+incompatible").unwrap().decoded,
            "v2.0.0+incompatible"
        );
    }

    #[test]
    fn escaping_matrix_rejects_what_the_go_command_never_sends() {
        let bad_paths = [
            ("github.com/BurntSushi/toml", "upper-case"),
            ("example.com/!", "lone '!'"),
            ("example.com/!!a", "followed by a lower-case"),
            ("example.com/!1", "followed by a lower-case"),
            ("example.com/!A", "followed by a lower-case"),
            ("example.com/é", "non-ASCII"),
            ("example.com/a/../b", "only dots"),
            ("example.com/a/./b", "only dots"),
            ("example.com//b", "empty path element"),
            ("example.com/b/", "empty path element"),
            ("", "empty path element"),
            ("example.com/.hidden", "starts or ends with a dot"),
            ("example.com/trailing.", "starts or ends with a dot"),
            ("example.com/a b", "not allowed"),
            ("example.com/a@b", "not allowed"),
            ("example.com/a%b", "not allowed"),
            ("localhost/mod", "no dot"),
            ("-example.com/mod", "starts with '-'"),
            ("exa_mple.com/mod", "first path element"),
            ("example.com:8080/mod", "not allowed"),
        ];
        for (raw, why) in bad_paths {
            let err = module_path(raw)
                .err()
                .unwrap_or_else(|| panic!("{raw:?} accepted"));
            assert!(err.0.contains(why), "{raw:?}: {err} lacks {why:?}");
        }
        let long = format!("example.com/{}", "a".repeat(MAX_PATH_LEN));
        assert!(module_path(&long).unwrap_err().0.contains("longer than"));
        let bad_versions = [
            "", ".", "..", "v1.", "V1.0.0", "v1/0", "v1!", "v1!2", "v1\u{0}", "v1\n",
        ];
        for raw in bad_versions {
            assert!(version(raw).is_err(), "{raw:?} accepted");
        }
        assert!(version(&"v".repeat(MAX_VERSION_LEN + 1)).is_err());
    }

    #[test]
    fn unusual_but_legal_elements_are_accepted() {
        for ok in [
            "gopkg.in/yaml.v3",
            "golang.org/toolchain",
            "example.com/a~b_c-d",
            "a.b/c.d.e",
        ] {
            assert!(module_path(ok).is_ok(), "{ok:?} rejected");
        }
        for ok in [
            "master",
            "feature_x",
            "v0.0.0-20191109021931-daa7c04131f5",
            "abc123",
            "v1.0.0+meta",
        ] {
            assert!(version(ok).is_ok(), "{ok:?} rejected");
        }
    }

    #[test]
    fn percent_decoding_is_strict_and_unambiguous() {
        assert_eq!(
            percent_decode("/github.com/%21burnt%21sushi/toml").unwrap(),
            "/github.com/!burnt!sushi/toml"
        );
        assert_eq!(percent_decode("/a%2Fb").unwrap(), "/a/b");
        assert!(percent_decode("/a%zz").is_err());
        assert!(percent_decode("/a%2").is_err());
        assert!(percent_decode("/a%").is_err());
        assert!(percent_decode("/a%ff%fe").is_err(), "not UTF-8");
    }

    #[test]
    fn upstream_url_encoding_keeps_bangs_and_plus() {
        assert_eq!(
            for_url("github.com/!burnt!sushi/toml"),
            "github.com/!burnt!sushi/toml"
        );
        assert_eq!(for_url("v2.0.0+incompatible"), "v2.0.0+incompatible");
        assert_eq!(for_url("br#anch %x?"), "br%23anch%20%25x%3F");
    }
}
