//! Digests as ecosystems publish them: npm's SRI strings, PyPI's `#sha256=` fragments, apt's
//! hex fields.

use base64::Engine as _;
use std::fmt;

/// A hash algorithm some ecosystem uses to declare an artifact's digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// An expected digest: algorithm and raw bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    pub algorithm: Algorithm,
    pub bytes: Vec<u8>,
}

impl Digest {
    pub fn new(algorithm: Algorithm, bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() == algorithm.output_len()).then_some(Digest { algorithm, bytes })
    }

    /// Parses a hex digest (`dist.shasum`, PyPI's `sha256=`, apt's `SHA256:` fields).
    pub fn from_hex(algorithm: Algorithm, hex_digest: &str) -> Option<Self> {
        Self::new(algorithm, hex::decode(hex_digest.trim()).ok()?)
    }

    /// Parses a Subresource Integrity string (`sha512-<base64>`, possibly several
    /// space-separated). Picks the strongest algorithm it understands, as npm does.
    pub fn from_sri(sri: &str) -> Option<Self> {
        sri.split_whitespace()
            .filter_map(|entry| {
                let (name, rest) = entry.split_once('-')?;
                let algorithm = Algorithm::from_name(name)?;
                // SRI allows `?options` after the hash.
                let b64 = rest.split('?').next()?;
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
                Self::new(algorithm, bytes)
            })
            .max_by_key(|digest| digest.algorithm)
    }

    /// Parses `algo:hex` or `algo=hex` (`sha256=…` URL fragments, `sha256:…` labels).
    pub fn from_labelled_hex(labelled: &str) -> Option<Self> {
        let (name, hex_digest) = labelled.split_once([':', '='])?;
        Self::from_hex(Algorithm::from_name(name)?, hex_digest)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    pub fn to_sri(&self) -> String {
        format!(
            "{}-{}",
            self.algorithm.name(),
            base64::engine::general_purpose::STANDARD.encode(&self.bytes)
        )
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_picks_strongest_known_algorithm() {
        let sha1 = "sha1-qL4lO5bLIVUxKwJ+zBbT3p3vyR4=";
        let sha512 = "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";
        let digest = Digest::from_sri(&format!("{sha1} {sha512} md5-xyz")).unwrap();
        assert_eq!(digest.algorithm, Algorithm::Sha512);
        assert_eq!(digest.to_sri(), sha512);
    }

    #[test]
    fn malformed_digests_are_rejected() {
        assert!(Digest::from_sri("sha512-not base64!").is_none());
        assert!(Digest::from_sri("sha512-AAAA").is_none(), "wrong length");
        assert!(Digest::from_hex(Algorithm::Sha256, "abc").is_none());
        assert!(Digest::from_labelled_hex("md5=00").is_none());
    }

    #[test]
    fn labelled_hex_accepts_fragment_and_label_forms() {
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let a = Digest::from_labelled_hex(&format!("sha256={hex}")).unwrap();
        let b = Digest::from_labelled_hex(&format!("SHA256:{hex}")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), format!("sha256:{hex}"));
    }
}
