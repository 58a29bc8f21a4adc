//! What larder counts, for `/-/metrics` (Prometheus/OpenMetrics text) and the status page.
//!
//! Every series is created once, at start-up, per mounted ecosystem: the engine and the HTTP
//! layer hold handles ([`EcoMetrics`]) whose updates are single atomic adds, so counting on the
//! hit path takes no lock and allocates nothing. The families (and their locks) are touched only
//! when `/-/metrics` is scraped. Labels carry the adapter's own name (`Ecosystem::name`); nothing
//! here knows which ecosystems exist.

pub mod history;

use crate::store::integrity::Damage;
use crate::store::{now_ms, Usage};
use crate::upstream::UpstreamError;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upstream latency buckets (seconds): from a LAN mirror to a slow registry.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Why a fill failed, as the `kind` label of `larder_upstream_errors_total`.
const ERROR_KINDS: [&str; 11] = [
    "connect",
    "timeout",
    "status",
    "html_page",
    "body",
    "short",
    "digest_mismatch",
    "host_not_allowed",
    "storage",
    "redirect",
    "too_large",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EcoLabel {
    ecosystem: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    ecosystem: String,
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    ecosystem: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    ecosystem: String,
    kind: String,
}

/// How the engine answered one client lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// From the store, without asking upstream (fresh, immutable, remembered 404, offline).
    Hit,
    /// Upstream was asked: this request started the fill.
    Miss,
    /// Upstream was asked by another request's fill, which this one waited on.
    Coalesced,
}

/// Where the bytes of a response body come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cache,
    Upstream,
}

/// The handles of one ecosystem's series.
pub struct EcoMetrics {
    name: &'static str,
    requests: Counter,
    hits: Counter,
    misses: Counter,
    coalesced: Counter,
    stale: Counter,
    not_modified: Counter,
    modified: Counter,
    errors: [Counter; ERROR_KINDS.len()],
    latency: Histogram,
    served_cache: Counter,
    served_upstream: Counter,
    fetched: Counter,
    /// Stored blobs found damaged on a hit: `[size, digest]`.
    quarantined: [Counter; 2],
    last_success: Gauge,
    last_error: Gauge,
    /// The last upstream error's message, for the status page (written only on failures).
    last_error_text: Mutex<String>,
    last_success_ms: AtomicU64,
    last_error_ms: AtomicU64,
}

impl EcoMetrics {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A request routed to this ecosystem (any method, any route).
    pub fn request(&self) {
        self.requests.inc();
    }

    pub fn lookup(&self, lookup: Lookup) {
        match lookup {
            Lookup::Hit => self.hits.inc(),
            Lookup::Miss => self.misses.inc(),
            Lookup::Coalesced => {
                self.misses.inc();
                self.coalesced.inc()
            }
        };
    }

    /// A cached copy was served because upstream failed or was too slow.
    pub fn stale_served(&self) {
        self.stale.inc();
    }

    /// A conditional request for a cached copy was answered: 304 or a new body (200).
    pub fn revalidated(&self, not_modified: bool) {
        if not_modified {
            self.not_modified.inc();
        } else {
            self.modified.inc();
        }
    }

    /// Upstream answered a fill's request (any status) after `seconds`.
    pub fn upstream_answered(&self, seconds: f64) {
        self.latency.observe(seconds);
    }

    /// A fill ended well (200, 304, 404/410).
    pub fn upstream_ok(&self) {
        let now = now_ms();
        self.last_success_ms.store(now, Ordering::Relaxed);
        self.last_success.set((now / 1000) as i64);
    }

    pub fn upstream_error(&self, err: &UpstreamError) {
        let kind = error_kind(err);
        if let Some(i) = ERROR_KINDS.iter().position(|k| *k == kind) {
            self.errors[i].inc();
        }
        let now = now_ms();
        *self
            .last_error_text
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = err.to_string();
        self.last_error_ms.store(now, Ordering::Relaxed);
        self.last_error.set((now / 1000) as i64);
    }

    /// Bytes received from upstream by a fill.
    pub fn fetched(&self, bytes: u64) {
        self.fetched.inc_by(bytes);
    }

