//! Checksum sidecars (`x-1.0.jar.sha1`): the digest a repository publishes for a file.
//!
//! Most hold the hex digest alone; some tools write `<hex>  <file name>` (sha1sum's format) or
//! add a trailing newline. Anything else (an HTML error page, a digest of the wrong length) is
//! not a digest larder can check against.

use larder_adapter::{Algorithm, Digest};

/// The digest a sidecar's `body` declares, if it declares one of `algorithm`'s length.
pub fn parse(algorithm: Algorithm, body: &[u8]) -> Option<Digest> {
    let text = std::str::from_utf8(body.get(..1024).unwrap_or(body)).ok()?;
    let first = text.split_whitespace().next()?;
    Digest::from_hex(algorithm, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: &str = "4e031bb61df09069aeb2bffb4019e7a5034a4ee0";

    #[test]
    fn bare_and_sha1sum_forms() {
        for body in [
            SHA1.to_string(),
            format!("{SHA1}\n"),
            format!("{}  junit-4.13.2.jar\n", SHA1.to_uppercase()),
        ] {
            let digest = parse(Algorithm::Sha1, body.as_bytes()).unwrap();
            assert_eq!(digest.to_hex(), SHA1, "{body:?}");
        }
    }

    #[test]
    fn anything_else_is_no_digest() {
        for body in [
            &b""[..],
            b"\n",
            b"<html><body>Not Found</body></html>",
            b"4e031bb61df09069aeb2bffb4019e7a5034a4e",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(Algorithm::Sha1, body), None, "{body:?}");
        }
        let sha256 = "a".repeat(64);
        assert!(parse(Algorithm::Sha1, sha256.as_bytes()).is_none());
        assert!(parse(Algorithm::Sha256, sha256.as_bytes()).is_some());
    }
}
