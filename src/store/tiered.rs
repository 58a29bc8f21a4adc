//! The tiered store for replicas: the local disk store (LRU-bounded by `max_size`) in front, a
//! shared bucket behind.
//!
//! - Hits are local: a pointer and blob on local disk are served without asking the bucket.
//! - A local miss asks the bucket (pointer, then blob). A blob found there is downloaded whole
//!   into a local temp file, checked against its sha256 and published locally before it is
//!   served; concurrent misses for the same blob on one replica share that download.
//! - A pointer written locally (a fill's publish, a revalidation) is shared in the background:
//!   the blob is uploaded if the bucket lacks it, then the pointer, conditionally (see
//!   [`Bucket::put_pointer`]). A miss everywhere goes upstream once per replica (the engine's
//!   coalescing); replicas do not coordinate their fills.
//! - While the bucket is unreachable (see [`Bucket::degraded`]) the store behaves as the local
//!   store alone; a probe notices when it answers again.

use super::bucket::Bucket;
use super::{BlobFile, Pointer, Store, StoreHealth, TempBlob, Usage};
use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often a reachable bucket is probed (an idle replica notices an outage too).
const PROBE_HEALTHY: Duration = Duration::from_secs(15);
/// How often an unreachable bucket is probed.
const PROBE_DEGRADED: Duration = Duration::from_secs(1);
/// How often the prober looks at the bucket's state (a failed request marks it degraded).
const PROBE_TICK: Duration = Duration::from_millis(250);

pub struct TieredStore {
    /// The local tier (the local store, bounded by `max_size`).
    local: Arc<dyn Store>,
    bucket: Arc<Bucket>,
    runtime: tokio::runtime::Handle,
    /// Blobs being copied from the bucket, so concurrent misses copy once.
    copying: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl TieredStore {
    /// Must be called within a tokio runtime; its handle runs the bucket calls.
    pub fn new(local: Arc<dyn Store>, bucket: Bucket) -> io::Result<TieredStore> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let bucket = Arc::new(bucket);
        let weak: Weak<Bucket> = Arc::downgrade(&bucket);
        runtime.spawn(async move {
            let mut last_probe: Option<std::time::Instant> = None;
            loop {
                let Some(bucket) = weak.upgrade() else { break };
                let due = match last_probe {
                    None => true,
                    Some(at) if bucket.is_degraded() => at.elapsed() >= PROBE_DEGRADED,
                    Some(at) => at.elapsed() >= PROBE_HEALTHY,
                };
                if due {
                    let _ = bucket.probe().await;
                    last_probe = Some(std::time::Instant::now());
                }
                drop(bucket);
                tokio::time::sleep(PROBE_TICK).await;
            }
        });
        Ok(TieredStore {
            local,
            bucket,
            runtime,
            copying: Mutex::new(HashMap::new()),
        })
    }

    pub fn bucket(&self) -> &Arc<Bucket> {
        &self.bucket
    }

    /// Copies a blob from the bucket into the local tier; `None` if the bucket lacks it or
    /// cannot be reached.
    fn copy_from_bucket(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        let lock = self
            .copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(sha256.to_string())
            .or_default()
            .clone();
        let copied = {
            let _one_at_a_time = lock.lock().unwrap_or_else(|p| p.into_inner());
            self.copy_locked(sha256)
        };
        self.copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sha256);
        copied
    }

    fn copy_locked(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        if let Some(blob) = self.local.open_blob(sha256)? {
            return Ok(Some(blob));
        }
        if self.bucket.is_degraded() {
            return Ok(None);
        }
        let mut temp = self.local.create_temp()?;
        let started = std::time::Instant::now();
        match self
            .runtime
            .block_on(self.bucket.get_blob(sha256, &mut temp.file))
        {
            Ok(true) => {
                self.local.publish(&temp.path, sha256)?;
                tracing::debug!(
                    sha256,
                    ms = started.elapsed().as_millis() as u64,
                    "copied from the bucket"
                );
                self.local.open_blob(sha256)
            }
            Ok(false) => {
                self.local.discard(&temp.path);
                Ok(None)
            }
            Err(err) => {
                self.local.discard(&temp.path);
                tracing::warn!(sha256, error = %err, "could not copy a blob from the bucket; treating it as a miss");
                Ok(None)
            }
        }
    }
}

