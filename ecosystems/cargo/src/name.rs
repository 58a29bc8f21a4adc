//! Crate names and where the sparse index keeps them (`1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd`).

/// The longest crate name cargo accepts from a registry (crates.io allows 64; cargo's own
/// limit is generous, so this only bounds what larder will route).
const MAX_NAME_LEN: usize = 128;

/// A crate name as it may appear in an index path or a download: ASCII letters, digits, `-`
/// and `_`, starting with a letter or digit (cargo's rules for registry names).
pub fn is_crate_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The directory part of a crate's index path, as cargo's `{prefix}` marker spells it (case
/// kept): `1`, `2`, `3/a`, `ab/cd`.
pub fn prefix(name: &str) -> String {
    match name.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    }
}

/// The index file of a crate, relative to the index root: `se/rd/serde`. Lower-cased, as
/// cargo requests it and registries store it.
pub fn index_path(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    format!("{}/{lower}", prefix(&lower))
}

/// The crate an index path names, if the path is one cargo would request (its directories
/// agree with the name). `se/rd/serde` → `serde`.
pub fn from_index_path(path: &str) -> Option<&str> {
    let (dirs, name) = path.rsplit_once('/')?;
    let lower_ok = !name.bytes().any(|b| b.is_ascii_uppercase());
    (is_crate_name(name) && lower_ok && prefix(name) == dirs).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargo_layout() {
        for (name, path) in [
            ("a", "1/a"),
            ("ab", "2/ab"),
            ("abc", "3/a/abc"),
            ("serde", "se/rd/serde"),
            ("Inflector", "in/fl/inflector"),
            ("a-b_c", "a-/b_/a-b_c"),
        ] {
            assert_eq!(index_path(name), path);
            assert_eq!(
                from_index_path(path),
                Some(name.to_ascii_lowercase().as_str())
            );
        }
        assert_eq!(prefix("Inflector"), "In/fl", "{{prefix}} keeps the case");
    }

    #[test]
    fn inconsistent_or_malformed_paths_are_refused() {
        for bad in [
            "serde",
            "se/rd/serdx/",
            "xx/rd/serde",
            "3/b/abc",
            "2/abc",
            "1/ab",
            "se/rd/Serde",
            "se/rd/ser de",
            "../se/rd/serde",
            "_s/er/_serde",
        ] {
            assert_eq!(from_index_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(is_crate_name("serde_json"));
        assert!(is_crate_name("0x"));
        assert!(!is_crate_name(""));
        assert!(!is_crate_name("-x"));
        assert!(!is_crate_name("a.b"));
        assert!(!is_crate_name(&"a".repeat(129)));
    }
}
