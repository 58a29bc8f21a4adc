//! The files `apt-get install --print-uris` (or `apt-get download --print-uris`) names: what
//! `larder warm` fetches for apt. Resolution is apt's job; this only reads its answer.
//!
//! Pure. Each URI line is `'<uri>' <file name> <size> <hash>`; apt's other lines ("Reading
//! package lists...", the list of new packages) are skipped. A quoted line that does not parse is
//! an error naming the line, never a panic.

use larder_adapter::{Fetch, Lockfile, Match};
use std::fmt;
use url::Url;

/// The format `larder warm` reads for apt: it has no conventional file name, so it is known by
/// its quoted URI lines.
pub const LOCKFILES: [Lockfile; 1] = [Lockfile {
    kind: "the output of `apt-get install --print-uris`",
    recognize: |_, bytes| {
        bytes
            .split(|&b| b == b'\n')
            .any(|line| line.starts_with(b"'http://") || line.starts_with(b"'https://"))
            .then_some(Match::Content)
    },
    parse: |bytes, larder| {
        Ok(print_uris(bytes)?
            .into_iter()
            .map(|u| fetch(u.uri, larder))
            .collect())
    },
    needs: &[],
}];

/// An archive URI through larder as a proxy, or as it is when apt already points at larder as a
/// mirror. A proxy cannot cache inside TLS, so an https archive must be reached as a mirror.
fn fetch(uri: String, larder: &Url) -> Fetch {
    let under_larder = uri.starts_with(&format!("{}/", larder.as_str().trim_end_matches('/')));
    if under_larder || uri.starts_with("http://") {
        Fetch::Proxy { uri }
    } else {
        Fetch::Refused {
            label: uri,
            why: "an https:// archive cannot go through larder as a proxy; point apt at larder as a mirror (deb http://LARDER/apt/<remote>/…) and print the URIs again".into(),
        }
    }
}

impl From<PrintUrisError> for larder_adapter::LockfileError {
    fn from(err: PrintUrisError) -> Self {
        larder_adapter::LockfileError(err.0)
    }
}

/// One file apt would download.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AptUri {
    /// The archive URI, fetched through larder as a proxy (`http://` or `https://`).
    pub uri: String,
    pub size: Option<u64>,
    /// apt's expected digest, `SHA256:<hex>` (or whatever apt printed).
    pub hash: Option<String>,
}

/// Why the output could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintUrisError(pub String);

impl fmt::Display for PrintUrisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PrintUrisError {}

pub fn print_uris(bytes: &[u8]) -> Result<Vec<AptUri>, PrintUrisError> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix('\'') else {
            continue;
        };
        let bad = |why: &str| PrintUrisError(format!("line {}: {why}: {line:?}", index + 1));
        let (uri, tail) = rest
            .split_once('\'')
            .ok_or_else(|| bad("no closing quote"))?;
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Err(bad(
                "only http:// and https:// URIs can be fetched through larder",
            ));
        }
        if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("a URI with spaces or control characters"));
        }
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let size = match fields.get(1) {
            Some(size) => Some(size.parse().map_err(|_| bad("size is not a number"))?),
            None => None,
        };
        out.push(AptUri {
            uri: uri.to_string(),
            size,
            hash: fields.get(2).map(|h| h.to_string()),
        });
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_lines_are_read_and_the_rest_skipped() {
        let output = b"Reading package lists...\nThe following NEW packages will be installed:\n  curl\n'http://deb.debian.org/debian/pool/main/c/curl/curl_7.88.1-10_amd64.deb' curl_7.88.1-10_amd64.deb 315152 SHA256:abcd\n'https://deb.example.com/pool/x.deb' x.deb 10 \n";
        let uris = print_uris(output).unwrap();
        assert_eq!(uris.len(), 2);
        assert_eq!(
            uris[0].uri,
            "http://deb.debian.org/debian/pool/main/c/curl/curl_7.88.1-10_amd64.deb"
        );
        assert_eq!(uris[0].size, Some(315152));
        assert_eq!(uris[0].hash.as_deref(), Some("SHA256:abcd"));
        assert_eq!(uris[1].hash, None);
    }

    #[test]
    fn malformed_uri_lines_are_errors() {
        assert!(print_uris(b"'http://x/a.deb a.deb 1").is_err());
        assert!(print_uris(b"'file:/x/a.deb' a.deb 1 SHA256:x").is_err());
        assert!(print_uris(b"'http://x/a.deb' a.deb lots SHA256:x").is_err());
        assert!(print_uris(b"'http://x/a b.deb' a.deb 1").is_err());
        assert!(print_uris(b"\xff'").unwrap().is_empty());
    }

    use larder_adapter::testing::sweep;

    #[test]
    fn truncated_and_mangled_output_never_panics() {
        let output = b"Reading\n'http://h/pool/a_1_all.deb' a_1_all.deb 10 SHA256:ab\n'https://h/b.deb' b.deb 2\n";
        sweep(output, |b| drop(print_uris(b)));
    }
}
