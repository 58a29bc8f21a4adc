//! Judging one release: the rule that refuses it, if any, and the message a client sees.
//!
//! Order: a `deny` entry, then a `deny_file` record (neither is lifted by `allow`: an
//! exception to a cooldown is not a licence for a known-malicious release), then `allow`, then
//! `exclude_newer` and `min_age`, which refuse a release without a publish time too.

use super::{EcoPolicy, Policy};
use crate::engine::Mounted;
use larder_adapter::policy::format_rfc3339;
use std::time::Duration;

/// Which rule refused a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A `deny` entry, as configured.
    Deny(String),
    /// A `deny_file` record, by id (`MAL-2024-1234`).
    Record(String),
    MinAge(Duration),
    /// The configured date.
    ExcludeNewer(String),
}

impl Rule {
    /// The `rule` label of `larder_policy_refusals_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Rule::Deny(_) => "deny",
            Rule::Record(_) => "deny_file",
            Rule::MinAge(_) => "min_age",
            Rule::ExcludeNewer(_) => "exclude_newer",
        }
    }
}

/// A refused release.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub rule: Rule,
    pub ecosystem: &'static str,
    pub package: String,
    pub version: String,
    /// Upstream's publish time (seconds since the epoch), if it states one.
    pub published: Option<i64>,
}

impl Refusal {
    /// One line: the rule, the package, the version and its publish time.
    pub fn message(&self, now: i64) -> String {
        let published = match self.published {
            Some(at) => format!("published {}", format_rfc3339(at)),
            None => "no publish time".to_string(),
        };
        let rule = match &self.rule {
            Rule::Deny(entry) => format!("deny entry {entry:?}"),
            Rule::Record(id) => format!("deny_file record {id}"),
            Rule::MinAge(age) => {
                let until = match self.published {
                    Some(at) => format!(
                        "; allowed from {}",
                        format_rfc3339(at + age.as_secs() as i64)
                    ),
                    None => "; upstream states no publish time, so its age cannot be checked"
                        .to_string(),
                };
                let ago = match self.published {
                    Some(at) => format!(
                        ", {} ago",
                        // Whole minutes: "1day 2h 5m", not "1day 2h 5m 17s".
                        humantime::format_duration(Duration::from_secs(
                            ((now - at).max(0) as u64) / 60 * 60
                        ))
                    ),
                    None => String::new(),
                };
                format!(
                    "min_age = \"{}\" ({published}{ago}{until})",
                    humantime::format_duration(*age)
                )
            }
            Rule::ExcludeNewer(date) => format!("exclude_newer = \"{date}\" ({published})"),
        };
        let published_note = match &self.rule {
            Rule::MinAge(_) | Rule::ExcludeNewer(_) => String::new(),
            _ => format!(" ({published})"),
        };
        format!(
            "larder policy refuses {} {} {}{published_note}: {rule}",
            self.ecosystem, self.package, self.version
        )
    }

    /// A short form for an HTTP/1 reason phrase (pip and uv print it): printable ASCII only.
    pub fn reason_phrase(&self) -> String {
        let rule = match &self.rule {
            Rule::Deny(entry) => format!("deny {entry}"),
            Rule::Record(id) => format!("deny_file {id}"),
            Rule::MinAge(age) => format!("min_age {}", humantime::format_duration(*age)),
            Rule::ExcludeNewer(date) => format!("exclude_newer {date}"),
        };
        let published = match self.published {
            Some(at) => format!("published {}", format_rfc3339(at)),
            None => "no publish time".into(),
        };
        let text = format!(
            "Forbidden by larder policy ({rule}): {} {} {published}",
            self.package, self.version
        );
        text.chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .take(200)
            .collect()
    }
}

impl Policy {
    /// The rule that refuses `version` of `package` (as the adapter spells it), if any.
    /// `published` is upstream's publish time when an age rule needed it.
    pub fn judge(
        &self,
        eco: &Mounted,
        rules: &EcoPolicy,
        package: &str,
        version: &str,
        published: Option<i64>,
        now: i64,
    ) -> Option<Refusal> {
        let adapter = eco.adapter.as_ref();
        let canonical = adapter.canonical_package(package);
        let refusal = |rule| Refusal {
            rule,
            ecosystem: eco.name(),
            package: package.to_string(),
            version: version.to_string(),
            published,
        };
        if let Some(entry) = rules
            .deny
            .iter()
            .find(|entry| entry.matches(adapter, &canonical, version, true))
        {
            return Some(refusal(Rule::Deny(entry.text.clone())));
        }
        if let Some(id) = self.record_for(eco, &canonical, version) {
            return Some(refusal(Rule::Record(id)));
        }
        if self.is_allowed(eco, rules, package, version) || !rules.needs_times() {
            return None;
        }
        if let (Some(cutoff), Some(date)) = (
            rules.settings.exclude_newer,
            &rules.settings.exclude_newer_text,
        ) {
            if published.map_or(true, |at| at > cutoff) {
                return Some(refusal(Rule::ExcludeNewer(date.clone())));
            }
        }
        if let Some(age) = rules.settings.min_age {
            if published.map_or(true, |at| now - at < age.as_secs() as i64) {
                return Some(refusal(Rule::MinAge(age)));
            }
        }
        None
    }

    /// Whether an `allow` entry exempts this release from the age rules.
    pub fn is_allowed(
        &self,
        eco: &Mounted,
        rules: &EcoPolicy,
        package: &str,
        version: &str,
    ) -> bool {
        let adapter = eco.adapter.as_ref();
        let canonical = adapter.canonical_package(package);
        rules
            .allow
            .iter()
            .any(|entry| entry.matches(adapter, &canonical, version, false))
    }

    /// The id of a deny-file record that names this release.
    fn record_for(&self, eco: &Mounted, canonical: &str, version: &str) -> Option<String> {
        let deny_file = self.deny_file.as_ref()?;
        let osv = eco.adapter.osv_ecosystem()?;
        let records = deny_file.current();
        let adapter = eco.adapter.as_ref();
        let compare = |a: &str, b: &str| adapter.compare_versions(a, b);
        // Records are keyed by canonical name (PyPI's `Foo_Bar` is `foo-bar`): one probe.
        let affected = records
            .by_package
            .get(&(osv.to_string(), canonical.to_string()))?;
        affected
            .iter()
            .find(|a| a.includes(version, &compare))
            .map(|a| a.id.clone())
    }
}
