//! Walking a local store's directories without opening it: what `gc`, `verify` and the
//! eviction pass see. Nothing here writes, and nothing touches `tmp/` (fills in progress belong
//! to a running larder).

use super::Pointer;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A published blob as found on disk.
#[derive(Clone, Debug)]
pub struct BlobEntry {
    pub sha256: String,
    pub path: PathBuf,
    pub size: u64,
    /// What it takes on disk (whole blocks), as `du` counts it.
    pub on_disk: u64,
    /// When the blob was last used (written, or its access recorded), Unix milliseconds.
    pub used_ms: u64,
}

/// A pointer record as found on disk; `pointer` is `None` when the file is not a readable record.
#[derive(Clone, Debug)]
pub struct PointerEntry {
    pub path: PathBuf,
    pub pointer: Option<Pointer>,
}

/// `<root>/blobs/sha256`, checked to exist: gc and verify refuse a directory that is not a store.
pub fn blobs_dir(root: &Path) -> io::Result<PathBuf> {
    let dir = root.join("blobs/sha256");
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is not a larder store (no blobs/sha256 inside); check --data-dir",
                root.display()
            ),
        ));
    }
    Ok(dir)
}

/// The path a blob has in the layout, for a valid hex sha256.
pub fn blob_path(root: &Path, sha256: &str) -> Option<PathBuf> {
    is_sha256_hex(sha256).then(|| root.join("blobs/sha256").join(&sha256[..2]).join(sha256))
}

pub fn is_sha256_hex(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every file under `blobs/sha256/`. Files whose name is not a sha256 are reported too (with
/// that name), so that verify can flag them; the eviction pass ignores nothing it can size.
/// A file that vanishes while the walk runs (evicted by a running larder) is skipped.
pub fn blobs(root: &Path) -> io::Result<Vec<BlobEntry>> {
    let mut found = Vec::new();
    for shard in read_dir_if_present(&blobs_dir(root)?)? {
        if !shard.is_dir() {
            continue;
        }
        for path in read_dir_if_present(&shard)? {
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let sha256 = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push(BlobEntry {
                sha256,
                path,
                size: meta.len(),
                on_disk: on_disk(&meta),
                used_ms: meta.modified().map(unix_ms).unwrap_or(0),
            });
        }
    }
    Ok(found)
}

/// What a file or directory takes on disk: its allocated blocks, as `du` counts them.
pub fn on_disk(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

/// Folders of the data dir with a bound of their own, not `max_size`'s: the served-log
/// (`[served] files` × `max_file_size`), which would otherwise crowd the cache out of a small
/// `max_size`.
const OWN_BOUND: [&str; 1] = ["served"];

/// What the store under `root` takes on disk, as `du` counts it: blobs, pointer records, temp
/// files of fills in flight, quarantined blobs, and the directories themselves; not the folders
/// with a bound of their own ([`OWN_BOUND`]). Entries that vanish during the walk are skipped;
/// links are not followed.
pub fn disk_usage(root: &Path) -> io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for path in read_dir_if_present(&dir)? {
            let own_bound = dir == root
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| OWN_BOUND.contains(&name));
            if own_bound {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            total += on_disk(&meta);
            if meta.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(total)
}

/// Every pointer record under `pointers/`, parsed.
pub fn pointers(root: &Path) -> io::Result<Vec<PointerEntry>> {
    let mut found = Vec::new();
    for shard in read_dir_if_present(&root.join("pointers"))? {
        if !shard.is_dir() {
            continue;
        }
        for path in read_dir_if_present(&shard)? {
            if path.extension() != Some(std::ffi::OsStr::new("json")) {
                continue;
            }
            match read_pointer(&path) {
                Ok(pointer) => found.push(PointerEntry { path, pointer }),
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(found)
}

/// Reads one pointer record; `Ok(None)` when it is damaged.
pub fn read_pointer(path: &Path) -> io::Result<Option<Pointer>> {
    let bytes = fs::read(path)?;
    Ok(serde_json::from_slice::<Pointer>(&bytes).ok())
}

pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn read_dir_if_present(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(io::Error::new(
                err.kind(),
                format!("cannot list {}: {err}", dir.display()),
            ))
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    paths.sort();
    Ok(paths)
}
