//! The store: two planes behind one trait.
//!
//! - blobs: immutable bytes addressed by their sha256, published only after verification;
//! - pointers: one small mutable record per object key (which blob, upstream validators, when
//!   upstream last confirmed it).
//!
//! The local disk backend lives in [`local`]; [`archive`] moves its content between machines
//! (`larder export` / `larder import`); [`lru`] wraps it with a record of use and
//! eviction under `max_size` ([`evict`]); [`scan`] walks it for `larder gc` and `larder verify`
//! ([`verify`]); hits are checked against their blob's name ([`integrity`]), damaged blobs moved
//! to a [`quarantine`], and every blob re-hashed in turn in the background ([`scrub`]).
//! Replicas put that local tier in front of a shared S3-compatible bucket ([`bucket`]) as a
//! [`tiered`] shared tier, which [`facade`] consults. Adapters never see the store.

pub mod archive;
pub mod bucket;
mod bucket_copy;
pub mod bucket_metrics;
pub mod evict;
pub mod facade;
pub mod growing;
pub mod integrity;
pub mod lease;
pub mod local;
pub mod lru;
pub mod quarantine;
mod resync;
pub mod scan;
pub mod scrub;
pub mod share_queue;
#[cfg(test)]
mod testing;
pub mod tiered;
pub mod verify;

use serde::{Deserialize, Serialize};
use std::io;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

pub use facade::{read_whole, AsyncStore, PublishError, SMALL_BLOB};
pub use local::LocalStore;
pub use lru::LruStore;
pub use tiered::{Claim, SharedTier};

/// A store's state for `/-/health`.
#[derive(Clone, Debug, Default)]
pub struct StoreHealth {
    /// Whether there is a shared tier (a bucket) at all.
    pub shared: bool,
    /// Since when (unix ms) and why the shared tier is unreachable.
    pub degraded: Option<(u64, String)>,
    /// Objects being shared in the background.
    pub pending_uploads: usize,
    /// Objects stored while they could not be shared, waiting for the bucket.
    pub share_queue: usize,
    /// This replica's name in the fleet (`host/pid`).
    pub replica: Option<String>,
    /// Misses that waited for another replica's fetch instead of going upstream.
    pub fleet_coalesced: u64,
}