    /// The counter of stored blobs found damaged this way on a hit (cloned into the body
    /// stream, which finds a large blob's digest wrong).
    pub fn quarantined(&self, damage: Damage) -> Counter {
        match damage {
            Damage::Size => self.quarantined[0].clone(),
            Damage::Digest => self.quarantined[1].clone(),
        }
    }

    /// The counter for response-body bytes from `source` (cloned into the body stream).
    pub fn served(&self, source: Source) -> Counter {
        match source {
            Source::Cache => self.served_cache.clone(),
            Source::Upstream => self.served_upstream.clone(),
        }
    }

    /// The current values, for the status page and its history.
    pub fn snapshot(&self) -> EcoSnapshot {
        EcoSnapshot {
            name: self.name,
            requests: self.requests.get(),
            hits: self.hits.get(),
            misses: self.misses.get(),
            coalesced: self.coalesced.get(),
            stale: self.stale.get(),
            not_modified: self.not_modified.get(),
            modified: self.modified.get(),
            errors: self.errors.iter().map(Counter::get).sum(),
            served_cache: self.served_cache.get(),
            served_upstream: self.served_upstream.get(),
            fetched: self.fetched.get(),
            last_success_ms: self.last_success_ms.load(Ordering::Relaxed),
            last_error_ms: self.last_error_ms.load(Ordering::Relaxed),
            last_error: self
                .last_error_text
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}

/// One ecosystem's counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct EcoSnapshot {
    pub name: &'static str,
    pub requests: u64,
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    pub stale: u64,
    pub not_modified: u64,
    pub modified: u64,
    pub errors: u64,
    pub served_cache: u64,
    pub served_upstream: u64,
    pub fetched: u64,
    /// Unix ms of the last good upstream answer (0: none yet).
    pub last_success_ms: u64,
    pub last_error_ms: u64,
    pub last_error: String,
}

impl EcoSnapshot {
    /// Hits over lookups, if there were any.
    pub fn hit_ratio(&self) -> Option<f64> {
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| self.hits as f64 / lookups as f64)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: String,
}

/// What clients met of `[limits]` (`src/client_limits.rs`): a refusal counter per limit, and
/// the connections open now.
pub struct ClientCounters {
    /// 431: a request head over `max_header_bytes` or `max_headers` (hyper tells them apart
    /// to no one, so they share a counter).
    pub headers: Counter,
    /// 414: a request-target over `max_target_length`.
    pub target_length: Counter,
    /// 413: a forwarded body over `max_request_body`, or an upload over `[cache] max_entry_size`.
    pub request_body: Counter,
    /// 503: `max_connections` reached.
    pub connections: Counter,
    /// 503: `max_connections_per_client` reached for the peer's address.
    pub connections_per_client: Counter,
    /// Closed: a request head begun and unfinished within `header_read_timeout`.
    pub header_read_timeout: Counter,
    /// Client connections open now.
    pub open: Gauge,
}

impl ClientCounters {
    fn register(registry: &mut Registry) -> ClientCounters {
        let family = Family::<LimitLabel, Counter>::default();
        registry.register(
            "client_refusals",
            "Client requests and connections refused by a [limits] bound, by limit",
            family.clone(),
        );
        let limit = |name: &str| {
            handle(
                &family,
                &LimitLabel {
                    limit: name.to_string(),
                },
            )
        };
        let open = Gauge::default();
        registry.register(
            "client_connections",
            "Client connections open",
            open.clone(),
        );
        ClientCounters {
            headers: limit("headers"),
            target_length: limit("target_length"),
            request_body: limit("request_body"),
            connections: limit("connections"),
            connections_per_client: limit("connections_per_client"),
            header_read_timeout: limit("header_read_timeout"),
            open,
        }
    }
}

/// The registry and every ecosystem's handles.
pub struct Metrics {
    registry: Registry,
    by_name: BTreeMap<&'static str, Arc<EcoMetrics>>,
    store_bytes: Gauge,
    store_blobs: Gauge,
    /// Requests whose handler panicked (answered 500; a bug to report).
    pub handler_panics: Counter,
    /// The served-log's records written, and dropped (queue full, or a failed write).
    pub served_log: (Counter, Counter),
    /// Client connections and requests refused by `[limits]`.
    pub clients: ClientCounters,
    /// 1 for each upstream host whose breaker is open, 0 once it answers again.
    upstream_down: Family<HostLabel, Gauge>,
    /// Hosts ever marked down, so that their gauge goes back to 0.
    hosts_seen_down: Mutex<std::collections::BTreeSet<String>>,
    /// Serializes scrapes (the registry is encoded under it).
    scrape: Mutex<()>,
}

impl Metrics {
    /// Creates every series for these ecosystems.
    pub fn new(names: &[&'static str]) -> Metrics {
        let mut registry = Registry::with_prefix("larder");
        let families = Families::default();
        let by_name = names
            .iter()
            .map(|&name| (name, Arc::new(families.for_ecosystem(name))))
            .collect();
        families.register(&mut registry);
        let store_bytes = Gauge::default();
        let store_blobs = Gauge::default();
        let handler_panics = Counter::default();
        let upstream_down = Family::<HostLabel, Gauge>::default();
        registry.register_with_unit(
            "store",
            "Bytes of blobs in the store",
            Unit::Bytes,
            store_bytes.clone(),
        );
        registry.register("store_blobs", "Blobs in the store", store_blobs.clone());
        registry.register(
            "handler_panics",
            "Requests whose handler panicked and were answered 500 (a bug: please report it)",
            handler_panics.clone(),
        );
        let served_log = (Counter::default(), Counter::default());
        registry.register(
            "served_log_records",
            "Records written to the served-log (one per artifact served whole)",
            served_log.0.clone(),
        );
        registry.register(
            "served_log_dropped",
            "Served-log records dropped because the writer fell behind or a write failed",
            served_log.1.clone(),
        );
        let clients = ClientCounters::register(&mut registry);
        registry.register(
            "upstream_down",
            "1 while an upstream host is marked down (cached copies are served without asking it)",
            upstream_down.clone(),
        );
        Metrics {
            registry,
            by_name,
            store_bytes,
            store_blobs,
            handler_panics,
            served_log,
            clients,
            upstream_down,
            hosts_seen_down: Mutex::default(),
            scrape: Mutex::new(()),
        }
    }

    /// Adds the shared bucket's series (replicas).
    pub fn register_bucket(&mut self, bucket: &crate::store::bucket_metrics::BucketMetrics) {
        bucket.register(&mut self.registry);
    }

    /// The handles for one ecosystem (created by [`Metrics::new`]; a name it was not given
    /// gets handles registered nowhere, so counting never fails).
    pub fn ecosystem(&self, name: &'static str) -> Arc<EcoMetrics> {
        self.by_name
            .get(name)
            .cloned()
            .unwrap_or_else(|| Arc::new(detached(name)))
    }

    pub fn snapshots(&self) -> Vec<EcoSnapshot> {
        self.by_name.values().map(|eco| eco.snapshot()).collect()
    }

    /// The text exposition, with the store's current usage and the upstream hosts now down.
    pub fn encode(&self, usage: Option<Usage>, hosts_down: &[String]) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(usage) = usage {
            self.store_bytes.set(usage.bytes as i64);
            self.store_blobs.set(usage.blobs as i64);
        }
        let mut seen = self
            .hosts_seen_down
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        seen.extend(hosts_down.iter().cloned());
        for host in seen.iter() {
            let label = HostLabel { host: host.clone() };
            handle(&self.upstream_down, &label).set(i64::from(hosts_down.contains(host)));
        }
        drop(seen);
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
            out.push_str("# the metrics could not be encoded\n# EOF\n");
        }
        out
    }
}

