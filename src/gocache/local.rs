//! The helper's local directory: the files the go command reads (`DiskPath`), and which output
//! each action produced. Both sides of a hit are local files, so a rebuild in the same
//! container never asks larder twice; in a fresh RUN step the directory starts empty and fills
//! from larder.
//!
//! Layout: `objects/<ab>/<output sha256>` and `actions/<ab>/<action id>` (a small JSON
//! [`Record`]); files appear by rename, so a reader sees a whole file or none.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What an action produced: the record stored locally and in larder (`/cache/go/ac/<id>`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// Hex sha256 of the output (the go command's OutputID).
    pub output: String,
    pub size: u64,
    /// When the output was first put, RFC 3339 (the go command's `Entry.Time`).
    pub time: String,
}

pub struct LocalDir {
    root: PathBuf,
    temp_counter: AtomicU64,
}

impl LocalDir {
    pub fn open(root: &Path) -> io::Result<LocalDir> {
        for sub in ["objects", "actions", "tmp"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        // The go command needs absolute DiskPaths.
        let root = std::fs::canonicalize(root)?;
        Ok(LocalDir {
            root,
            temp_counter: AtomicU64::new(0),
        })
    }

    pub fn object_path(&self, output_hex: &str) -> PathBuf {
        self.root
            .join("objects")
            .join(&output_hex[..2])
            .join(output_hex)
    }

    fn action_path(&self, action_hex: &str) -> PathBuf {
        self.root
            .join("actions")
            .join(&action_hex[..2])
            .join(action_hex)
    }

    /// The record of `action_hex`, if its output file is here too.
    pub fn lookup(&self, action_hex: &str) -> Option<Record> {
        let bytes = std::fs::read(self.action_path(action_hex)).ok()?;
        let record: Record = serde_json::from_slice(&bytes).ok()?;
        let len = std::fs::metadata(self.object_path(&record.output))
            .ok()?
            .len();
        (len == record.size).then_some(record)
    }

    pub fn has_object(&self, output_hex: &str, size: u64) -> bool {
        std::fs::metadata(self.object_path(output_hex)).is_ok_and(|m| m.len() == size)
    }

    /// Stores an output; refuses bytes that do not hash to `output_hex`.
    pub fn put_object(&self, output_hex: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        let actual = hex::encode(Sha256::digest(bytes));
        if actual != output_hex {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the output's sha256 is {actual}, not its OutputID {output_hex}"),
            ));
        }
        let path = self.object_path(output_hex);
        if !self.has_object(output_hex, bytes.len() as u64) {
            self.write_atomically(&path, bytes)?;
        }
        Ok(path)
    }

    pub fn put_record(&self, action_hex: &str, record: &Record) -> io::Result<()> {
        let bytes = serde_json::to_vec(record).map_err(io::Error::other)?;
        self.write_atomically(&self.action_path(action_hex), &bytes)
    }

    /// A temp file in this directory, to be renamed into place.
    pub fn temp_path(&self) -> PathBuf {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        self.root
            .join("tmp")
            .join(format!("{}-{n}", std::process::id()))
    }

    /// Moves a verified temp file to be the output `output_hex`.
    pub fn adopt(&self, temp: &Path, output_hex: &str) -> io::Result<PathBuf> {
        let path = self.object_path(output_hex);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(temp, &path)?;
        Ok(path)
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let temp = self.temp_path();
        let written = std::fs::File::create(&temp).and_then(|mut file| file.write_all(bytes));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(err);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&temp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_hits_only_with_its_output_present() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalDir::open(dir.path()).unwrap();
        let bytes = b"object file";
        let output = hex::encode(Sha256::digest(bytes));
        let action = "ab".repeat(32);
        let record = Record {
            output: output.clone(),
            size: bytes.len() as u64,
            time: "2026-12-02T12:00:00Z".into(),
        };
        local.put_record(&action, &record).unwrap();
        assert_eq!(local.lookup(&action), None);
        let path = local.put_object(&output, bytes).unwrap();
        assert!(path.is_absolute());
        assert_eq!(local.lookup(&action), Some(record));
        assert!(local.put_object(&output, b"other bytes").is_err());
    }
}
