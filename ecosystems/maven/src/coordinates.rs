//! `larder warm` input for Maven: the coordinate lists `mvn dependency:list` prints (to the
//! console, or to `-DoutputFile=deps.txt`), turned into the repository paths a build fetches.
//!
//! ```text
//! [INFO] The following files have been resolved:
//! [INFO]    junit:junit:jar:4.13.2:test
//! [INFO]    org.x:y:jar:sources:1.0:compile -- module y (auto)
//! ```
//! Each coordinate is `groupId:artifactId:type[:classifier]:version[:scope]`; the build fetches
//! the artifact and its POM, so both are listed. Lines that are not coordinates are skipped.

use crate::path::RepoPath;
use larder_adapter::{Fetch, Lockfile, LockfileError, Match};

/// The heading `mvn dependency:list` prints above its coordinates, on the console and in
/// `-DoutputFile` (which has no conventional name).
const HEADING: &[u8] = b"The following files have been resolved:";

/// `larder warm`'s format: recognized by the heading; every coordinate fetched from `central`.
pub const LOCKFILES: [Lockfile; 1] = [Lockfile {
    kind: "the output of `mvn dependency:list`",
    recognize: |_, bytes| {
        bytes
            .windows(HEADING.len())
            .any(|window| window == HEADING)
            .then_some(Match::Content)
    },
    parse: |bytes, _| {
        let text = std::str::from_utf8(bytes).map_err(|err| {
            LockfileError(format!("mvn dependency:list output is not UTF-8: {err}"))
        })?;
        Ok(paths(text, crate::remotes::CENTRAL.0)
            .into_iter()
            .map(|path| Fetch::Get {
                path,
                headers: Vec::new(),
            })
            .collect())
    },
    needs: &[],
}];

/// One artifact a coordinate names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coordinate {
    pub group_id: String,
    pub artifact_id: String,
    pub version: String,
    pub extension: String,
    pub classifier: Option<String>,
}

impl Coordinate {
    /// `groupId:artifactId:type[:classifier]:version:scope` (the scope, and anything after the
    /// first blank, optional); `None` for anything else.
    pub fn parse(text: &str) -> Option<Coordinate> {
        let token = text.split_whitespace().next()?;
        if token.contains('/') {
            return None;
        }
        let parts: Vec<&str> = token.split(':').collect();
        let (group_id, artifact_id, kind, classifier, version) = match parts.as_slice() {
            [g, a, t, v] | [g, a, t, v, _] if !looks_like_scope(v) => (*g, *a, *t, None, *v),
            [g, a, t, c, v, _] => (*g, *a, *t, Some(*c), *v),
            _ => return None,
        };
        let (extension, implied_classifier) = match kind {
            "test-jar" => ("jar", Some("tests")),
            "maven-plugin" | "bundle" | "ejb" | "jar" => ("jar", None),
            "java-source" => ("jar", Some("sources")),
            other => (other, None),
        };
        let coordinate = Coordinate {
            group_id: group_id.to_string(),
            artifact_id: artifact_id.to_string(),
            version: version.to_string(),
            extension: extension.to_string(),
            classifier: classifier.or(implied_classifier).map(str::to_string),
        };
        // Every piece becomes part of a path: it must make a valid one.
        RepoPath::parse(&coordinate.path()).ok()?;
        (!coordinate.group_id.split('.').any(str::is_empty)).then_some(coordinate)
    }

    /// The artifact's path in the repository layout.
    pub fn path(&self) -> String {
        let classifier = self
            .classifier
            .as_ref()
            .map(|c| format!("-{c}"))
            .unwrap_or_default();
        format!(
            "{}/{}.{}",
            self.dir(),
            self.file_stem_with(&classifier),
            self.extension
        )
    }

    /// The path of the POM that describes the artifact.
    pub fn pom_path(&self) -> String {
        format!("{}/{}.pom", self.dir(), self.file_stem_with(""))
    }

    fn dir(&self) -> String {
        format!(
            "{}/{}/{}",
            self.group_id.replace('.', "/"),
            self.artifact_id,
            self.version
        )
    }

