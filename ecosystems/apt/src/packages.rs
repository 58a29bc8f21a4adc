//! Reading a (decompressed) `Packages` index: which SHA256 it declares for a pool file.
//!
//! A Packages file is a sequence of deb822 paragraphs, one per package, each with
//! `Filename: pool/...` (relative to the archive root) and `SHA256: <hex>`. This is what a pool
//! file must match for apt to accept it; the engine learns these declarations
//! (`Ecosystem::declared_digests`) and serves no stored pool file they contradict.

use crate::release::Entry;
use larder_adapter::{Algorithm, Digest};

/// One package paragraph's `Filename` and digests, borrowed from the body.
struct Paragraph<'a> {
    filename: Option<&'a str>,
    sha256: Option<&'a str>,
    sha512: Option<&'a str>,
}

impl Paragraph<'_> {
    fn entry(&self) -> Entry {
        match (self.sha256, self.sha512) {
            (Some(hex), _) => digest_or_weak(Algorithm::Sha256, hex),
            (None, Some(hex)) => digest_or_weak(Algorithm::Sha512, hex),
            (None, None) => Entry::WeakOnly,
        }
    }
}

/// Every paragraph of a Packages body, in order. Linear, no allocation per line.
fn paragraphs(body: &[u8]) -> impl Iterator<Item = Paragraph<'_>> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        // Packages files are UTF-8; keep what decodes rather than nothing.
        Err(err) => std::str::from_utf8(&body[..err.valid_up_to()]).unwrap_or_default(),
    };
    let mut lines = text.lines().chain(std::iter::once(""));
    std::iter::from_fn(move || {
        let mut paragraph = Paragraph {
            filename: None,
            sha256: None,
            sha512: None,
        };
        let mut any = false;
        for line in lines.by_ref() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                if any {
                    return Some(paragraph);
                }
                continue;
            }
            any = true;
            if line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim() {
                "Filename" => paragraph.filename = Some(value),
                "SHA256" => paragraph.sha256 = Some(value),
                "SHA512" => paragraph.sha512 = Some(value),
                _ => {}
            }
        }
        None
    })
}

/// The SHA256 (else SHA512) that the first paragraph with `Filename: <filename>` declares.
pub fn lookup(body: &[u8], filename: &str) -> Entry {
    paragraphs(body)
        .find(|paragraph| paragraph.filename == Some(filename))
        .map_or(Entry::Absent, |paragraph| paragraph.entry())
}

/// Every (Filename, digest) the body declares with a SHA256 or SHA512 (first paragraph wins).
pub fn entries(body: &[u8]) -> Vec<(String, Digest)> {
    let mut seen = std::collections::HashSet::new();
    paragraphs(body)
        .filter_map(|paragraph| match (paragraph.filename, paragraph.entry()) {
            (Some(filename), Entry::Digest(digest)) if seen.insert(filename) => {
                Some((filename.to_string(), digest))
            }
            _ => None,
        })
        .collect()
}

fn digest_or_weak(algorithm: Algorithm, hex: &str) -> Entry {
    Digest::from_hex(algorithm, hex).map_or(Entry::WeakOnly, Entry::Digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGES: &str = "\
Package: fixture-hello
Architecture: all
Version: 1.0
Filename: pool/main/f/fixture-hello/fixture-hello_1.0_all.deb
Size: 614
MD5sum: 523888fb01d694d093c0326e63feb83f
SHA256: 6b7e4f7bf7fe3a02ce07c13e7130c63ff2d9ac7b7be18f32709d9f12c0115cc1
Description: larder fixture fixture-hello
 with a continuation line: Filename: pool/not/this.deb

Package: fixture-world
Version: 2.0
Filename: pool/main/f/fixture-world/fixture-world_2.0_all.deb
MD5sum: c45568e6d682622bcb9539db2ad47cd6
SHA256: fca165516fbc1d367620839a6c848c382acff0856965f4933a101f92697ad34d

Package: md5-only
Filename: pool/main/m/md5-only/md5-only_1_all.deb
MD5sum: c45568e6d682622bcb9539db2ad47cd6
";

    fn sha256(hex: &str) -> Entry {
        Entry::Digest(Digest::from_hex(Algorithm::Sha256, hex).unwrap())
    }

    #[test]
    fn finds_the_paragraph_of_a_pool_file() {
        let body = PACKAGES.as_bytes();
        assert_eq!(
            lookup(body, "pool/main/f/fixture-hello/fixture-hello_1.0_all.deb"),
            sha256("6b7e4f7bf7fe3a02ce07c13e7130c63ff2d9ac7b7be18f32709d9f12c0115cc1")
        );
        // The SHA256 line comes after Filename in one paragraph and before it in none: the
        // last paragraph has no trailing blank line.
        assert_eq!(
            lookup(body, "pool/main/f/fixture-world/fixture-world_2.0_all.deb"),
            sha256("fca165516fbc1d367620839a6c848c382acff0856965f4933a101f92697ad34d")
        );
        assert_eq!(
            lookup(body, "pool/main/m/md5-only/md5-only_1_all.deb"),
            Entry::WeakOnly
        );
        assert_eq!(lookup(body, "pool/not/this.deb"), Entry::Absent);
        assert_eq!(lookup(body, "pool/main/f/fixture-hello"), Entry::Absent);
    }

    #[test]
    fn entries_lists_every_pool_file_with_a_strong_digest() {
        let entries = entries(PACKAGES.as_bytes());
        let names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "pool/main/f/fixture-hello/fixture-hello_1.0_all.deb",
                "pool/main/f/fixture-world/fixture-world_2.0_all.deb"
            ]
        );
    }

    #[test]
    fn garbage_is_absent_or_unverifiable_never_a_digest() {
        for (body, expected) in [
            (&b""[..], Entry::Absent),
            (b"\xff", Entry::Absent),
            (b"\n\n:\n", Entry::Absent),
            (b"Filename: y\nSHA256: 00\n", Entry::Absent),
            // Named, but with no digest larder can check: served, never stored as verified.
            (b"Filename: x", Entry::WeakOnly),
            (b"Filename: x\nSHA256: zz\n", Entry::WeakOnly),
            (b"Filename: x\nSHA256: 00\n", Entry::WeakOnly),
        ] {
            assert_eq!(
                lookup(body, "x"),
                expected,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
