//! A real Dockerfile (buildah, chroot isolation, as `tests/dockerfiles/`) whose RUN step runs
//! `go build` with GOCACHEPROG through larder: the second `--no-cache` build compiles nothing,
//! with no cache mount. Slow (minutes): `LARDER_SKIP_SLOW=1` skips it.

use crate::buildah::{tail, Buildah};
use crate::go_image::go_image;
use crate::support::Larder;

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
