//! Debian's real `mvn` against a fixture Maven repository through larder: what a
//! `RUN mvn ...` in a docker build would see, with a fresh `~/.m2` each time.
//!
//! What the fixture covers (see `fixture.rs`): Maven core's own resolution through a
//! `<mirror>` — a parent POM, a build extension and its dependencies (one by a version range,
//! so Maven reads `maven-metadata.xml`), each POM and jar with its `.sha1`. That is the
//! resolver `mvn package` and `dependency:go-offline` use for plugins and dependencies; what
//! is not covered is running the standard plugins themselves (compiler, surefire, jar):
//! Debian ships them under its own versions and dependency trees, so a fixture with their
//! real upstream trees cannot be built from Debian's packages.
//!
//! Gradle too: Debian's gradle 4.4 resolves a configuration through larder.
//!
//! Needs Debian's maven and gradle (`.ci/install/maven.sh`).

#[allow(unused_imports)] // the shared harness exports more than this target uses
#[path = "../support/mod.rs"]
mod support;

mod fixture;

use fixture::{Release, Repo};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{Larder, Mode, Resource, Upstream};

/// The build extension most projects here need (it depends on commons-lang3 by a range), and
/// the jars its resolution brings.
const RANGED: (&str, &str, &str) = ("org.larder.fixture", "ranged", "1.0");
const RANGED_JARS: [(&str, &str, &str); 4] = [
    RANGED,
    PLEXUS_UTILS,
    ("org.apache.commons", "commons-lang3", "3.12.0"),
    ("javax.inject", "javax.inject", "1"),
];
/// An extension whose dependencies are all pinned.
const PLEXUS_UTILS: (&str, &str, &str) = ("org.codehaus.plexus", "plexus-utils", "3.4.2");

/// Everything one test needs: the fixture repository served on 127.0.0.1, and scratch space.
struct Setup {
    temp: tempfile::TempDir,
    repo: Repo,
    upstream: Upstream,
}

impl Setup {
    fn new() -> Setup {
        let temp = tempfile::tempdir().expect("temp dir");
        let repo = Repo::new(&temp.path().join("remote"));
        for release in fixture::base_releases() {
            repo.publish(&release);
        }
        let upstream = Upstream::start_dir(&repo.root);
        Setup {
            temp,
            repo,
            upstream,
        }
    }

    /// larder's config: the built-in `central` remote pointed at the fixture.
    fn config(&self) -> String {
        format!(
            "[maven]\nupstream = \"{}/\"\nmetadata_ttl = \"1s\"\nnegative_ttl = \"1s\"\n",
            self.upstream.url
        )
    }

    /// A fresh directory under the test's scratch space.
    fn fresh(&self, name: &str) -> PathBuf {
        let dir = self.temp.path().join(name);
        assert!(!dir.exists(), "{name} is used twice");
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }
}

/// What one `mvn` run printed, and whether it succeeded.
struct Run {
    ok: bool,
    output: String,
}

impl Run {
    fn assert_ok(&self, what: &str) -> &Run {
        assert!(self.ok, "{what}: mvn failed:\n{}", self.output);
        self
    }
}

/// `mvn -B validate` of a project needing `extension` (and the fixture's parent POM), with a
/// fresh local repository and a settings.xml whose `<mirror>` sends every repository to
/// `mirror_url`.
fn mvn(
    setup: &Setup,
    name: &str,
    mirror_url: &str,
    extension: (&str, &str, &str),
) -> (Run, PathBuf) {
    mvn_project(setup, name, mirror_url, extension, true)
}

