//! The local store with a record of use, and LRU eviction while serving when `max_size` is set.
//!
//! Recording use costs a hit a clock read and one short mutex-guarded insert into an in-memory
//! map (blob digest → time of last use), never a write: a background thread
//! (`larder-lifecycle`) flushes the map every [`FLUSH_INTERVAL`] by setting each used blob's
//! modification time to its time of last use (never backwards). The modification
//! time is the store's record of last use because it survives restarts, `larder gc` can read it
//! offline, and nothing else changes it (blobs are written once). Access times are not used:
//! `noatime`/`relatime` mounts keep them coarse, and `larder verify` reads every blob.
//!
//! With `max_size` the same thread keeps what the data directory takes on disk under it, as `du`
//! counts it: blobs, pointer records, temp files of fills in flight, directories. The blobs'
//! total is counted once at start (a walk of `blobs/`) and kept up to date as fills publish;
//! when it, plus what the rest took at the last pass, passes `max_size`, a pass flushes the use
//! record, measures the directory, plans ([`super::evict`]) down to 90 % of `max_size` (so that
//! passes are not back to back) and removes. The thread also looks every [`FLUSH_INTERVAL`],
//! so the bound may be passed by what fills write between two looks. Requests are served
//! meanwhile: the pass runs on its own thread and takes no lock a request needs. A blob this
//! process has open (a response streaming it, or clients of the fill that wrote it) is never
//! chosen, and counts on top of `max_size` until it is closed (then a pass every
//! [`RETRY_INTERVAL`] takes it in its turn).

use super::evict::{self, Policy};
use super::integrity::Stamp;
use super::{scan, BlobFile, LocalStore, Pointer, QuickLookup, Store, TempBlob, Usage};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How often the use record is written to the blobs' modification times.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(30);
/// How soon a pass runs again when the last one left the store over `max_size` (blobs in use).
const RETRY_INTERVAL: Duration = Duration::from_secs(2);
/// A blob no pointer refers to is not evicted ahead of its turn until it is this old.
const UNREFERENCED_GRACE: Duration = Duration::from_secs(60);

pub struct LruStore {
    inner: LocalStore,
    shared: Arc<Shared>,
    wake: SyncSender<()>,
}

struct Shared {
    root: PathBuf,
    /// The local store's memory of verified blobs, carried along as the flush moves mtimes.
    integrity: Arc<super::integrity::Integrity>,
    max_size: Option<u64>,
    /// The blobs' total size as far as this process knows.
    used: AtomicU64,
    /// What the data directory holds besides blobs (pointer records, temp files of fills in
    /// flight, directories), as the last pass measured it: `max_size` bounds both together.
    overhead: AtomicU64,
    /// Set once the start-up walk has counted `used`.
    counted: AtomicBool,
    /// Blobs opened since the last flush, with when.
    touched: Mutex<HashMap<[u8; 32], SystemTime>>,
    /// Set by [`Store::stop`]: no pass starts, the one under way ends after its current blob.
    stopping: AtomicBool,
    /// Held by an eviction pass while it runs, so that [`Store::stop`] can wait for it.
    pass: Mutex<()>,
}

impl LruStore {
    /// Wraps `inner` and starts the lifecycle thread; it stops when the store is dropped.
    pub fn new(inner: LocalStore, max_size: Option<u64>) -> io::Result<LruStore> {
        let shared = Arc::new(Shared {
            root: inner.root().to_path_buf(),
            integrity: inner.integrity().clone(),
            max_size,
            used: AtomicU64::new(0),
            overhead: AtomicU64::new(0),
            counted: AtomicBool::new(false),
            touched: Mutex::default(),
            stopping: AtomicBool::new(false),
            pass: Mutex::new(()),
        });
        let (wake, woken) = mpsc::sync_channel(1);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("larder-lifecycle".into())
            .spawn(move || thread_shared.run(woken))?;
        if inner.integrity().hashing() != super::integrity::HitHashing::Off {
            super::scrub::spawn(inner.root().to_path_buf(), inner.integrity())?;
        }
        Ok(LruStore {
            inner,
            shared,
            wake,
        })
    }

    /// Records that a blob was used (the hit path: memory only). `open_blob` calls it.
    pub fn record_use(&self, sha256: &str) {
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(sha256, &mut digest).is_ok() {
            let now = SystemTime::now();
            self.shared
                .touched
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(digest, now);
        }
    }

    /// Blobs' total size as this process counts it (for tests and logs).
    pub fn used(&self) -> u64 {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// Whether the start-up count of the store's size is done.
    pub fn counted(&self) -> bool {
        self.shared.counted.load(Ordering::Relaxed)
    }
}

impl Store for LruStore {
    fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        let blob = self.inner.open_blob(sha256)?;
        if blob.is_some() {
            self.record_use(sha256);
        }
        Ok(blob)
    }

