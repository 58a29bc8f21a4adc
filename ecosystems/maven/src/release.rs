//! Which release a repository file is: the artifact in `<group…>/<artifactId>/<version>/`, with
//! its classifier and extension as purl qualifiers (`pkg:maven/junit/junit@4.13.2?type=pom`).

use crate::path::{Kind, RepoPath};
use larder_adapter::Release;

/// `key` is `<remote>/<repository path>`; sidecars, metadata and other files are not releases.
pub fn of(key: &str) -> Option<Release> {
    let (_remote, path) = key.split_once('/')?;
    let path = RepoPath::parse(path).ok()?;
    if !matches!(path.kind(), Kind::Artifact { .. }) {
        return None;
    }
    let segments: Vec<&str> = path.segments().collect();
    let [group @ .., artifact_id, version, file] = segments.as_slice() else {
        return None;
    };
    let rest = file.strip_prefix(&format!("{artifact_id}-{version}"))?;
    let (classifier, extension) = match rest.strip_prefix('-') {
        Some(classified) => classified.split_once('.')?,
        None => ("", rest.strip_prefix('.')?),
    };
    let mut qualifiers = Vec::new();
    if !classifier.is_empty() {
        qualifiers.push(("classifier", classifier));
    }
    if extension != "jar" {
        qualifiers.push(("type", extension));
    }
    let group_id = group.join(".");
    Some(Release::new(
        format!("{group_id}:{artifact_id}"),
        *version,
        "maven",
        &[&group_id],
        artifact_id,
        &qualifiers,
    ))
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn artifacts_name_their_release_with_classifier_and_type() {
        let jar = of("central/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar").expect("a jar");
        assert_eq!(
            (jar.package.as_str(), jar.version.as_str()),
            ("org.slf4j:slf4j-api", "2.0.9")
        );
        assert_eq!(jar.purl, "pkg:maven/org.slf4j/slf4j-api@2.0.9");
        let sources = of("central/junit/junit/4.13.2/junit-4.13.2-sources.jar").expect("sources");
        assert_eq!(
            sources.purl,
            "pkg:maven/junit/junit@4.13.2?classifier=sources"
        );
        let pom = of("central/junit/junit/4.13.2/junit-4.13.2.pom").expect("a pom");
        assert_eq!(pom.purl, "pkg:maven/junit/junit@4.13.2?type=pom");
        assert_eq!(of("central/junit/junit/4.13.2/junit-4.13.2.jar.sha1"), None);
        assert_eq!(of("central/junit/junit/maven-metadata.xml"), None);
    }
}