impl Store for TieredStore {
    fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        match self.local.open_blob(sha256)? {
            Some(blob) => Ok(Some(blob)),
            None if self.bucket.is_degraded() || !super::is_sha256_hex(sha256) => Ok(None),
            None => self.copy_from_bucket(sha256),
        }
    }

    fn create_temp(&self) -> io::Result<TempBlob> {
        self.local.create_temp()
    }

    /// Hits are local (module comment), so the local tier's fast path is this store's.
    fn hit_without_waiting(&self, key: &str, read_up_to: u64) -> Option<(Pointer, BlobFile)> {
        self.local.hit_without_waiting(key, read_up_to)
    }

    fn blob_without_waiting(&self, sha256: &str, read_up_to: u64) -> Option<BlobFile> {
        self.local.blob_without_waiting(sha256, read_up_to)
    }

    fn publish(&self, temp: &Path, sha256: &str) -> io::Result<()> {
        // Shared with its pointer (`put_pointer`), so the bucket never holds a pointer whose
        // blob it lacks.
        self.local.publish(temp, sha256)
    }

    fn discard(&self, temp: &Path) {
        self.local.discard(temp)
    }

    fn get_pointer(&self, key: &str) -> io::Result<Option<Pointer>> {
        if let Some(pointer) = self.local.get_pointer(key)? {
            return Ok(Some(pointer));
        }
        if self.bucket.is_degraded() {
            return Ok(None);
        }
        match self.runtime.block_on(self.bucket.get_pointer(key)) {
            Ok(Some(pointer)) => {
                if let Err(err) = self.local.put_pointer(&pointer) {
                    tracing::warn!(%key, error = %err, "could not keep the bucket's pointer locally");
                }
                Ok(Some(pointer))
            }
            Ok(None) => Ok(None),
            Err(err) => {
                tracing::warn!(%key, error = %err, "could not read a pointer from the bucket; treating it as a miss");
                Ok(None)
            }
        }
    }

    fn put_pointer(&self, pointer: &Pointer) -> io::Result<()> {
        self.local.put_pointer(pointer)?;
        if self.bucket.is_degraded() {
            tracing::debug!(key = %pointer.key, "bucket unreachable; not shared");
            return Ok(());
        }
        let (bucket, local, pointer) = (self.bucket.clone(), self.local.clone(), pointer.clone());
        bucket.upload_started();
        self.runtime.spawn(async move {
            if let Err(err) = share(&bucket, local.as_ref(), &pointer).await {
                tracing::warn!(key = %pointer.key, error = %err, "could not share an object through the bucket; it stays on this replica");
            }
            bucket.upload_finished();
        });
        Ok(())
    }

    /// The local tier's usage (the bucket's is bounded by its lifecycle rules, not by larder).
    fn usage(&self) -> io::Result<Usage> {
        self.local.usage()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            shared: true,
            degraded: self.bucket.degraded(),
            pending_uploads: self.bucket.pending_uploads(),
        }
    }
}

/// Uploads the blob if the bucket lacks it, then the pointer.
async fn share(
    bucket: &Bucket,
    local: &dyn Store,
    pointer: &Pointer,
) -> Result<(), super::bucket::BucketError> {
    if let Some(sha) = &pointer.sha256 {
        if !bucket.has_blob(sha).await? {
            let Some(blob) = local.open_blob(sha)? else {
                return Ok(());
            };
            bucket.put_blob(sha, blob.file).await?;
        }
    }
    bucket.put_pointer(pointer).await?;
    Ok(())
}
