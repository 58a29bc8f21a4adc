//! The build cache under `/cache/`: the HTTP protocols of Bazel, Gradle, ccache and sccache's
//! WebDAV spoken with a plain HTTP client ([`protocols`]), who may write ([`rights`]), and the
//! real tools: the go command through `larder gocache` ([`gocache`]), ccache ([`ccache`]) and
//! sccache ([`sccache`]).
//!
//! The real tools come from `.ci/install/buildcache.sh` (Go 1.23 from bookworm-backports,
//! Debian's ccache, sccache from crates.io).

#[allow(unused_imports)] // the shared harness exports more than this target uses
#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)] // shared with tests/dockerfiles, which uses more of it
#[path = "../dockerfiles/buildah.rs"]
mod buildah;
mod ccache;
mod dockerfile;
mod go_image;
mod gocache;
mod protocols;
mod rights;
mod sccache;

use sha2::{Digest, Sha256};
use std::path::Path;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How many blobs the store holds (files under `blobs/sha256/`).
fn blob_count(data_dir: &Path) -> usize {
    let root = data_dir.join("blobs/sha256");
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return 0;
    };
    dirs.flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .map(|files| files.count())
        .sum()
}
