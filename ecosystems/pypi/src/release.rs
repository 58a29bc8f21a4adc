//! Which release a distribution file is, from its file name (PEP 427 wheels, sdists, eggs).

use crate::name::normalize;
use larder_adapter::Release;

/// `key` is `files/<path>` or `index/<path>`; the release is read from the path's file name.
/// `.metadata` files and anything unrecognised are not releases.
pub fn of(key: &str) -> Option<Release> {
    let file = key.rsplit('/').next()?;
    let (name, version) = if let Some(stem) = file.strip_suffix(".whl") {
        // {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl, `-` escaped in the parts.
        let mut parts = stem.split('-');
        let name = parts.next()?;
        let version = parts.next()?;
        (parts.count() >= 3).then_some((name, version))?
    } else if let Some(stem) = file.strip_suffix(".egg") {
        let mut parts = stem.split('-');
        (parts.next()?, parts.next()?)
    } else {
        let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"]
            .iter()
            .find_map(|extension| file.strip_suffix(extension))?;
        // Old sdists spell the project with dashes (`python-dateutil-2.8.2.tar.gz`): the
        // version is what follows the last one.
        stem.rsplit_once('-')?
    };
    if name.is_empty() || version.is_empty() {
        return None;
    }
    let project = normalize(name);
    Some(Release::new(
        project.clone(),
        version,
        "pypi",
        &[],
        &project,
        &[],
    ))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn wheels_and_sdists_name_their_release() {
        let wheel = of("files/ab/cd/Django-4.2.7-py3-none-any.whl").expect("a wheel");
        assert_eq!(
            (wheel.package.as_str(), wheel.version.as_str()),
            ("django", "4.2.7")
        );
        assert_eq!(wheel.purl, "pkg:pypi/django@4.2.7");
        let sdist = of("files/x/python-dateutil-2.8.2.tar.gz").expect("an sdist");
        assert_eq!(
            (sdist.package.as_str(), sdist.version.as_str()),
            ("python-dateutil", "2.8.2")
        );
        let underscored =
            of("index/packages/zope_interface-6.0-cp311-cp311-manylinux_2_17_x86_64.whl")
                .expect("a wheel with a platform tag");
        assert_eq!(underscored.package, "zope-interface");
        assert_eq!(of("files/x/Django-4.2.7-py3-none-any.whl.metadata"), None);
        assert_eq!(of("files/x/not-a-wheel.whl"), None);
    }
}
