//! A fixture Maven repository laid out as a real remote (Maven Central's layout), built from
//! real jars: Debian's builds under `/usr/share/maven-repo` (from the packages `maven` depends
//! on), copied under their upstream version names, with generated POMs (real coordinates, the
//! dependencies each test needs), `.sha1` sidecars and a `maven-metadata.xml` (with its `.sha1`)
//! per artifact. Debian's own POMs are not used: they name Debian's `debian`/`3.x` versions and
//! parents that exist nowhere else.

use sha1::{Digest as _, Sha1};
use std::path::{Path, PathBuf};

/// One release to publish: coordinates, the jar (none for a POM-only parent), and the
/// dependencies its POM declares as (groupId, artifactId, version or range).
pub struct Release {
    pub group: &'static str,
    pub artifact: &'static str,
    pub version: &'static str,
    pub jar: Option<PathBuf>,
    pub dependencies: Vec<(&'static str, &'static str, &'static str)>,
}

/// The fixture repository on disk (serve it with `Upstream::start_dir`).
pub struct Repo {
    pub root: PathBuf,
}

impl Repo {
    pub fn new(root: &Path) -> Repo {
        std::fs::create_dir_all(root).expect("fixture repo dir");
        Repo {
            root: root.to_path_buf(),
        }
    }

    /// The directory of `group:artifact:version`.
    pub fn dir(&self, group: &str, artifact: &str, version: &str) -> PathBuf {
        self.root
            .join(group.replace('.', "/"))
            .join(artifact)
            .join(version)
    }

    /// `group/as/dirs/artifact/version/artifact-version.ext`, relative to the repository.
    pub fn path(group: &str, artifact: &str, version: &str, ext: &str) -> String {
        format!(
            "{}/{artifact}/{version}/{artifact}-{version}.{ext}",
            group.replace('.', "/")
        )
    }

    /// Writes the release's POM and jar with their `.sha1`, and rewrites the artifact's
    /// `maven-metadata.xml` to list every version now in the repository.
    pub fn publish(&self, release: &Release) {
        let dir = self.dir(release.group, release.artifact, release.version);
        std::fs::create_dir_all(&dir).expect("version dir");
        let stem = format!("{}-{}", release.artifact, release.version);
        let packaging = if release.jar.is_some() { "jar" } else { "pom" };
        let dependencies: String = release
            .dependencies
            .iter()
            .map(|(g, a, v)| {
                format!(
                    "\n    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
                )
            })
            .collect();
        let pom = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>{}</groupId>
  <artifactId>{}</artifactId>
  <version>{}</version>
  <packaging>{packaging}</packaging>
  <dependencies>{dependencies}
  </dependencies>
</project>
"#,
            release.group, release.artifact, release.version
        );
        write_with_sha1(&dir.join(format!("{stem}.pom")), pom.as_bytes());
        if let Some(jar) = &release.jar {
            let bytes = std::fs::read(jar).unwrap_or_else(|err| panic!("{}: {err}", jar.display()));
            write_with_sha1(&dir.join(format!("{stem}.jar")), &bytes);
        }
        self.write_metadata(release.group, release.artifact);
    }

