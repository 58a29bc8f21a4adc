//! `[policy]`: the rules as configured, checked at start-up.
//!
//! ```toml
//! [policy]
//! min_age = "7d"                            # nothing published in the last 7 days
//! exclude_newer = "2025-01-01T00:00:00Z"    # or: nothing published after a fixed date
//! allow = ["@myorg/*", "typescript@5.7.2"]  # exceptions to the age rules
//! deny = ["event-stream@3.3.6", "colors@>=1.4.1"]
//! deny_file = "/etc/larder/malicious"       # OSV `MAL-` records: one JSON file or a directory
//! [policy.pypi]
//! min_age = "3d"                            # per ecosystem: replaces the age rules,
//! deny = ["requests@==2.32.0"]              # adds to allow and deny
//! ```
//! The names `[policy]`, `min_age` and `exclude_newer` are relied on by scripts outside larder.

use crate::toml_keys::{quote, quote_list};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;
use toml::{Table, Value};

/// The keys of `[policy]` and of each `[policy.<ecosystem>]`.
pub const KEYS: &[&str] = &["min_age", "exclude_newer", "allow", "deny", "deny_file"];

/// One level of rules: `[policy]` or `[policy.<ecosystem>]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// Versions younger than this are withheld; `Some(0)` turns an inherited rule off.
    pub min_age: Option<Duration>,
    /// Versions published after this (seconds since the epoch) are withheld.
    pub exclude_newer: Option<i64>,
    /// As configured, for `larder config` and the status page.
    pub exclude_newer_text: Option<String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// `[policy]` as a whole.
#[derive(Clone, Debug, Default)]
pub struct PolicyConfig {
    pub global: Rules,
    /// `[policy.<ecosystem>]`, in the order configured.
    pub ecosystems: Vec<(String, Rules)>,
    pub deny_file: Option<PathBuf>,
}

impl PolicyConfig {
    /// Reads `[policy]`; `ecosystems` are the names a `[policy.<name>]` may use.
    pub fn from_section(mut table: Table, ecosystems: &[&str]) -> Result<PolicyConfig> {
        let deny_file = match table.remove("deny_file") {
            None => None,
            Some(Value::String(path)) if !path.is_empty() => Some(PathBuf::from(path)),
            Some(other) => bail!(
                "[policy] deny_file must be a path to a JSON file or a directory of OSV records, got {other}"
            ),
        };
        let mut per_ecosystem = Vec::new();
        for name in ecosystems {
            let Some(value) = table.remove(*name) else {
                continue;
            };
            let Value::Table(section) = value else {
                bail!("[policy] {name} must be a section ([policy.{name}])");
            };
            if let Some(unknown) = section
                .keys()
                .find(|key| !KEYS.contains(&key.as_str()) || *key == "deny_file")
            {
                bail!(
                    "unknown key `{unknown}` in [policy.{name}]; known keys: min_age, exclude_newer, allow, deny"
                );
            }
            per_ecosystem.push((
                name.to_string(),
                Rules::from_table(section, &format!("[policy.{name}]"))?,
            ));
        }
        let global = Rules::from_table(table, "[policy]")?;
        Ok(PolicyConfig {
            global,
            ecosystems: per_ecosystem,
            deny_file,
        })
    }

    /// The rules in force for one ecosystem: its own age rules when it sets any, else the
    /// global ones; allow and deny lists from both.
    pub fn for_ecosystem(&self, name: &str) -> Rules {
        let mut rules = self.global.clone();
        if let Some((_, own)) = self.ecosystems.iter().find(|(n, _)| n == name) {
            if own.min_age.is_some() || own.exclude_newer.is_some() {
                rules.min_age = own.min_age;
                rules.exclude_newer = own.exclude_newer;
                rules.exclude_newer_text = own.exclude_newer_text.clone();
            }
            rules.allow.extend(own.allow.iter().cloned());
            rules.deny.extend(own.deny.iter().cloned());
        }
        rules.min_age = rules.min_age.filter(|age| !age.is_zero());
        rules
    }

    /// `[policy]` as TOML, for `larder config`.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("\n[policy]\n");
        out.push_str(&self.global.to_toml());
        if let Some(path) = &self.deny_file {
            out.push_str(&format!(
                "deny_file = {}\n",
                quote(&path.display().to_string())
            ));
        }
        for (name, rules) in &self.ecosystems {
            out.push_str(&format!("\n[policy.{name}]\n"));
            out.push_str(&rules.to_toml());
        }
        out
    }
}

