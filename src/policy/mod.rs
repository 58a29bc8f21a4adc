//! Supply-chain policy at the mirror (`[policy]`): release-age cooldown (`min_age`,
//! `exclude_newer`), `allow` exceptions, `deny` entries and a `deny_file` of OSV `MAL-` records,
//! enforced at both places a build can get a release: the metadata that offers it (filtered as
//! it is served: [`screen`]) and the artifact itself ([`download`]), whether cached or not.
//!
//! Publish times are upstream's own (npm's `time`, PEP 700 `upload-time`, Go's `.info`), read
//! by the adapter from documents the engine obtains through the cache, as listed digests are:
//! a warm cache decides offline. Never larder's first sight of a version, which anyone can make
//! young by asking. A release without a time is refused while an age rule applies (fail
//! closed), unless allowed.
//!
//! Module map: `crate::policy_config` reads `[policy]` (apart, so that `config` needs
//! nothing of the engine), [`rules`] the allow/deny entries, [`osv`] the
//! deny file, [`verdict`] judges one release, [`download`] and [`screen`] are the two hooks
//! (`src/http/mod.rs::fetch` calls them), [`times`] obtains publish times, [`report`] keeps
//! the refusal counts for `/-/metrics` and the status page.

pub mod download;
pub mod osv;
pub mod report;
pub mod rules;
pub mod screen;
pub mod times;
pub mod verdict;

use crate::engine::Mounted;
use larder_adapter::AgeRules;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::policy_config::PolicyConfig;
pub use verdict::{Refusal, Rule};

/// How many metadata documents are filtered at once; more wait. With [`times::MAX_DOCUMENT`],
/// this bounds the filtering's memory to 4 × 3 × 64 MiB at worst (typical packuments are well
/// under a megabyte).
pub const MAX_FILTERS: usize = 4;

/// The rules in force for one ecosystem, parsed against its adapter.
pub struct EcoPolicy {
    pub settings: crate::policy_config::Rules,
    pub allow: Vec<rules::Entry>,
    pub deny: Vec<rules::Entry>,
    /// Whether age rules mean anything here (apt: no).
    pub ages: AgeRules,
}

impl EcoPolicy {
    /// Whether an age rule applies, so that publish times must be obtained.
    pub fn needs_times(&self) -> bool {
        self.ages == AgeRules::Apply
            && (self.settings.min_age.is_some() || self.settings.exclude_newer.is_some())
    }
}

/// The policy of a running larder.
pub struct Policy {
    pub config: PolicyConfig,
    /// Metadata documents being filtered at once (each holds up to three documents of at most
    /// [`times::MAX_DOCUMENT`] in memory).
    pub filters: tokio::sync::Semaphore,
    by_eco: HashMap<&'static str, EcoPolicy>,
    pub deny_file: Option<Arc<osv::DenyFile>>,
    pub report: report::Report,
}

impl Policy {
    /// Parses the rules against the mounted adapters and loads the deny file (an unreadable
    /// one is an error: a typo must not start a larder that denies nothing).
    pub fn new(config: &PolicyConfig, mounted: &[Arc<Mounted>]) -> anyhow::Result<Policy> {
        let by_osv: HashMap<&'static str, Arc<Mounted>> = mounted
            .iter()
            .filter_map(|eco| Some((eco.adapter.osv_ecosystem()?, eco.clone())))
            .collect();
        let canonical: osv::Canonical =
            Box::new(move |ecosystem, name| match by_osv.get(ecosystem) {
                Some(eco) => eco.adapter.canonical_package(name),
                None => name.to_string(),
            });
        let deny_file = config
            .deny_file
            .as_deref()
            .map(|path| osv::DenyFile::open(path, canonical).map(Arc::new))
            .transpose()?;
        if let Some(deny_file) = &deny_file {
            osv::DenyFile::watch(deny_file);
        }
        let mut by_eco = HashMap::new();
        let mut names = Vec::new();
        for eco in mounted {
            let settings = config.for_ecosystem(eco.name());
            let adapter = eco.adapter.as_ref();
            names.push(eco.name());
            let has_records = deny_file.is_some() && adapter.osv_ecosystem().is_some();
            if settings.is_empty() && !has_records {
                continue;
            }
            by_eco.insert(
                eco.name(),
                EcoPolicy {
                    allow: settings
                        .allow
                        .iter()
                        .map(|e| rules::Entry::parse(e, adapter))
                        .collect(),
                    deny: settings
                        .deny
                        .iter()
                        .map(|e| rules::Entry::parse(e, adapter))
                        .collect(),
                    ages: adapter.age_rules(),
                    settings,
                },
            );
        }
        Ok(Policy {
            config: config.clone(),
            filters: tokio::sync::Semaphore::new(MAX_FILTERS),
            by_eco,
            deny_file,
            report: report::Report::new(&names),
        })
    }

    /// A policy that refuses nothing (tests, tools that serve in-process without one).
    pub fn none() -> Policy {
        Policy {
            config: PolicyConfig::default(),
            filters: tokio::sync::Semaphore::new(MAX_FILTERS),
            by_eco: HashMap::new(),
            deny_file: None,
            report: report::Report::new(&[]),
        }
    }

    /// The rules for `eco`, if any apply to it.
    pub fn for_eco(&self, eco: &Mounted) -> Option<&EcoPolicy> {
        self.by_eco.get(eco.name())
    }

    /// Whether any rule could refuse a release of `eco`: without an age rule, a deny entry or
    /// a record for the ecosystem, metadata is served without being read.
    pub fn could_refuse(&self, eco: &Mounted, rules: &EcoPolicy) -> bool {
        if rules.needs_times() || !rules.deny.is_empty() {
            return true;
        }
        let (Some(deny_file), Some(osv)) = (&self.deny_file, eco.adapter.osv_ecosystem()) else {
            return false;
        };
        deny_file.current().ecosystems.contains(osv)
    }

    /// The ecosystems with rules, in name order, for the status page.
    pub fn ecosystems(&self) -> Vec<(&'static str, &EcoPolicy)> {
        let mut all: Vec<_> = self.by_eco.iter().map(|(name, p)| (*name, p)).collect();
        all.sort_by_key(|(name, _)| *name);
        all
    }
}
