//! Which release a `.deb` is, from its cache key
//! (`deb.debian.org/debian/pool/.../name_version_arch.deb`, percent-encoded as apt sends it: an
//! epoch's `:` is `%3a`).

use crate::path::decode_segment;
use larder_adapter::Release;

pub fn of(key: &str) -> Option<Release> {
    let (archive, path) = key.split_once("/pool/")?;
    // The purl's namespace is the distribution's vendor, which only the archive's location hints
    // at; Debian's derivatives other than Ubuntu are named as Debian.
    let vendor = match archive.contains("ubuntu") {
        true => "ubuntu",
        false => "debian",
    };
    let file = decode_segment(path.rsplit('/').next()?).ok()?;
    let stem = file
        .strip_suffix(".deb")
        .or_else(|| file.strip_suffix(".udeb"))?;
    let mut parts = stem.split('_');
    let (name, version, arch) = (parts.next()?, parts.next()?, parts.next()?);
    if name.is_empty() || version.is_empty() || parts.next().is_some() {
        return None;
    }
    Some(Release::new(
        name,
        version,
        "deb",
        &[vendor],
        name,
        &[("arch", arch)],
    ))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn debs_name_their_release_with_epoch_and_arch() {
        let deb = of(
            "deb.debian.org/debian/pool/main/s/systemd/libsystemd0_252.19-1%7edeb12u1_amd64.deb",
        )
        .expect("a deb");
        assert_eq!(
            (deb.package.as_str(), deb.version.as_str()),
            ("libsystemd0", "252.19-1~deb12u1")
        );
        assert_eq!(
            deb.purl,
            "pkg:deb/debian/libsystemd0@252.19-1~deb12u1?arch=amd64"
        );
        let epoch = of("127.0.0.1:8080/ubuntu/pool/main/p/perl/perl_1%3a5.36.0-7_amd64.deb")
            .expect("epoch");
        assert_eq!(epoch.version, "1:5.36.0-7");
        assert!(epoch.purl.starts_with("pkg:deb/ubuntu/perl@1%3A5.36.0-7"));
        assert_eq!(of("deb.debian.org/debian/dists/bookworm/InRelease"), None);
    }
}
