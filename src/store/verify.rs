//! `larder verify`: re-hash every blob and check every pointer.
//!
//! Damage found:
//! - a corrupt blob: its bytes no longer hash to its name (a bad disk, a torn write, a hand edit),
//!   or a file under `blobs/` whose name is not a sha256;
//! - a pointer that points nowhere: its blob is missing, or its record gives another size than
//!   the blob has, or the record cannot be read.
//!
//! Repairing removes the damaged files (a corrupt blob together with the pointers that refer to
//! it), so the next request for those objects is a miss and refetches them.
//!
//! Safe on a store a larder is serving from: it never touches `tmp/`; blobs are written once by
//! rename, so a complete file is the only thing a walk can see; a blob that vanishes while
//! verify runs (evicted) is not damage; and each removal re-reads what it removes first, so a
//! pointer rewritten meanwhile is kept.

use super::evict::{remove_file_if_present, remove_pointer_if_dangling};
use super::scan::{self, BlobEntry};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Damage {
    /// A blob whose bytes do not hash to its name; the keys of the pointers that refer to it.
    CorruptBlob {
        path: PathBuf,
        actual: String,
        keys: Vec<String>,
    },
    /// A pointer whose blob does not exist.
    MissingBlob {
        path: PathBuf,
        key: String,
        sha256: String,
    },
    /// A pointer whose recorded size differs from its blob's.
    WrongSize {
        path: PathBuf,
        key: String,
        recorded: u64,
        actual: u64,
    },
    /// A pointer record that cannot be read.
    UnreadablePointer { path: PathBuf },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::CorruptBlob { path, actual, keys } => {
                write!(
                    f,
                    "corrupt blob {}: its bytes hash to {actual}",
                    path.display()
                )?;
                if !keys.is_empty() {
                    write!(f, " (serves {})", keys.join(", "))?;
                }
                Ok(())
            }
            Damage::MissingBlob { path, key, sha256 } => write!(
                f,
                "pointer {} for {key} points nowhere: blob {sha256} is missing",
                path.display()
            ),
            Damage::WrongSize {
                path,
                key,
                recorded,
                actual,
            } => write!(
                f,
                "pointer {} for {key} records {recorded} bytes, its blob has {actual}",
                path.display()
            ),
            Damage::UnreadablePointer { path } => {
                write!(f, "pointer {} is not a readable record", path.display())
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub blobs: usize,
    pub bytes: u64,
    pub pointers: usize,
    pub damage: Vec<Damage>,
    /// How many of `damage` were repaired (their files removed).
    pub repaired: usize,
}

/// What verify will read, for a progress display: (blobs, bytes).
pub fn size(root: &Path) -> io::Result<(usize, u64)> {
    let blobs = scan::blobs(root)?;
    Ok((blobs.len(), blobs.iter().map(|b| b.size).sum()))
}

/// Checks the store under `root`, on `threads` threads, calling `progress(bytes)` as blobs are
/// read; with `repair`, removes what is damaged.
pub fn verify(
    root: &Path,
    repair: bool,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<Report> {
    let blobs = scan::blobs(root)?;
    let corrupt = hash_all(&blobs, threads.max(1), progress)?;
    let mut report = Report {
        blobs: blobs.len(),
        bytes: blobs.iter().map(|b| b.size).sum(),
        ..Report::default()
    };
    let sizes: HashMap<&str, u64> = blobs.iter().map(|b| (b.sha256.as_str(), b.size)).collect();
    let mut corrupt_keys: HashMap<String, Vec<(PathBuf, String)>> = corrupt
        .iter()
        .map(|(blob, _)| (blob.sha256.clone(), Vec::new()))
        .collect();

    let pointers = scan::pointers(root)?;
    report.pointers = pointers.len();
    let mut pointer_damage = Vec::new();
    for entry in pointers {
        let Some(pointer) = entry.pointer else {
            // Re-read: a record replaced by rename is never seen half-written, so a second bad
            // read is damage on disk.
            if matches!(scan::read_pointer(&entry.path), Ok(None)) {
                pointer_damage.push(Damage::UnreadablePointer { path: entry.path });
            }
            continue;
        };
        let Some(sha) = pointer.sha256 else { continue };
        if let Some(referrers) = corrupt_keys.get_mut(&sha) {
            referrers.push((entry.path, pointer.key));
            continue;
        }
        match sizes.get(sha.as_str()) {
            Some(&actual) if actual != pointer.size => pointer_damage.push(Damage::WrongSize {
                path: entry.path,
                key: pointer.key,
                recorded: pointer.size,
                actual,
            }),
            Some(_) => {}
            // Published after the walk of blobs/, or evicted since: look again.
            None if scan::blob_path(root, &sha).is_some_and(|p| p.exists()) => {}
            None => pointer_damage.push(Damage::MissingBlob {
                path: entry.path,
                key: pointer.key,
                sha256: sha,
            }),
        }
    }

    for (blob, actual) in &corrupt {
        let referrers = corrupt_keys.remove(&blob.sha256).unwrap_or_default();
        if repair {
            let removed = remove_file_if_present(&blob.path)?;
            for (path, _) in &referrers {
                remove_pointer_if_dangling(root, path, &blob.sha256)?;
            }
            report.repaired += usize::from(removed);
        }
        report.damage.push(Damage::CorruptBlob {
            path: blob.path.clone(),
            actual: actual.clone(),
            keys: referrers.into_iter().map(|(_, key)| key).collect(),
        });
    }
    for damage in pointer_damage {
        if repair {
            let removed = match &damage {
                Damage::MissingBlob { path, sha256, .. } => {
                    remove_pointer_if_dangling(root, path, sha256)?
                }
                Damage::WrongSize { path, .. } => remove_file_if_present(path)?,
                Damage::UnreadablePointer { path } => {
                    matches!(scan::read_pointer(path), Ok(None)) && remove_file_if_present(path)?
                }
                Damage::CorruptBlob { .. } => false,
            };
            report.repaired += usize::from(removed);
        }
        report.damage.push(damage);
    }
    Ok(report)
}

/// Hashes every blob on `threads` threads; returns the corrupt ones with what they hash to.
fn hash_all(
    blobs: &[BlobEntry],
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> io::Result<Vec<(BlobEntry, String)>> {
    let next = AtomicUsize::new(0);
    let corrupt = Mutex::new(Vec::new());
    let failure = Mutex::new(None::<io::Error>);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = vec![0; 1 << 20];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(blob) = blobs.get(i) else { return };
                    match hash_file(&blob.path, &mut buf) {
                        Ok(actual) => {
                            if !actual.eq_ignore_ascii_case(&blob.sha256) {
                                let mut corrupt = corrupt.lock().unwrap_or_else(|p| p.into_inner());
                                corrupt.push((blob.clone(), actual));
                            }
                        }
                        // Evicted while verify ran: gone, not damaged.
                        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                        Err(err) => {
                            let err = io::Error::new(
                                err.kind(),
                                format!("cannot read {}: {err}", blob.path.display()),
                            );
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
                            next.store(blobs.len(), Ordering::Relaxed);
                            return;
                        }
                    }
                    progress(blob.size);
                }
            });
        }
    });
    if let Some(err) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(err);
    }
    let mut corrupt = corrupt.into_inner().unwrap_or_else(|p| p.into_inner());
    corrupt.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok(corrupt)
}

