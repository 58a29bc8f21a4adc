//! Cargo: `Cargo.lock`.

use crate::cargo_client::CargoHome;
use crate::cargo_fixture::{self, DlForm, APP_OUTPUT};
use crate::support::{Larder, Mode};
use crate::warm_ok;

#[test]
fn warm_from_cargo_lock_then_build_with_the_registry_down() {
    let work = tempfile::tempdir().unwrap();
    let registry = cargo_fixture::start(work.path(), DlForm::CratesIo);
    // The lockfile, as a developer's machine makes it: straight from the registry, which
    // cargo records as crates.io's (the source is only replaced).
    let dev = CargoHome::replacing_crates_io(
        &work.path().join("dev"),
        &format!("{}/index/", registry.url),
    );
    let app = work.path().join("dev/app");
    cargo_fixture::write_app(&app, None);
    dev.run(&app, &["generate-lockfile"], &[])
        .assert_ok("cargo generate-lockfile");
    let lockfile = app.join("Cargo.lock");

    let larder = Larder::start(&format!(
        "[cargo]\nupstream = \"{}/index/\"\n",
        registry.url
    ));
    registry.clear_requests();
    let printed = warm_ok(&larder.url, &[&lockfile], &["--jobs", "4"]);
    let downloads = registry
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/download"))
        .count();
    assert_eq!(downloads, 2, "Mid-Dep and leaf, once each:\n{printed}");

    registry.set_mode(Mode::Down);
    let ci =
        CargoHome::replacing_crates_io(&work.path().join("ci"), &larder.at("cargo/crates-io/"));
    let checkout = work.path().join("ci/app");
    cargo_fixture::write_app(&checkout, None);
    std::fs::copy(&lockfile, checkout.join("Cargo.lock")).unwrap();
    let run = ci.run(&checkout, &["run", "-q", "--locked"], &[]);
    assert_eq!(
        run.assert_ok("build after warm, registry down")
            .stdout
            .trim(),
        APP_OUTPUT,
        "larder log:\n{}",
        larder.log()
    );
}
