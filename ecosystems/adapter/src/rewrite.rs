//! Streaming rewrites of metadata bodies.
//!
//! Metadata (packuments of tens of MB, simple pages with thousands of links) is rewritten as it
//! streams to the client: memory stays bounded by the longest pattern, not the document.

use aho_corasick::{AhoCorasick, MatchKind};

/// A body transformation fed chunk by chunk.
pub trait Rewriter: Send {
    /// Consumes `input`, appending whatever output is final to `out`.
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>);
    /// Flushes whatever was held back at the end of the body.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// Replaces literal byte patterns (leftmost-longest, non-overlapping) across chunk boundaries.
///
/// Adapters use it to replace an upstream URL prefix in a known syntactic position
/// (`"tarball":"https://registry.npmjs.org/`) with larder's own.
pub struct PrefixRewriter {
    matcher: AhoCorasick,
    replacements: Vec<Vec<u8>>,
    /// Bytes that might be the start of a pattern split across chunks.
    held: Vec<u8>,
    hold_len: usize,
}

impl PrefixRewriter {
    /// `pairs` of (pattern, replacement). Empty patterns are ignored.
    pub fn new(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let pairs: Vec<_> = pairs
            .into_iter()
            .filter(|(from, _)| !from.is_empty())
            .collect();
        let hold_len = pairs.iter().map(|(from, _)| from.len()).max().unwrap_or(1) - 1;
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(pairs.iter().map(|(from, _)| from))
            .expect("literal patterns always build");
        PrefixRewriter {
            matcher,
            replacements: pairs.into_iter().map(|(_, to)| to).collect(),
            held: Vec::new(),
            hold_len,
        }
    }

    /// Rewrites a whole body at once (tests, small documents).
    pub fn rewrite_all(mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        self.push(input, &mut out);
        self.finish(&mut out);
        out
    }

    /// Emits `buf[..]` with replacements, holding back a tail that could start a match, unless
    /// `last`. Returns how many bytes of `buf` were consumed.
    fn emit(&self, buf: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
        // A complete match must start before `safe`; anything after it may be a partial match.
        let safe = if last {
            buf.len()
        } else {
            buf.len().saturating_sub(self.hold_len)
        };
        let mut written = 0;
        for found in self.matcher.find_iter(buf) {
            if found.start() >= safe {
                break;
            }
            out.extend_from_slice(&buf[written..found.start()]);
            out.extend_from_slice(&self.replacements[found.pattern().as_usize()]);
            written = found.end();
        }
        let consumed = written.max(safe);
        out.extend_from_slice(&buf[written..consumed]);
        consumed
    }
}

impl Rewriter for PrefixRewriter {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if self.held.is_empty() {
            let consumed = self.emit(input, false, out);
            self.held.extend_from_slice(&input[consumed..]);
        } else {
            let mut buf = std::mem::take(&mut self.held);
            buf.extend_from_slice(input);
            let consumed = self.emit(&buf, false, out);
            buf.drain(..consumed);
            self.held = buf;
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let buf = std::mem::take(&mut self.held);
        self.emit(&buf, true, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewriter() -> PrefixRewriter {
        PrefixRewriter::new(vec![
            (
                b"\"tarball\":\"https://up/".to_vec(),
                b"\"tarball\":\"http://me/npm/".to_vec(),
            ),
            (
                b"\"tarball\": \"https://up/".to_vec(),
                b"\"tarball\": \"http://me/npm/".to_vec(),
            ),
        ])
    }

    const DOC: &str = r#"{"a":{"tarball":"https://up/a/-/a-1.tgz"},"b":{"tarball": "https://up/b/-/b-1.tgz"},"c":"https://up/untouched"}"#;
    const WANT: &str = r#"{"a":{"tarball":"http://me/npm/a/-/a-1.tgz"},"b":{"tarball": "http://me/npm/b/-/b-1.tgz"},"c":"https://up/untouched"}"#;

    #[test]
    fn rewrites_whole_document() {
        assert_eq!(
            String::from_utf8(rewriter().rewrite_all(DOC.as_bytes())).unwrap(),
            WANT
        );
    }

    #[test]
    fn any_chunking_gives_the_same_output() {
        for chunk in 1..DOC.len() {
            let mut rw = rewriter();
            let mut out = Vec::new();
            for piece in DOC.as_bytes().chunks(chunk) {
                rw.push(piece, &mut out);
            }
            rw.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), WANT, "chunk size {chunk}");
        }
    }

    #[test]
    fn memory_held_is_bounded_by_pattern_length() {
        let mut rw = rewriter();
        let mut out = Vec::new();
        for _ in 0..1000 {
            rw.push(&[b'x'; 4096], &mut out);
            assert!(rw.held.len() < 32);
        }
    }
}
