//! Hits checked against their blob's name, so that a damaged disk never reaches a client as a
//! good file.
//!
//! - A hit whose blob has another size than its record (a truncated file) is a miss: the blob
//!   is quarantined ([`super::quarantine`]) and the object refetched.
//! - A blob not verified since it was last written is hashed before it is served: up to
//!   [`HASH_FIRST_UP_TO`] (16 MiB) before the engine answers, so a mismatch is a miss and the
//!   client gets the refetched copy without noticing; a larger one while it streams, its last
//!   chunk held until the digest matches, so a mismatch cuts the connection (the client sees an
//!   error, never a short or wrong file) and the next request refetches. A range of a large
//!   unverified blob waits for the whole blob to be hashed first.
//! - "Verified since it was last written" is remembered in memory per blob, with the file's
//!   identity (inode, size, modification time): a fill verified what it published, a served
//!   blob whose hash matched is known good, and any write to the file changes its modification
//!   time, so it is hashed again. larder's own record of use moves modification times too
//!   (`super::lru`), and carries the memory along ([`Integrity::restamp`]).
//! - Bytes that rot without a write (a bad sector) keep the file's identity: the background
//!   scrubber ([`super::scrub`]) re-hashes every blob in turn for those.
//!
//! Hashing every hit instead ([`HitHashing::Always`]) costs more than the 10 % the hit path may
//! spend (benches/RESULTS.md), which is why verified blobs are remembered.

use super::{BlobFile, Pointer};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How many verified blobs are remembered (about 3 MB) before the memory starts again; a blob
/// forgotten is hashed once more on its next hit.
const CAPACITY: usize = 65_536;

/// The environment variable that chooses [`HitHashing`] (for benchmarks and the suspicious).
pub const HIT_HASHING_ENV: &str = "LARDER_HIT_HASHING";

/// Which hits are hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitHashing {
    /// Blobs not verified since they were last written (the default).
    Unverified,
    /// Every hit, verified before or not.
    Always,
    /// None (sizes are still checked).
    Off,
}

impl HitHashing {
    /// From [`HIT_HASHING_ENV`]: `always`, `off`, or anything else for the default.
    pub fn from_env() -> HitHashing {
        match std::env::var(HIT_HASHING_ENV).as_deref() {
            Ok("always") => HitHashing::Always,
            Ok("off") => HitHashing::Off,
            _ => HitHashing::Unverified,
        }
    }
}

/// A blob file's identity: what changes when it is written, replaced or truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub ino: u64,
    pub len: u64,
    pub mtime_ns: i128,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

/// Why a hit was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The blob's size differs from its record's.
    Size,
    /// The blob's bytes do not hash to its name.
    Digest,
}

impl Damage {
    /// The `kind` label of `larder_quarantined_blobs_total`.
    pub fn label(self) -> &'static str {
        match self {
            Damage::Size => "size",
            Damage::Digest => "digest",
        }
    }
}

/// One local store's memory of verified blobs, and its quarantine.
pub struct Integrity {
    root: PathBuf,
    hashing: HitHashing,
    verified: Mutex<HashMap<[u8; 32], Stamp>>,
}

impl Integrity {
    pub fn new(root: PathBuf, hashing: HitHashing) -> Integrity {
        Integrity {
            root,
            hashing,
            verified: Mutex::default(),
        }
    }

    pub fn hashing(&self) -> HitHashing {
        self.hashing
    }

