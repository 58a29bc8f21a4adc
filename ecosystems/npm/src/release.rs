//! Which release a tarball is, from its cache key (`tarball/@scope/name/name-1.0.0.tgz`).

use larder_adapter::Release;

pub fn of(key: &str) -> Option<Release> {
    let rest = key.strip_prefix("tarball/")?;
    let (name, file) = rest.rsplit_once('/')?;
    let (scope, short) = match name.split_once('/') {
        Some((scope, short)) => (Some(scope), short),
        None => (None, name),
    };
    let version = file
        .strip_prefix(short)?
        .strip_prefix('-')?
        .strip_suffix(".tgz")?;
    let namespace: Vec<&str> = scope.into_iter().collect();
    Some(Release::new(name, version, "npm", &namespace, short, &[]))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn tarballs_name_their_release_and_metadata_does_not() {
        let scoped = of("tarball/@types/node/node-20.1.0.tgz").expect("a scoped tarball");
        assert_eq!(
            (scoped.package.as_str(), scoped.version.as_str()),
            ("@types/node", "20.1.0")
        );
        assert_eq!(scoped.purl, "pkg:npm/%40types/node@20.1.0");
        let plain = of("tarball/react/react-18.3.0-canary.1.tgz").expect("a tarball");
        assert_eq!(plain.version, "18.3.0-canary.1");
        assert_eq!(of("packument/full/react"), None);
        assert_eq!(of("tarball/react/other-1.0.0.tgz"), None);
    }
}
