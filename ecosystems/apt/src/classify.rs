//! Which kind of archive file a path names, from its shape alone.
//!
//! An apt repository is `<root>/dists/<suite>/…` (signed Release files and the indexes they
//! list) and `<root>/pool/…` (packages). Flat repositories (`deb http://host/repo ./`) keep
//! Release and indexes side by side in one directory.

use larder_adapter::{Algorithm, Digest};

/// The kind of one archive path (decoded segments, remote name already removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `InRelease`, `Release`, `Release.gpg` of a suite: the roots that change.
    ReleaseFile,
    /// A by-name index listed in its suite's InRelease (`Packages.xz`, `Translation-en`, a
    /// component's `Release`, `*.diff/Index`). `release_dir` is the number of leading segments
    /// of the directory that holds the suite's InRelease; `listed_as` is the path relative to it.
    Index {
        release_dir: usize,
        listed_as: String,
    },
    /// `by-hash/SHA256/<hex>` (or SHA512): content named by its own digest.
    ByHash(Digest),
    /// `by-hash/<weak algo>/…` (MD5Sum, SHA1): apt fetches by-hash only with the strongest
    /// algorithm it knows, so nothing asks for these; larder will not store content it cannot
    /// check by a strong digest.
    WeakByHash(String),
    /// A pdiff patch (`Packages.diff/T-2026-11-28-0812.41-F-….gz`): named once, never rewritten.
    Patch,
    /// `pool/**`: a package or source file.
    Pool,
    /// Anything else under `dists/` (installer images, checksum lists not listed in InRelease).
    OtherDists,
    /// Outside `dists/` and `pool/` (`README`, `ls-lR.gz`, `project/…`).
    Other,
}

/// File names under `dists/` that are indexes listed in the suite's Release file.
fn is_index_name(name: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "Packages",
        "Sources",
        "Translation-",
        "Contents-",
        "Components-",
        "icons-",
        "Commands-",
        "Release",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        && !matches!(name, "InRelease" | "Release.gpg")
}

fn is_release_name(name: &str) -> bool {
    matches!(name, "InRelease" | "Release" | "Release.gpg")
}

/// Classifies `segments` (decoded, no empty or `.` segments).
pub fn classify(segments: &[String]) -> Kind {
    let Some(name) = segments.last() else {
        return Kind::Other;
    };
    let dists = segments.iter().position(|segment| segment == "dists");
    let pool = segments.iter().position(|segment| segment == "pool");
    match (dists, pool) {
        (Some(dists), pool) if pool.is_none_or(|pool| dists < pool) => {
            classify_dists(segments, dists)
        }
        (_, Some(pool)) if pool + 1 < segments.len() => Kind::Pool,
        _ => classify_flat(segments, name),
    }
}

fn classify_dists(segments: &[String], dists: usize) -> Kind {
    // segments[..suite_end] is `<root>/dists/<suite>`. Debian's security archive up to buster
    // named its suites `<codename>/updates` (`deb … buster/updates main`).
    let two_part_suite = segments.get(dists + 2).is_some_and(|s| s == "updates");
    let suite_end = dists + if two_part_suite { 3 } else { 2 };
    if segments.len() <= suite_end {
        return Kind::OtherDists;
    }
    let within = &segments[suite_end..];
    if let Some(kind) = by_hash(within) {
        return kind;
    }
    if let [name] = within {
        if is_release_name(name) {
            return Kind::ReleaseFile;
        }
    }
    // Inside `<index>.diff/`: the `Index` is listed in InRelease; everything else is a patch.
    if let Some(diff) = within.iter().position(|segment| segment.ends_with(".diff")) {
        return if within.len() == diff + 2 && within[diff + 1] == "Index" {
            index(suite_end, within)
        } else if within.len() == diff + 2 {
            Kind::Patch
        } else {
            Kind::OtherDists
        };
    }
    let name = &within[within.len() - 1];
    if is_index_name(name) {
        index(suite_end, within)
    } else {
        Kind::OtherDists
    }
}

fn index(release_dir: usize, within: &[String]) -> Kind {
    Kind::Index {
        release_dir,
        listed_as: within.join("/"),
    }
}

/// `…/by-hash/<algo>/<hex>` anywhere below the suite.
fn by_hash(within: &[String]) -> Option<Kind> {
    let [.., marker, algo, hex] = within else {
        return None;
    };
    if marker != "by-hash" {
        return None;
    }
    let algorithm = match algo.as_str() {
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        _ => return Some(Kind::WeakByHash(algo.clone())),
    };
    // A malformed digest cannot name anything: treat it as a weak, refused, by-hash request.
    Some(
        Digest::from_hex(algorithm, hex)
            .map_or_else(|| Kind::WeakByHash(algo.clone()), Kind::ByHash),
    )
}