/// The per-ecosystem series, before each ecosystem's handles are taken from them.
struct Families {
    requests: Family<EcoLabel, Counter>,
    hits: Family<EcoLabel, Counter>,
    misses: Family<EcoLabel, Counter>,
    coalesced: Family<EcoLabel, Counter>,
    stale: Family<EcoLabel, Counter>,
    revalidations: Family<StatusLabel, Counter>,
    errors: Family<KindLabel, Counter>,
    latency: Family<EcoLabel, Histogram, fn() -> Histogram>,
    served: Family<SourceLabel, Counter>,
    fetched: Family<EcoLabel, Counter>,
    quarantined: Family<KindLabel, Counter>,
    last_success: Family<EcoLabel, Gauge>,
    last_error: Family<EcoLabel, Gauge>,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            requests: Family::default(),
            hits: Family::default(),
            misses: Family::default(),
            coalesced: Family::default(),
            stale: Family::default(),
            revalidations: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS)),
            served: Family::default(),
            fetched: Family::default(),
            quarantined: Family::default(),
            last_success: Family::default(),
            last_error: Family::default(),
        }
    }
}

impl Families {
    /// One ecosystem's handles: created now, so that counting is an atomic add.
    fn for_ecosystem(&self, name: &'static str) -> EcoMetrics {
        let eco = || EcoLabel {
            ecosystem: name.to_string(),
        };
        let status = |status: &str| StatusLabel {
            ecosystem: name.to_string(),
            status: status.to_string(),
        };
        let source = |source: &str| SourceLabel {
            ecosystem: name.to_string(),
            source: source.to_string(),
        };
        let kind = |kind: &str| KindLabel {
            ecosystem: name.to_string(),
            kind: kind.to_string(),
        };
        EcoMetrics {
            name,
            requests: handle(&self.requests, &eco()),
            hits: handle(&self.hits, &eco()),
            misses: handle(&self.misses, &eco()),
            coalesced: handle(&self.coalesced, &eco()),
            stale: handle(&self.stale, &eco()),
            not_modified: handle(&self.revalidations, &status("304")),
            modified: handle(&self.revalidations, &status("200")),
            errors: ERROR_KINDS.map(|k| handle(&self.errors, &kind(k))),
            latency: handle(&self.latency, &eco()),
            served_cache: handle(&self.served, &source("cache")),
            served_upstream: handle(&self.served, &source("upstream")),
            fetched: handle(&self.fetched, &eco()),
            quarantined: [Damage::Size, Damage::Digest]
                .map(|damage| handle(&self.quarantined, &kind(damage.label()))),
            last_success: handle(&self.last_success, &eco()),
            last_error: handle(&self.last_error, &eco()),
            last_error_text: Mutex::new(String::new()),
            last_success_ms: AtomicU64::new(0),
            last_error_ms: AtomicU64::new(0),
        }
    }

