//! The bucket's prober, and the re-sync it drives: what a replica stored while the bucket was
//! unreachable ([`super::share_queue`]) is shared each time a probe finds the bucket answering.

use super::bucket::Bucket;
use super::facade::blocking;
use super::share_queue::ShareQueue;
use super::tiered::share;
use super::Store;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often a reachable bucket is probed (an idle replica notices an outage too).
const PROBE_HEALTHY: Duration = Duration::from_secs(15);
/// How often an unreachable bucket is probed.
const PROBE_DEGRADED: Duration = Duration::from_secs(1);
/// How often the prober looks at the bucket's state (a failed request marks it degraded).
const PROBE_TICK: Duration = Duration::from_millis(250);

/// Probes the bucket (often while it is unreachable), and shares what was queued each time it
/// is found reachable with a queue that is not empty. Ends when the tier is dropped.
pub(super) async fn probe_and_resync(
    weak: Weak<Bucket>,
    local: Arc<dyn Store>,
    queue: Arc<ShareQueue>,
) {
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
        bucket.metrics.share_queue.set(queue.len() as i64);
        if !bucket.is_degraded() && !queue.is_empty() {
            resync(&bucket, &local, &queue).await;
        }
        drop(bucket);
        tokio::time::sleep(PROBE_TICK).await;
    }
}

/// Shares every queued object: the newest local record of its key (a later revalidation may
/// have replaced the queued one), newest-wins in the bucket.
async fn resync(bucket: &Bucket, local: &Arc<dyn Store>, queue: &Arc<ShareQueue>) {
    let listed = {
        let queue = queue.clone();
        tokio::task::spawn_blocking(move || queue.entries()).await
    };
    let entries = match listed {
        Ok(Ok(entries)) => entries,
        Ok(Err(err)) => {
            tracing::error!(error = %err, "cannot read the share queue; check the data dir");
            return;
        }
        Err(_) => return,
    };
    let (started, mut shared) = (std::time::Instant::now(), 0usize);
    for (path, queued) in entries {
        if bucket.is_degraded() {
            break;
        }
        let key = queued.key.clone();
        let newest = blocking(local, move |local| local.get_pointer(&key))
            .await
            .ok()
            .flatten()
            .filter(|newest| newest.fetched_at_ms >= queued.fetched_at_ms)
            .unwrap_or_else(|| queued.clone());
        bucket.upload_started();
        let result = share(bucket, local, &newest).await;
        bucket.upload_finished();
        if let Err(err) = result {
            tracing::warn!(key = %newest.key, error = %err, "could not share a queued object; trying again when the bucket answers");
            break;
        }
        let queue = queue.clone();
        let _ = tokio::task::spawn_blocking(move || queue.done(&path, &queued)).await;
        shared += 1;
    }
    if shared > 0 {
        tracing::info!(
            shared,
            left = queue.len(),
            ms = started.elapsed().as_millis() as u64,
            "shared objects stored while the bucket was unreachable"
        );
    }
}
