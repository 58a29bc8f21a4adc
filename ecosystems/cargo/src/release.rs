//! Which release a crate download is, from its cache key (`<registry>/crate/<name>/<version>`).

use larder_adapter::Release;

pub fn of(key: &str) -> Option<Release> {
    let (_registry, rest) = key.split_once("/crate/")?;
    let (name, version) = rest.split_once('/')?;
    if name.is_empty() || version.is_empty() || version.contains('/') {
        return None;
    }
    Some(Release::new(name, version, "cargo", &[], name, &[]))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn crate_downloads_name_their_release() {
        let serde = of("crates-io/crate/serde/1.0.193").expect("a crate");
        assert_eq!(
            (serde.package.as_str(), serde.version.as_str()),
            ("serde", "1.0.193")
        );
        assert_eq!(serde.purl, "pkg:cargo/serde@1.0.193");
        assert_eq!(of("crates-io/index/se/rd/serde"), None);
    }
}