/// A flat repository keeps `InRelease` and `Packages*` in one directory, without `dists/`.
fn classify_flat(segments: &[String], name: &str) -> Kind {
    if is_release_name(name) {
        return Kind::ReleaseFile;
    }
    if let Some(kind) = by_hash(segments) {
        return kind;
    }
    if ["Packages", "Sources", "Translation-"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return Kind::Index {
            release_dir: segments.len() - 1,
            listed_as: name.to_string(),
        };
    }
    Kind::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str) -> Kind {
        let segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        classify(&segments)
    }

    fn index(release_dir: usize, listed_as: &str) -> Kind {
        Kind::Index {
            release_dir,
            listed_as: listed_as.to_string(),
        }
    }

    const HEX: &str = "8cb0e1aab8f3e5a4d05b3f4c3c4a3b2d5b1e6cfd1d1a64a0c1a5e2a2e1f6f1a2";

    #[test]
    fn classification_matrix() {
        let sha256 = Kind::ByHash(Digest::from_hex(Algorithm::Sha256, HEX).unwrap());
        let cases = [
            ("debian/dists/bookworm/InRelease", Kind::ReleaseFile),
            ("debian/dists/bookworm/Release", Kind::ReleaseFile),
            ("debian/dists/bookworm/Release.gpg", Kind::ReleaseFile),
            ("debian/dists/bookworm/main/binary-amd64/Packages.xz", index(3, "main/binary-amd64/Packages.xz")),
            ("debian/dists/bookworm/main/binary-amd64/Packages", index(3, "main/binary-amd64/Packages")),
            ("debian/dists/bookworm/main/binary-amd64/Release", index(3, "main/binary-amd64/Release")),
            ("debian/dists/bookworm/main/source/Sources.gz", index(3, "main/source/Sources.gz")),
            ("debian/dists/bookworm/main/i18n/Translation-en.bz2", index(3, "main/i18n/Translation-en.bz2")),
            ("debian/dists/bookworm/main/Contents-amd64.gz", index(3, "main/Contents-amd64.gz")),
            ("ubuntu/dists/noble/main/dep11/Components-amd64.yml.gz", index(3, "main/dep11/Components-amd64.yml.gz")),
            ("ubuntu/dists/noble/main/cnf/Commands-amd64.xz", index(3, "main/cnf/Commands-amd64.xz")),
            ("debian/dists/bookworm/main/i18n/Translation-en.diff/Index", index(3, "main/i18n/Translation-en.diff/Index")),
            ("debian/dists/bookworm/main/binary-amd64/Packages.diff/T-2026-11-28-0812.41-F-2026-11-27-2014.45.gz", Kind::Patch),
            (&format!("debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/{HEX}"), sha256.clone()),
            (&format!("debian/dists/bookworm/main/i18n/by-hash/SHA256/{HEX}"), sha256.clone()),
            ("debian/dists/bookworm/main/binary-amd64/by-hash/MD5Sum/5f8bd3a1e7a7e4c8a4a1b8a6c9b0e7d2", Kind::WeakByHash("MD5Sum".into())),
            ("debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/abc", Kind::WeakByHash("SHA256".into())),
            ("debian/dists/bookworm/main/installer-amd64/current/images/SHA256SUMS", Kind::OtherDists),
            ("debian/dists/bookworm", Kind::OtherDists),
            ("debian/dists/bookworm/ChangeLog", Kind::OtherDists),
            ("debian/pool/main/h/hello/hello_2.10-3_amd64.deb", Kind::Pool),
            ("debian-security/pool/updates/main/o/openssl/openssl_3.0.15-1~deb12u1_amd64.deb", Kind::Pool),
            ("pool/main/a/a.deb", Kind::Pool),
            ("debian/pool", Kind::Other),
            ("debian-security/dists/buster/updates/InRelease", Kind::ReleaseFile),
            (
                "debian-security/dists/buster/updates/main/binary-amd64/Packages.xz",
                index(4, "main/binary-amd64/Packages.xz"),
            ),
            ("debian/README", Kind::Other),
            ("debian/ls-lR.gz", Kind::Other),
            ("", Kind::Other),
            // Flat repositories (`deb http://host/repo ./`).
            ("repo/InRelease", Kind::ReleaseFile),
            ("repo/Packages.gz", index(1, "Packages.gz")),
            ("Packages", index(0, "Packages")),
            (&format!("repo/by-hash/SHA256/{HEX}"), sha256),
            ("repo/thing_1.0_all.deb", Kind::Other),
        ];
        for (path, want) in cases {
            assert_eq!(kind(path), want, "{path}");
        }
    }

    #[test]
    fn a_pool_named_inside_dists_is_still_dists() {
        assert_eq!(
            kind("debian/dists/bookworm/pool/Packages"),
            index(3, "pool/Packages")
        );
    }
}