    /// `maven-metadata.xml` for `group:artifact`, listing the versions on disk (sorted as
    /// Maven compares simple numeric versions), the newest as `latest` and `release`.
    fn write_metadata(&self, group: &str, artifact: &str) {
        let artifact_dir = self.root.join(group.replace('.', "/")).join(artifact);
        let mut versions: Vec<String> = std::fs::read_dir(&artifact_dir)
            .expect("artifact dir")
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        versions.sort_by_key(|v| {
            v.split('.')
                .map(|part| part.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        let newest = versions.last().expect("a published version");
        let listed: String = versions
            .iter()
            .map(|v| format!("\n      <version>{v}</version>"))
            .collect();
        let metadata = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata>
  <groupId>{group}</groupId>
  <artifactId>{artifact}</artifactId>
  <versioning>
    <latest>{newest}</latest>
    <release>{newest}</release>
    <versions>{listed}
    </versions>
    <lastUpdated>20260101000000</lastUpdated>
  </versioning>
</metadata>
"#
        );
        write_with_sha1(
            &artifact_dir.join("maven-metadata.xml"),
            metadata.as_bytes(),
        );
    }
}

/// Writes `bytes` to `path` and their hex sha1 to `path.sha1`, as repositories publish them.
pub fn write_with_sha1(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write fixture file");
    let sidecar = PathBuf::from(format!("{}.sha1", path.display()));
    std::fs::write(sidecar, hex(&Sha1::digest(bytes))).expect("write sidecar");
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A real jar from Debian's Maven repository: `group:artifact` at its upstream version (the
/// directory Debian names after it, whose POM declares that `<version>`).
pub fn debian_jar(group: &str, artifact: &str, version: &str) -> PathBuf {
    let dir = Path::new("/usr/share/maven-repo")
        .join(group.replace('.', "/"))
        .join(artifact)
        .join(version);
    let pom = std::fs::read_to_string(dir.join(format!("{artifact}-{version}.pom")))
        .unwrap_or_else(|err| {
            panic!(
                "{}: {err}; run .ci/install/maven.sh (Debian's maven and its libraries)",
                dir.display()
            )
        });
    assert!(
        pom.contains(&format!("<version>{version}</version>")),
        "{}: Debian's POM does not declare version {version}",
        dir.display()
    );
    dir.join(format!("{artifact}-{version}.jar"))
}

/// The releases every test starts from: a POM-only parent for the project; plexus-utils with
/// its dependencies pinned (commons-lang3, javax.inject); and `ranged`, which needs
/// plexus-utils and commons-lang3 by a version range (so Maven reads its `maven-metadata.xml`).
pub fn base_releases() -> Vec<Release> {
    vec![
        Release {
            group: "org.larder.fixture",
            artifact: "fixture-parent",
            version: "1.0",
            jar: None,
            dependencies: Vec::new(),
        },
        Release {
            group: "org.codehaus.plexus",
            artifact: "plexus-utils",
            version: "3.4.2",
            jar: Some(debian_jar("org.codehaus.plexus", "plexus-utils", "3.4.2")),
            dependencies: vec![
                ("org.apache.commons", "commons-lang3", "3.12.0"),
                ("javax.inject", "javax.inject", "1"),
            ],
        },
        Release {
            group: "org.larder.fixture",
            artifact: "ranged",
            version: "1.0",
            // Any real jar will do: Maven only puts it on the extension's class path.
            jar: Some(debian_jar("javax.inject", "javax.inject", "1")),
            dependencies: vec![
                ("org.codehaus.plexus", "plexus-utils", "3.4.2"),
                ("org.apache.commons", "commons-lang3", "[3.0,4.0)"),
            ],
        },
        lang3("3.12.0"),
        Release {
            group: "javax.inject",
            artifact: "javax.inject",
            version: "1",
            jar: Some(debian_jar("javax.inject", "javax.inject", "1")),
            dependencies: Vec::new(),
        },
    ]
}

/// commons-lang3 at `version` (Debian's 3.12.0 jar, whatever the version: a later release
/// for the tests that publish one).
pub fn lang3(version: &'static str) -> Release {
    Release {
        group: "org.apache.commons",
        artifact: "commons-lang3",
        version,
        jar: Some(debian_jar("org.apache.commons", "commons-lang3", "3.12.0")),
        dependencies: Vec::new(),
    }
}

/// A Maven project whose build needs `extension` (groupId, artifactId, version): Maven core
/// resolves a build extension and its dependencies through the repositories before any
/// plugin runs, exactly as it resolves plugins and their dependencies for `mvn package`.
/// With `parent`, the project's parent POM is `fixture-parent`, from the repository too.
pub fn write_project(dir: &Path, extension: (&str, &str, &str), parent: bool) {
    std::fs::create_dir_all(dir).expect("project dir");
    let (g, a, v) = extension;
    let parent = match parent {
        true => "<parent>\n    <groupId>org.larder.fixture</groupId>\n    <artifactId>fixture-parent</artifactId>\n    <version>1.0</version>\n    <relativePath/>\n  </parent>",
        false => "<groupId>org.larder.fixture</groupId>\n  <version>1.0</version>",
    };
    let pom = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  {parent}
  <artifactId>app</artifactId>
  <build>
    <extensions>
      <extension><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></extension>
    </extensions>
  </build>
</project>
"#
    );
    std::fs::write(dir.join("pom.xml"), pom).expect("write pom.xml");
}
