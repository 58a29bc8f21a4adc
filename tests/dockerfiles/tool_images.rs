//! Images with a build tool on the minbase image, made once per machine through larder as
//! apt's proxy to the live Debian archive and kept like the base images (`buildah.rs`): used by
//! `tests/dockerfiles` and the RUN-step benchmark (`benches/run_steps.rs`).

use crate::buildah::{self, Buildah};
use crate::support::Larder;
use std::sync::OnceLock;

/// MINBASE plus Debian's cargo-web (cargo and rustc 1.85, which speak the sparse protocol;
/// bookworm's own cargo 0.66 does not). Bump the tag whenever [`rust_image`] changes.
pub const RUST_IMAGE: &str = "localhost/larder-test/rust-bookworm:1";

/// Makes [`RUST_IMAGE`] once per machine, installing cargo-web through a larder in front of
/// the live Debian archive (as `base-image.sh` installs the other tools).
pub fn rust_image(buildah: &Buildah) -> &'static str {
    if buildah.run(&["inspect", "--type", "image", RUST_IMAGE]).ok {
        return RUST_IMAGE;
    }
    let minbase = buildah.minbase_image();
    let archive = buildah::archive_host();
    let remote = if archive == "deb.debian.org" {
        String::new()
    } else {
        format!("[apt.remotes]\n\"{archive}\" = \"http://{archive}/\"\n")
    };
    let larder = Larder::start(&format!("[apt]\n{remote}"));
    let from = buildah.run(&["from", "--pull-never", minbase]);
    from.assert_ok(&format!("buildah from {minbase}"));
    let container = from.stdout.trim().to_string();
    let script = format!(
        "echo 'Acquire::http::Proxy \"{}\";' > /etc/apt/apt.conf.d/99larder \
         && export DEBIAN_FRONTEND=noninteractive \
         && apt-get -q update && apt-get -q install -y --no-install-recommends cargo-web >/dev/null \
         && rm -f /etc/apt/apt.conf.d/99larder && apt-get clean && rm -rf /var/lib/apt/lists/* \
         && cargo --version",
        larder.url
    );
    let install = buildah.run(&[
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        &container,
        "--",
        "sh",
        "-ec",
        &script,
    ]);
    if !install.ok {
        buildah.run(&["rm", &container]);
    }
    install.assert_ok("installing cargo-web through larder");
    buildah
        .run(&["commit", "--quiet", "--rm", &container, RUST_IMAGE])
        .assert_ok(&format!("buildah commit {RUST_IMAGE}"));
    eprintln!("{RUST_IMAGE} made in {:?}", install.elapsed);
    RUST_IMAGE
}

/// Debian's maven on the minbase image. Bump the tag when [`maven_image`] changes.
pub const MAVEN_IMAGE: &str = "localhost/larder-test/bookworm-maven:1";

pub fn maven_image() -> &'static str {
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| {
        let buildah = Buildah::new();
        if buildah.run(&["inspect", "--type", "image", MAVEN_IMAGE]).ok {
            return;
        }
        let archive = buildah::archive_host();
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
