//! The store as the async code sees it: the local store's calls that may block (a disk) run on
//! the blocking pool here, so no async worker ever waits for a disk; the calls that never block
//! ([`Store::hit_without_waiting`], [`Store::blob_without_waiting`]) are made directly. For
//! replicas, a [`SharedTier`] (a bucket) answers where the local store has nothing, awaited.

use super::lease::FleetLease;
use super::tiered::{Claim, SharedTier};
use super::{BlobFile, Pointer, QuickLookup, Store, StoreHealth, TempBlob, Usage};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Blobs up to this size are read with the lookup that opens them and served from memory: a
/// hit then costs no hand-off to the blocking pool when the blob is in the page cache
/// (`Store::hit_without_waiting`), and one instead of two when it is not (benches/RESULTS.md).
/// At 256 connections this holds at most 16 MiB.
pub const SMALL_BLOB: u64 = 64 * 1024;

/// What [`AsyncStore::publish_with_record`] could not do.
#[derive(Debug)]
pub enum PublishError {
    /// The blob was not stored (its temp file is gone).
    Blob(io::Error),
    /// The blob is stored, but the record naming it was not written: the key finds nothing.
    Record(io::Error),
}

#[derive(Clone)]
pub struct AsyncStore {
    store: Arc<dyn Store>,
    shared: Option<Arc<SharedTier>>,
}

