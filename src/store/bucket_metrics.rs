//! The shared bucket's series (replicas only): whether it answers, how long it takes, what waits
//! to be shared, and what the fleet's single flight saved. The store holds the handles and
//! updates them; `metrics::Metrics::register_bucket` puts them in `/-/metrics`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Bucket request latency buckets (seconds): from a LAN S3 server to a hung one.
const BUCKET_LATENCY: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Clone)]
pub struct BucketMetrics {
    /// 1 while the bucket answers, 0 while it is unreachable (degraded).
    pub up: Gauge,
    /// Objects stored while they could not be shared, waiting for the bucket.
    pub share_queue: Gauge,
    /// Objects being shared in the background now.
    pub uploads: Gauge,
    /// Every bucket call's answer time (a streamed body's chunks excluded).
    pub latency: Histogram,
    /// Misses that waited for another replica's fetch instead of going upstream.
    pub coalesced: Counter,
    /// Leases taken over from a replica that stopped renewing them.
    pub takeovers: Counter,
}

impl Default for BucketMetrics {
    fn default() -> Self {
        let up = Gauge::default();
        up.set(1);
        BucketMetrics {
            up,
            share_queue: Gauge::default(),
            uploads: Gauge::default(),
            latency: Histogram::new(BUCKET_LATENCY),
            coalesced: Counter::default(),
            takeovers: Counter::default(),
        }
    }
}

impl BucketMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "bucket_up",
            "1 while the shared bucket answers, 0 while it is unreachable (the replica serves from its local tier and upstream)",
            self.up.clone(),
        );
        registry.register(
            "bucket_share_queue",
            "Objects stored while the bucket could not take them, shared when it answers again",
            self.share_queue.clone(),
        );
        registry.register(
            "bucket_uploads",
            "Objects being shared through the bucket now",
            self.uploads.clone(),
        );
        registry.register_with_unit(
            "bucket_request_duration",
            "Time the shared bucket took to answer a call",
            Unit::Seconds,
            self.latency.clone(),
        );
        registry.register(
            "fleet_coalesced",
            "Misses that waited for another replica's upstream fetch instead of making their own",
            self.coalesced.clone(),
        );
        registry.register(
            "fleet_lease_takeovers",
            "Fleet leases taken over from a replica that stopped renewing them (died or hung mid-fetch)",
            self.takeovers.clone(),
        );
    }
}