/// [`mvn`], with or without the parent POM.
fn mvn_project(
    setup: &Setup,
    name: &str,
    mirror_url: &str,
    extension: (&str, &str, &str),
    parent: bool,
) -> (Run, PathBuf) {
    let root = setup.fresh(name);
    let settings = root.join("settings.xml");
    std::fs::write(
        &settings,
        format!(
            "<settings><mirrors><mirror><id>larder</id><mirrorOf>*</mirrorOf>\
             <url>{mirror_url}</url></mirror></mirrors></settings>\n"
        ),
    )
    .expect("settings.xml");
    let project = root.join("project");
    fixture::write_project(&project, extension, parent);
    let local_repo = root.join("m2");
    let output = Command::new("mvn")
        .current_dir(&project)
        .args(["-B", "-s"])
        .arg(&settings)
        .arg(format!("-Dmaven.repo.local={}", local_repo.display()))
        .arg("validate")
        .env_remove("MAVEN_OPTS")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("run mvn: install Debian's maven (.ci/install/maven.sh)");
    let run = Run {
        ok: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    (run, local_repo)
}

fn mirror(larder: &Larder) -> String {
    larder.at("maven/central/")
}

/// Every jar the build of `RANGED` needed is in the local repository, byte for byte the
/// fixture's.
fn assert_installed(setup: &Setup, local_repo: &Path, what: &str) {
    assert_jars(setup, local_repo, &RANGED_JARS, what);
}

fn assert_jars(setup: &Setup, local_repo: &Path, jars: &[(&str, &str, &str)], what: &str) {
    for (g, a, v) in jars {
        let path = Repo::path(g, a, v, "jar");
        let installed = std::fs::read(local_repo.join(&path))
            .unwrap_or_else(|err| panic!("{what}: {path} not in the local repository: {err}"));
        let published = std::fs::read(setup.repo.root.join(&path)).expect("fixture jar");
        assert!(
            installed == published,
            "{what}: {path} differs from upstream's"
        );
    }
}

fn blob_exists(larder_data: &Path, bytes: &[u8]) -> bool {
    let hex = fixture::hex(&Sha256::digest(bytes));
    larder_data
        .join("blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .exists()
}

/// The fixture is a valid repository on its own, so a failure through larder is larder's.
#[test]
fn the_fixture_works_without_larder() {
    let setup = Setup::new();
    let (run, local_repo) = mvn(
        &setup,
        "direct",
        &format!("{}/", setup.upstream.url),
        RANGED,
    );
    run.assert_ok("straight from the fixture");
    assert_installed(&setup, &local_repo, "straight from the fixture");
}

#[test]
fn mvn_installs_cold_then_with_upstream_down_then_after_a_restart() {
    let setup = Setup::new();
    let data_dir = setup.temp.path().join("larder-data");
    let mut larder = Larder::start_in(&data_dir, &setup.config());

    let (run, local_repo) = mvn(&setup, "cold", &mirror(&larder), RANGED);
    run.assert_ok("cold");
    assert_installed(&setup, &local_repo, "cold");
    let jar = Repo::path("org.apache.commons", "commons-lang3", "3.12.0", "jar");
    assert_eq!(setup.upstream.count(&format!("/{jar}")), 1, "fetched once");

    // The sidecar larder serves is the checksum of the bytes it serves.
    let served = support::get(&larder.at(&format!("maven/central/{jar}")))
        .bytes()
        .expect("jar body");
    let sidecar = support::get(&larder.at(&format!("maven/central/{jar}.sha1")))
        .text()
        .expect("sidecar body");
    use sha1::Digest as _;
    assert_eq!(sidecar.trim(), fixture::hex(&sha1::Sha1::digest(&served)));

    // Metrics and the status page cover the ecosystem.
    let metrics = support::scrape(&larder.url);
    let misses = support::metric(&metrics, "larder_cache_misses_total{ecosystem=\"maven\"}");
    assert!(
        misses.is_some_and(|n| n >= 8.0),
        "misses {misses:?}:\n{metrics}"
    );
    let page = support::get(&larder.url).text().expect("status page");
    assert!(
        page.contains("/maven/central/"),
        "no Maven settings on the page:\n{page}"
    );

    setup.upstream.set_mode(Mode::Down);
    // Past the metadata TTL, so commons-lang3's maven-metadata.xml is due and served stale.
    std::thread::sleep(Duration::from_millis(1500));
    let (run, local_repo) = mvn(&setup, "upstream-down", &mirror(&larder), RANGED);
    run.assert_ok("with the upstream down");
    assert_installed(&setup, &local_repo, "with the upstream down");

    larder.terminate();
    let larder = Larder::start_in(&data_dir, &setup.config());
    let (run, local_repo) = mvn(&setup, "restarted", &mirror(&larder), RANGED);
    run.assert_ok("after a restart, upstream still down");
    assert_installed(&setup, &local_repo, "after a restart");
}

#[test]
fn a_tampered_jar_is_refused_and_not_stored() {
    let setup = Setup::new();
    let jar = setup.repo.root.join(Repo::path(
        "org.apache.commons",
        "commons-lang3",
        "3.12.0",
        "jar",
    ));
    let mut bytes = std::fs::read(&jar).expect("fixture jar");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&jar, &bytes).expect("tamper with the jar, keep its .sha1");

    // Maven's default checksum policy only warns: on its own it installs the tampered jar.
    let (run, local_repo) = mvn(
        &setup,
        "direct",
        &format!("{}/", setup.upstream.url),
        RANGED,
    );
    run.assert_ok("straight from the tampered fixture");
    assert!(
        run.output.contains("Checksum validation failed"),
        "mvn warns of the mismatch:\n{}",
        run.output
    );
    let installed = Repo::path("org.apache.commons", "commons-lang3", "3.12.0", "jar");
    assert!(
        local_repo.join(&installed).exists(),
        "mvn alone installed it"
    );

    let larder = Larder::start(&setup.config());
    let (run, local_repo) = mvn(&setup, "through-larder", &mirror(&larder), RANGED);
    assert!(!run.ok, "mvn must fail through larder:\n{}", run.output);
    assert!(
        !local_repo.join(&installed).exists(),
        "the tampered jar reached the local repository"
    );
    assert!(
        !blob_exists(&larder.data_dir, &bytes),
        "the tampered jar was stored"
    );
    assert!(
        larder.log().contains("digest_mismatch") || larder.log().contains("mismatch"),
        "larder says why:\n{}",
        larder.log()
    );
}

#[test]
fn a_release_missing_at_first_is_served_once_published_and_ranges_see_new_versions() {
    let setup = Setup::new();
    let larder = Larder::start(&setup.config());
    let late = ("org.larder.fixture", "late", "1.0");

    let (run, _) = mvn(&setup, "before", &mirror(&larder), late);
    assert!(!run.ok, "late:1.0 is not published yet:\n{}", run.output);

    setup.repo.publish(&Release {
        group: late.0,
        artifact: late.1,
        version: late.2,
        jar: Some(fixture::debian_jar("javax.inject", "javax.inject", "1")),
        // Maven adds plexus-utils 1.1 to an extension that does not depend on plexus-utils.
        dependencies: vec![PLEXUS_UTILS],
    });
    let (run, local_repo) = mvn(&setup, "after", &mirror(&larder), late);
    run.assert_ok("right after late:1.0 is published");
    assert!(local_repo
        .join(Repo::path(late.0, late.1, late.2, "jar"))
        .exists());

    // The extension's range [3.0,4.0) picks the newest commons-lang3 that the (revalidated)
    // maven-metadata.xml lists.
    let (run, _) = mvn(&setup, "range-before", &mirror(&larder), RANGED);
    run.assert_ok("range, before the new release");
    setup.repo.publish(&fixture::lang3("3.13.0"));
    std::thread::sleep(Duration::from_millis(1500));
    let (run, local_repo) = mvn(&setup, "range-after", &mirror(&larder), RANGED);
    run.assert_ok("range, after the new release");
    let newer = Repo::path("org.apache.commons", "commons-lang3", "3.13.0", "jar");
    assert!(
        local_repo.join(&newer).exists(),
        "the range did not see 3.13.0:\n{}",
        run.output
    );
}

/// `larder warm` reads what `mvn dependency:list` printed; the build then installs with the
/// upstream down.
#[test]
fn warm_from_dependency_list_then_mvn_installs_with_the_upstream_down() {
    let setup = Setup::new();
    let larder = Larder::start(&setup.config());
    let listed = setup.temp.path().join("deps.txt");
    std::fs::write(
        &listed,
        "[INFO] --- maven-dependency-plugin:3.6.1:list (default-cli) @ app ---\n\
         [INFO] The following files have been resolved:\n\
         [INFO]    org.codehaus.plexus:plexus-utils:jar:3.4.2:compile\n\
         [INFO]    org.apache.commons:commons-lang3:jar:3.12.0:compile -- module org.apache.commons.lang3\n\
         [INFO]    javax.inject:javax.inject:jar:1:compile\n",
    )
    .expect("write the list");
    let warmed = Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["warm", "--url", &larder.url])
        .arg(&listed)
        .output()
        .expect("run larder warm");
    assert!(
        warmed.status.success(),
        "larder warm failed:\n{}{}",
        String::from_utf8_lossy(&warmed.stdout),
        String::from_utf8_lossy(&warmed.stderr)
    );
    let jar = Repo::path("org.apache.commons", "commons-lang3", "3.12.0", "jar");
    assert_eq!(
        setup.upstream.count(&format!("/{jar}")),
        1,
        "warm fetched it"
    );

    setup.upstream.set_mode(Mode::Down);
    let (run, local_repo) =
        mvn_project(&setup, "after-warm", &mirror(&larder), PLEXUS_UTILS, false);
    run.assert_ok("after warm, upstream down");
    assert_jars(&setup, &local_repo, &RANGED_JARS[1..], "after warm");
}

