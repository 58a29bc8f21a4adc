//! Decompressing an index body in memory, by its magic bytes (apt fetches `Packages.xz` or
//! `Packages.gz`, often under a `by-hash/` name that says nothing about the format).

use std::borrow::Cow;
use std::io::{Read, Write};

/// Largest decompressed index read. Debian's biggest Packages file is about 50 MB; this bounds
/// what a hostile or broken index can make larder allocate.
pub const MAX_DECOMPRESSED: usize = 512 << 20;

const GZIP: &[u8] = &[0x1f, 0x8b];
const XZ: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// The body, decompressed if it is gzip or xz; `None` if it is compressed some other way
/// (bzip2, zstd, lz4: apt would pick xz or gz when the archive offers them), is corrupt, or
/// decompresses to more than `limit` bytes.
pub fn decompress(body: &[u8], limit: usize) -> Option<Cow<'_, [u8]>> {
    if body.starts_with(GZIP) {
        let mut out = Vec::new();
        let decoder = flate2::read::MultiGzDecoder::new(body);
        let read = decoder.take(limit as u64 + 1).read_to_end(&mut out).ok()?;
        return (read <= limit).then_some(Cow::Owned(out));
    }
    if body.starts_with(XZ) {
        let mut out = Limited {
            out: Vec::new(),
            limit,
        };
        lzma_rs::xz_decompress(&mut std::io::BufReader::new(body), &mut out).ok()?;
        return Some(Cow::Owned(out.out));
    }
    let compressed = [
        &b"BZh"[..],
        &[0x28, 0xb5, 0x2f, 0xfd],
        &[0x04, 0x22, 0x4d, 0x18],
        &[0x5d, 0x00, 0x00],
    ];
    if compressed.iter().any(|magic| body.starts_with(magic)) {
        return None;
    }
    Some(Cow::Borrowed(body))
}

/// A `Vec` writer that fails past `limit` bytes.
struct Limited {
    out: Vec<u8>,
    limit: usize,
}

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.limit {
            return Err(std::io::Error::other(
                "decompressed index exceeds larder's limit",
            ));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] = b"Package: a\nFilename: pool/a.deb\n";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        lzma_rs::xz_compress(&mut std::io::BufReader::new(data), &mut out).unwrap();
        out
    }

    #[test]
    fn plain_gzip_and_xz_decode() {
        assert_eq!(decompress(TEXT, 1000).unwrap().as_ref(), TEXT);
        assert_eq!(decompress(&gzip(TEXT), 1000).unwrap().as_ref(), TEXT);
        assert_eq!(decompress(&xz(TEXT), 1000).unwrap().as_ref(), TEXT);
    }

    #[test]
    fn bombs_corruption_and_unknown_formats_are_none() {
        let big = vec![b'a'; 10_000];
        assert!(decompress(&gzip(&big), 9_999).is_none());
        assert!(decompress(&xz(&big), 9_999).is_none());
        assert!(decompress(&gzip(&big), 10_000).is_some());
        let mut corrupt = gzip(TEXT);
        corrupt.truncate(corrupt.len() - 6);
        assert!(decompress(&corrupt, 1000).is_none());
        assert!(decompress(&xz(TEXT)[..12], 1000).is_none());
        assert!(decompress(b"BZh91AY&SY", 1000).is_none());
    }
}