pub fn is_sha256_hex(sha256: &str) -> bool {
    sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the store knows about one object key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    pub key: String,
    /// The upstream status this record remembers: 200, or 404/410 for a negative entry.
    pub status: u16,
    /// Hex sha256 of the blob (absent for negative entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Unix milliseconds when upstream last confirmed this record (200 or 304).
    pub fetched_at_ms: u64,
    /// The declared digest the blob was verified against, if any (`sha512:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

impl Pointer {
    /// A record that `key` is the blob `sha256` of `size` bytes, confirmed just now, with no
    /// upstream validators or verified digest (set them with struct update syntax).
    pub fn stored(key: &str, sha256: &str, size: u64) -> Pointer {
        Pointer {
            key: key.to_string(),
            status: 200,
            sha256: Some(sha256.to_string()),
            size,
            content_type: None,
            etag: None,
            last_modified: None,
            fetched_at_ms: now_ms(),
            verified: None,
        }
    }

    /// A record that upstream answered `status` (404, 410) for `key` just now.
    pub fn negative(key: &str, status: u16) -> Pointer {
        Pointer {
            key: key.to_string(),
            status,
            sha256: None,
            size: 0,
            content_type: None,
            etag: None,
            last_modified: None,
            fetched_at_ms: now_ms(),
            verified: None,
        }
    }

    pub fn is_negative(&self) -> bool {
        self.sha256.is_none()
    }

    pub fn age_ms(&self) -> u64 {
        now_ms().saturating_sub(self.fetched_at_ms)
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A blob opened for reading: a file that supports positioned reads (Range, zero-copy later).
pub struct BlobFile {
    pub file: std::fs::File,
    pub len: u64,
    /// The whole content, when the engine read it together with the open (small blobs): the
    /// body is then served from memory, without another trip to the blocking pool.
    pub content: Option<bytes::Bytes>,
    /// How a response checks these bytes against the blob's name (`None`: a store that does not
    /// check hits). Boxed: most of a hit's `Found` is this otherwise.
    pub check: Option<Box<integrity::BlobCheck>>,
    /// Set while the blob is still being copied from the shared bucket into `file` (a temp
    /// file, published when verified): readers follow the copy as it grows.
    pub growing: Option<Box<growing::Growing>>,
}

impl BlobFile {
    /// A second handle on the same open blob (a `dup` of its descriptor), for a caller that
    /// must keep this one.
    pub fn duplicate(&self) -> Option<BlobFile> {
        Some(BlobFile {
            file: self.file.try_clone().ok()?,
            len: self.len,
            content: self.content.clone(),
            check: self.check.clone(),
            growing: self.growing.clone(),
        })
    }
}

/// What [`Store::hit_without_waiting`] could tell at once.
// Returned once per lookup and never stored: boxing the hit would allocate on every hit.
#[allow(clippy::large_enum_variant)]
pub enum QuickLookup {
    Hit(Pointer, BlobFile),
    /// The key has no record here (the file system said so without waiting).
    NoRecord,
    /// Not known without waiting (a record or blob not in the page cache), or not a plain hit
    /// (a negative record, a blob larger than asked for): the blocking pool looks.
    Ask,
}

/// A temp file being filled; becomes a blob through [`Store::publish`].
pub struct TempBlob {
    pub path: PathBuf,
    pub file: std::fs::File,
}

/// The local storage backend. Every method may block on a disk, except
/// [`Store::hit_without_waiting`] and [`Store::blob_without_waiting`], which must return at once:
/// async code calls the others only through [`AsyncStore`], which runs them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Opens the blob with this hex sha256, if present.
    fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>>;
    /// Creates a temp file for a fill. Fails when the disk is full or unwritable.
    fn create_temp(&self) -> io::Result<TempBlob>;
    /// Atomically makes a verified temp file the blob `sha256`. Idempotent.
    fn publish(&self, temp: &std::path::Path, sha256: &str) -> io::Result<()>;
    /// Removes an unpublished temp file.
    fn discard(&self, temp: &std::path::Path);
    fn get_pointer(&self, key: &str) -> io::Result<Option<Pointer>>;
    /// The record and blob of a stored object (not a negative record), if both can be read
    /// now without waiting for a disk: the pointer, and the whole blob when it is at most
    /// `read_up_to` bytes, already in memory or the page cache. The engine calls this on an
    /// async worker, sparing a hit the hand-off to the blocking pool that is most of a small
    /// hit's cost, and a miss the same hand-off when there is no record at all.
    fn hit_without_waiting(&self, _key: &str, _read_up_to: u64) -> QuickLookup {
        QuickLookup::Ask
    }
    /// The blob alone, on the same terms as [`Store::hit_without_waiting`].
    fn blob_without_waiting(&self, _sha256: &str, _read_up_to: u64) -> Option<BlobFile> {
        None
    }
    /// Writes a pointer unless the stored one is newer (`fetched_at_ms`): two writers refreshing
    /// the same object never leave the older record on top.
    fn put_pointer(&self, pointer: &Pointer) -> io::Result<()>;
    /// Removes `pointer`'s record again if the blob it names is gone (and the record still
    /// names it). Called after a fill's record is written: eviction may remove the blob between
    /// its publication and the record's write, after it looked for records naming it; one of
    /// the two then always sees the other's work, so no record is left pointing nowhere.
    fn forget_if_blob_missing(&self, _pointer: &Pointer) -> io::Result<()> {
        Ok(())
    }
    /// What the blobs take up now (for `/-/metrics` and the status page; may walk the store).
    fn usage(&self) -> io::Result<Usage>;
    /// Called once before the process exits: background work on the store (an eviction pass)
    /// ends at a point that leaves it consistent, and this returns when it has.
    fn stop(&self) {}
}

/// The blobs a store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub blobs: u64,
}
