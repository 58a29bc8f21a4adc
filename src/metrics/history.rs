//! Recent history for the status page's charts: the counters sampled once per interval, kept for
//! a fixed number of intervals (an hour at one-minute intervals), in memory only.

use super::EcoSnapshot;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Intervals kept (and drawn).
pub const INTERVALS: usize = 60;

/// What happened in one interval, for one ecosystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Point {
    pub hits: u64,
    pub misses: u64,
    /// Response bytes served from the cache: what did not have to come from upstream.
    pub saved: u64,
}

impl Point {
    pub fn hit_ratio(&self) -> Option<f64> {
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

pub struct History {
    interval: Duration,
    /// Cumulative snapshots, oldest first; one more than [`INTERVALS`], so each interval has
    /// both ends.
    samples: Mutex<VecDeque<Vec<EcoSnapshot>>>,
}

impl History {
    pub fn new(interval: Duration) -> History {
        History {
            interval,
            samples: Mutex::new(VecDeque::with_capacity(INTERVALS + 1)),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes a sample (called once per interval by the sampler task).
    pub fn record(&self, snapshots: Vec<EcoSnapshot>) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if samples.len() > INTERVALS {
            samples.pop_front();
        }
        samples.push_back(snapshots);
    }

    /// One ecosystem's intervals, oldest first; the last is the interval in progress, measured
    /// up to `now` (so the chart has a bar as soon as anything happened).
    pub fn points(&self, now: &EcoSnapshot) -> Vec<Point> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let of = |sample: &Vec<EcoSnapshot>| {
            sample
                .iter()
                .find(|s| s.name == now.name)
                .cloned()
                .unwrap_or_default()
        };
        let mut ends: Vec<EcoSnapshot> = samples.iter().map(of).collect();
        ends.push(now.clone());
        let mut points: Vec<Point> = ends
            .windows(2)
            .map(|pair| Point {
                hits: pair[1].hits.saturating_sub(pair[0].hits),
                misses: pair[1].misses.saturating_sub(pair[0].misses),
                saved: pair[1].served_cache.saturating_sub(pair[0].served_cache),
            })
            .collect();
        if points.len() > INTERVALS {
            points.drain(..points.len() - INTERVALS);
        }
        points
    }

    /// Samples every interval until the runtime stops.
    pub async fn run(self: std::sync::Arc<Self>, metrics: std::sync::Arc<super::Metrics>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.record(metrics.snapshots());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hits: u64, misses: u64, served_cache: u64) -> EcoSnapshot {
        EcoSnapshot {
            name: "npm",
            hits,
            misses,
            served_cache,
            ..EcoSnapshot::default()
        }
    }

    #[test]
    fn points_are_differences_between_samples_ending_now() {
        let history = History::new(Duration::from_secs(60));
        assert_eq!(history.points(&at(0, 0, 0)), vec![]);
        history.record(vec![at(0, 0, 0)]);
        history.record(vec![at(3, 1, 300)]);
        let points = history.points(&at(5, 1, 500));
        assert_eq!(
            points,
            vec![
                Point {
                    hits: 3,
                    misses: 1,
                    saved: 300
                },
                Point {
                    hits: 2,
                    misses: 0,
                    saved: 200
                },
            ]
        );
        assert_eq!(points[0].hit_ratio(), Some(0.75));
    }

    #[test]
    fn only_the_last_intervals_are_kept() {
        let history = History::new(Duration::from_secs(60));
        for i in 0..200 {
            history.record(vec![at(i, 0, 0)]);
        }
        let points = history.points(&at(200, 0, 0));
        assert_eq!(points.len(), INTERVALS);
        assert!(points.iter().all(|p| p.hits == 1));
    }
}
