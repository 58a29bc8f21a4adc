//! Classifying a request path (after `/npm`) into what the registry protocol calls it.
//!
//! The path is percent-decoded once, as a whole, then split on `/`. That makes every spelling of
//! a scoped name clients send (`@scope%2fname`, `@scope%2Fname`, `@scope/name`) the same
//! segments, and turns encoded traversal (`%2e%2e`, `%2F..`) into segments that name
//! validation refuses. Nothing is decoded twice: `%252f` becomes `%2f`, which no name allows.

use crate::name::{is_name_byte, InvalidName, PackageName};
use percent_encoding::percent_decode_str;

/// The longest tarball file name accepted (a 214-character name plus a long version).
const MAX_FILE_LEN: usize = 512;
/// The longest version or dist-tag accepted in a `/<name>/<version>` path.
const MAX_VERSION_LEN: usize = 256;

/// What a request path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `/<name>`: the packument.
    Packument(PackageName),
    /// `/<name>/<version-or-tag>`: one version's manifest.
    Manifest { name: PackageName, version: String },
    /// `/<name>/-/<file>.tgz`.
    Tarball { name: PackageName, file: String },
    /// `/-/ping`.
    Ping,
    /// `/-/npm/v1/security/...`: `rest` is the path after `-/`.
    Audit { rest: &'static str },
    /// `/-/package/<name>/dist-tags`.
    DistTags(PackageName),
    /// `/-/npm/v1/keys`: the registry's signing keys.
    Keys,
}

/// Why a path was refused, with the message for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed: an invalid name or file, undecodable bytes. Answered 400.
    BadRequest(String),
    /// Well-formed but not something larder serves. Answered 404.
    NotFound(String),
}

impl From<InvalidName> for Refusal {
    fn from(err: InvalidName) -> Self {
        Refusal::BadRequest(err.0)
    }
}

pub const ADVISORIES_BULK: &str = "-/npm/v1/security/advisories/bulk";
pub const AUDITS_QUICK: &str = "-/npm/v1/security/audits/quick";

/// Classifies `path` (percent-encoded, starting with `/`).
pub fn classify(path: &str) -> Result<Target, Refusal> {
    let decoded = percent_decode_str(path).decode_utf8().map_err(|_| {
        Refusal::BadRequest("the request path is not UTF-8 once percent-decoded".into())
    })?;
    let Some(rest) = decoded.strip_prefix('/') else {
        return Err(Refusal::BadRequest(
            "the request path must start with /".into(),
        ));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [""] => Err(Refusal::NotFound(
            "this is larder's npm mirror: point npm at it with registry=<this URL>".into(),
        )),
        ["-", special @ ..] => special_endpoint(special),
        _ => package_path(&segments),
    }
}

/// `/<name>`, `/<name>/<version>`, `/<name>/-/<file>`, scoped or not.
fn package_path(segments: &[&str]) -> Result<Target, Refusal> {
    let (name, rest) = take_name(segments)?;
    match rest {
        [] => Ok(Target::Packument(name)),
        ["-", file] => {
            check_file(file)?;
            Ok(Target::Tarball {
                name,
                file: (*file).to_string(),
            })
        }
        [version] => {
            check_version(version)?;
            Ok(Target::Manifest {
                name,
                version: (*version).to_string(),
            })
        }
        _ => Err(not_an_npm_path()),
    }
}

/// The name at the start of `segments` (two segments when scoped) and what follows it.
fn take_name<'s, 'a>(segments: &'s [&'a str]) -> Result<(PackageName, &'s [&'a str]), Refusal> {
    match segments {
        [scope, name, rest @ ..] if scope.starts_with('@') => {
            Ok((PackageName::parse(Some(scope), name)?, rest))
        }
        [scope] if scope.starts_with('@') => Err(Refusal::BadRequest(format!(
            "{} has no package name after the scope",
            shown(scope)
        ))),
        [name, rest @ ..] => Ok((PackageName::parse(None, name)?, rest)),
        [] => Err(not_an_npm_path()),
    }
}

