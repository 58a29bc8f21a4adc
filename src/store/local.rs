//! The local disk backend.
//!
//! Layout under the data dir:
//! - `blobs/sha256/<2 hex>/<64 hex>`: content, written once, never modified;
//! - `pointers/<2 hex>/<sha256 of key>.json`: one record per object key, replaced atomically;
//! - `tmp/`: fills in progress; swept at start-up (a crash mid-download leaves nothing visible).
//!
//! Nothing here is `fsync`ed: a killed process loses nothing the kernel holds, and what a power
//! loss can leave (a blob renamed before its bytes reached the disk, an empty or torn pointer
//! record) is caught before it is served: a blob not verified since this process published it
//! is hashed first (`super::integrity`), a record that does not parse is a miss, and either is
//! fetched again. Two `fdatasync`s held every fill's last byte: 1.77 against 1.17 ms a cold
//! 20 KB fill, 116 against 75 ms a 32 MB one (benches/RESULTS.md, eighth session).
//!
//! Why not cacache: larder streams a fill to clients while it is written, so concurrent readers
//! must tail the temp file, and serves Range requests, so blobs must be seekable files; cacache's
//! Writer cannot be read while open and its Reader cannot seek. Its index is append-only, which
//! bloats for pointers rewritten on every revalidation. The layout here is the same idea
//! (content-addressed files, atomic rename) with those two needs met.

use super::integrity::{HitHashing, Integrity, Stamp};
use super::{BlobFile, Pointer, QuickLookup, Store, TempBlob, Usage};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct LocalStore {
    root: PathBuf,
    /// Which blobs were verified since they were last written, and the quarantine.
    integrity: Arc<Integrity>,
    temp_counter: AtomicU64,
    /// Serializes read-compare-write of pointers within this process.
    pointer_lock: Mutex<()>,
}

impl LocalStore {
    /// Opens (creating) a store under `root` and sweeps temp files left by a previous process.
    pub fn open(root: &Path) -> io::Result<LocalStore> {
        let store = LocalStore::attach(root)?;
        let swept = sweep(&root.join("tmp"))?;
        if swept > 0 {
            tracing::info!(swept, "removed temp files left by an interrupted run");
        }
        Ok(store)
    }

    /// Opens (creating) a store that a running larder may be serving: no sweep, since the temp
    /// files there may be that process's fills in progress (`larder import`, `larder export`).
    pub fn attach(root: &Path) -> io::Result<LocalStore> {
        for dir in ["blobs/sha256", "pointers", "tmp"] {
            fs::create_dir_all(root.join(dir)).map_err(|err| {
                io::Error::new(
                    err.kind(),
                    format!(
                        "cannot create {}: {err}; check --data-dir",
                        root.join(dir).display()
                    ),
                )
            })?;
        }
        Ok(LocalStore {
            root: root.to_path_buf(),
            integrity: Arc::new(Integrity::new(root.to_path_buf(), HitHashing::from_env())),
            temp_counter: AtomicU64::new(0),
            pointer_lock: Mutex::new(()),
        })
    }

