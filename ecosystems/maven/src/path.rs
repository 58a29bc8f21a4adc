//! Paths in the Maven 2 repository layout, and what each file is.
//!
//! `<group as dirs>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<ext>` for
//! artifacts; `maven-metadata.xml` at the group (plugin prefixes), artifact (versions) and
//! SNAPSHOT version (timestamped builds) levels; checksum and signature sidecars beside each
//! file (`.sha1`, `.md5`, `.sha256`, `.sha512`, `.asc`).

use larder_adapter::Algorithm;

/// A repository path, split into segments that are safe to append to a base URL as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoPath {
    segments: Vec<String>,
}

/// Why a path is not a file in a Maven repository.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("ask for a file in the repository, e.g. junit/junit/4.13.2/junit-4.13.2.pom (a directory listing is not served)")]
    Directory,
    #[error("{0:?} is not a Maven repository path segment (letters, digits and . _ - + ~ only; no empty, '.' or '..' segments)")]
    BadSegment(String),
}

impl RepoPath {
    /// Parses the part of a request path below the remote (`org/x/y/1.0/y-1.0.jar`).
    pub fn parse(raw: &str) -> Result<RepoPath, PathError> {
        if raw.is_empty() || raw.ends_with('/') {
            return Err(PathError::Directory);
        }
        let segments = raw
            .split('/')
            .map(|segment| {
                let ok = !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment.len() <= 255
                    && segment.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'~')
                    });
                match ok {
                    true => Ok(segment.to_string()),
                    false => Err(PathError::BadSegment(segment.to_string())),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RepoPath { segments })
    }

    pub fn as_string(&self) -> String {
        self.segments.join("/")
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(String::as_str)
    }

    pub fn file_name(&self) -> &str {
        self.segments.last().map(String::as_str).unwrap_or_default()
    }

    /// The same directory, another file.
    pub fn sibling(&self, file_name: &str) -> RepoPath {
        let mut segments = self.segments.clone();
        if let Some(last) = segments.last_mut() {
            *last = file_name.to_string();
        }
        RepoPath { segments }
    }

    /// What the file is, from its place in the layout.
    pub fn kind(&self) -> Kind {
        let name = self.file_name();
        if let Some((stem, sidecar)) = split_sidecar(name) {
            return match self.sibling(stem).kind() {
                Kind::Metadata => Kind::MetadataSidecar(sidecar),
                Kind::Artifact { snapshot } => Kind::ArtifactSidecar { sidecar, snapshot },
                // A checksum of a signature, or of a file larder cannot place: revalidated.
                other => other,
            };
        }
        if METADATA_FILES.contains(&name) {
            return Kind::Metadata;
        }
        match self.version_dir() {
            Some((artifact_id, version)) if is_artifact_file(name, artifact_id, version) => {
                Kind::Artifact {
                    snapshot: version.ends_with(SNAPSHOT),
                }
            }
            _ => Kind::Other,
        }
    }

    /// (artifactId, version) if the file sits in a `<artifactId>/<version>/` directory below
    /// at least one group segment.
    fn version_dir(&self) -> Option<(&str, &str)> {
        match self.segments.as_slice() {
            [.., _group, artifact_id, version, _file] => Some((artifact_id, version)),
            _ => None,
        }
    }
}

const SNAPSHOT: &str = "-SNAPSHOT";

/// Files that change in place and are revalidated on the TTL: version lists, and the
/// archetype catalogue some repositories publish at their root.
const METADATA_FILES: [&str; 2] = ["maven-metadata.xml", "archetype-catalog.xml"];

/// A sidecar beside a file: which kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sidecar {
    Checksum(Algorithm),
    /// `.md5`: served, never used to verify (larder does not trust MD5).
    Md5,
    /// `.asc`: a PGP signature, checked by clients that ask for it.
    Signature,
}

impl Sidecar {
    /// The sidecars of one file, by extension.
    pub const ALL: [(&'static str, Sidecar); 5] = [
        (".sha1", Sidecar::Checksum(Algorithm::Sha1)),
        (".sha256", Sidecar::Checksum(Algorithm::Sha256)),
        (".sha512", Sidecar::Checksum(Algorithm::Sha512)),
        (".md5", Sidecar::Md5),
        (".asc", Sidecar::Signature),
    ];
}

/// What a file in the layout is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `maven-metadata.xml` at any level (or the archetype catalogue): changes in place.
    Metadata,
    /// A checksum of a metadata file: changes with it.
    MetadataSidecar(Sidecar),
    /// `<artifactId>-<version>[-<classifier>].<ext>` in its version directory. A release never
    /// changes; a file under a `-SNAPSHOT` version may be redeployed.
    Artifact { snapshot: bool },
    /// A checksum or signature of an artifact: as immutable as the artifact.
    ArtifactSidecar { sidecar: Sidecar, snapshot: bool },
    /// Anything else (an index at the root, a file outside the layout): revalidated on the TTL.
    Other,
}

/// `("x-1.0.jar", Sidecar::Checksum(Sha1))` for `x-1.0.jar.sha1`.
fn split_sidecar(name: &str) -> Option<(&str, Sidecar)> {
    Sidecar::ALL.iter().find_map(|(ext, sidecar)| {
        let stem = name.strip_suffix(ext)?;
        (!stem.is_empty()).then_some((stem, *sidecar))
    })
}