    fn register(self, registry: &mut Registry) {
        let counters = [
            (
                "requests",
                "Requests routed to an ecosystem (any method and route)",
                self.requests,
            ),
            (
                "cache_hits",
                "Lookups answered from the store without asking upstream",
                self.hits,
            ),
            (
                "cache_misses",
                "Lookups that needed upstream (including revalidations and coalesced waits)",
                self.misses,
            ),
            (
                "coalesced_waits",
                "Misses that waited on a fill another request had started",
                self.coalesced,
            ),
            (
                "stale_served",
                "Cached copies served because upstream failed or was too slow",
                self.stale,
            ),
        ];
        for (name, help, family) in counters {
            registry.register(name, help, family);
        }
        registry.register(
            "revalidations",
            "Conditional upstream requests for cached copies, by answer (304 unchanged, 200 new body)",
            self.revalidations,
        );
        registry.register("upstream_errors", "Fills that failed, by kind", self.errors);
        registry.register_with_unit(
            "upstream_latency",
            "Time from a fill's upstream request to the response head",
            Unit::Seconds,
            self.latency,
        );
        registry.register_with_unit(
            "served",
            "Response-body bytes sent to clients, by where they came from (cache or a fill from upstream)",
            Unit::Bytes,
            self.served,
        );
        registry.register_with_unit(
            "upstream_fetched",
            "Bytes received from upstream by fills",
            Unit::Bytes,
            self.fetched,
        );
        registry.register(
            "quarantined_blobs",
            "Stored blobs a hit found damaged (kind: size, digest), moved out and refetched",
            self.quarantined,
        );
        registry.register(
            "upstream_last_success_timestamp_seconds",
            "Unix time of the last good upstream answer (0: none since start)",
            self.last_success,
        );
        registry.register(
            "upstream_last_error_timestamp_seconds",
            "Unix time of the last failed fill (0: none since start)",
            self.last_error,
        );
    }
}

/// A series' handle, cloned out of its family. A function of its own so that the family's lock
/// guard ends here: two guards alive in one statement would deadlock the family's `RwLock`.
fn handle<L, M, C>(family: &Family<L, M, C>, labels: &L) -> M
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone,
    C: prometheus_client::metrics::family::MetricConstructor<M>,
{
    family.get_or_create(labels).clone()
}

