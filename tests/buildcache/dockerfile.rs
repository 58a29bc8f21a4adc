//! A real Dockerfile (buildah, chroot isolation, as `tests/dockerfiles/`) whose RUN step runs
//! `go build` with GOCACHEPROG through larder: the second `--no-cache` build compiles nothing,
//! with no cache mount. Slow (minutes): `LARDER_SKIP_SLOW=1` skips it.

use crate::buildah::{tail, Buildah};
use crate::support::Larder;
use std::path::Path;
use std::process::Command;

/// Debian's Go 1.23 built with the cacheprog experiment (`.ci/install/buildcache.sh`).
const HOST_GOROOT: &str = "/usr/local/lib/larder/go1.23-cacheprog";
/// The tools base image plus that Go at /usr/local/go; bump the tag when its recipe changes.
const GO_IMAGE: &str = "localhost/larder-test/bookworm-go1.23-cacheprog:1";

/// The Dockerfile: the helper copied into the image (as `COPY --from=` larder's image would),
/// GOCACHEPROG set only when the build is given larder's URL.
const DOCKERFILE: &str = r#"ARG GO_IMAGE
FROM ${GO_IMAGE}
COPY larder /usr/local/bin/larder
WORKDIR /src
COPY app/ ./
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOEXPERIMENT=cacheprog
ARG LARDER_URL
RUN if [ -n "$LARDER_URL" ]; then export GOCACHEPROG="larder gocache --url $LARDER_URL --stats"; fi \
 && go build -x -o /usr/local/bin/app .
"#;

/// Makes [`GO_IMAGE`] once per machine: a dereferenced copy of the host's Go in the image.
fn go_image(buildah: &Buildah) -> &'static str {
    if buildah.run(&["inspect", "--type", "image", GO_IMAGE]).ok {
        return GO_IMAGE;
    }
    assert!(
        Path::new(HOST_GOROOT).join("bin/go").exists(),
        "{HOST_GOROOT} is missing: run .ci/install/buildcache.sh"
    );
    let context = tempfile::tempdir().unwrap();
    let copied = Command::new("cp")
        .arg("-rL")
        .arg(HOST_GOROOT)
        .arg(context.path().join("go"))
        .status()
        .expect("cp");
    assert!(
        copied.success(),
        "copying {HOST_GOROOT} into the image context failed"
    );
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {}\nCOPY go /usr/local/go\nENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
            buildah.tools_image()
        ),
    )
    .unwrap();
    buildah
        .bud(context.path(), &[], GO_IMAGE, false)
        .assert_ok("building the Go 1.23 cacheprog image");
    GO_IMAGE
}

/// The compiler runs in `go build -x`'s output.
fn compiles(output: &str) -> usize {
    output
        .lines()
        .filter(|line| line.contains("/compile ") && line.contains(" -o "))
        .count()
}

#[test]
fn a_no_cache_rebuild_compiles_nothing_through_larder_without_a_mount() {
    if std::env::var("LARDER_SKIP_SLOW").as_deref() == Ok("1") {
        eprintln!("skipped: LARDER_SKIP_SLOW=1");
        return;
    }
    let _one_build_at_a_time = crate::buildah::serial();
    let buildah = Buildah::new();
    let image = go_image(&buildah);
    let larder = Larder::start("");
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_larder"), context.path().join("larder")).unwrap();
    crate::gocache::write_module(&context.path().join("app"));

    let args = vec![
        format!("GO_IMAGE={image}"),
        format!("LARDER_URL={}", larder.url),
    ];
    let tag = "localhost/larder-test/buildcache-go:latest";
    let first = buildah.bud(context.path(), &args, tag, true);
    first.assert_ok("the first build");
    assert!(compiles(&first.output) >= 5, "{}", tail(&first.output, 40));
    let second = buildah.bud(context.path(), &args, tag, true);
    second.assert_ok("the --no-cache rebuild");
    assert_eq!(
        compiles(&second.output),
        0,
        "the rebuild compiled:\n{}",
        second.output
    );
    assert!(
        second.output.contains("remote_hits="),
        "{}",
        tail(&second.output, 20)
    );
    let printed = buildah.query(tag, "/usr/local/bin/app");
    assert_eq!(printed, "hello LARDER 6\n");
    eprintln!(
        "RUN go build: cold {:?}, warm through larder {:?}",
        first.elapsed, second.elapsed
    );
    buildah.remove_image(tag);
}
