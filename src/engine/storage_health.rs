//! A store that refused a write (a full disk, say): for a while, misses are streamed from
//! upstream uncached, so a full disk costs speed, never a failed build; then storing is tried
//! again.

use crate::store::now_ms;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long misses pass through uncached after the store refused a write.
const RETRY_AFTER: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct StorageHealth {
    failures: AtomicU64,
    /// Until when (unix ms) misses bypass the store.
    refusing_until_ms: AtomicU64,
}

impl StorageHealth {
    pub fn refuses_writes(&self) -> bool {
        now_ms() < self.refusing_until_ms.load(Ordering::Relaxed)
    }

    /// A write to the store failed: the log says so, and misses pass through for a while.
    pub fn note_failure(&self, err: &dyn std::fmt::Display) {
        let count = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let until = now_ms() + RETRY_AFTER.as_millis() as u64;
        self.refusing_until_ms.store(until, Ordering::Relaxed);
        tracing::error!(
            error = %err,
            count,
            "could not write to the store; serving misses uncached for {}s (is the disk full?)",
            RETRY_AFTER.as_secs()
        );
    }
}