    fn create_temp(&self) -> io::Result<TempBlob> {
        self.inner.create_temp()
    }

    fn publish(&self, temp: &Path, sha256: &str) -> io::Result<()> {
        let size = std::fs::metadata(temp).map(|m| m.len()).unwrap_or(0);
        self.inner.publish(temp, sha256)?;
        let used = self.shared.used.fetch_add(size, Ordering::Relaxed) + size;
        let counted = self.shared.counted.load(Ordering::Relaxed);
        let overhead = self.shared.overhead.load(Ordering::Relaxed);
        if counted
            && self
                .shared
                .max_size
                .is_some_and(|max| used + overhead > max)
        {
            // A full channel means a pass is already due.
            let _ = self.wake.try_send(());
        }
        Ok(())
    }

    fn discard(&self, temp: &Path) {
        self.inner.discard(temp)
    }

    fn get_pointer(&self, key: &str) -> io::Result<Option<Pointer>> {
        self.inner.get_pointer(key)
    }

    fn hit_without_waiting(&self, key: &str, read_up_to: u64) -> QuickLookup {
        let lookup = self.inner.hit_without_waiting(key, read_up_to);
        if let QuickLookup::Hit(
            Pointer {
                sha256: Some(sha256),
                ..
            },
            _,
        ) = &lookup
        {
            self.record_use(sha256);
        }
        lookup
    }

    fn blob_without_waiting(&self, sha256: &str, read_up_to: u64) -> Option<BlobFile> {
        let blob = self.inner.blob_without_waiting(sha256, read_up_to)?;
        self.record_use(sha256);
        Some(blob)
    }

    fn put_pointer(&self, pointer: &Pointer) -> io::Result<()> {
        self.inner.put_pointer(pointer)
    }

    fn forget_if_blob_missing(&self, pointer: &Pointer) -> io::Result<()> {
        self.inner.forget_if_blob_missing(pointer)
    }

    fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
        drop(self.shared.pass.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Measured by the walk (exact blob count and size), not from `used`, which counts a
    /// re-published blob twice until the next pass.
    fn usage(&self) -> io::Result<Usage> {
        self.inner.usage()
    }
}

impl Shared {
    fn run(&self, woken: Receiver<()>) {
        match scan::blobs(&self.root) {
            Ok(blobs) => {
                let total: u64 = blobs.iter().map(|b| b.size).sum();
                self.used.fetch_add(total, Ordering::Relaxed);
                tracing::info!(
                    blobs = blobs.len(),
                    bytes = total,
                    max_size = self.max_size,
                    "store size counted"
                );
            }
            Err(err) => tracing::warn!(error = %err, "could not count the store's size"),
        }
        self.counted.store(true, Ordering::Relaxed);
        loop {
            let over = |s: &Self| {
                s.max_size.is_some_and(|max| {
                    s.used.load(Ordering::Relaxed) + s.overhead.load(Ordering::Relaxed) > max
                })
            };
            if over(self) {
                self.flush();
                self.evict();
            }
            let wait = if over(self) {
                RETRY_INTERVAL
            } else {
                FLUSH_INTERVAL
            };
            match woken.recv_timeout(wait) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => self.flush(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush();
                    return;
                }
            }
        }
    }

    /// Writes the use record: each blob opened since the last flush gets its time of last use
    /// as its mtime, unless it is newer already (written again since). A blob verified since it
    /// was last written stays so (`integrity::Integrity::restamp`): only this moved its mtime.
    fn flush(&self) {
        let touched = std::mem::take(&mut *self.touched.lock().unwrap_or_else(|p| p.into_inner()));
        for (digest, used) in touched {
            let sha = hex::encode(digest);
            let Some(path) = scan::blob_path(&self.root, &sha) else {
                continue;
            };
            let set = std::fs::File::open(&path).and_then(|file| {
                let before = file.metadata()?;
                if before.modified()? < used {
                    file.set_modified(used)?;
                    let after = Stamp::of(&file.metadata()?);
                    self.integrity.restamp(&sha, Stamp::of(&before), after);
                }
                Ok(())
            });
            if let Err(err) = set {
                if err.kind() != io::ErrorKind::NotFound {
                    tracing::debug!(%sha, error = %err, "could not record a blob's use");
                }
            }
        }
    }

