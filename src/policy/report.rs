//! What the policy refused: `larder_policy_refusals_total{ecosystem, rule}` (downloads refused),
//! `larder_policy_withheld_total{ecosystem}` (versions withheld from metadata served), and for
//! the status page the refusals of the current UTC day and the last few refused releases.

use super::Refusal;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// How many refused releases the status page lists.
const RECENT: usize = 20;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    ecosystem: String,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EcosystemLabel {
    ecosystem: String,
}

/// One refused download or document, for the status page.
#[derive(Clone, Debug)]
pub struct Recent {
    pub at: i64,
    pub refusal: Refusal,
    /// `download` or `metadata`.
    pub where_: &'static str,
}

/// Refusals by (ecosystem, rule).
pub type DayCounts = Vec<((&'static str, &'static str), u64)>;

#[derive(Default)]
struct Today {
    /// Days since the epoch the counts are of.
    day: i64,
    /// (ecosystem, rule) → refusals.
    counts: BTreeMap<(&'static str, &'static str), u64>,
    recent: VecDeque<Recent>,
}

pub struct Report {
    registry: Registry,
    refusals: Family<RefusalLabels, Counter>,
    withheld: Family<EcosystemLabel, Counter>,
    today: Mutex<Today>,
}

impl Report {
    pub fn new(ecosystems: &[&'static str]) -> Report {
        let mut registry = Registry::with_prefix("larder_policy");
        let refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "refusals",
            "Downloads (and documents) refused by [policy], by ecosystem and rule",
            refusals.clone(),
        );
        let withheld = Family::<EcosystemLabel, Counter>::default();
        registry.register(
            "withheld",
            "Versions withheld by [policy] from metadata documents served",
            withheld.clone(),
        );
        for ecosystem in ecosystems {
            drop(withheld.get_or_create(&EcosystemLabel {
                ecosystem: ecosystem.to_string(),
            }));
        }
        Report {
            registry,
            refusals,
            withheld,
            today: Mutex::new(Today::default()),
        }
    }

    /// Counts a refusal made `now` (seconds since the epoch) at a `download` or a `metadata`
    /// document that could not be served without it.
    pub fn refused(&self, refusal: &Refusal, now: i64, where_: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                ecosystem: refusal.ecosystem.to_string(),
                rule: refusal.rule.label().to_string(),
            })
            .inc();
        let mut today = self.today.lock().unwrap_or_else(|e| e.into_inner());
        let day = now.div_euclid(86_400);
        if today.day != day {
            today.day = day;
            today.counts.clear();
        }
        *today
            .counts
            .entry((refusal.ecosystem, refusal.rule.label()))
            .or_default() += 1;
        if today.recent.len() == RECENT {
            today.recent.pop_back();
        }
        today.recent.push_front(Recent {
            at: now,
            refusal: refusal.clone(),
            where_,
        });
    }

    /// Counts versions withheld from one document served.
    pub fn withheld(&self, ecosystem: &str, versions: usize) {
        self.withheld
            .get_or_create(&EcosystemLabel {
                ecosystem: ecosystem.to_string(),
            })
            .inc_by(versions as u64);
    }

    /// Today's refusals by (ecosystem, rule), and the latest refused releases, newest first.
    pub fn today(&self, now: i64) -> (DayCounts, Vec<Recent>) {
        let today = self.today.lock().unwrap_or_else(|e| e.into_inner());
        let counts = match today.day == now.div_euclid(86_400) {
            true => today.counts.iter().map(|(k, v)| (*k, *v)).collect(),
            false => Vec::new(),
        };
        (counts, today.recent.iter().cloned().collect())
    }

    /// The series as OpenMetrics text without the closing `# EOF`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            return String::new();
        }
        out.strip_suffix("# EOF\n")
            .map(str::to_string)
            .unwrap_or(out)
    }
}
