//! Where damaged blobs go: `<data_dir>/quarantine/`, out of `blobs/`, so the next request for
//! any object that names one is a miss and refetches it, while the bad file stays on disk for
//! whoever wants to see what the disk did to it.
//!
//! A quarantined file is named `<sha256>.<unix ms>` (the same blob can go bad twice). Nothing in
//! larder reads the directory again; `larder gc` does not count it and it can be removed at
//! any time.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Moves the blob `sha256` out of `blobs/` if the file there is still the one found damaged
/// (inode `ino`): a fill may have published good bytes under the same name meanwhile, and those
/// stay. Returns where the file went, or `None` when there was nothing (left) to move.
pub fn move_out(root: &Path, sha256: &str, ino: u64) -> io::Result<Option<PathBuf>> {
    let Some(path) = super::scan::blob_path(root, sha256) else {
        return Ok(None);
    };
    match fs::metadata(&path) {
        Ok(meta) if meta.ino() == ino => {}
        Ok(_) => return Ok(None),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    }
    let dir = root.join("quarantine");
    fs::create_dir_all(&dir)?;
    let to = dir.join(format!("{sha256}.{}", super::now_ms()));
    match fs::rename(&path, &to) {
        Ok(()) => Ok(Some(to)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_damaged_file_is_moved() {
        let dir = tempfile::tempdir().unwrap();
        let sha = "ab".repeat(32);
        let path = dir.path().join("blobs/sha256/ab").join(&sha);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"bad").unwrap();
        let bad_ino = fs::metadata(&path).unwrap().ino();

        // Replaced by a good copy since it was found damaged: kept.
        let replacement = dir.path().join("replacement");
        fs::write(&replacement, b"good").unwrap();
        fs::rename(&replacement, &path).unwrap();
        assert_eq!(move_out(dir.path(), &sha, bad_ino).unwrap(), None);
        assert_eq!(fs::read(&path).unwrap(), b"good");

        let good_ino = fs::metadata(&path).unwrap().ino();
        let moved = move_out(dir.path(), &sha, good_ino).unwrap().unwrap();
        assert!(!path.exists());
        assert!(moved.starts_with(dir.path().join("quarantine")));
        assert_eq!(fs::read(&moved).unwrap(), b"good");
        assert_eq!(move_out(dir.path(), &sha, good_ino).unwrap(), None);
    }
}
