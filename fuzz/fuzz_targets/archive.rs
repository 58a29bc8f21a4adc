//! `larder import` on arbitrary bytes: an error or an import, never a panic, and nothing
//! published under a name its bytes do not hash to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fuzz_target!(|bytes: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    if larder::store::archive::import(dir.path(), bytes).is_err() {
        return;
    }
    let mut pending = vec![dir.path().join("blobs")];
    while let Some(path) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let held = hex::encode(Sha256::digest(std::fs::read(&path).unwrap()));
            assert_eq!(held, name, "a blob published under another digest");
        }
    }
});