    /// Removes the temp files this process created (fills cut short at exit); run only once
    /// nothing of this process writes any more. Returns how many were removed.
    pub fn sweep_own_temps(root: &Path) -> io::Result<usize> {
        let prefix = format!("{}-", std::process::id());
        let mut swept = 0;
        for entry in fs::read_dir(root.join("tmp"))? {
            let entry = entry?;
            let ours = entry.file_name().to_string_lossy().starts_with(&prefix);
            if ours && fs::remove_file(entry.path()).is_ok() {
                swept += 1;
            }
        }
        Ok(swept)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The same store with hits hashed as `hashing` says rather than as [`HitHashing::from_env`]
    /// (for benchmarks and tests; the memory of verified blobs starts empty).
    pub fn with_hit_hashing(mut self, hashing: HitHashing) -> LocalStore {
        self.integrity = Arc::new(Integrity::new(self.root.clone(), hashing));
        self
    }

    pub fn integrity(&self) -> &Arc<Integrity> {
        &self.integrity
    }

    fn blob_path(&self, sha256: &str) -> Option<PathBuf> {
        super::is_sha256_hex(sha256).then(|| {
            self.root
                .join("blobs/sha256")
                .join(&sha256[..2])
                .join(sha256)
        })
    }

    fn read_hit_without_waiting(
        &self,
        key: &str,
        record: &fs::File,
        read_up_to: u64,
    ) -> Option<(Pointer, BlobFile)> {
        let record_len = record.metadata().ok()?.len();
        let bytes = crate::nowait::read(record, 0, record_len)?;
        let pointer = serde_json::from_slice::<Pointer>(&bytes)
            .ok()
            .filter(|pointer| pointer.key == key)?;
        let blob = self.blob_without_waiting(pointer.sha256.as_deref()?, read_up_to)?;
        Some((pointer, blob))
    }

    fn pointer_path(&self, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.root
            .join("pointers")
            .join(&name[..2])
            .join(format!("{name}.json"))
    }

    /// Writes `bytes` to `path` through a temp file and a rename, so readers see old or new.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let temp = self.create_temp()?;
        let mut file = temp.file;
        if let Err(err) = file.write_all(bytes) {
            self.discard(&temp.path);
            return Err(err);
        }
        self.rename_into(&temp.path, path)
    }

    fn rename_into(&self, from: &Path, to: &Path) -> io::Result<()> {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::rename(from, to).inspect_err(|_| self.discard(from))
    }
}

impl Store for LocalStore {
    /// Walks `blobs/sha256/*/`: a stat per blob, run once per scrape or status page.
    fn usage(&self) -> io::Result<Usage> {
        let mut usage = Usage::default();
        for shard in fs::read_dir(self.root.join("blobs/sha256"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for blob in fs::read_dir(shard.path())? {
                let Ok(meta) = blob.and_then(|blob| blob.metadata()) else {
                    continue; // removed while walking
                };
                if meta.is_file() {
                    usage.blobs += 1;
                    usage.bytes += meta.len();
                }
            }
        }
        Ok(usage)
    }

    fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        let Some(path) = self.blob_path(sha256) else {
            return Ok(None);
        };
        match fs::File::open(&path) {
            Ok(file) => {
                let meta = file.metadata()?;
                Ok(Some(BlobFile {
                    file,
                    len: meta.len(),
                    content: None,
                    check: self.integrity.check(sha256, Stamp::of(&meta)),
                    growing: None,
                }))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn create_temp(&self) -> io::Result<TempBlob> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let path = self
            .root
            .join("tmp")
            .join(format!("{}-{n}.part", std::process::id()));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(TempBlob { path, file })
    }

    fn publish(&self, temp: &Path, sha256: &str) -> io::Result<()> {
        let path = self.blob_path(sha256).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "not a sha256 hex digest")
        })?;
        self.rename_into(temp, &path)?;
        // Callers hashed these bytes as they wrote them: known good until written again.
        let mut digest = [0u8; 32];
        if let (Ok(meta), Ok(())) = (
            fs::metadata(&path),
            hex::decode_to_slice(sha256, &mut digest),
        ) {
            self.integrity.verified(digest, Stamp::of(&meta));
        }
        Ok(())
    }

    fn discard(&self, temp: &Path) {
        if let Err(err) = fs::remove_file(temp) {
            if err.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %temp.display(), %err, "could not remove a temp file");
            }
        }
    }

    /// Reads with `RWF_NOWAIT`, which fails instead of waiting for the disk. Opening the two
    /// files can still wait for a directory lookup, but only on a path not looked up lately,
    /// and a hit's paths were.
    fn hit_without_waiting(&self, key: &str, read_up_to: u64) -> QuickLookup {
        match fs::File::open(self.pointer_path(key)) {
            Ok(record) => self
                .read_hit_without_waiting(key, &record, read_up_to)
                .map_or(QuickLookup::Ask, |(pointer, blob)| {
                    QuickLookup::Hit(pointer, blob)
                }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => QuickLookup::NoRecord,
            Err(_) => QuickLookup::Ask,
        }
    }

    fn blob_without_waiting(&self, sha256: &str, read_up_to: u64) -> Option<BlobFile> {
        let file = fs::File::open(self.blob_path(sha256)?).ok()?;
        let meta = file.metadata().ok()?;
        let len = meta.len();
        let content = if len <= read_up_to {
            Some(bytes::Bytes::from(crate::nowait::read(&file, 0, len)?))
        } else {
            None
        };
        Some(BlobFile {
            file,
            len,
            content,
            check: self.integrity.check(sha256, Stamp::of(&meta)),
            growing: None,
        })
    }

    fn get_pointer(&self, key: &str) -> io::Result<Option<Pointer>> {
        let path = self.pointer_path(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err),
        };
        match serde_json::from_slice::<Pointer>(&bytes) {
            Ok(pointer) if pointer.key == key => Ok(Some(pointer)),
            // A damaged record is a miss: the next fill rewrites it.
            Ok(_) | Err(_) => {
                tracing::warn!(path = %path.display(), "ignoring an unreadable pointer record");
                Ok(None)
            }
        }
    }

    fn put_pointer(&self, pointer: &Pointer) -> io::Result<()> {
        let _guard = self
            .pointer_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = self.get_pointer(&pointer.key)? {
            if existing.fetched_at_ms > pointer.fetched_at_ms {
                return Ok(());
            }
        }
        let bytes = serde_json::to_vec(pointer).map_err(io::Error::other)?;
        self.write_atomically(&self.pointer_path(&pointer.key), &bytes)
    }

    fn forget_if_blob_missing(&self, pointer: &Pointer) -> io::Result<()> {
        let Some(sha256) = &pointer.sha256 else {
            return Ok(());
        };
        let _guard = self
            .pointer_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let path = self.pointer_path(&pointer.key);
        super::evict::remove_pointer_if_dangling(&self.root, &path, sha256).map(|_| ())
    }
}