impl AsyncStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AsyncStore {
            store,
            shared: None,
        }
    }

    /// The local store in front of a shared tier (replicas).
    pub fn with_shared(store: Arc<dyn Store>, shared: SharedTier) -> Self {
        AsyncStore {
            store,
            shared: Some(Arc::new(shared)),
        }
    }

    /// The local store, for the calls that never block.
    pub fn now(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn shared(&self) -> Option<&Arc<SharedTier>> {
        self.shared.as_ref()
    }

    pub fn health(&self) -> StoreHealth {
        match &self.shared {
            Some(shared) => shared.health(),
            None => StoreHealth::default(),
        }
    }

    /// An object's record and, for a stored body, its blob (read whole when small). `None`
    /// when there is no record, or its blob is gone. Hits are local; a local miss asks the
    /// shared tier, and keeps what it finds: a blob larger than [`SMALL_BLOB`] is returned while
    /// it is still being copied ([`BlobFile::growing`]), so its reader gets bytes at once.
    pub async fn lookup(&self, key: &str) -> io::Result<Option<(Pointer, Option<BlobFile>)>> {
        let local = match self.store.hit_without_waiting(key, SMALL_BLOB) {
            QuickLookup::Hit(pointer, blob) => return Ok(Some((pointer, Some(blob)))),
            QuickLookup::NoRecord => None,
            QuickLookup::Ask => {
                let owned = key.to_string();
                self.call(move |store| {
                    let Some(pointer) = store.get_pointer(&owned)? else {
                        return Ok(None);
                    };
                    let blob = match &pointer.sha256 {
                        Some(sha) => store.open_blob(sha)?.map(read_if_small).transpose()?,
                        None => None,
                    };
                    Ok(Some((pointer, blob)))
                })
                .await?
            }
        };
        let pointer = match local {
            Some((pointer, Some(blob))) => return Ok(Some((pointer, Some(blob)))),
            Some((pointer, None)) if pointer.is_negative() => return Ok(Some((pointer, None))),
            Some((pointer, None)) => pointer,
            None => match self.pointer_from_shared(key).await? {
                Some(pointer) => pointer,
                None => return Ok(None),
            },
        };
        match (&pointer.sha256, &self.shared) {
            (None, _) => Ok(Some((pointer, None))),
            // Larger than a read into memory: streamed from the bucket as it arrives.
            (Some(_), Some(shared)) if pointer.size > SMALL_BLOB => {
                let blob = shared.streamed_blob(&self.store, &pointer).await;
                Ok(blob.map(|blob| (pointer, Some(blob))))
            }
            (Some(sha), _) => Ok(self.open_blob(sha).await?.map(|blob| (pointer, Some(blob)))),
        }
    }

    /// The shared tier's record of `key`, kept locally.
    async fn pointer_from_shared(&self, key: &str) -> io::Result<Option<Pointer>> {
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        let Some(pointer) = shared.pointer(key).await else {
            return Ok(None);
        };
        let kept = pointer.clone();
        if let Err(err) = self.call(move |store| store.put_pointer(&kept)).await {
            tracing::warn!(%key, error = %err, "could not keep the bucket's pointer locally");
        }
        Ok(Some(pointer))
    }

    /// The blob `sha256`, read whole when small: local, else copied from the shared tier.
    pub async fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        let sha = sha256.to_string();
        let local = self
            .call(move |store| store.open_blob(&sha)?.map(read_if_small).transpose())
            .await?;
        match (local, &self.shared) {
            (Some(blob), _) => Ok(Some(blob)),
            (None, None) => Ok(None),
            (None, Some(shared)) => match shared.copy_blob(&self.store, sha256).await {
                Some(blob) => {
                    let blob = tokio::task::spawn_blocking(move || read_if_small(blob));
                    Ok(Some(blob.await.map_err(io::Error::other)??))
                }
                None => Ok(None),
            },
        }
    }

    /// The blob a record names, if it is still there.
    pub async fn open_blob_of(&self, pointer: &Pointer) -> Option<BlobFile> {
        self.open_blob(pointer.sha256.as_deref()?)
            .await
            .ok()
            .flatten()
    }

    /// Claims `key` for the fleet before going upstream for it (see [`SharedTier::claim`]);
    /// without a shared tier there is no fleet.
    pub async fn claim(&self, key: &str, max_wait: std::time::Duration) -> Claim {
        match &self.shared {
            Some(shared) => shared.claim(&self.store, key, max_wait).await,
            None => Claim::Alone,
        }
    }

    /// Holds a fleet lease until the record of its object is shared.
    pub fn hold_until_shared(&self, lease: FleetLease) {
        if let Some(shared) = &self.shared {
            shared.hold_until_shared(lease);
        }
    }

    /// Gives up this replica's fleet lease on `key`, if any (its fetch stored nothing).
    pub fn release_claim(&self, key: &str) {
        if let Some(shared) = &self.shared {
            shared.release(key);
        }
    }

    /// A record another replica published, kept locally, and its blob streamed from the
    /// bucket (`None`: the bucket could not deliver it).
    pub async fn from_fleet(&self, pointer: &Pointer) -> Option<BlobFile> {
        let shared = self.shared.as_ref()?;
        let kept = pointer.clone();
        if let Err(err) = self.call(move |store| store.put_pointer(&kept)).await {
            tracing::warn!(key = %pointer.key, error = %err, "could not keep the bucket's pointer locally");
        }
        shared.streamed_blob(&self.store, pointer).await
    }

    /// Writes records locally, then shares them in the background through the shared tier.
    pub async fn put_pointers(&self, pointers: Vec<Pointer>) -> io::Result<()> {
        let written = self.to_share(&pointers);
        self.call(move |store| {
            pointers
                .iter()
                .try_for_each(|pointer| write_record(store, pointer))
        })
        .await?;
        self.share(&written);
        Ok(())
    }

    /// The records [`AsyncStore::share`] will share once written: none without a shared tier.
    fn to_share(&self, records: &[Pointer]) -> Vec<Pointer> {
        match &self.shared {
            Some(_) => records.to_vec(),
            None => Vec::new(),
        }
    }

    fn share(&self, written: &[Pointer]) {
        if let Some(shared) = &self.shared {
            for pointer in written {
                shared.share(&self.store, pointer);
            }
        }
    }

    /// Publishes a verified temp file as the blob `sha256` and writes the record that names it
    /// (then shares it, as [`AsyncStore::put_pointers`]), in one trip to the blocking pool: a
    /// fill's last byte waits for both. A temp file that cannot be published is removed.
    pub async fn publish_with_record(
        &self,
        temp: PathBuf,
        sha256: String,
        record: Pointer,
    ) -> Result<(), PublishError> {
        let written = self.to_share(std::slice::from_ref(&record));
        self.call(move |store| {
            if let Err(err) = publish_or_discard(store, &temp, &sha256) {
                return Ok(Err(PublishError::Blob(err)));
            }
            Ok(write_record(store, &record).map_err(PublishError::Record))
        })
        .await
        .unwrap_or_else(|err| Err(PublishError::Blob(err)))?;
        self.share(&written);
        Ok(())
    }

    pub async fn create_temp(&self) -> io::Result<TempBlob> {
        self.call(|store| store.create_temp()).await
    }

    /// Publishes a verified temp file as the blob `sha256`; one that cannot be is removed.
    pub async fn publish(&self, temp: PathBuf, sha256: String) -> io::Result<()> {
        self.call(move |store| publish_or_discard(store, &temp, &sha256))
            .await
    }

    pub async fn discard(&self, temp: PathBuf) {
        let _ = self
            .call(move |store| {
                store.discard(&temp);
                Ok(())
            })
            .await;
    }

    /// [`Store::stop`]: waits for background work on the store to reach a consistent point.
    pub async fn stop(&self) {
        let _ = self
            .call(|store| {
                store.stop();
                Ok(())
            })
            .await;
    }

    pub async fn usage(&self) -> io::Result<Usage> {
        self.call(|store| store.usage()).await
    }

    async fn call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn Store) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        blocking(&self.store, op).await
    }
}

/// Runs a blocking store operation off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    op: impl FnOnce(&dyn Store) -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || op(store.as_ref()))
        .await
        .map_err(io::Error::other)?
}

fn publish_or_discard(store: &dyn Store, temp: &std::path::Path, sha256: &str) -> io::Result<()> {
    store
        .publish(temp, sha256)
        .inspect_err(|_| store.discard(temp))
}

/// Writes a record, then removes it again if eviction took its blob meanwhile
/// ([`Store::forget_if_blob_missing`]).
fn write_record(store: &dyn Store, record: &Pointer) -> io::Result<()> {
    store.put_pointer(record)?;
    store.forget_if_blob_missing(record)
}

/// A whole file, read on the blocking pool (an index to parse).
pub async fn read_whole(file: Arc<std::fs::File>) -> io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let len = file.metadata()?.len() as usize;
        let mut buf = vec![0; len];
        file.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    })
    .await
    .map_err(io::Error::other)?
}

fn read_if_small(mut blob: BlobFile) -> io::Result<BlobFile> {
    if blob.len <= SMALL_BLOB {
        let mut content = vec![0; blob.len as usize];
        blob.file.read_exact_at(&mut content, 0)?;
        blob.content = Some(bytes::Bytes::from(content));
    }
    Ok(blob)
}