fn special_endpoint(segments: &[&str]) -> Result<Target, Refusal> {
    match segments {
        ["ping"] => Ok(Target::Ping),
        ["npm", "v1", "security", "advisories", "bulk"] => Ok(Target::Audit { rest: ADVISORIES_BULK }),
        ["npm", "v1", "security", "audits", "quick"] => Ok(Target::Audit { rest: AUDITS_QUICK }),
        ["npm", "v1", "keys"] => Ok(Target::Keys),
        ["package", rest @ ..] => match take_name(rest)? {
            (name, ["dist-tags"]) => Ok(Target::DistTags(name)),
            _ => Err(Refusal::NotFound(
                "larder serves /-/package/<name>/dist-tags read-only; nothing else under /-/package/".into(),
            )),
        },
        _ => Err(Refusal::NotFound(format!(
            "larder's npm mirror does not serve /-/{} (it serves packuments, tarballs, /-/ping, \
             dist-tags, keys and the audit endpoints); use the upstream registry directly",
            shown(&segments.join("/"))
        ))),
    }
}

/// A tarball file name: `<name>-<version>.tgz`, in the characters names and versions use.
fn check_file(file: &str) -> Result<(), Refusal> {
    let ok = file.len() <= MAX_FILE_LEN
        && file.len() > ".tgz".len()
        && file.ends_with(".tgz")
        && !file.starts_with('.')
        && file.bytes().all(|b| is_name_byte(b) || b == b'+');
    if ok {
        Ok(())
    } else {
        Err(Refusal::BadRequest(format!(
            "{} is not an npm tarball file name (expected <name>-<version>.tgz)",
            shown(file)
        )))
    }
}

/// A semver version (`1.2.3-beta.1+build`) or a dist-tag (`latest`, `next`).
fn check_version(version: &str) -> Result<(), Refusal> {
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION_LEN
        && !version.starts_with('.')
        && version.bytes().all(|b| is_name_byte(b) || b == b'+');
    if ok {
        Ok(())
    } else {
        Err(Refusal::BadRequest(format!(
            "{} is not a version or dist-tag",
            shown(version)
        )))
    }
}

fn not_an_npm_path() -> Refusal {
    Refusal::NotFound(
        "not an npm registry path: larder serves /<name>, /@scope/<name> and their /-/<file>.tgz tarballs".into(),
    )
}

