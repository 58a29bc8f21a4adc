//! Request paths: percent-decoding, validation and one canonical spelling.
//!
//! apt quotes some characters (`+` becomes `%2b`, because S3-backed mirrors read a literal `+`
//! as a space), other clients quote nothing. Both spellings of one file must reach the same cache
//! key and the same upstream URL, and no spelling may climb out of the remote's base URL, so
//! every path is decoded, checked segment by segment and encoded again one way.

use std::fmt;

/// Longest request path accepted, in bytes as received. Debian's longest pool paths are a few
/// hundred bytes; anything near this is not an apt request.
pub const MAX_PATH_LEN: usize = 4096;

/// Why a path was refused (answered with 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    TooLong(usize),
    BadEscape,
    EncodedSlash,
    ControlCharacter,
    NotUtf8,
    DotDot,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::TooLong(len) => {
                write!(
                    f,
                    "request path is {len} bytes, longer than the {MAX_PATH_LEN} larder accepts"
                )
            }
            PathError::BadEscape => f.write_str("request path has a malformed %-escape"),
            PathError::EncodedSlash => {
                f.write_str("request path has an encoded '/' (%2F), which no apt archive uses")
            }
            PathError::ControlCharacter => f.write_str("request path has a control character"),
            PathError::NotUtf8 => f.write_str("request path does not decode to UTF-8"),
            PathError::DotDot => f.write_str("request path has a '..' segment"),
        }
    }
}

/// A validated path: its decoded segments, without empty and `.` segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanPath {
    segments: Vec<String>,
}

impl CleanPath {
    /// Decodes and checks `raw` (percent-encoded, as the client sent it).
    pub fn parse(raw: &str) -> Result<CleanPath, PathError> {
        if raw.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong(raw.len()));
        }
        let mut segments = Vec::new();
        for raw_segment in raw.split('/') {
            let segment = decode_segment(raw_segment)?;
            match segment.as_str() {
                "" | "." => {}
                ".." => return Err(PathError::DotDot),
                _ => segments.push(segment),
            }
        }
        Ok(CleanPath { segments })
    }

    /// Segments already decoded and checked (taken from another `CleanPath`).
    pub(crate) fn from_segments(segments: Vec<String>) -> CleanPath {
        CleanPath { segments }
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path without its first segment (mirror mode: the first segment names the remote).
    pub fn split_first(&self) -> Option<(&str, CleanPath)> {
        let (first, rest) = self.segments.split_first()?;
        Some((
            first,
            CleanPath {
                segments: rest.to_vec(),
            },
        ))
    }

    /// The segments re-encoded one canonical way and joined with `/`, no leading slash.
    pub fn encoded(&self) -> String {
        let mut out = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            encode_segment(segment, &mut out);
        }
        out
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn decode_segment(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_value);
            let low = bytes.get(i + 2).copied().and_then(hex_value);
            let (Some(high), Some(low)) = (high, low) else {
                return Err(PathError::BadEscape);
            };
            let decoded = high * 16 + low;
            if decoded == b'/' || decoded == b'\\' {
                return Err(PathError::EncodedSlash);
            }
            out.push(decoded);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    if out.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(PathError::ControlCharacter);
    }
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

/// Keeps RFC 3986 unreserved characters, escapes every other byte in upper-case hex.
fn encode_segment(segment: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in segment.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> String {
        CleanPath::parse(raw).unwrap().encoded()
    }

    #[test]
    fn spellings_of_one_file_agree() {
        let want = "debian/pool/main/g/gcc-12/libstdc%2B%2B6_12.2.0-14_amd64.deb";
        assert_eq!(
            clean("/debian/pool/main/g/gcc-12/libstdc++6_12.2.0-14_amd64.deb"),
            want
        );
        assert_eq!(
            clean("/debian/pool/main/g/gcc-12/libstdc%2b%2b6_12.2.0-14_amd64.deb"),
            want
        );
        assert_eq!(
            clean("//debian/./pool/main/g/gcc-12/libstdc%2B%2B6_12.2.0-14_amd64.deb"),
            want
        );
    }

    #[test]
    fn tilde_and_colon_survive() {
        assert_eq!(clean("/a/b_1.0~rc1_all.deb"), "a/b_1.0~rc1_all.deb");
        assert_eq!(clean("/127.0.0.1:8080/x"), "127.0.0.1%3A8080/x");
    }

    #[test]
    fn traversal_and_garbage_are_refused() {
        for (raw, err) in [
            ("/debian/../etc/passwd", PathError::DotDot),
            ("/debian/%2e%2e/etc", PathError::DotDot),
            ("/debian/%2E%2E/etc", PathError::DotDot),
            ("/debian%2f..%2fetc", PathError::EncodedSlash),
            ("/debian%5c..", PathError::EncodedSlash),
            ("/debian/%00", PathError::ControlCharacter),
            ("/debian/%0a", PathError::ControlCharacter),
            ("/debian/%", PathError::BadEscape),
            ("/debian/%g0", PathError::BadEscape),
            ("/debian/%ff", PathError::NotUtf8),
        ] {
            assert_eq!(CleanPath::parse(raw), Err(err), "{raw}");
        }
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert!(matches!(
            CleanPath::parse(&long),
            Err(PathError::TooLong(_))
        ));
    }

    #[test]
    fn multibyte_utf8_round_trips() {
        let path = CleanPath::parse("/d/%C3%A9t%C3%A9").unwrap();
        assert_eq!(path.segments()[1], "été");
        assert_eq!(path.encoded(), "d/%C3%A9t%C3%A9");
        // A multi-byte escape cut in half is not UTF-8.
        assert_eq!(CleanPath::parse("/d/%C3"), Err(PathError::NotUtf8));
    }
}
