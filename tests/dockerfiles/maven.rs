//! The Maven example (`deploy/examples/maven/`), built twice with buildah through larder
//! against the fixture repository of `tests/maven/fixture.rs`: the project resolves a parent
//! POM and a build extension with its dependencies (one by a version range) through the
//! settings.xml mirror the Dockerfile writes, as `mvn validate` (`MAVEN_GOALS`): the fixture
//! has no real Maven plugins, see `tests/maven/main.rs`.
//!
//! The image with Debian's maven is made once per machine on the minbase image, through larder
//! as apt's proxy to the live Debian archive, and kept like the base images.

use crate::buildah::{self, archive_host, Buildah};
use crate::examples::context;
use crate::maven_fixture::{self, Repo};
use crate::support::{Larder, Upstream};
use crate::{build_twice, skip};
use std::sync::OnceLock;

/// Debian's maven on the minbase image. Bump the tag when [`maven_image`] changes.
const MAVEN_IMAGE: &str = "localhost/larder-test/bookworm-maven:1";

/// The jars the fixture project's build needs.
const JARS: [&str; 4] = [
    "javax.inject-1.jar",
    "commons-lang3-3.12.0.jar",
    "plexus-utils-3.4.2.jar",
    "ranged-1.0.jar",
];

fn maven_image() -> &'static str {
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| {
        let buildah = Buildah::new();
        if buildah.run(&["inspect", "--type", "image", MAVEN_IMAGE]).ok {
            return;
        }
        let archive = archive_host();
        let remote = match archive.as_str() {
            "deb.debian.org" => String::new(),
            _ => format!("[apt.remotes]\n\"{archive}\" = \"http://{archive}/\"\n"),
        };
        let larder = Larder::start(&format!("[apt]\n{remote}"));
        let from = buildah.run(&["from", "--pull-never", buildah.minbase_image()]);
        from.assert_ok("buildah from the minbase image");
        let container = from.stdout.trim().to_string();
        let install = format!(
            "echo 'Acquire::http::Proxy \"{}\";' > /etc/apt/apt.conf.d/99larder \
             && apt-get -q update \
             && DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends maven >/dev/null \
             && rm -f /etc/apt/apt.conf.d/99larder && apt-get clean && rm -rf /var/lib/apt/lists/*",
            larder.url
        );
        let run = buildah.run(&[
            "run", "--isolation", "chroot", "--network", "host", &container, "--", "sh", "-ec",
            &install,
        ]);
        if !run.ok {
            buildah.run(&["rm", &container]);
        }
        run.assert_ok("installing Debian's maven in the minbase image");
        buildah
            .run(&["commit", "--quiet", "--rm", &container, MAVEN_IMAGE])
            .assert_ok("buildah commit the maven image");
    });
    MAVEN_IMAGE
}

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