    fn evict(&self) {
        let Some(max) = self.max_size else { return };
        let _pass = self.pass.lock().unwrap_or_else(|p| p.into_inner());
        if self.stopping.load(Ordering::Relaxed) {
            return;
        }
        let started = std::time::Instant::now();
        let counted = self.used.load(Ordering::Relaxed);
        let policy = Policy {
            target: Some(max - max / 10),
            now_ms: super::now_ms(),
            grace_ms: UNREFERENCED_GRACE.as_millis() as u64,
            in_use: evict::open_blobs(),
        };
        let result = evict::plan(&self.root, &policy).and_then(|plan| {
            let removed = evict::apply_until(&self.root, &plan, &self.stopping)?;
            Ok((plan, removed))
        });
        match result {
            Ok((plan, removed)) => {
                self.overhead.store(plan.overhead, Ordering::Relaxed);
                // What this pass saw replaces what was counted before it; fills published since
                // it started stay counted.
                let _ = self
                    .used
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |now| {
                        Some(
                            (now.saturating_sub(counted) + plan.total_before)
                                .saturating_sub(removed.bytes),
                        )
                    });
                let now = self.used.load(Ordering::Relaxed);
                let ms = started.elapsed().as_millis() as u64;
                if removed.blobs > 0 || removed.pointers > 0 {
                    tracing::info!(
                        evicted = removed.blobs,
                        bytes = removed.bytes,
                        pointers = removed.pointers,
                        kept_in_use = plan.kept_in_use,
                        now,
                        max_size = max,
                        ms,
                        "evicted least recently used blobs"
                    );
                }
                if now > max {
                    tracing::debug!(
                        kept_in_use = plan.kept_in_use,
                        now,
                        ms,
                        "over max_size while blobs are being served; looking again in {}s",
                        RETRY_INTERVAL.as_secs()
                    );
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "eviction failed; the store may grow past max_size (check the data dir's permissions)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::put_blob;

    fn started(root: &Path, max_size: Option<u64>) -> LruStore {
        let store = LruStore::new(LocalStore::open(root).unwrap(), max_size).unwrap();
        while !store.counted() {
            std::thread::sleep(Duration::from_millis(5));
        }
        store
    }

    fn mtime(root: &Path, sha: &str) -> SystemTime {
        std::fs::metadata(scan::blob_path(root, sha).unwrap())
            .unwrap()
            .modified()
            .unwrap()
    }

    #[test]
    fn a_hit_writes_nothing_until_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = started(dir.path(), None);
        let sha = put_blob(&store, "t/a", b"abc", super::super::now_ms());
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(scan::blob_path(dir.path(), &sha).unwrap())
            .unwrap()
            .set_modified(old)
            .unwrap();
        store.open_blob(&sha).unwrap().unwrap();
        assert_eq!(mtime(dir.path(), &sha), old, "a hit must not write");
        store.shared.flush();
        assert!(mtime(dir.path(), &sha) > old + Duration::from_secs(3000));
    }

    #[test]
    fn the_flush_keeps_a_verified_blob_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = started(dir.path(), None);
        let sha = put_blob(&store, "t/a", b"abc", super::super::now_ms());
        std::thread::sleep(Duration::from_millis(20));
        let before = mtime(dir.path(), &sha);
        assert!(!store
            .open_blob(&sha)
            .unwrap()
            .unwrap()
            .check
            .unwrap()
            .needs_hashing());
        store.shared.flush();
        assert!(
            mtime(dir.path(), &sha) > before,
            "the flush moved the mtime"
        );
        let blob = store.open_blob(&sha).unwrap().unwrap();
        assert!(
            !blob.check.unwrap().needs_hashing(),
            "a blob only larder's record of use touched is not hashed again"
        );
    }

    #[test]
    fn passing_max_size_evicts_the_least_recently_used_in_the_background() {
        const BLOB: usize = 200 * 1024;
        let dir = tempfile::tempdir().unwrap();
        // Two blobs, then room for what they take on disk (pointers and directories included)
        // plus half a blob: the third passes max_size, and evicting one brings it under 90 %.
        let two = {
            let store = LocalStore::open(dir.path()).unwrap();
            let first = put_blob(&store, "t/first", &[1; BLOB], super::super::now_ms());
            let second = put_blob(&store, "t/second", &[2; BLOB], super::super::now_ms());
            (first, second)
        };
        let max = scan::disk_usage(dir.path()).unwrap() + BLOB as u64 / 2;
        let store = started(dir.path(), Some(max));
        let (first, second) = two;
        // Make "first" the oldest on disk, then use it: the use record must win.
        for sha in [&first, &second] {
            std::fs::File::open(scan::blob_path(dir.path(), sha).unwrap())
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(600))
                .unwrap();
        }
        drop(store.open_blob(&first).unwrap());
        let third = put_blob(&store, "t/third", &[3; BLOB], super::super::now_ms());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.used() > 2 * BLOB as u64 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(store.used(), 2 * BLOB as u64);
        assert!(
            scan::disk_usage(dir.path()).unwrap() <= max,
            "du within max_size"
        );
        assert!(store.open_blob(&second).unwrap().is_none());
        assert!(store.get_pointer("t/second").unwrap().is_none());
        assert!(store.open_blob(&first).unwrap().is_some());
        assert!(store.open_blob(&third).unwrap().is_some());
    }
}