/// `y-1.0.jar`, `y-1.0-sources.jar`, `y-1.0.pom`, `y-1.0.module` in `y/1.0/`; in
/// `y/1.0-SNAPSHOT/` also the timestamped `y-1.0-20240102.030405-7.jar`.
fn is_artifact_file(name: &str, artifact_id: &str, version: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(artifact_id)
        .and_then(|rest| rest.strip_prefix('-'))
    else {
        return false;
    };
    let after_version = rest.strip_prefix(version).or_else(|| {
        // A timestamped snapshot build replaces `SNAPSHOT` with `<yyyyMMdd.HHmmss>-<build>`.
        let base = version.strip_suffix("SNAPSHOT")?;
        let stamp = rest.strip_prefix(base)?;
        let (timestamp, build) = stamp.split_at_checked(15)?;
        let valid_stamp = timestamp.as_bytes()[8] == b'.'
            && timestamp
                .bytes()
                .enumerate()
                .all(|(at, b)| at == 8 || b.is_ascii_digit());
        let build = build.strip_prefix('-')?;
        let digits = build.bytes().take_while(u8::is_ascii_digit).count();
        (valid_stamp && digits > 0).then(|| &build[digits..])
    });
    match after_version {
        // `.jar`, `-sources.jar`, `-tests.jar`, `.tar.gz`: an extension or a classifier.
        Some(tail) => tail.starts_with('.') || tail.starts_with('-'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str) -> Kind {
        RepoPath::parse(path).unwrap().kind()
    }

    #[test]
    fn releases_and_their_sidecars() {
        let release = Kind::Artifact { snapshot: false };
        for path in [
            "junit/junit/4.13.2/junit-4.13.2.pom",
            "junit/junit/4.13.2/junit-4.13.2.jar",
            "org/apache/commons/commons-lang3/3.14.0/commons-lang3-3.14.0-sources.jar",
            "com/google/guava/guava/33.0.0-jre/guava-33.0.0-jre.module",
            "org/x/y/1.0/y-1.0.tar.gz",
        ] {
            assert_eq!(kind(path), release, "{path}");
        }
        assert_eq!(
            kind("junit/junit/4.13.2/junit-4.13.2.jar.sha1"),
            Kind::ArtifactSidecar {
                sidecar: Sidecar::Checksum(Algorithm::Sha1),
                snapshot: false
            }
        );
        assert_eq!(
            kind("junit/junit/4.13.2/junit-4.13.2.pom.asc"),
            Kind::ArtifactSidecar {
                sidecar: Sidecar::Signature,
                snapshot: false
            }
        );
    }

    #[test]
    fn snapshots_and_metadata_change() {
        for path in [
            "org/x/y/1.0-SNAPSHOT/y-1.0-SNAPSHOT.jar",
            "org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7.jar",
            "org/x/y/1.0-SNAPSHOT/y-1.0-20240102.030405-7-sources.jar",
        ] {
            assert_eq!(kind(path), Kind::Artifact { snapshot: true }, "{path}");
        }
        for path in [
            "org/apache/maven/plugins/maven-metadata.xml",
            "junit/junit/maven-metadata.xml",
            "org/x/y/1.0-SNAPSHOT/maven-metadata.xml",
            "archetype-catalog.xml",
        ] {
            assert_eq!(kind(path), Kind::Metadata, "{path}");
        }
        assert_eq!(
            kind("junit/junit/maven-metadata.xml.sha1"),
            Kind::MetadataSidecar(Sidecar::Checksum(Algorithm::Sha1))
        );
        assert_eq!(
            kind("junit/junit/maven-metadata.xml.md5"),
            Kind::MetadataSidecar(Sidecar::Md5)
        );
    }

    #[test]
    fn files_outside_the_layout_are_not_artifacts() {
        for path in [
            "junit/junit/4.13.2/other-4.13.2.jar",
            "junit/junit/4.13.2/junit-4.13.jar",
            "junit/junit/4.13.2/junit-4.13.2",
            "junit-4.13.2.jar",
            "4.13.2/junit-4.13.2.jar",
            "org/x/y/1.0-SNAPSHOT/y-1.0-2024010.030405-7.jar",
            ".index/nexus-maven-repository-index.gz",
        ] {
            let kind = RepoPath::parse(path).map(|p| p.kind());
            assert!(
                !matches!(kind, Ok(Kind::Artifact { .. })),
                "{path}: {kind:?}"
            );
        }
    }

    #[test]
    fn unsafe_paths_are_refused() {
        assert_eq!(RepoPath::parse("junit/junit/"), Err(PathError::Directory));
        assert_eq!(RepoPath::parse(""), Err(PathError::Directory));
        for bad in [
            "a//b", "a/../b", "a/./b", "a/b%2e", "a/b?c", "a/b c", "a/\u{e9}",
        ] {
            assert!(
                matches!(RepoPath::parse(bad), Err(PathError::BadSegment(_))),
                "{bad}"
            );
        }
    }
}
