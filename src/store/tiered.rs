//! The shared tier for replicas: a bucket behind the local disk store (LRU-bounded by
//! `max_size`). [`super::AsyncStore`] consults it where the local store has nothing; every call
//! to the bucket is awaited (none blocks a thread).
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
use super::facade::blocking;
use super::{BlobFile, Pointer, Store, StoreHealth};
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often a reachable bucket is probed (an idle replica notices an outage too).
const PROBE_HEALTHY: Duration = Duration::from_secs(15);
/// How often an unreachable bucket is probed.
const PROBE_DEGRADED: Duration = Duration::from_secs(1);
/// How often the prober looks at the bucket's state (a failed request marks it degraded).
const PROBE_TICK: Duration = Duration::from_millis(250);

pub struct SharedTier {
    bucket: Arc<Bucket>,
    /// Blobs being copied from the bucket, so concurrent misses copy once.
    copying: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl SharedTier {
    /// Must be called within a tokio runtime, which runs the bucket's prober.
    pub fn new(bucket: Bucket) -> io::Result<SharedTier> {
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
        Ok(SharedTier {
            bucket,
            copying: Mutex::new(HashMap::new()),
        })
    }

    pub fn bucket(&self) -> &Arc<Bucket> {
        &self.bucket
    }

    /// The bucket's record of `key`, if it is reachable and has one.
    pub async fn pointer(&self, key: &str) -> Option<Pointer> {
        if self.bucket.is_degraded() {
            return None;
        }
        match self.bucket.get_pointer(key).await {
            Ok(pointer) => pointer,
            Err(err) => {
                tracing::warn!(%key, error = %err, "could not read a pointer from the bucket; treating it as a miss");
                None
            }
        }
    }

    /// Copies a blob from the bucket into the local tier; `None` if the bucket lacks it or
    /// cannot be reached. Concurrent copies of one blob on this replica are one.
    pub async fn copy_blob(&self, local: &Arc<dyn Store>, sha256: &str) -> Option<BlobFile> {
        if self.bucket.is_degraded() || !super::is_sha256_hex(sha256) {
            return None;
        }
        let lock = self
            .copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(sha256.to_string())
            .or_default()
            .clone();
        let copied = {
            let _one_at_a_time = lock.lock().await;
            self.copy_locked(local, sha256).await
        };
        self.copying
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sha256);
        match copied {
            Ok(blob) => blob,
            Err(err) => {
                tracing::warn!(sha256, error = %err, "could not copy a blob from the bucket; treating it as a miss");
                None
            }
        }
    }

    async fn copy_locked(
        &self,
        local: &Arc<dyn Store>,
        sha256: &str,
    ) -> io::Result<Option<BlobFile>> {
        let sha = sha256.to_string();
        let mut temp = match blocking(local, move |local| match local.open_blob(&sha)? {
            Some(blob) => Ok(Err(blob)),
            None => local.create_temp().map(Ok),
        })
        .await?
        {
            // Copied meanwhile by a request that held the lock before this one.
            Err(blob) => return Ok(Some(blob)),
            Ok(temp) => temp,
        };
        let started = std::time::Instant::now();
        let got = self.bucket.get_blob(sha256, &mut temp.file).await;
        let sha = sha256.to_string();
        let path = temp.path.clone();
        match got {
            Ok(true) => {
                let blob = blocking(local, move |local| {
                    local.publish(&path, &sha)?;
                    local.open_blob(&sha)
                })
                .await?;
                tracing::debug!(
                    sha256,
                    ms = started.elapsed().as_millis() as u64,
                    "copied from the bucket"
                );
                Ok(blob)
            }
            Ok(false) => {
                discard(local, path).await;
                Ok(None)
            }
            Err(err) => {
                discard(local, path).await;
                Err(io::Error::other(err.to_string()))
            }
        }
    }

    /// Shares a record written locally, in the background: its blob first (if the bucket
    /// lacks it), then the record, so the bucket never holds a pointer whose blob it lacks.
    pub fn share(&self, local: &Arc<dyn Store>, pointer: &Pointer) {
        if self.bucket.is_degraded() {
            tracing::debug!(key = %pointer.key, "bucket unreachable; not shared");
            return;
        }
        let (bucket, local, pointer) = (self.bucket.clone(), local.clone(), pointer.clone());
        bucket.upload_started();
        tokio::spawn(async move {
            if let Err(err) = share(&bucket, &local, &pointer).await {
                tracing::warn!(key = %pointer.key, error = %err, "could not share an object through the bucket; it stays on this replica");
            }
            bucket.upload_finished();
        });
    }

    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            shared: true,
            degraded: self.bucket.degraded(),
            pending_uploads: self.bucket.pending_uploads(),
        }
    }
}

async fn discard(local: &Arc<dyn Store>, temp: std::path::PathBuf) {
    let _ = blocking(local, move |local| {
        local.discard(&temp);
        Ok(())
    })
    .await;
}

/// Uploads the blob if the bucket lacks it, then the pointer.
async fn share(
    bucket: &Bucket,
    local: &Arc<dyn Store>,
    pointer: &Pointer,
) -> Result<(), super::bucket::BucketError> {
    if let Some(sha) = pointer.sha256.clone() {
        if !bucket.has_blob(&sha).await? {
            let Some(blob) = blocking(local, move |local| local.open_blob(&sha)).await? else {
                return Ok(());
            };
            bucket
                .put_blob(pointer.sha256.as_deref().unwrap_or_default(), blob.file)
                .await?;
        }
    }
    bucket.put_pointer(pointer).await?;
    Ok(())
}
