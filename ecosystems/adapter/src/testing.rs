//! Shared by the adapters' robustness tests (parsers must answer malformed input with an error,
//! never a panic). Plain code rather than `cfg(test)`, so every adapter crate's tests can use it.

/// Calls `parse` on every prefix of `sample`, and on `sample` with each byte replaced in turn by
/// a few troublesome ones (newline, quotes, separators, a non-UTF-8 byte). The fuzz targets
/// explore further; this runs in the default suite.
pub fn sweep(sample: &[u8], parse: impl Fn(&[u8])) {
    for end in 0..=sample.len() {
        parse(&sample[..end]);
    }
    let mut bytes = sample.to_vec();
    for at in 0..bytes.len() {
        let original = bytes[at];
        for replacement in [b'\n', b'\'', b'"', b'@', b'/', b'(', b'=', b':', 0xff] {
            bytes[at] = replacement;
            parse(&bytes);
        }
        bytes[at] = original;
    }
}