fn hash_file(path: &Path, buf: &mut [u8]) -> io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    loop {
        match file.read(buf)? {
            0 => break,
            n => hasher.update(&buf[..n]),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::put_blob;
    use crate::store::{LocalStore, Store};

    #[test]
    fn a_sound_store_has_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        for i in 0..20u8 {
            put_blob(&store, &format!("t/{i}"), &[i; 1000], 1);
        }
        let report = verify(dir.path(), false, 3, &|_| {}).unwrap();
        assert_eq!(
            (report.blobs, report.pointers, report.bytes),
            (20, 20, 20_000)
        );
        assert!(report.damage.is_empty(), "{:?}", report.damage);
    }

    #[test]
    fn corruption_and_dangling_pointers_are_found_and_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let corrupt = put_blob(&store, "t/corrupt", b"good bytes", 1);
        let missing = put_blob(&store, "t/missing", b"other bytes", 1);
        put_blob(&store, "t/fine", b"fine", 1);
        let garbage = dir.path().join("pointers/00/garbage.json");
        fs::create_dir_all(garbage.parent().unwrap()).unwrap();
        fs::write(&garbage, b"{not json").unwrap();
        fs::write(
            scan::blob_path(dir.path(), &corrupt).unwrap(),
            b"bad bytes!",
        )
        .unwrap();
        fs::remove_file(scan::blob_path(dir.path(), &missing).unwrap()).unwrap();

        let report = verify(dir.path(), false, 2, &|_| {}).unwrap();
        let text: Vec<String> = report.damage.iter().map(ToString::to_string).collect();
        assert_eq!(report.damage.len(), 3, "{text:#?}");
        assert!(
            text[0].contains("corrupt blob") && text[0].contains("t/corrupt"),
            "{text:#?}"
        );
        assert!(text
            .iter()
            .any(|t| t.contains("t/missing") && t.contains("points nowhere")));
        assert!(text.iter().any(|t| t.contains("garbage.json")));
        assert_eq!(report.repaired, 0);
        assert!(
            store.get_pointer("t/corrupt").unwrap().is_some(),
            "no repair without --repair"
        );

        let report = verify(dir.path(), true, 2, &|_| {}).unwrap();
        assert_eq!(report.repaired, 3);
        assert!(store.get_pointer("t/corrupt").unwrap().is_none());
        assert!(store.open_blob(&corrupt).unwrap().is_none());
        assert!(store.get_pointer("t/missing").unwrap().is_none());
        assert!(!garbage.exists());
        assert!(store.get_pointer("t/fine").unwrap().is_some());
        assert!(verify(dir.path(), false, 2, &|_| {})
            .unwrap()
            .damage
            .is_empty());
    }
}
