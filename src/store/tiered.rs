//! The shared tier for replicas: a bucket behind the local disk store (LRU-bounded by
//! `max_size`). [`super::AsyncStore`] consults it where the local store has nothing; every call
//! to the bucket is awaited (none blocks a thread).
//!
//! - Hits are local: a pointer and blob on local disk are served without asking the bucket.
//! - A local miss asks the bucket (pointer, then blob). A blob found there is streamed to the
//!   client as it comes from the bucket, through a local temp file that is hashed on the way and
//!   published locally once it matches the blob's name ([`super::bucket_copy`]); a range the
//!   copy has not reached is read from the bucket with a ranged GET. Concurrent misses for the
//!   same blob on one replica share that copy.
//! - A pointer written locally (a fill's publish, a revalidation) is shared in the background:
//!   the blob is uploaded if the bucket lacks it, then the pointer, conditionally (see
//!   [`Bucket::put_pointer`]).
//! - A miss everywhere goes upstream once for the whole fleet: the replica that claims the
//!   object's lease ([`super::lease`]) fetches it and holds the lease until the object is shared;
//!   the others poll the bucket for its record and then stream it as a bucket hit.
//! - While the bucket is unreachable (see [`Bucket::degraded`]) the store behaves as the local
//!   store alone; what it stores meanwhile (and any upload that fails) is queued on disk
//!   ([`super::share_queue`]), and shared when a probe finds the bucket answering again
//!   ([`super::resync`]).

use super::bucket::Bucket;
use super::bucket_copy::BucketCopies;
use super::facade::blocking;
use super::lease::{ClaimAttempt, FleetLease};
use super::share_queue::ShareQueue;
use super::{BlobFile, Pointer, Store, StoreHealth};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct SharedTier {
    bucket: Arc<Bucket>,
    /// What was stored here while it could not be shared.
    queue: Arc<ShareQueue>,
    /// Blobs being copied from the bucket, so concurrent misses copy once.
    copies: BucketCopies,
    /// This replica's name in the leases it takes (`host/pid`).
    claimant: String,
    /// Leases on objects this replica fetched, held until the object is in the bucket.
    held: Mutex<HashMap<String, FleetLease>>,
}

/// What a replica about to go upstream for an object does.
pub enum Claim {
    /// Fetch it: this replica holds the fleet's lease on it until it is shared.
    Lead(FleetLease),
    /// Another replica fetched it meanwhile: its record in the bucket.
    Published(Pointer),
    /// This replica's own fill stored it meanwhile (it ended between the request's lookup and
    /// its fill): its local record.
    Stored(Pointer),
    /// Fetch it without the fleet (the bucket cannot be reached, or the wait ran out).
    Alone,
}

/// How often a replica waiting for another's fetch looks for its result in the bucket: soon at
/// first (most objects are small), then less and less often, so that a cold build of thousands
/// of objects on several replicas does not flood the bucket with requests (two per look).
const FOLLOW_POLL_FIRST: Duration = Duration::from_millis(100);
const FOLLOW_POLL_MAX: Duration = Duration::from_secs(2);

