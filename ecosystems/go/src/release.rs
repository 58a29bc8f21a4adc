//! Which release a module zip is, from its cache key (`proxy/<escaped module>/@v/<version>.zip`).

use crate::escape;
use larder_adapter::Release;

pub fn of(key: &str) -> Option<Release> {
    let rest = key.strip_prefix("proxy/")?;
    let (module, file) = rest.split_once("/@v/")?;
    let version = escape::version(file.strip_suffix(".zip")?).ok()?.decoded;
    let module = escape::module_path(module).ok()?;
    let segments: Vec<&str> = module.split('/').collect();
    let (name, namespace) = segments.split_last()?;
    Some(Release::new(
        module.clone(),
        version,
        "golang",
        namespace,
        name,
        &[],
    ))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn module_zips_name_their_release_decoded() {
        let zip = of("proxy/github.com/!burnt!sushi/toml/@v/v1.2.0.zip").expect("a zip");
        assert_eq!(
            (zip.package.as_str(), zip.version.as_str()),
            ("github.com/BurntSushi/toml", "v1.2.0")
        );
        assert_eq!(zip.purl, "pkg:golang/github.com/BurntSushi/toml@v1.2.0");
        assert_eq!(of("proxy/golang.org/x/text/@v/v0.14.0.mod"), None);
        assert_eq!(of("proxy/golang.org/x/text/@v/list"), None);
    }
}
