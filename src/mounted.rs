//! An adapter as larder holds it: with what only the engine may see (credentials) and what the
//! engine keeps per ecosystem (counters, the digests its indexes declare).

use crate::config::Credentials;
use crate::declarations::Declarations;
use crate::metrics::EcoMetrics;
use larder_adapter::Ecosystem;
use std::sync::Arc;

pub struct Mounted {
    pub adapter: Box<dyn Ecosystem>,
    /// The configured upstream's origin and credentials; attached to requests for that origin.
    pub credentials: Option<(url::Url, Credentials)>,
    /// This ecosystem's counters (atomics: cheap on the hit path).
    pub metrics: Arc<EcoMetrics>,
    /// What this ecosystem's stored indexes declare of its other objects.
    pub declarations: Declarations,
}

impl Mounted {
    pub fn new(
        adapter: Box<dyn Ecosystem>,
        credentials: Option<(url::Url, Credentials)>,
        metrics: Arc<EcoMetrics>,
    ) -> Self {
        Mounted {
            adapter,
            credentials,
            metrics,
            declarations: Declarations::default(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.adapter.name()
    }
}
