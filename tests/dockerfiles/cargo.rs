//! The Cargo example (`deploy/examples/cargo/`) built twice with buildah through larder, against
//! the fixture sparse registry of `tests/cargo/fixture.rs`, on a local Rust image.

use crate::buildah::{self, Buildah};
use crate::cargo_fixture::{self, DlForm, APP_OUTPUT};
use crate::examples::context;
use crate::support::Larder;

/// MINBASE plus Debian's cargo-web (cargo and rustc 1.85, which speak the sparse protocol;
/// bookworm's own cargo 0.66 does not). Bump the tag whenever [`rust_image`] changes.
pub const RUST_IMAGE: &str = "localhost/larder-test/rust-bookworm:1";

/// Makes [`RUST_IMAGE`] once per machine, installing cargo-web through a larder in front of
/// the live Debian archive (as `base-image.sh` installs the other tools).
fn rust_image(buildah: &Buildah) -> &'static str {
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

#[test]
fn cargo_build_rebuilds_from_larder_alone_with_the_same_crates() {
    if crate::skip() {
        return;
    }
    let _serial = buildah::serial();
    let image = rust_image(&Buildah::new());
    let work = tempfile::tempdir().unwrap();
    let registry = cargo_fixture::start(work.path(), DlForm::CratesIo);
    let larder = Larder::start(&format!(
        "[cargo]\nupstream = \"{}/index/\"\n",
        registry.url
    ));
    let ctx = context("cargo");
    cargo_fixture::write_app(ctx.path(), None);

    let printed = crate::build_twice(
        "cargo",
        ctx.path(),
        &[("RUST_IMAGE", image)],
        &larder,
        move || {
            let downloads = registry
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("/download"))
                .count();
            assert_eq!(
                downloads, 2,
                "the first build fetched Mid-Dep and leaf through larder, once each"
            );
            drop(registry)
        },
        "app",
    );
    assert_eq!(printed.trim(), APP_OUTPUT);
}