/// Client text as it may appear in a message: shortened and escaped.
fn shown(text: &str) -> String {
    let escaped: String = text
        .chars()
        .take(64)
        .flat_map(char::escape_default)
        .collect();
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(scope: Option<&str>, bare: &str) -> PackageName {
        PackageName::parse(scope, bare).unwrap()
    }

    /// The fuzzer's input (`fuzz/seeds/path/dots-inside-a-name`): two dots inside a name are
    /// a legacy npm name, not a traversal; its rendered forms stay one path segment.
    #[test]
    fn dots_inside_a_name_are_part_of_the_name() {
        let Ok(Target::Packument(found)) = classify("/P..A") else {
            panic!("a legacy name with dots is a packument");
        };
        assert_eq!(found.to_string(), "P..A");
        assert_eq!(found.url_encoded(), "P..A");
        assert!(classify("/..").is_err() && classify("/%2e%2e").is_err());
    }

    #[test]
    fn every_spelling_of_a_scoped_packument_is_the_same_target() {
        let want = Target::Packument(name(Some("@types"), "node"));
        for path in [
            "/@types%2fnode",
            "/@types%2Fnode",
            "/@types/node",
            "/%40types%2fnode",
            "/%40types/node",
        ] {
            assert_eq!(classify(path), Ok(want.clone()), "{path}");
        }
        assert_eq!(
            classify("/react"),
            Ok(Target::Packument(name(None, "react")))
        );
    }

    #[test]
    fn every_spelling_of_a_tarball_is_the_same_target() {
        let want = Target::Tarball {
            name: name(Some("@types"), "node"),
            file: "node-20.1.0.tgz".into(),
        };
        for path in [
            "/@types/node/-/node-20.1.0.tgz",
            "/@types%2fnode/-/node-20.1.0.tgz",
            "/@types%2Fnode/-/node-20.1.0.tgz",
        ] {
            assert_eq!(classify(path), Ok(want.clone()), "{path}");
        }
        assert_eq!(
            classify("/react/-/react-18.2.0.tgz"),
            Ok(Target::Tarball {
                name: name(None, "react"),
                file: "react-18.2.0.tgz".into()
            })
        );
        assert_eq!(
            classify("/a/-/a-1.0.0-rc.1+build.5.tgz"),
            Ok(Target::Tarball {
                name: name(None, "a"),
                file: "a-1.0.0-rc.1+build.5.tgz".into()
            })
        );
    }

    #[test]
    fn traversal_is_refused_before_anything_is_forwarded() {
        for path in [
            "/..",
            "/%2e%2e",
            "/%2E%2E/etc/passwd",
            "/@scope%2f..",
            "/@scope%2F..%2F..%2Fx",
            "/..%2f..%2fsecret",
            "/a/-/..",
            "/a/-/%2e%2e%2fb.tgz",
            "/a/-/..%2f..%2fb.tgz",
            "/a/-/.tgz",
            "/a%00b",
            "/a%ff",
            "/a%252fb",
            "/a\\b",
        ] {
            // Refused (400, or 404 when the decoded path has extra segments): never routed.
            assert!(classify(path).is_err(), "{path}: {:?}", classify(path));
        }
        assert!(matches!(classify("/%2e%2e"), Err(Refusal::BadRequest(_))));
        assert!(matches!(
            classify("/@scope%2f.."),
            Err(Refusal::BadRequest(_))
        ));
        assert!(classify("/a/b/c").is_err());
        assert!(classify("/a/-/b/c.tgz").is_err());
        assert!(classify("relative").is_err());
    }

    #[test]
    fn long_names_are_refused() {
        let long = "a".repeat(215);
        assert!(matches!(
            classify(&format!("/{long}")),
            Err(Refusal::BadRequest(_))
        ));
        assert!(classify(&format!("/{}", "a".repeat(214))).is_ok());
        assert!(matches!(
            classify(&format!("/@s/{}", "a".repeat(212))),
            Err(Refusal::BadRequest(_))
        ));
        let long_file = format!("/a/-/{}.tgz", "1".repeat(600));
        assert!(matches!(classify(&long_file), Err(Refusal::BadRequest(_))));
    }

    #[test]
    fn manifests_by_version_or_tag() {
        assert_eq!(
            classify("/@s%2fa/1.0.0"),
            Ok(Target::Manifest {
                name: name(Some("@s"), "a"),
                version: "1.0.0".into()
            })
        );
        assert_eq!(
            classify("/a/latest"),
            Ok(Target::Manifest {
                name: name(None, "a"),
                version: "latest".into()
            })
        );
        assert!(classify("/a/..").is_err());
        assert!(classify("/a/").is_err(), "trailing slash: empty version");
    }

    #[test]
    fn special_endpoints() {
        assert_eq!(classify("/-/ping"), Ok(Target::Ping));
        assert_eq!(
            classify("/-/npm/v1/security/advisories/bulk"),
            Ok(Target::Audit {
                rest: ADVISORIES_BULK
            })
        );
        assert_eq!(
            classify("/-/npm/v1/security/audits/quick"),
            Ok(Target::Audit { rest: AUDITS_QUICK })
        );
        assert_eq!(classify("/-/npm/v1/keys"), Ok(Target::Keys));
        assert_eq!(
            classify("/-/package/@s%2fa/dist-tags"),
            Ok(Target::DistTags(name(Some("@s"), "a")))
        );
        assert_eq!(
            classify("/-/package/a/dist-tags"),
            Ok(Target::DistTags(name(None, "a")))
        );
        assert!(matches!(
            classify("/-/package/a/dist-tags/latest"),
            Err(Refusal::NotFound(_))
        ));
        assert!(matches!(
            classify("/-/package/../dist-tags"),
            Err(Refusal::BadRequest(_))
        ));
        assert!(matches!(classify("/-/whoami"), Err(Refusal::NotFound(_))));
        assert!(matches!(
            classify("/-/v1/search"),
            Err(Refusal::NotFound(_))
        ));
        assert!(matches!(classify("/"), Err(Refusal::NotFound(_))));
    }
}
