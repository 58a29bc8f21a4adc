//! A damaged stored tarball never reaches npm as a good one (issue 24: `npm ci` failed with
//! EINTEGRITY): tarballs with a flipped byte, or cut to half their size, in larder's store are
//! refetched, and a fresh `npm ci` installs at once.

use crate::client::Project;
use crate::fixture::{Registry, EXPECTED, LEFT, MANY, PROJECT_DEPS, SCOPED};
use crate::support::Larder;
use crate::{registry_url, setup, RUN_LIMIT};
use sha2::{Digest as _, Sha256};
use std::time::Duration;

fn blob_path(larder: &Larder, bytes: &[u8]) -> std::path::PathBuf {
    let sha = hex::encode(Sha256::digest(bytes));
    larder
        .data_dir
        .join("blobs/sha256")
        .join(&sha[..2])
        .join(sha)
}

/// Rewrites a stored blob as a bad disk or a stray write would; a moment after it was published,
/// since a file's modification time moves in steps of a clock tick.
fn damage(path: &std::path::Path, change: impl FnOnce(&mut Vec<u8>)) {
    std::thread::sleep(Duration::from_millis(20));
    let mut bytes = std::fs::read(path).expect("the tarball is stored");
    change(&mut bytes);
    std::fs::write(path, bytes).expect("damage the tarball");
}

#[test]
fn npm_ci_installs_when_stored_tarballs_are_corrupted_or_truncated() {
    let (registry, upstream, larder) = setup("");
    let lock = registry.lockfile(PROJECT_DEPS, EXPECTED, Some("https://registry.npmjs.org"));
    let project = Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    let npm_registry = registry_url(&larder);
    project
        .npm(
            &["ci"],
            &npm_registry,
            &project.fresh_cache("cold"),
            RUN_LIMIT,
        )
        .assert_ok("cold npm ci");

    let tarball = |name: &str, version: &str| {
        let package = registry.package(name);
        (
            package.tarball_path(version),
            package.version(version).tarball.clone().expect("served"),
        )
    };
    let flipped = [tarball(LEFT, "1.0.0"), tarball(MANY, "1.0.299")];
    let truncated = tarball(SCOPED, "2.0.0");
    for (_, bytes) in &flipped {
        damage(&blob_path(&larder, bytes), |stored| {
            let middle = stored.len() / 2;
            stored[middle] ^= 0x01;
        });
    }
    damage(&blob_path(&larder, &truncated.1), |stored| {
        stored.truncate(stored.len() / 2)
    });

    project.clean();
    project
        .npm(
            &["ci"],
            &npm_registry,
            &project.fresh_cache("after-damage"),
            RUN_LIMIT,
        )
        .assert_ok("npm ci after the store was damaged");
    project.assert_installed(EXPECTED);
    for (path, _) in flipped.iter().chain([&truncated]) {
        assert_eq!(upstream.count(path), 2, "{path} refetched once");
    }
}