    /// What a response needs to check the blob `sha256` opened with this identity.
    pub fn check(self: &Arc<Self>, sha256: &str, stamp: Stamp) -> Option<Box<BlobCheck>> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(sha256, &mut digest).ok()?;
        Some(Box::new(BlobCheck {
            integrity: self.clone(),
            digest,
            stamp,
        }))
    }

    /// Remembers that the blob with this identity hashes to its name (a fill just verified and
    /// published it, or a hit hashed it).
    pub fn verified(&self, digest: [u8; 32], stamp: Stamp) {
        let mut verified = self.lock();
        if verified.len() >= CAPACITY && !verified.contains_key(&digest) {
            verified.clear();
        }
        verified.insert(digest, stamp);
    }

    /// The record of use set a blob's modification time: a blob verified before still is.
    pub fn restamp(&self, sha256: &str, before: Stamp, after: Stamp) {
        let mut digest = [0u8; 32];
        if hex::decode_to_slice(sha256, &mut digest).is_err() {
            return;
        }
        if let Some(stamp) = self.lock().get_mut(&digest) {
            if *stamp == before {
                *stamp = after;
            }
        }
    }

    fn needs_hashing(&self, digest: &[u8; 32], stamp: Stamp) -> bool {
        match self.hashing {
            HitHashing::Always => true,
            HitHashing::Off => false,
            HitHashing::Unverified => self.lock().get(digest) != Some(&stamp),
        }
    }

    fn forget(&self, digest: &[u8; 32]) {
        self.lock().remove(digest);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Stamp>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How a response checks the one blob it serves.
#[derive(Clone)]
pub struct BlobCheck {
    integrity: Arc<Integrity>,
    digest: [u8; 32],
    stamp: Stamp,
}

impl BlobCheck {
    /// Whether this blob must be hashed before its last byte is served.
    pub fn needs_hashing(&self) -> bool {
        self.integrity.needs_hashing(&self.digest, self.stamp)
    }

    /// Whether `actual` (a finished sha256) is this blob's name; remembered when it is.
    pub fn matches(&self, actual: &[u8]) -> bool {
        let matches = actual == self.digest;
        if matches {
            self.integrity.verified(self.digest, self.stamp);
        }
        matches
    }

    /// Moves the damaged blob out of the store and says so in the log (for `key`).
    pub fn quarantine(&self, key: &str, damage: Damage) {
        self.integrity.forget(&self.digest);
        let sha256 = hex::encode(self.digest);
        let what = match damage {
            Damage::Size => "its size differs from its record",
            Damage::Digest => "its bytes do not hash to its name",
        };
        match super::quarantine::move_out(&self.integrity.root, &sha256, self.stamp.ino) {
            Ok(moved) => tracing::error!(
                blob = %sha256,
                %key,
                quarantined = %moved.map_or_else(|| "(already replaced)".into(), |p| p.display().to_string()),
                "a stored blob is damaged ({what}); moved out of the store, the next request \
                 refetches it (check the disk: dmesg, smartctl)"
            ),
            Err(err) => tracing::error!(
                blob = %sha256,
                %key,
                error = %err,
                "a stored blob is damaged ({what}) and could not be moved out; run `larder \
                 verify --repair` and check the data dir's permissions"
            ),
        }
    }
}

/// Blobs up to this size that need hashing are hashed whole before the engine answers, so a
/// mismatch is a miss: the client gets the refetched copy and never an error, and never a byte
/// of the damaged one (which a client resuming with `Range` could splice onto good bytes under
/// the same ETag). 16 MiB take about 12 ms to hash from the page cache (sha256 at ~1.4 GB/s),
/// about 0.1 s from a slow disk. Larger blobs are hashed as they stream, their last chunk held
/// (`body::blob_range`): hashing a 2 GB wheel first could outlast a client's read timeout.
pub const HASH_FIRST_UP_TO: u64 = 16 * 1024 * 1024;

/// Whether a hit on `pointer` may be served from `blob`: its size is the recorded one and, when
/// it needs hashing and is at most [`HASH_FIRST_UP_TO`], its bytes hash to its name (then its
/// body is not hashed again). A damaged blob is quarantined here; the caller treats the hit as
/// a miss. Hashes on the async worker only what was read with the lookup (≤ 64 KiB); a file, on
/// the blocking pool.
pub async fn check_hit(key: &str, pointer: &Pointer, blob: &mut BlobFile) -> Result<(), Damage> {
    let damage = match hash_first(pointer, blob).await {
        Ok(()) => return Ok(()),
        Err(damage) => damage,
    };
    match &blob.check {
        Some(check) => check.quarantine(key, damage),
        None => tracing::error!(%key, ?damage, "a stored blob is damaged; refetching it"),
    }
    Err(damage)
}

async fn hash_first(pointer: &Pointer, blob: &mut BlobFile) -> Result<(), Damage> {
    if blob.len != pointer.size {
        return Err(Damage::Size);
    }
    let Some(check) = blob.check.as_ref().filter(|check| check.needs_hashing()) else {
        return Ok(());
    };
    let actual = match &blob.content {
        Some(content) => Sha256::digest(content).into(),
        None if blob.len <= HASH_FIRST_UP_TO => {
            let (file, len) = (blob.file.try_clone(), blob.len);
            let hashed = tokio::task::spawn_blocking(move || hash_file(&file?, len)).await;
            match hashed {
                Ok(Ok(actual)) => actual,
                // Unreadable now: left to the body, which fails the response if it stays so.
                _ => return Ok(()),
            }
        }
        None => return Ok(()), // hashed as it streams
    };
    if !check.matches(&actual) {
        return Err(Damage::Digest);
    }
    blob.check = None;
    Ok(())
}

/// The sha256 of bytes `0..len` of `file` (an error if it has fewer).
pub fn hash_file(file: &std::fs::File, len: u64) -> std::io::Result<[u8; 32]> {
    use std::os::unix::fs::FileExt;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; (1 << 20).min(len as usize)];
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], pos)?;
        hasher.update(&buf[..n]);
        pos += n as u64;
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::put_blob;
    use crate::store::{LocalStore, Store};
    use std::io::Write;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn hit(store: &LocalStore, key: &str) -> (Pointer, BlobFile) {
        let pointer = store.get_pointer(key).unwrap().unwrap();
        let mut blob = store
            .open_blob(pointer.sha256.as_deref().unwrap())
            .unwrap()
            .unwrap();
        let mut content = vec![0; blob.len as usize];
        std::os::unix::fs::FileExt::read_exact_at(&blob.file, &mut content, 0).unwrap();
        blob.content = Some(content.into());
        (pointer, blob)
    }

    fn overwrite(store: &LocalStore, sha: &str, bytes: &[u8]) {
        let path = crate::store::scan::blob_path(store.root(), sha).unwrap();
        // A write a jiffy after the publish, so the modification time moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .unwrap();
        file.write_all(bytes).unwrap();
    }

    #[test]
    fn a_published_blob_is_known_good_until_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let sha = put_blob(&store, "t/a", b"good bytes", 1);
        let (pointer, mut blob) = hit(&store, "t/a");
        assert!(!blob.check.as_ref().unwrap().needs_hashing());
        assert_eq!(block_on(check_hit("t/a", &pointer, &mut blob)), Ok(()));

        overwrite(&store, &sha, b"bad! bytes");
        let (pointer, mut blob) = hit(&store, "t/a");
        assert!(blob.check.as_ref().unwrap().needs_hashing());
        assert_eq!(
            block_on(check_hit("t/a", &pointer, &mut blob)),
            Err(Damage::Digest)
        );
        assert!(store.open_blob(&sha).unwrap().is_none(), "quarantined");
        assert_eq!(
            std::fs::read_dir(dir.path().join("quarantine"))
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn a_truncated_blob_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let sha = put_blob(&store, "t/a", b"good bytes", 1);
        overwrite(&store, &sha, b"good");
        let (pointer, mut blob) = hit(&store, "t/a");
        assert_eq!(
            block_on(check_hit("t/a", &pointer, &mut blob)),
            Err(Damage::Size)
        );
        assert!(store.open_blob(&sha).unwrap().is_none(), "quarantined");
    }

    #[test]
    fn a_blob_hashed_on_a_hit_is_remembered_and_survives_a_restamp() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let sha = put_blob(&store, "t/a", b"good bytes", 1);
        // After a restart nothing is known: the first hit hashes.
        let store = LocalStore::open(dir.path()).unwrap();
        let (pointer, mut blob) = hit(&store, "t/a");
        assert!(blob.check.as_ref().unwrap().needs_hashing());
        assert_eq!(block_on(check_hit("t/a", &pointer, &mut blob)), Ok(()));
        let (_, blob) = hit(&store, "t/a");
        assert!(!blob.check.as_ref().unwrap().needs_hashing());

        let path = crate::store::scan::blob_path(store.root(), &sha).unwrap();
        let before = Stamp::of(&std::fs::metadata(&path).unwrap());
        let file = std::fs::File::open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
        let after = Stamp::of(&file.metadata().unwrap());
        let (_, blob) = hit(&store, "t/a");
        assert!(blob.check.as_ref().unwrap().needs_hashing(), "moved mtime");
        store.integrity().restamp(&sha, before, after);
        let (_, blob) = hit(&store, "t/a");
        assert!(
            !blob.check.as_ref().unwrap().needs_hashing(),
            "carried along"
        );
    }
}
