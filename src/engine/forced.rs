//! Clients' `Cache-Control: no-cache` revalidates at once, but at most once per interval per
//! object: a client that sends it on every request must not turn the TTL into nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A client may force a revalidation (or a digest lookup may) at most this often per object.
const INTERVAL: Duration = Duration::from_secs(10);

/// Past this many remembered objects, the ones outside the interval are forgotten.
const PRUNE_AT: usize = 10_000;

#[derive(Default)]
pub struct ForcedRevalidations {
    last: Mutex<HashMap<String, Instant>>,
}

impl ForcedRevalidations {
    /// Whether `key` may be revalidated now; if so, the interval starts again.
    pub fn allow(&self, key: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last
            .get(key)
            .is_some_and(|at| now.duration_since(*at) < INTERVAL)
        {
            return false;
        }
        last.insert(key.to_string(), now);
        if last.len() > PRUNE_AT {
            last.retain(|_, at| now.duration_since(*at) < INTERVAL);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_forced_revalidation_per_interval_per_object() {
        let forced = ForcedRevalidations::default();
        assert!(forced.allow("a"));
        assert!(!forced.allow("a"));
        assert!(forced.allow("b"));
    }
}