    fn file_stem_with(&self, classifier: &str) -> String {
        format!("{}-{}{classifier}", self.artifact_id, self.version)
    }
}

/// Maven's dependency scopes: the last field of a resolved coordinate.
fn looks_like_scope(field: &str) -> bool {
    matches!(
        field,
        "compile" | "provided" | "runtime" | "test" | "system" | "import"
    )
}

/// The larder paths (below `/maven/`) that warm the build which printed `text`: for each
/// coordinate, the POM and the artifact in `remote`, in order of appearance, without repeats.
pub fn paths(text: &str, remote: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("[INFO]").unwrap_or(line);
        let Some(coordinate) = Coordinate::parse(line) else {
            continue;
        };
        for path in [coordinate.pom_path(), coordinate.path()] {
            let path = format!("{remote}/{path}");
            if seen.insert(path.clone()) {
                out.push(path);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mvn dependency:list` as Maven 3.8 prints it.
    const LISTED: &str = "\
[INFO] --- maven-dependency-plugin:3.5.0:list (default-cli) @ app ---
[INFO]
[INFO] The following files have been resolved:
[INFO]    commons-cli:commons-cli:jar:1.5.0:compile -- module org.apache.commons.cli [auto]
[INFO]    junit:junit:jar:4.13.2:test
[INFO]    org.hamcrest:hamcrest-core:jar:1.3:test
[INFO]    org.x:y:test-jar:tests:2.0:test
[INFO]    org.x:z:jar:linux-x86_64:2.0:runtime
[INFO]
[INFO] BUILD SUCCESS
";

    #[test]
    fn dependency_list_output_becomes_poms_and_artifacts() {
        assert_eq!(
            paths(LISTED, "central"),
            [
                "central/commons-cli/commons-cli/1.5.0/commons-cli-1.5.0.pom",
                "central/commons-cli/commons-cli/1.5.0/commons-cli-1.5.0.jar",
                "central/junit/junit/4.13.2/junit-4.13.2.pom",
                "central/junit/junit/4.13.2/junit-4.13.2.jar",
                "central/org/hamcrest/hamcrest-core/1.3/hamcrest-core-1.3.pom",
                "central/org/hamcrest/hamcrest-core/1.3/hamcrest-core-1.3.jar",
                "central/org/x/y/2.0/y-2.0.pom",
                "central/org/x/y/2.0/y-2.0-tests.jar",
                "central/org/x/z/2.0/z-2.0.pom",
                "central/org/x/z/2.0/z-2.0-linux-x86_64.jar",
            ]
        );
    }

    #[test]
    fn an_output_file_and_plain_coordinates_read_the_same() {
        let file = "\nThe following files have been resolved:\n   junit:junit:jar:4.13.2:test\n";
        assert_eq!(paths(file, "central").len(), 2);
        assert_eq!(
            Coordinate::parse("junit:junit:pom:4.13.2").unwrap().path(),
            "junit/junit/4.13.2/junit-4.13.2.pom"
        );
    }

    #[test]
    fn warm_recognizes_the_heading_whatever_the_file_is_called() {
        let recognize = LOCKFILES[0].recognize;
        assert_eq!(
            recognize("deps.txt", LISTED.as_bytes()),
            Some(Match::Content)
        );
        assert_eq!(recognize("-", LISTED.as_bytes()), Some(Match::Content));
        assert_eq!(recognize("requirements.txt", b"junit==1\n"), None);
        let larder = url::Url::parse("http://m:1/").unwrap();
        let fetches = (LOCKFILES[0].parse)(LISTED.as_bytes(), &larder).unwrap();
        assert_eq!(fetches.len(), 10);
        assert!((LOCKFILES[0].parse)(b"\xff", &larder).is_err());
    }

    #[test]
    fn malformed_coordinates_are_skipped() {
        for bad in [
            "junit:junit",
            "junit:junit:jar:4.13.2:test:extra:more",
            "../..:junit:jar:1:compile",
            "a..b:c:jar:1:compile",
            "a:b/c:jar:1:compile",
            ":::::",
            "BUILD SUCCESS",
        ] {
            assert!(Coordinate::parse(bad).is_none(), "{bad}");
        }
    }
}
