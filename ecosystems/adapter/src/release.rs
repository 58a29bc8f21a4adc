//! Which release of which package an artifact is: what policy rules name and what the
//! served-log records.

/// One release of one package, as its ecosystem names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The package in the ecosystem's own spelling: `@types/node`, `requests`,
    /// `golang.org/x/text`, `libc6`, `serde`, `org.slf4j:slf4j-api`.
    pub package: String,
    /// The version in the ecosystem's own spelling (`1:2.36-9`, `v0.14.0`, `2.31.0`).
    pub version: String,
    /// The Package URL (<https://github.com/package-url/purl-spec>) that names this release in
    /// an SBOM: `pkg:npm/%40types/node@20.1.0`.
    pub purl: String,
}

impl Release {
    /// A release whose purl is `pkg:<purl_type>/<namespace…>/<name>@<version>` plus
    /// `qualifiers` (`("arch", "amd64")`), each part percent-encoded as the purl spec asks.
    pub fn new(
        package: impl Into<String>,
        version: impl Into<String>,
        purl_type: &str,
        namespace: &[&str],
        name: &str,
        qualifiers: &[(&str, &str)],
    ) -> Release {
        let version = version.into();
        let mut purl = format!("pkg:{purl_type}/");
        for segment in namespace.iter().filter(|segment| !segment.is_empty()) {
            purl.push_str(&purl_encode(segment));
            purl.push('/');
        }
        purl.push_str(&purl_encode(name));
        purl.push('@');
        purl.push_str(&purl_encode(&version));
        for (index, (key, value)) in qualifiers.iter().enumerate() {
            purl.push(if index == 0 { '?' } else { '&' });
            purl.push_str(key);
            purl.push('=');
            purl.push_str(&purl_encode(value));
        }
        Release {
            package: package.into(),
            version,
            purl,
        }
    }
}

/// Percent-encodes all but the characters the purl spec leaves bare in a component.
fn purl_encode(component: &str) -> String {
    let mut encoded = String::with_capacity(component.len());
    for byte in component.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::Release;

    #[test]
    fn purls_encode_scopes_build_metadata_and_qualifiers() {
        let scoped = Release::new("@types/node", "20.1.0", "npm", &["@types"], "node", &[]);
        assert_eq!(scoped.purl, "pkg:npm/%40types/node@20.1.0");
        let deb = Release::new(
            "libc6",
            "2.36-9+deb12u4",
            "deb",
            &["debian"],
            "libc6",
            &[("arch", "amd64")],
        );
        assert_eq!(deb.purl, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64");
        let go = Release::new(
            "golang.org/x/text",
            "v0.14.0",
            "golang",
            &["golang.org", "x"],
            "text",
            &[],
        );
        assert_eq!(go.purl, "pkg:golang/golang.org/x/text@v0.14.0");
    }
}
