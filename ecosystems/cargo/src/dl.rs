//! Crate downloads: the `dl` template of a registry's `config.json`, and the larder route that
//! carries it.
//!
//! larder rewrites `dl` to `<larder>/cargo/<registry>/dl/<template>/{crate}/{version}/{sha256-checksum}`
//! where `<template>` is upstream's own `dl`, base64url-encoded. Every download request thus
//! says which upstream URL holds the crate, in whatever form the registry chose (markers or
//! none), without larder keeping any state: the adapter stays a pure function of the request.
//! The upstream URL is only ever fetched under the registry's configured download bases, and
//! the bytes are stored only once they match the `cksum` of the crate's index line.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

const MARKERS: [&str; 5] = [
    "{crate}",
    "{version}",
    "{prefix}",
    "{lowerprefix}",
    "{sha256-checksum}",
];

/// The longest template larder accepts (a `dl` is a URL; larder's request paths stop at 4 KiB).
const MAX_TEMPLATE_LEN: usize = 1024;

/// One crate download a client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The upstream `dl` template, with cargo's default suffix made explicit.
    pub template: String,
    pub name: String,
    pub version: String,
    /// What cargo substituted for `{sha256-checksum}` (the index line's `cksum`).
    pub checksum: String,
}

/// A `dl` value as cargo uses it: with no marker, cargo appends `/{crate}/{version}/download`.
pub fn full_template(dl: &str) -> String {
    if MARKERS.iter().any(|marker| dl.contains(marker)) {
        dl.to_string()
    } else {
        format!("{dl}/{{crate}}/{{version}}/download")
    }
}

/// The `dl` larder puts in its `config.json`: `registry_base` is larder's URL of the registry
/// (`http://host:7878/cargo/crates-io`, no trailing slash).
pub fn larder_dl(registry_base: &str, upstream_dl: &str) -> String {
    let encoded = URL_SAFE_NO_PAD.encode(full_template(upstream_dl));
    format!("{registry_base}/dl/{encoded}/{{crate}}/{{version}}/{{sha256-checksum}}")
}

/// Why a download path is not one larder handed out.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Parses the part after `dl/`: `<template>/<crate>/<version>/<checksum>`, each segment
/// already percent-decoded.
pub fn parse(segments: &[&str]) -> Result<Download, Malformed> {
    let [encoded, name, version, checksum] = segments else {
        return Err(Malformed(
            "a download path is dl/<template>/<crate>/<version>/<sha256>, as larder's config.json says",
        ));
    };
    if encoded.len() > MAX_TEMPLATE_LEN * 4 / 3 + 4 {
        return Err(Malformed("the download template is too long"));
    }
    let template = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(Malformed(
            "the download template is not base64url text; fetch config.json from larder again",
        ))?;
    if !crate::name::is_crate_name(name) {
        return Err(Malformed("not a crate name"));
    }
    if !is_version(version) {
        return Err(Malformed("not a crate version"));
    }
    if checksum.len() != 64 || !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Malformed("the checksum is not 64 hex digits"));
    }
    Ok(Download {
        template,
        name: name.to_string(),
        version: version.to_string(),
        checksum: checksum.to_ascii_lowercase(),
    })
}

impl Download {
    /// The upstream URL, as cargo would have built it from upstream's `dl`.
    pub fn upstream_url(&self) -> String {
        substitute(&self.template, &self.name, &self.version, &self.checksum)
    }
}

/// What cargo does with a `dl` for one crate: fills in its markers, or appends
/// `/{crate}/{version}/download` when there are none.
pub fn substitute(dl: &str, name: &str, version: &str, checksum: &str) -> String {
    let prefix = crate::name::prefix(name);
    full_template(dl)
        .replace("{crate}", name)
        .replace("{version}", version)
        .replace("{lowerprefix}", &prefix.to_ascii_lowercase())
        .replace("{prefix}", &prefix)
        .replace("{sha256-checksum}", checksum)
}

/// A semver version as registries publish it (`1.0.0`, `0.1.0-alpha.1+build.5`): printable
/// ASCII without separators a URL would interpret.
fn is_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 128
        && version.as_bytes()[0].is_ascii_digit()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn round_trip(upstream_dl: &str, name: &str, version: &str) -> String {
        let dl = larder_dl("http://l/cargo/r", upstream_dl);
        let cargo_url = dl
            .replace("{crate}", name)
            .replace("{version}", version)
            .replace("{sha256-checksum}", SUM);
        let below = cargo_url.strip_prefix("http://l/cargo/r/dl/").unwrap();
        let segments: Vec<&str> = below.split('/').collect();
        parse(&segments).unwrap().upstream_url()
    }

    #[test]
    fn crates_io_dl_gets_cargo_default_suffix() {
        assert_eq!(
            round_trip("https://static.crates.io/crates", "serde", "1.0.200"),
            "https://static.crates.io/crates/serde/1.0.200/download"
        );
    }

    #[test]
    fn every_marker_is_substituted_as_cargo_does() {
        assert_eq!(
            round_trip(
                "https://r.example/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate?sum={sha256-checksum}",
                "Inflector",
                "0.11.4+build.1"
            ),
            format!("https://r.example/In/fl/in/fl/Inflector/Inflector-0.11.4+build.1.crate?sum={SUM}")
        );
    }

    #[test]
    fn larder_dl_carries_markers_cargo_fills_in() {
        let dl = larder_dl("http://l/cargo/r", "https://static.crates.io/crates");
        assert!(dl.starts_with("http://l/cargo/r/dl/"));
        assert!(dl.ends_with("/{crate}/{version}/{sha256-checksum}"));
    }

    #[test]
    fn malformed_download_paths_are_refused() {
        let good = URL_SAFE_NO_PAD.encode("https://x/{crate}");
        for segments in [
            vec![good.as_str(), "serde", "1.0.0"],
            vec!["!!", "serde", "1.0.0", SUM],
            vec![good.as_str(), "ser/de", "1.0.0", SUM],
            vec![good.as_str(), "serde", "../1", SUM],
            vec![good.as_str(), "serde", "1.0.0", "abc"],
            vec![good.as_str(), "serde", "1.0.0", SUM, "x"],
        ] {
            assert!(parse(&segments).is_err(), "{segments:?}");
        }
        assert!(parse(&[good.as_str(), "serde", "1.0.0", SUM]).is_ok());
    }
}
