//! `[cache]`: the build cache's limits and who may write to it.
//!
//! ```toml
//! [cache]
//! max_entry_size = "1GiB"                    # a bigger upload gets 413
//! write_networks = ["127.0.0.0/8", "::1"]    # the default: loopback peers write without a token
//! [cache.write_tokens]                       # namespace = token
//! ci = "long-random-string"
//! ```
//! With `write_tokens` and no `write_networks`, every write needs a token: an office mirror.

use crate::access::Access;
use anyhow::{bail, Context, Result};
use toml::{Table, Value};

/// The keys `[cache]` takes.
pub const KEYS: &[&str] = &[
    "enabled",
    "max_entry_size",
    "write_networks",
    "write_tokens",
];

/// The namespace of `/cache/<tool>/...` (named ones are `/cache/ns/<name>/<tool>/...`).
pub const DEFAULT_NAMESPACE: &str = "default";

const DEFAULT_MAX_ENTRY_SIZE: u64 = 1 << 30;
const LOOPBACK: [&str; 2] = ["127.0.0.0/8", "::1"];

#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Whether `/cache/` is served at all.
    pub enabled: bool,
    /// The largest entry a client may write.
    pub max_entry_size: u64,
    /// Peers that may write to any namespace without a token (`None`: nobody).
    pub write_networks: Option<Access>,
    /// Who may write with a token: one per namespace.
    pub write_tokens: Vec<(String, Access)>,
    /// As configured, for `larder config`.
    networks_text: Vec<String>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig::from_section(Table::new()).unwrap_or_else(|_| CacheConfig {
            enabled: true,
            max_entry_size: DEFAULT_MAX_ENTRY_SIZE,
            write_networks: None,
            write_tokens: Vec::new(),
            networks_text: Vec::new(),
        })
    }
}

impl CacheConfig {
    pub fn from_section(mut table: Table) -> Result<CacheConfig> {
        let enabled = crate::toml_keys::take_bool(&mut table, "enabled")?.unwrap_or(true);
        let max_entry_size = match crate::toml_keys::take_string(&mut table, "max_entry_size")? {
            Some(raw) => crate::toml_keys::parse_size("[cache] max_entry_size", &raw)?,
            None => DEFAULT_MAX_ENTRY_SIZE,
        };
        let tokens = match table.remove("write_tokens") {
            None => Table::new(),
            Some(Value::Table(tokens)) => tokens,
            Some(other) => bail!(
                "[cache] write_tokens must be a table of namespace = \"token\" ([cache.write_tokens]), got {other}"
            ),
        };
        let mut write_tokens = Vec::new();
        for (namespace, token) in tokens {
            if !is_namespace(&namespace) {
                bail!("[cache.write_tokens] {namespace:?} is not a namespace name: use letters, digits, '-' and '_' (at most 64)");
            }
            let Value::String(token) = token else {
                bail!("[cache.write_tokens] {namespace} must be a string token, got {token}");
            };
            if token.len() < 16 {
                bail!("[cache.write_tokens] {namespace}: a token this short can be guessed; use at least 16 characters");
            }
            let mut section = Table::new();
            section.insert("tokens".into(), Value::Array(vec![Value::String(token)]));
            write_tokens.push((namespace, Access::from_section(section)?));
        }
        let networks_text: Vec<String> = match table.remove("write_networks") {
            None if write_tokens.is_empty() => LOOPBACK.iter().map(|s| s.to_string()).collect(),
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    other => bail!("[cache] write_networks must list strings, got {other}"),
                })
                .collect::<Result<_>>()?,
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(other) => bail!("[cache] write_networks must be a list of networks, got {other}"),
        };
        let write_networks = if networks_text.is_empty() {
            None
        } else {
            let mut section = Table::new();
            section.insert(
                "allow_networks".into(),
                Value::Array(networks_text.iter().cloned().map(Value::String).collect()),
            );
            Some(Access::from_section(section).context("[cache] write_networks")?)
        };
        Ok(CacheConfig {
            enabled,
            max_entry_size,
            write_networks,
            write_tokens,
            networks_text,
        })
    }

    /// The section as `larder config` prints it, tokens masked.
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "\n[cache]\nenabled = {}\nmax_entry_size = {:?}\nwrite_networks = {}\n",
            self.enabled,
            crate::toml_keys::format_size(self.max_entry_size),
            crate::toml_keys::quote_list(&self.networks_text)
        );
        if !self.write_tokens.is_empty() {
            out.push_str("\n[cache.write_tokens]\n");
            for (namespace, _) in &self.write_tokens {
                out.push_str(&format!("{namespace} = \"***\"\n"));
            }
        }
        out
    }
}

/// Letters, digits, `-` and `_`, 1 to 64 of them.
pub fn is_namespace(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Result<CacheConfig> {
        CacheConfig::from_section(toml.parse().unwrap())
    }

    #[test]
    fn loopback_writes_by_default() {
        let c = config("").unwrap();
        assert!(c.enabled);
        assert_eq!(c.max_entry_size, 1 << 30);
        let networks = c.write_networks.unwrap();
        assert!(networks
            .check(Some("127.0.0.1".parse().unwrap()), None)
            .is_ok());
        assert!(networks
            .check(Some("10.0.0.1".parse().unwrap()), None)
            .is_err());
    }

    #[test]
    fn tokens_alone_mean_no_network_writes() {
        let c = config("max_entry_size = \"1MiB\"\n[write_tokens]\nci = \"0123456789abcdef0\"\n")
            .unwrap();
        assert!(c.write_networks.is_none());
        assert_eq!(c.max_entry_size, 1 << 20);
        assert_eq!(c.write_tokens[0].0, "ci");
        assert!(!c.to_toml().contains("0123456789abcdef0"));
    }

    #[test]
    fn refuses_short_tokens_and_bad_namespaces() {
        assert!(config("[write_tokens]\nci = \"short\"\n").is_err());
        assert!(config("[write_tokens]\n\"a/b\" = \"0123456789abcdef0\"\n").is_err());
        assert!(config("write_networks = [\"10.0.0.0/99\"]").is_err());
    }
}
