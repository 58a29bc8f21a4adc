//! A damaged stored wheel never reaches pip as a good one (issue 24: pip said "THESE PACKAGES DO
//! NOT MATCH THE HASHES"): wheels with a flipped byte, or cut to half their size, in larder's
//! store are refetched, and a fresh pip installs at once.

use crate::clients::{expected, pip_install, serial, Venv, REQUIREMENTS};
use crate::fixture::{artifacts, Index};
use crate::support::Larder;
use std::time::Duration;

fn blob_path(larder: &Larder, sha256: &str) -> std::path::PathBuf {
    larder
        .data_dir
        .join("blobs/sha256")
        .join(&sha256[..2])
        .join(sha256)
}

/// Rewrites a stored blob as a bad disk or a stray write would; a moment after it was published,
/// since a file's modification time moves in steps of a clock tick.
fn damage(path: &std::path::Path, change: impl FnOnce(&mut Vec<u8>)) {
    std::thread::sleep(Duration::from_millis(20));
    let mut bytes = std::fs::read(path).expect("the wheel is stored");
    change(&mut bytes);
    std::fs::write(path, bytes).expect("damage the wheel");
}

#[test]
fn pip_installs_when_stored_wheels_are_corrupted_or_truncated() {
    let _serial = serial();
    let fx = Index::start();
    let larder = Larder::start(&fx.config("10m"));
    let index_url = larder.at("/pypi/simple/");
    let cold = pip_install(&Venv::new(), &index_url, REQUIREMENTS);
    assert!(cold.ok(), "cold: {}\nlarder:\n{}", cold.log(), larder.log());

    // A small wheel and the 4 MiB one with a flipped byte, another small one cut in half.
    let flipped = [
        "dep_lib-1.1-py3-none-any.whl",
        "big_wheel-1.0-py3-none-any.whl",
    ];
    let truncated = "app_main-1.0-py3-none-any.whl";
    for name in flipped {
        damage(
            &blob_path(&larder, &artifacts().file(name).sha256),
            |bytes| {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x01;
            },
        );
    }
    damage(
        &blob_path(&larder, &artifacts().file(truncated).sha256),
        |bytes| bytes.truncate(bytes.len() / 2),
    );

    let venv = Venv::new();
    let again = pip_install(&venv, &index_url, REQUIREMENTS);
    assert!(
        again.ok(),
        "pip through larder after the damage: {}\nlarder:\n{}",
        again.log(),
        larder.log()
    );
    assert_eq!(venv.installed(), expected());
    for name in flipped.into_iter().chain([truncated]) {
        let path = format!("/{}", artifacts().file(name).path);
        assert_eq!(fx.files.count(&path), 2, "{name} refetched once");
    }
    let log = larder.log();
    assert!(
        log.contains("a stored blob is damaged") && log.contains(truncated),
        "the log names the damaged blob's object:\n{log}"
    );
}