/// Handles registered nowhere (for a name `Metrics::new` was not given).
fn detached(name: &'static str) -> EcoMetrics {
    EcoMetrics {
        name,
        requests: Counter::default(),
        hits: Counter::default(),
        misses: Counter::default(),
        coalesced: Counter::default(),
        stale: Counter::default(),
        not_modified: Counter::default(),
        modified: Counter::default(),
        errors: Default::default(),
        latency: Histogram::new(LATENCY_BUCKETS),
        served_cache: Counter::default(),
        served_upstream: Counter::default(),
        fetched: Counter::default(),
        quarantined: Default::default(),
        last_success: Gauge::default(),
        last_error: Gauge::default(),
        last_error_text: Mutex::new(String::new()),
        last_success_ms: AtomicU64::new(0),
        last_error_ms: AtomicU64::new(0),
    }
}

fn error_kind(err: &UpstreamError) -> &'static str {
    match err {
        UpstreamError::Connect { .. } => "connect",
        UpstreamError::Timeout { .. } => "timeout",
        UpstreamError::Status { .. } => "status",
        UpstreamError::HtmlPage { .. } => "html_page",
        UpstreamError::Body { .. } => "body",
        UpstreamError::Redirect { .. } => "redirect",
        UpstreamError::TooLarge { .. } => "too_large",
        UpstreamError::Short { .. } => "short",
        UpstreamError::DigestMismatch { .. } => "digest_mismatch",
        UpstreamError::HostNotAllowed { .. } => "host_not_allowed",
        UpstreamError::Storage { .. } | UpstreamError::Offline => "storage",
        UpstreamError::Stuck { .. } => "stuck",
        UpstreamError::Down { .. } | UpstreamError::Revalidating { .. } => "down",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn series_exist_from_the_start_and_count_by_ecosystem() {
        let metrics = Metrics::new(&["npm", "go"]);
        let npm = metrics.ecosystem("npm");
        npm.request();
        npm.lookup(Lookup::Hit);
        npm.lookup(Lookup::Coalesced);
        npm.served(Source::Cache).inc_by(100);
        npm.revalidated(true);
        npm.quarantined(Damage::Digest).inc();
        npm.upstream_error(&UpstreamError::Timeout {
            host: "h".into(),
            after: std::time::Duration::from_secs(1),
        });
        let text = metrics.encode(
            Some(Usage {
                bytes: 1234,
                blobs: 2,
            }),
            &["registry.example:443".to_string()],
        );
        assert!(text.contains("larder_upstream_down{host=\"registry.example:443\"} 1"));
        for (series, value) in [
            ("larder_requests_total{ecosystem=\"npm\"}", "1"),
            ("larder_requests_total{ecosystem=\"go\"}", "0"),
            ("larder_cache_hits_total{ecosystem=\"npm\"}", "1"),
            ("larder_cache_misses_total{ecosystem=\"npm\"}", "1"),
            ("larder_coalesced_waits_total{ecosystem=\"npm\"}", "1"),
            (
                "larder_revalidations_total{ecosystem=\"npm\",status=\"304\"}",
                "1",
            ),
            (
                "larder_upstream_errors_total{ecosystem=\"npm\",kind=\"timeout\"}",
                "1",
            ),
            (
                "larder_upstream_errors_total{ecosystem=\"npm\",kind=\"connect\"}",
                "0",
            ),
            (
                "larder_served_bytes_total{ecosystem=\"npm\",source=\"cache\"}",
                "100",
            ),
            (
                "larder_quarantined_blobs_total{ecosystem=\"npm\",kind=\"digest\"}",
                "1",
            ),
            (
                "larder_quarantined_blobs_total{ecosystem=\"go\",kind=\"size\"}",
                "0",
            ),
            ("larder_store_bytes", "1234"),
            ("larder_store_blobs", "2"),
        ] {
            let found = line(&text, &format!("{series} "))
                .unwrap_or_else(|| panic!("{series} missing from:\n{text}"));
            assert_eq!(found, format!("{series} {value}"), "in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        let snapshot = npm.snapshot();
        assert_eq!(snapshot.hit_ratio(), Some(0.5));
        assert!(snapshot.last_error.contains("did not answer"));
    }
}