impl Rules {
    fn from_table(mut table: Table, section: &str) -> Result<Rules> {
        if let Some(unknown) = table.keys().find(|key| !KEYS.contains(&key.as_str())) {
            bail!(
                "unknown key `{unknown}` in {section}; known keys: {}",
                KEYS.join(", ")
            );
        }
        let min_age = match crate::toml_keys::take_string(&mut table, "min_age")? {
            None => None,
            Some(raw) => Some(humantime::parse_duration(&raw).with_context(|| {
                format!("{section} min_age = {raw:?} is not a duration like \"7d\" or \"36h\"")
            })?),
        };
        let exclude_newer_text = crate::toml_keys::take_string(&mut table, "exclude_newer")?;
        let exclude_newer = match &exclude_newer_text {
            None => None,
            Some(raw) => Some(larder_adapter::policy::parse_rfc3339(raw).with_context(|| {
                format!("{section} exclude_newer = {raw:?} is not a date like \"2025-01-01T00:00:00Z\" (RFC 3339) or \"2025-01-01\"")
            })?),
        };
        Ok(Rules {
            min_age,
            exclude_newer,
            exclude_newer_text,
            allow: take_list(&mut table, "allow", section)?,
            deny: take_list(&mut table, "deny", section)?,
        })
    }

    fn to_toml(&self) -> String {
        let mut out = String::new();
        if let Some(age) = self.min_age {
            out.push_str(&format!(
                "min_age = {:?}\n",
                humantime::format_duration(age).to_string()
            ));
        }
        if let Some(date) = &self.exclude_newer_text {
            out.push_str(&format!("exclude_newer = {}\n", quote(date)));
        }
        out.push_str(&format!("allow = {}\n", quote_list(&self.allow)));
        out.push_str(&format!("deny = {}\n", quote_list(&self.deny)));
        out
    }

    /// Whether any rule is set at all.
    pub fn is_empty(&self) -> bool {
        self.min_age.is_none() && self.exclude_newer.is_none() && self.deny.is_empty()
    }
}

/// A list of strings: a TOML array, or (from `LARDER_POLICY_DENY`) one comma-separated string.
fn take_list(table: &mut Table, key: &str, section: &str) -> Result<Vec<String>> {
    match table.remove(key) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_string)
            .collect()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(entry) if !entry.trim().is_empty() => Ok(entry.trim().to_string()),
                other => bail!("{section} {key}: every entry is a string like \"left-pad\" or \"left-pad@1.3.0\", got {other}"),
            })
            .collect(),
        Some(other) => bail!("{section} {key} must be a list of strings, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_sections_replace_age_rules_and_add_to_lists() {
        let table: Table = r#"
            min_age = "7d"
            deny = ["a"]
            allow = "x, y"
            [npm]
            exclude_newer = "2023-01-01"
            deny = ["b@1.0.0"]
            [go]
            min_age = "0s"
        "#
        .parse()
        .unwrap();
        let config = PolicyConfig::from_section(table, &["npm", "go", "pypi"]).unwrap();
        let npm = config.for_ecosystem("npm");
        assert_eq!(
            (npm.min_age, npm.exclude_newer),
            (None, Some(1_672_531_200))
        );
        assert_eq!(npm.deny, ["a", "b@1.0.0"]);
        assert_eq!(npm.allow, ["x", "y"]);
        assert_eq!(config.for_ecosystem("go").min_age, None);
        assert_eq!(
            config.for_ecosystem("pypi").min_age,
            Some(Duration::from_secs(7 * 86_400))
        );
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        for (toml, says) in [
            ("min_age = \"soon\"", "duration"),
            ("exclude_newer = \"last year\"", "RFC 3339"),
            ("deny = [1]", "every entry is a string"),
            ("colour = \"red\"", "unknown key `colour`"),
            (
                "[npm]\ndeny_file = \"x\"",
                "unknown key `deny_file` in [policy.npm]",
            ),
        ] {
            let table: Table = toml.parse().unwrap();
            let err = PolicyConfig::from_section(table, &["npm"]).unwrap_err();
            assert!(format!("{err:#}").contains(says), "{toml}: {err:#}");
        }
    }
}
