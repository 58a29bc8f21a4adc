//! Build ids: how a build tags its requests, so the SBOM of one build can be pulled afterwards.
//! Either a path prefix, `/b/<build-id>/npm/...` (what `larder env --build-id` writes into the
//! build-args; links in rewritten metadata keep it), or the `X-Larder-Build` header.

use std::fmt;

/// The header a client may send instead of the path prefix.
pub const HEADER: &str = "x-larder-build";

/// The longest id accepted.
pub const MAX_LEN: usize = 64;

/// A validated build id: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with `.` (so it is safe
/// in a path segment, a file name, a CSV cell and a URL without escaping).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildId(String);

impl BuildId {
    pub fn parse(raw: &str) -> Result<BuildId, String> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_LEN
            && !raw.starts_with('.')
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        match valid {
            true => Ok(BuildId(raw.to_string())),
            false => Err(format!(
                "build id {raw:?} is not valid: use 1 to {MAX_LEN} letters, digits, '.', '_' or '-' (not starting with '.'), like ci-1234"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path prefix that carries it: `/b/<id>`.
    pub fn prefix(&self) -> String {
        format!("/b/{}", self.0)
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `/b/<id>/<rest>` into the id and `/<rest>`; `None` when the path has no such prefix,
/// `Some(Err)` when it has one with an invalid id.
pub fn strip_prefix(path: &str) -> Option<Result<(BuildId, &str), String>> {
    let rest = path.strip_prefix("/b/")?;
    let (id, tail) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    Some(BuildId::parse(id).map(|id| (id, tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_safe() {
        assert!(BuildId::parse("ci-1234").is_ok());
        assert!(BuildId::parse("release_2026.12.01").is_ok());
        for bad in ["", ".hidden", "a/b", "a b", "x\"y", "é", &"a".repeat(65)] {
            assert!(BuildId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_prefix_is_stripped_and_checked() {
        let (id, rest) = strip_prefix("/b/ci-7/npm/left-pad").unwrap().unwrap();
        assert_eq!((id.as_str(), rest), ("ci-7", "/npm/left-pad"));
        let (_, rest) = strip_prefix("/b/ci-7").unwrap().unwrap();
        assert_eq!(rest, "/");
        assert!(strip_prefix("/b/bad%20id/npm/x").unwrap().is_err());
        assert!(strip_prefix("/npm/b/x").is_none());
        assert!(strip_prefix("/bx/ci/npm").is_none());
    }
}
