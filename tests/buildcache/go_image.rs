//! The image the build-cache Dockerfiles build on: the tools base image of `tests/dockerfiles`
//! plus Debian's Go 1.23 built with the cacheprog experiment at /usr/local/go. Made once per
//! machine; shared with `benches/build_cache.rs`.

use crate::buildah::Buildah;
use std::path::Path;
use std::process::Command;

/// Debian's Go 1.23 built with the cacheprog experiment (`.ci/install/buildcache.sh`).
const HOST_GOROOT: &str = "/usr/local/lib/larder/go1.23-cacheprog";
/// The image's name; bump the tag when its recipe changes.
pub const GO_IMAGE: &str = "localhost/larder-test/bookworm-go1.23-cacheprog:1";

/// Makes [`GO_IMAGE`] unless it exists: a dereferenced copy of the host's Go in the image.
pub fn go_image(buildah: &Buildah) -> &'static str {
    if buildah.run(&["inspect", "--type", "image", GO_IMAGE]).ok {
        return GO_IMAGE;
    }
    assert!(
        Path::new(HOST_GOROOT).join("bin/go").exists(),
        "{HOST_GOROOT} is missing: run .ci/install/buildcache.sh"
    );
    let context = tempfile::tempdir().expect("context dir");
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
    .expect("Dockerfile");
    buildah
        .bud(context.path(), &[], GO_IMAGE, false)
        .assert_ok("building the Go 1.23 cacheprog image");
    GO_IMAGE
}