/// Debian's gradle (4.4) resolving a configuration from larder's Maven repository, with a
/// fresh Gradle home each time: cold, then with the upstream down.
#[test]
fn gradle_resolves_through_larder_cold_and_with_the_upstream_down() {
    let setup = Setup::new();
    let larder = Larder::start(&setup.config());
    let resolve = |name: &str| -> String {
        let root = setup.fresh(name);
        let (g, a, v) = RANGED;
        std::fs::write(
            root.join("build.gradle"),
            format!(
                "repositories {{ maven {{ url \"{}\" }} }}\n\
                 configurations {{ fetch }}\n\
                 dependencies {{ fetch '{g}:{a}:{v}' }}\n\
                 task resolve {{ doLast {{ configurations.fetch.files.each {{ println \"resolved \" + it.name }} }} }}\n",
                mirror(&larder)
            ),
        )
        .expect("build.gradle");
        std::fs::write(root.join("settings.gradle"), "rootProject.name = 'app'\n")
            .expect("settings.gradle");
        let output = Command::new("gradle")
            .current_dir(&root)
            .args(["-q", "--no-daemon", "--gradle-user-home"])
            .arg(root.join("gradle-home"))
            .arg("resolve")
            .env_remove("GRADLE_OPTS")
            .env_remove("JAVA_OPTS")
            .output()
            .expect("run gradle: install Debian's gradle (.ci/install/maven.sh)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{name}: gradle failed:\n{text}");
        text
    };
    let expect_all = |text: &str, what: &str| {
        for (_, a, v) in RANGED_JARS {
            assert!(
                text.contains(&format!("resolved {a}-{v}.jar")),
                "{what}: {a}-{v}.jar not resolved:\n{text}"
            );
        }
    };
    expect_all(&resolve("gradle-cold"), "cold");
    setup.upstream.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(1500));
    expect_all(&resolve("gradle-upstream-down"), "with the upstream down");
}

