//! The module files a `go.sum` names, as larder paths: what `larder warm` fetches for Go.
//!
//! Pure: bytes in, paths out. A line `<module> <version> h1:…` names the module's zip (and its
//! `.info`, which `go mod download` asks for too); `<module> <version>/go.mod h1:…` names its
//! `go.mod`. Malformed lines are an error naming the line, never a panic.

use larder_adapter::{Fetch, Lockfile, Match};
use std::fmt;

/// The format `larder warm` reads for Go.
pub const LOCKFILES: [Lockfile; 1] = [Lockfile {
    kind: "go.sum",
    recognize: |name, _| (name == "go.sum").then_some(Match::Name),
    parse: |bytes, _| {
        Ok(go_sum(bytes)?
            .into_iter()
            .map(|path| Fetch::Get {
                path,
                headers: Vec::new(),
            })
            .collect())
    },
    needs: &[],
}];

impl From<GoSumError> for larder_adapter::LockfileError {
    fn from(err: GoSumError) -> Self {
        larder_adapter::LockfileError(err.0)
    }
}

/// Why a `go.sum` could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoSumError(pub String);

impl fmt::Display for GoSumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GoSumError {}

/// The paths under larder's `/go/` prefix, sorted and without duplicates:
/// `<escaped module>/@v/<escaped version>.{info,mod,zip}`.
pub fn go_sum(bytes: &[u8]) -> Result<Vec<String>, GoSumError> {
    let text = std::str::from_utf8(bytes).map_err(|_| GoSumError("go.sum is not UTF-8".into()))?;
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = fields[..] else {
            return Err(GoSumError(format!(
                "go.sum line {}: expected `<module> <version> <hash>`, found {line:?}",
                index + 1
            )));
        };
        let bad = |what: &str| {
            GoSumError(format!(
                "go.sum line {}: invalid {what} in {line:?}",
                index + 1
            ))
        };
        if !hash.contains(':') {
            return Err(bad("hash"));
        }
        let (version, only_mod) = match version.strip_suffix("/go.mod") {
            Some(version) => (version, true),
            None => (version, false),
        };
        let module = escape(module, true).ok_or_else(|| bad("module path"))?;
        let version = escape(version, false).ok_or_else(|| bad("version"))?;
        if !version.starts_with('v') {
            return Err(bad("version"));
        }
        let base = format!("{module}/@v/{version}");
        if only_mod {
            out.push(format!("{base}.mod"));
        } else {
            out.push(format!("{base}.info"));
            out.push(format!("{base}.zip"));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The go command's case escaping (`BurntSushi` → `!burnt!sushi`), refusing characters that
/// cannot appear in a module path or version.
fn escape(raw: &str, is_path: bool) -> Option<String> {
    if raw.is_empty() || raw.len() > 1024 || raw.starts_with('/') || raw.ends_with('/') {
        return None;
    }
    if raw
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return None;
    }
    let mut out = String::with_capacity(raw.len() + 4);
    for c in raw.chars() {
        match c {
            'A'..='Z' => {
                out.push('!');
                out.push(c.to_ascii_lowercase());
            }
            'a'..='z' | '0'..='9' | '.' | '-' | '_' | '~' | '+' => out.push(c),
            '/' if is_path => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_info_and_mod_paths_with_case_escaped() {
        let sum = b"github.com/BurntSushi/toml v1.3.2 h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=\ngithub.com/BurntSushi/toml v1.3.2/go.mod h1:CxXYINrC8qIiEnFrOxCa7Jy5BFHlXnUU2pbicEuybxQ=\nexample.com/only v0.1.0-RC.1/go.mod h1:x=\n\n";
        assert_eq!(
            go_sum(sum).unwrap(),
            [
                "example.com/only/@v/v0.1.0-!r!c.1.mod",
                "github.com/!burnt!sushi/toml/@v/v1.3.2.info",
                "github.com/!burnt!sushi/toml/@v/v1.3.2.mod",
                "github.com/!burnt!sushi/toml/@v/v1.3.2.zip",
            ]
        );
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        let err = go_sum(b"a.com/x v1.0.0 h1:x=\na.com/y v1.0.0\n").unwrap_err();
        assert!(err.0.contains("line 2"), "{err}");
        assert!(go_sum(b"a.com/../x v1.0.0 h1:x=").is_err());
        assert!(go_sum(b"a.com/x 1.0.0 h1:x=").is_err());
        assert!(go_sum(b"a.com/x v1.0.0/../y h1:x=").is_err());
        assert!(go_sum(b"a.com/x v1.0.0 nohash").is_err());
        assert!(go_sum(b"\xff").is_err());
        assert!(go_sum(b"").unwrap().is_empty());
    }

    use larder_adapter::testing::sweep;

    #[test]
    fn truncated_and_mangled_go_sums_never_panic() {
        let sum = b"github.com/Burnt/x v1.0.0-RC.1 h1:abc=\ngithub.com/Burnt/x v1.0.0-RC.1/go.mod h1:def=\n";
        sweep(sum, |b| drop(go_sum(b)));
    }
}