fn sweep(dir: &Path) -> io::Result<usize> {
    let mut swept = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if fs::remove_file(entry.path()).is_ok() {
            swept += 1;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn pointer(key: &str, at: u64) -> Pointer {
        Pointer {
            fetched_at_ms: at,
            ..Pointer::stored(key, &"ab".repeat(32), 1)
        }
    }

    #[test]
    fn older_pointer_never_overwrites_newer() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        store.put_pointer(&pointer("npm/a", 20)).unwrap();
        store.put_pointer(&pointer("npm/a", 10)).unwrap();
        assert_eq!(
            store.get_pointer("npm/a").unwrap().unwrap().fetched_at_ms,
            20
        );
        store.put_pointer(&pointer("npm/a", 30)).unwrap();
        assert_eq!(
            store.get_pointer("npm/a").unwrap().unwrap().fetched_at_ms,
            30
        );
    }

    #[test]
    fn a_record_whose_blob_was_evicted_before_it_was_written_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let temp = store.create_temp().unwrap();
        std::fs::write(&temp.path, b"kept").unwrap();
        let kept_sha = hex::encode(sha2::Sha256::digest(b"kept"));
        store.publish(&temp.path, &kept_sha).unwrap();
        let kept = Pointer::stored("t/kept", &kept_sha, 4);
        let evicted = pointer("t/evicted", 1);
        for record in [&kept, &evicted] {
            store.put_pointer(record).unwrap();
            store.forget_if_blob_missing(record).unwrap();
        }
        assert!(store.get_pointer("t/kept").unwrap().is_some());
        assert!(store.get_pointer("t/evicted").unwrap().is_none());
    }

    /// A power loss can leave what was never `fsync`ed: a blob renamed into place whose bytes
    /// did not reach the disk (zeros of the right size, the same modification time) and an
    /// empty pointer record. The next process serves neither.
    #[test]
    fn what_a_power_loss_leaves_unsynced_is_never_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let bytes = b"a tarball as the registry sent it";
        let sha = super::super::testing::put_blob(&store, "npm/a", bytes, 10);
        super::super::testing::put_blob(&store, "npm/b", b"another", 10);

        let blob_path = store.blob_path(&sha).unwrap();
        let modified = fs::metadata(&blob_path).unwrap().modified().unwrap();
        let blob = fs::OpenOptions::new().write(true).open(&blob_path).unwrap();
        blob.set_len(0).unwrap();
        blob.set_len(bytes.len() as u64).unwrap();
        blob.set_modified(modified).unwrap();
        fs::File::create(store.pointer_path("npm/b")).unwrap();
        drop(store);

        let store = LocalStore::open(dir.path()).unwrap();
        assert!(store.get_pointer("npm/b").unwrap().is_none());
        assert!(matches!(
            store.hit_without_waiting("npm/b", 64 * 1024),
            QuickLookup::Ask
        ));
        let pointer = store.get_pointer("npm/a").unwrap().unwrap();
        let mut blob = store.open_blob(&sha).unwrap().unwrap();
        assert!(blob.check.as_ref().unwrap().needs_hashing());
        let checked = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(super::super::integrity::check_hit(
                "npm/a", &pointer, &mut blob,
            ));
        assert_eq!(checked, Err(super::super::integrity::Damage::Digest));
    }

    #[test]
    fn a_hit_in_the_page_cache_is_read_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let small = b"a small blob".to_vec();
        let large = vec![7u8; 100_000];
        let small_sha = super::super::testing::put_blob(&store, "go/small", &small, 10);
        super::super::testing::put_blob(&store, "go/large", &large, 10);

        // Just written, so in the page cache (where RWF_NOWAIT is supported at all).
        let QuickLookup::Hit(record, blob) = store.hit_without_waiting("go/small", 64 * 1024)
        else {
            eprintln!("skipped: this file system does not read with RWF_NOWAIT");
            return;
        };
        assert_eq!(record.sha256.as_deref(), Some(small_sha.as_str()));
        assert_eq!(blob.len, small.len() as u64);
        assert_eq!(blob.content.as_deref(), Some(&small[..]));
        // Larger than asked for: opened, not read.
        let QuickLookup::Hit(_, blob) = store.hit_without_waiting("go/large", 64 * 1024) else {
            panic!("a large blob in the page cache is a hit");
        };
        assert_eq!((blob.len, blob.content), (100_000, None));

        // Not stored: known at once. A negative record, a record whose blob is gone: left to
        // the blocking path.
        let ask = |key| matches!(store.hit_without_waiting(key, 64 * 1024), QuickLookup::Ask);
        assert!(matches!(
            store.hit_without_waiting("go/none", 64 * 1024),
            QuickLookup::NoRecord
        ));
        store
            .put_pointer(&Pointer::negative("go/gone", 404))
            .unwrap();
        assert!(ask("go/gone"));
        store.put_pointer(&pointer("go/orphan", 10)).unwrap();
        assert!(ask("go/orphan"));
    }

    #[test]
    fn temp_files_are_swept_at_open_and_never_visible_as_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let mut temp = store.create_temp().unwrap();
        temp.file.write_all(b"half a download").unwrap();
        drop(store);
        let store = LocalStore::open(dir.path()).unwrap();
        assert!(!temp.path.exists());
        assert!(store.open_blob(&"00".repeat(32)).unwrap().is_none());
    }

    #[test]
    fn publish_makes_blob_visible_and_rejects_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let mut temp = store.create_temp().unwrap();
        temp.file.write_all(b"x").unwrap();
        let sha = hex::encode(Sha256::digest(b"x"));
        store.publish(&temp.path, &sha).unwrap();
        assert_eq!(store.open_blob(&sha).unwrap().unwrap().len, 1);
        assert!(store.open_blob("../../etc/passwd").unwrap().is_none());
    }
}
