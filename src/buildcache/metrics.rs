//! The build cache's counters, per tool: `larder_buildcache_{hits,misses,puts,refused}_total`
//! and `larder_buildcache_{served,stored}_bytes_total`, each labelled `tool`. Handles are made
//! once at start-up, so counting is one atomic add.

use super::paths::{Tool, TOOLS};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolLabel {
    tool: String,
}

/// One tool's handles.
#[derive(Clone, Default)]
pub struct ToolCounters {
    pub hits: Counter,
    pub misses: Counter,
    pub puts: Counter,
    /// Writes refused: no right, a digest mismatch, too large.
    pub refused: Counter,
    pub served_bytes: Counter,
    pub stored_bytes: Counter,
}

/// What the status page shows for one tool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ToolSnapshot {
    pub hits: u64,
    pub misses: u64,
    pub puts: u64,
    pub refused: u64,
    pub served_bytes: u64,
    pub stored_bytes: u64,
}

pub struct CacheMetrics {
    registry: Registry,
    tools: Vec<(Tool, ToolCounters)>,
}

impl Default for CacheMetrics {
    fn default() -> Self {
        CacheMetrics::new()
    }
}

impl CacheMetrics {
    pub fn new() -> CacheMetrics {
        let mut registry = Registry::with_prefix("larder_buildcache");
        let family = |registry: &mut Registry, name: &str, help: &str, unit: Option<Unit>| {
            let family = Family::<ToolLabel, Counter>::default();
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, family.clone()),
                None => registry.register(name, help, family.clone()),
            }
            family
        };
        let hits = family(
            &mut registry,
            "hits",
            "Build-cache reads answered with an entry",
            None,
        );
        let misses = family(
            &mut registry,
            "misses",
            "Build-cache reads of an entry not stored",
            None,
        );
        let puts = family(&mut registry, "puts", "Build-cache entries stored", None);
        let refused = family(
            &mut registry,
            "refused",
            "Build-cache writes refused (no write right, digest mismatch, too large)",
            None,
        );
        let served = family(
            &mut registry,
            "served",
            "Bytes of build-cache entries served",
            Some(Unit::Bytes),
        );
        let stored = family(
            &mut registry,
            "stored",
            "Bytes of build-cache entries stored",
            Some(Unit::Bytes),
        );
        let tools = TOOLS
            .into_iter()
            .map(|tool| {
                let label = ToolLabel {
                    tool: tool.name().to_string(),
                };
                let counters = ToolCounters {
                    hits: hits.get_or_create(&label).clone(),
                    misses: misses.get_or_create(&label).clone(),
                    puts: puts.get_or_create(&label).clone(),
                    refused: refused.get_or_create(&label).clone(),
                    served_bytes: served.get_or_create(&label).clone(),
                    stored_bytes: stored.get_or_create(&label).clone(),
                };
                (tool, counters)
            })
            .collect();
        CacheMetrics { registry, tools }
    }

    pub fn tool(&self, tool: Tool) -> &ToolCounters {
        self.tools
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, counters)| counters)
            .unwrap_or(&self.tools[0].1)
    }

    pub fn snapshot(&self) -> Vec<(Tool, ToolSnapshot)> {
        self.tools
            .iter()
            .map(|(tool, c)| {
                (
                    *tool,
                    ToolSnapshot {
                        hits: c.hits.get(),
                        misses: c.misses.get(),
                        puts: c.puts.get(),
                        refused: c.refused.get(),
                        served_bytes: c.served_bytes.get(),
                        stored_bytes: c.stored_bytes.get(),
                    },
                )
            })
            .collect()
    }

    /// The series as OpenMetrics text, without the closing `# EOF` (the caller appends them to
    /// the rest of `/-/metrics`).
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

/// Puts the build cache's series into a whole `/-/metrics` text, before its `# EOF`.
pub fn splice(all: String, ours: &str) -> String {
    match all.strip_suffix("# EOF\n") {
        Some(head) => format!("{head}{ours}# EOF\n"),
        None => all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_tool_and_splices_before_eof() {
        let metrics = CacheMetrics::new();
        metrics.tool(Tool::Gradle).hits.inc();
        metrics.tool(Tool::Gradle).stored_bytes.inc_by(10);
        let text = splice("# x\n# EOF\n".into(), &metrics.encode());
        assert!(text.contains("larder_buildcache_hits_total{tool=\"gradle\"} 1\n"));
        assert!(text.contains("larder_buildcache_stored_bytes_total{tool=\"gradle\"} 10\n"));
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
    }
}
