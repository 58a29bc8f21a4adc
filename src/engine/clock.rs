//! The time the engine judges freshness by: the system clock, plus an offset that only tests
//! move (`Clock::advance`), so that a test ages a cached copy past its TTL without sleeping.

use crate::store::{now_ms, Pointer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
pub struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    pub fn now_ms(&self) -> u64 {
        now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// How long ago upstream last confirmed this record.
    pub fn age(&self, pointer: &Pointer) -> Duration {
        Duration::from_millis(self.now_ms().saturating_sub(pointer.fetched_at_ms))
    }

    /// Moves the engine's time forward (tests only). The engine stamps the records it writes
    /// with this clock, so ages stay true across a move.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }
}
