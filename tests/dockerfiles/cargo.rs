//! The Cargo example (`deploy/examples/cargo/`) built twice with buildah through larder, against
//! the fixture sparse registry of `tests/cargo/fixture.rs`, on a local Rust image.

use crate::buildah::{self, Buildah};
use crate::cargo_fixture::{self, DlForm, APP_OUTPUT};
use crate::examples::context;
use crate::support::Larder;
use crate::tool_images::rust_image;

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