impl SharedTier {
    /// Must be called within a tokio runtime, which runs the bucket's prober and re-shares
    /// what `queue` holds whenever the bucket answers.
    pub fn new(
        bucket: Bucket,
        local: Arc<dyn Store>,
        queue: ShareQueue,
    ) -> std::io::Result<SharedTier> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let bucket = Arc::new(bucket);
        let queue = Arc::new(queue);
        if !queue.is_empty() {
            tracing::info!(
                queued = queue.len(),
                "objects stored while the bucket was unreachable are shared once it answers"
            );
        }
        runtime.spawn(super::resync::probe_and_resync(
            Arc::downgrade(&bucket),
            local,
            queue.clone(),
        ));
        Ok(SharedTier {
            bucket,
            queue,
            copies: BucketCopies::default(),
            claimant: replica_name(),
            held: Mutex::new(HashMap::new()),
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

    /// The blob `pointer` names, streamed from the bucket into the local tier: returned as soon
    /// as its first bytes arrive, still growing (see [`super::growing`]); `None` if the bucket
    /// lacks it or cannot be reached. Concurrent readers on this replica share one copy.
    pub async fn streamed_blob(
        &self,
        local: &Arc<dyn Store>,
        pointer: &Pointer,
    ) -> Option<BlobFile> {
        let sha256 = pointer.sha256.as_deref()?;
        if self.bucket.is_degraded() || !super::is_sha256_hex(sha256) {
            return None;
        }
        self.copies.start(&self.bucket, local, sha256).await
    }

    /// The blob `sha256`, copied whole from the bucket into the local tier (for readers of the
    /// whole file: indexes); `None` if the bucket lacks it or cannot be reached.
    pub async fn copy_blob(&self, local: &Arc<dyn Store>, sha256: &str) -> Option<BlobFile> {
        if self.bucket.is_degraded() || !super::is_sha256_hex(sha256) {
            return None;
        }
        let copy = self.copies.start(&self.bucket, local, sha256).await?;
        let growing = copy.growing?;
        growing.finished().await.ok()?;
        let sha = sha256.to_string();
        blocking(local, move |local| local.open_blob(&sha))
            .await
            .ok()
            .flatten()
    }

    /// Claims `key` for the fleet before this replica goes upstream for it; while another
    /// replica holds the claim, waits (at most `max_wait`) for that replica's record to appear
    /// in the bucket, taking the claim over if its holder stops renewing it.
    pub async fn claim(&self, local: &Arc<dyn Store>, key: &str, max_wait: Duration) -> Claim {
        let deadline = tokio::time::Instant::now() + max_wait;
        let (mut counted, mut poll) = (false, FOLLOW_POLL_FIRST);
        loop {
            if self.bucket.is_degraded() {
                return Claim::Alone;
            }
            match self.bucket.try_claim(key, &self.claimant).await {
                Ok(ClaimAttempt::Claimed { etag }) => {
                    let lease = FleetLease::new(self.bucket.clone(), key, &self.claimant, etag);
                    // Published between this replica's lookup and its claim: nothing to fetch.
                    return match self.pointer(key).await {
                        Some(pointer) => Claim::Published(pointer),
                        None => Claim::Lead(lease),
                    };
                }
                Ok(ClaimAttempt::HeldBy(held)) => {
                    if held.claimant == self.claimant {
                        // This replica's own fill holds it, until the object is shared.
                        let owned = key.to_string();
                        let stored = blocking(local, move |local| local.get_pointer(&owned));
                        if let Ok(Some(pointer)) = stored.await {
                            return Claim::Stored(pointer);
                        }
                    }
                    if !counted {
                        counted = true;
                        self.bucket.metrics.coalesced.inc();
                        tracing::debug!(%key, claimant = %held.claimant, "another replica is fetching this object; waiting for it");
                    }
                }
                Err(err) => {
                    tracing::warn!(%key, error = %err, "could not claim an object for the fleet; fetching it without");
                    return Claim::Alone;
                }
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 3 / 2).min(FOLLOW_POLL_MAX);
            if let Some(pointer) = self.pointer(key).await {
                return Claim::Published(pointer);
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(%key, waited = ?max_wait, "another replica's fetch did not finish in time; fetching the object here too");
                return Claim::Alone;
            }
        }
    }

    /// Keeps `lease` until the record of its object is shared (or could not be).
    pub fn hold_until_shared(&self, lease: FleetLease) {
        let key = lease.key.clone();
        lock(&self.held).insert(key, lease);
    }

    /// Gives up the lease on `key`, if this replica holds one: the fleet may fetch it again.
    pub fn release(&self, key: &str) {
        lock(&self.held).remove(key);
    }

    /// Misses that waited for another replica's fetch rather than going upstream.
    pub fn coalesced(&self) -> u64 {
        self.bucket.metrics.coalesced.get()
    }

    /// This replica's name in the fleet (`host/pid`).
    pub fn replica(&self) -> &str {
        &self.claimant
    }

    /// Shares a record written locally, in the background: its blob first (if the bucket
    /// lacks it), then the record, so the bucket never holds a pointer whose blob it lacks.
    pub fn share(&self, local: &Arc<dyn Store>, pointer: &Pointer) {
        let lease = lock(&self.held).remove(&pointer.key);
        if self.bucket.is_degraded() {
            tracing::debug!(key = %pointer.key, "bucket unreachable; queued to share when it answers");
            enqueue(&self.queue, pointer.clone());
            return;
        }
        let (bucket, local, pointer) = (self.bucket.clone(), local.clone(), pointer.clone());
        let queue = self.queue.clone();
        bucket.upload_started();
        tokio::spawn(async move {
            if let Err(err) = share(&bucket, &local, &pointer).await {
                tracing::warn!(key = %pointer.key, error = %err, "could not share an object through the bucket; queued to share again when the bucket answers");
                enqueue(&queue, pointer.clone());
            }
            // Only now may the fleet stop waiting for this replica (dropping it deletes it).
            drop(lease);
            bucket.upload_finished();
        });
    }

    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            shared: true,
            degraded: self.bucket.degraded(),
            pending_uploads: self.bucket.pending_uploads(),
            share_queue: self.queue.len(),
            replica: Some(self.claimant.clone()),
            fleet_coalesced: self.coalesced(),
        }
    }
}

/// Uploads the blob if the bucket lacks it, then the pointer.
pub(super) async fn share(
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

/// Queues a record to share later (on the blocking pool: it writes a file).
fn enqueue(queue: &Arc<ShareQueue>, pointer: Pointer) {
    let queue = queue.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(err) = queue.push(&pointer) {
            tracing::error!(key = %pointer.key, error = %err, "could not queue an object to share later; it stays on this replica only");
        }
    });
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// `host/pid`: unique among live replicas, and says where to look in a log.
fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("{host}/{}", std::process::id())
}
