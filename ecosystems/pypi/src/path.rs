//! Validation of the file paths larder forwards to the files host, so that a client can name only
//! files under the configured base, never another path or host.

use percent_encoding::percent_decode_str;

/// Longest file path accepted (PyPI's are about 100 bytes).
const MAX_PATH_LEN: usize = 1024;

/// Checks a percent-encoded relative path (`packages/ab/cd/<hash>/<file>`) and returns it as it
/// is, for use in a key and an upstream URL. Rejects empty, `.` and `..` segments (also encoded),
/// encoded slashes and backslashes, control bytes, and anything that is not plain URL path text.
pub fn parse_relative(path: &str) -> Option<&str> {
    if path.is_empty() || path.len() > MAX_PATH_LEN {
        return None;
    }
    path.split('/').all(segment_ok).then_some(path)
}

fn segment_ok(segment: &str) -> bool {
    let plain = segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b));
    if !plain {
        return false;
    }
    let Ok(decoded) = percent_decode_str(segment).decode_utf8() else {
        return false;
    };
    !decoded.is_empty()
        && decoded != "."
        && decoded != ".."
        && !decoded
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// The decoded last segment of a URL path: the file name an index lists.
pub fn file_name(url_path: &str) -> Option<String> {
    let last = url_path.rsplit('/').next().filter(|s| !s.is_empty())?;
    percent_decode_str(last)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_files_host_paths() {
        for ok in [
            "packages/ab/cd/0123456789abcdef/demo-1.0-py3-none-any.whl",
            "packages/ab/cd/ef/demo-1.0.tar.gz.metadata",
            "packages/source/d/demo/demo-1.0.tar.gz",
            "packages/x/torch-2.1.0%2Bcpu-cp311-cp311-linux_x86_64.whl",
            "packages/x/torch-2.1.0+cpu-cp311-cp311-linux_x86_64.whl",
        ] {
            assert_eq!(parse_relative(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn rejects_traversal_and_odd_bytes() {
        for bad in [
            "",
            "packages/../etc/passwd",
            "packages/%2e%2e/x",
            "packages/./x",
            "packages//x",
            "packages/x/",
            "/packages/x",
            "packages/a%2Fb",
            "packages/a%5Cb",
            "packages/a\\b",
            "packages/a b",
            "packages/a%00b",
            "packages/a%FF",
            "packages/a?b",
            "packages/a#b",
            "packages/a\"b",
        ] {
            assert_eq!(parse_relative(bad), None, "{bad:?}");
        }
        assert_eq!(parse_relative(&"a/".repeat(MAX_PATH_LEN)), None);
    }

    #[test]
    fn file_name_is_decoded_last_segment() {
        assert_eq!(
            file_name("/packages/a/b/demo-1.0.whl").as_deref(),
            Some("demo-1.0.whl")
        );
        assert_eq!(
            file_name("/x/torch-2.1.0%2Bcpu.whl").as_deref(),
            Some("torch-2.1.0+cpu.whl")
        );
        assert_eq!(file_name("/x/"), None);
        assert_eq!(file_name("/x/%FF"), None);
    }
}