/// A jar whose response carries an `x-checksum-sha1` header (as Maven Central's do) that
/// contradicts its bytes is refused and not stored, though its `.sha1` sidecar agrees; with
/// the right header it is stored.
#[test]
fn a_jar_contradicting_its_checksum_header_is_refused() {
    let setup = Setup::new();
    let jar = Repo::path("org.apache.commons", "commons-lang3", "3.12.0", "jar");
    let bytes = std::fs::read(setup.repo.root.join(&jar)).expect("fixture jar");
    let serve_with = |sha1: &str| {
        setup.upstream.insert(
            &format!("/{jar}"),
            Resource::new("application/java-archive", bytes.clone())
                .header("x-checksum-sha1", sha1),
        )
    };
    let larder = Larder::start(&setup.config());
    let url = larder.at(&format!("maven/central/{jar}"));

    serve_with(&"0".repeat(40));
    let response = support::http_client().get(&url).send();
    let body = response
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.bytes());
    assert!(body.is_err(), "a contradicted jar was served whole");
    assert!(
        !blob_exists(&larder.data_dir, &bytes),
        "a contradicted jar was stored"
    );
    assert!(
        larder.log().contains("checksum header"),
        "larder says why:\n{}",
        larder.log()
    );

    use sha1::Digest as _;
    serve_with(&fixture::hex(&sha1::Sha1::digest(&bytes)));
    let body = support::get(&url)
        .bytes()
        .expect("the jar, with an agreeing header");
    assert!(body == bytes, "the jar served is upstream's");
    assert!(blob_exists(&larder.data_dir, &bytes), "the jar was stored");
}
