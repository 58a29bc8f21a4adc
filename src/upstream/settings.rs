//! The upstream client's settings (`[limits]`, and an ecosystem's credentials) and the bounds
//! derived from them.

use std::time::Duration;

/// Timeouts and connection caps for upstream requests (`[limits]`).
#[derive(Clone, Debug)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// From sending a request to receiving the response head.
    pub first_byte_timeout: Duration,
    /// Longest silence between two body chunks.
    pub idle_timeout: Duration,
    /// How long a client waits for a revalidation when a stale copy could be served instead.
    pub stale_timeout: Duration,
    /// How long past its TTL a metadata copy is still served at once while it is revalidated
    /// in the background (RFC 5861's stale-while-revalidate): a slow upstream then adds no
    /// latency to a request larder can answer. Past it, the client waits for the revalidation
    /// (at most `stale_timeout`). Off by default: npm asks nothing special when a version it
    /// wants is missing from a packument, so a just-published version would fail an install
    /// once if a copy past its TTL were served unasked.
    pub stale_while_revalidate: Duration,
    /// A request still unanswered after this long counts as a failure of its upstream (the
    /// breaker: `upstream/health.rs`), so a hung upstream is marked down about as fast as one
    /// that refuses connections.
    pub unresponsive_after: Duration,
    /// Extra attempts for a request that failed before any response (connect error, timeout).
    pub retries: u32,
    pub max_connections_per_host: usize,
    /// The most one metadata document (a packument, a simple page, an index) may take from
    /// upstream: past it the fill is refused (502), so an endless or hostile body cannot fill
    /// the disk or hold a connection forever. Artifacts are unbounded: their digest verifies them.
    pub max_metadata_size: u64,
    /// Redirects followed for one request, each only to a configured upstream host.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            stale_timeout: Duration::from_secs(5),
            stale_while_revalidate: Duration::ZERO,
            unresponsive_after: Duration::from_secs(1),
            retries: 2,
            max_connections_per_host: 64,
            max_metadata_size: 256 << 20,
            max_redirects: 5,
        }
    }
}

/// Credentials for a private upstream, sent only to that upstream's origin.
#[derive(Clone)]
pub enum Credentials {
    Bearer(String),
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
            Credentials::Basic { username, .. } => write!(f, "Basic({username}:***)"),
        }
    }
}

impl Limits {
    /// The longest a response head can take with every retry: past it, a request waiting for
    /// a fill's head is answered 504 rather than kept waiting for a fill that is stuck.
    pub fn head_wait(&self) -> Duration {
        let attempts = self.retries + 1;
        let backoff: Duration = (1..attempts).map(retry_backoff).sum();
        (self.connect_timeout + self.first_byte_timeout) * attempts + backoff + SCHEDULING_SLACK
    }

    /// The longest a fill may go without progress before its waiters give up on it.
    pub fn stall_wait(&self) -> Duration {
        self.head_wait().max(self.idle_timeout + SCHEDULING_SLACK)
    }
}

/// Time for the task that drives a fill to be scheduled and write what it received.
const SCHEDULING_SLACK: Duration = Duration::from_secs(5);

/// The pause before retry number `attempt` (1, 2, ...): 100 ms, 400 ms, 1.6 s, ...
pub(super) fn retry_backoff(attempt: u32) -> Duration {
    Duration::from_millis(100 * 4u64.pow(attempt.saturating_sub(1).min(10)))
}
