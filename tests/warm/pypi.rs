//! PyPI: a pinned `requirements.txt`, for the running interpreter's wheel tags.

use crate::pypi_clients::{expected, pip_install, serial, Venv, EXPECTED};
use crate::pypi_fixture::Index;
use crate::support::{Larder, Mode};
use crate::{run_larder, text, warm_ok};

#[test]
fn warm_from_requirements_then_pip_install_with_the_upstream_down() {
    let _serial = serial();
    let fx = Index::start();
    let larder = Larder::start(&fx.config("10m"));
    let dir = tempfile::tempdir().unwrap();
    let requirements = dir.path().join("requirements.txt");
    let pins: String = EXPECTED
        .iter()
        .map(|(name, version)| format!("{name}=={version}\n"))
        .collect();
    std::fs::write(&requirements, format!("# pip-compile output\n{pins}")).unwrap();

    warm_ok(&larder.url, &[&requirements], &[]);
    let files = fx.files.requests();
    for (name, version) in EXPECTED {
        let prefix = format!("{}-{version}", name.replace('-', "_"));
        assert!(
            files.iter().any(|r| r.path.contains(&format!("/{prefix}"))),
            "a file of {name} {version} was fetched: {files:#?}"
        );
    }

    fx.index.set_mode(Mode::Down);
    fx.files.set_mode(Mode::Down);
    let venv = Venv::new();
    let install = pip_install(
        &venv,
        &larder.at("/pypi/simple/"),
        &["-r", requirements.to_str().unwrap()],
    );
    assert!(
        install.ok(),
        "pip after warm, upstream down: {}\nlarder:\n{}",
        install.log(),
        larder.log()
    );
    assert_eq!(venv.installed(), expected());

    // A version the index does not have is named, and fails the run.
    std::fs::write(&requirements, "dep-lib==9.9\n").unwrap();
    let output = run_larder(&[
        "warm",
        "--url",
        &larder.url,
        "--python-version",
        "3.12",
        "--platform",
        "manylinux_2_17_x86_64",
        requirements.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("dep-lib==9.9: the index lists no file of this version"),
        "{}",
        text(&output)
    );
}
