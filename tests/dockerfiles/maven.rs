//! The Maven example (`deploy/examples/maven/`), built twice with buildah through larder
//! against the fixture repository of `tests/maven/fixture.rs`: the project resolves a parent
//! POM and a build extension with its dependencies (one by a version range) through the
//! settings.xml mirror the Dockerfile writes, as `mvn validate` (`MAVEN_GOALS`): the fixture
//! has no real Maven plugins, see `tests/maven/main.rs`.
//!
//! The image with Debian's maven: `tool_images.rs`.

use crate::buildah;
use crate::examples::context;
use crate::maven_fixture::{self, Repo};
use crate::support::{Larder, Upstream};
use crate::tool_images::maven_image;
use crate::{build_twice, skip};

/// The jars the fixture project's build needs.
const JARS: [&str; 4] = [
    "javax.inject-1.jar",
    "commons-lang3-3.12.0.jar",
    "plexus-utils-3.4.2.jar",
    "ranged-1.0.jar",
];

#[test]
fn mvn_in_a_dockerfile_rebuilds_from_larder_alone_with_the_same_jars() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    let image = maven_image();
    let temp = tempfile::tempdir().expect("temp dir");
    let repo = Repo::new(&temp.path().join("remote"));
    for release in maven_fixture::base_releases() {
        repo.publish(&release);
    }
    let upstream = Upstream::start_dir(&repo.root);
    let larder = Larder::start(&format!("[maven]\nupstream = \"{}/\"\n", upstream.url));
    let ctx = context("maven");
    maven_fixture::write_project(ctx.path(), ("org.larder.fixture", "ranged", "1.0"), true);

    let found = build_twice(
        "maven",
        ctx.path(),
        &[("MAVEN_IMAGE", image), ("MAVEN_GOALS", "validate")],
        &larder,
        || {
            let jars = upstream
                .requests()
                .iter()
                .filter(|r| r.path.ends_with(".jar"))
                .count();
            assert_eq!(jars, JARS.len(), "{:#?}", upstream.requests());
            drop(upstream)
        },
        "cd /root/.m2/repository && find . -name '*.jar' -exec sha1sum {} + | sort -k2 \
         && ls /tmp",
    );
    for jar in JARS {
        assert!(found.contains(jar), "{jar} not installed:\n{found}");
    }
    let commons = Repo::path("org.apache.commons", "commons-lang3", "3.12.0", "jar");
    let sha1 = std::fs::read_to_string(repo.root.join(format!("{commons}.sha1"))).expect("sha1");
    assert!(
        found.contains(&sha1),
        "the installed jar is upstream's:\n{found}"
    );
    assert!(
        !found.contains("larder-settings.xml"),
        "the mirror setting stayed in the image:\n{found}"
    );
}
