//! Each upstream host's health, as a circuit breaker: after a few consecutive failures (or
//! requests that stayed unanswered past `stale_timeout`, so a hung host trips it as fast as a
//! refusing one) the host is marked down, and the engine serves the stale copies it has at once
//! instead of asking, letting one revalidation through per probe interval as the probe. The
//! first answer closes the breaker again.
//!
//! The breaker only advises: a request with no cached copy still goes upstream, since waiting
//! is then the client's only chance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failures that mark a host down.
const TRIP_AFTER: u32 = 3;

/// How often a down host is probed (by letting one stale copy's revalidation through).
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, Default)]
struct HostState {
    consecutive_failures: u32,
    down_since: Option<Instant>,
    last_probe: Option<Instant>,
}

/// What the engine is told of a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    Up,
    /// Down: serve stale copies without asking; `probe` says whether this request may carry
    /// the probe (a background revalidation).
    Down {
        probe: bool,
    },
}

pub struct Breakers {
    hosts: Mutex<HashMap<String, HostState>>,
    /// Counts trips, so that waiters learn of one at once (`Breakers::marked_down`).
    trips: tokio::sync::watch::Sender<u64>,
}

impl Default for Breakers {
    fn default() -> Self {
        Breakers {
            hosts: Mutex::default(),
            trips: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Breakers {
    pub fn success(&self, host: &str) {
        let mut hosts = self.lock();
        let state = hosts.entry(host.to_string()).or_default();
        if let Some(since) = state.down_since {
            tracing::info!(%host, down_for_s = since.elapsed().as_secs(), "upstream answers again");
        }
        *state = HostState::default();
    }

    pub fn failure(&self, host: &str, why: &dyn std::fmt::Display) {
        let mut hosts = self.lock();
        let state = hosts.entry(host.to_string()).or_default();
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if state.down_since.is_none() && state.consecutive_failures >= TRIP_AFTER {
            state.down_since = Some(Instant::now());
            state.last_probe = Some(Instant::now());
            tracing::warn!(%host, error = %why, "upstream marked down after {TRIP_AFTER} failures in a row; serving cached copies without asking it, probing every {}s", PROBE_INTERVAL.as_secs());
            drop(hosts);
            self.trips.send_modify(|trips| *trips += 1);
        }
    }

    /// Resolves once `host` is marked down.
    pub async fn marked_down(&self, host: &str) {
        let mut trips = self.trips.subscribe();
        loop {
            if self.is_down(host) {
                return;
            }
            if trips.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    pub fn is_down(&self, host: &str) -> bool {
        self.lock()
            .get(host)
            .is_some_and(|state| state.down_since.is_some())
    }

    /// Whether `host` is up, and if it is down, whether this request may probe it (at most one
    /// per [`PROBE_INTERVAL`]).
    pub fn availability(&self, host: &str) -> Availability {
        let mut hosts = self.lock();
        let Some(state) = hosts.get_mut(host) else {
            return Availability::Up;
        };
        if state.down_since.is_none() {
            return Availability::Up;
        }
        let now = Instant::now();
        let probe = state
            .last_probe
            .map_or(true, |at| now.duration_since(at) >= PROBE_INTERVAL);
        if probe {
            state.last_probe = Some(now);
        }
        Availability::Down { probe }
    }

    /// Each host that is down, with how long it has been.
    pub fn down(&self) -> Vec<(String, Duration)> {
        let mut down: Vec<(String, Duration)> = self
            .lock()
            .iter()
            .filter_map(|(host, state)| Some((host.clone(), state.down_since?.elapsed())))
            .collect();
        down.sort();
        down
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HostState>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_failures_trip_the_breaker_and_an_answer_closes_it() {
        let breakers = Breakers::default();
        breakers.failure("h", &"refused");
        breakers.failure("h", &"refused");
        assert_eq!(breakers.availability("h"), Availability::Up);
        breakers.failure("h", &"refused");
        assert_eq!(
            breakers.availability("h"),
            Availability::Down { probe: false },
            "just tripped: the next probe is an interval away"
        );
        assert_eq!(breakers.down().len(), 1);
        breakers.success("h");
        assert_eq!(breakers.availability("h"), Availability::Up);
        assert!(breakers.down().is_empty());
    }

    #[test]
    fn a_success_in_between_resets_the_count() {
        let breakers = Breakers::default();
        breakers.failure("h", &"x");
        breakers.failure("h", &"x");
        breakers.success("h");
        breakers.failure("h", &"x");
        breakers.failure("h", &"x");
        assert_eq!(breakers.availability("h"), Availability::Up);
        assert_eq!(breakers.availability("other"), Availability::Up);
    }
}
