//! The status page (`GET /`): one HTML document, no script, no external asset. Per ecosystem:
//! its counters (the same values `/-/metrics` reports, each cell tagged with the series it
//! shows), the last hour as an inline SVG chart, upstream health; the store's use; and how to
//! point each client at larder.

pub mod buildcache;
pub mod clients;
pub mod policy;
pub mod served;

use crate::metrics::history::{History, Point, INTERVALS};
use crate::metrics::EcoSnapshot;
use crate::store::{now_ms, Usage};
use larder_adapter::{ClientSettings, EnvSetting, Snippet};
use std::fmt::Write as _;

/// What the page shows.
pub struct Page<'a> {
    pub version: &'a str,
    /// larder's URL as this client reached it, without a trailing slash.
    pub base: &'a str,
    pub ecosystems: Vec<Ecosystem>,
    /// Every mounted ecosystem's environment variables, in `larder env`'s order.
    pub env: Vec<EnvSetting>,
    pub history: &'a History,
    pub usage: Option<Usage>,
    /// The store's size limit (`None`: `max_size = "unlimited"`).
    pub max_size: Option<u64>,
    /// How a default limit was chosen.
    pub max_size_note: Option<&'a str>,
    pub offline: bool,
    /// Upstream hosts marked down, with for how long.
    pub upstreams_down: Vec<(String, std::time::Duration)>,
    pub in_flight: usize,
    /// The store's tiers: for a replica, its name and the shared bucket's state.
    pub store_health: crate::store::StoreHealth,
    /// The build cache's counters per tool (`/cache/`).
    pub build_cache: Vec<(&'static str, crate::buildcache::metrics::ToolSnapshot)>,
    /// `[policy]`: the rules in force and today's refusals, as HTML (`policy::section`).
    pub policy: String,
    /// The served-log's line (`None`: it is off).
    pub served: Option<served::Line>,
}

pub struct Ecosystem {
    pub counters: EcoSnapshot,
    pub upstream: Option<String>,
    /// How its clients are pointed at larder at the page's base URL.
    pub clients: ClientSettings,
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:78rem;padding:1.5rem;color:#1d2327;background:#fbfbfa}
h1{font-size:1.5rem;margin:0}h2{font-size:1.15rem;margin:2rem 0 .6rem}
header p{margin:.2rem 0;color:#50575e}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{padding:.4rem .5rem;border-bottom:1px solid #e2e4e7;text-align:right;white-space:nowrap}
td.health{white-space:normal;text-align:left;min-width:9rem;max-width:16rem}
th:first-child,td:first-child{text-align:left}
th{font-weight:600;color:#50575e;font-size:.85rem}
.eco{font-weight:600}
.ok{color:#1a7f37}.bad{color:#b42318}.idle{color:#6b7280}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(21rem,1fr));gap:1rem}
figure{margin:0;background:#fff;border:1px solid #e2e4e7;padding:.6rem .8rem}
figcaption{font-size:.85rem;color:#50575e}
svg{display:block;width:100%;height:auto}
.clients{display:grid;grid-template-columns:repeat(auto-fill,minmax(21rem,1fr));gap:1rem}
.clients h3{font-size:.95rem;margin:0 0 .3rem}
pre{background:#f1f2f3;border:1px solid #e2e4e7;padding:.6rem;margin:0;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.82rem;user-select:all}
.bar{fill:#2f6fae}.line{fill:none;stroke:#e08a00;stroke-width:1.5}.dot{fill:#e08a00}
.legend{font-size:.8rem;color:#50575e}
";

pub fn render(page: &Page) -> String {
    let mut html = String::with_capacity(16 * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>larder at {base}</title><style>{STYLE}</style></head><body>",
        base = esc(page.base)
    );
    header(&mut html, page);
    table(&mut html, page);
    charts(&mut html, page);
    clients(&mut html, page);
    buildcache::section(&mut html, page.base, &page.build_cache);
    html.push_str(&page.policy);
    let _ = write!(
        html,
        "<p class=\"legend\">Metrics for Prometheus: <a href=\"{base}/-/metrics\">{base}/-/metrics</a></p></body></html>",
        base = esc(page.base)
    );
    html
}

fn header(html: &mut String, page: &Page) {
    let _ = write!(
        html,
        "<header><h1>larder {version}</h1><p>A caching mirror at <code>{base}</code>{offline}.</p>",
        version = esc(page.version),
        base = esc(page.base),
        offline = if page.offline {
            " · <strong>offline</strong>: serving only what is cached"
        } else {
            ""
        }
    );
    for (host, since) in &page.upstreams_down {
        let _ = write!(
            html,
            "<p><strong>upstream {} is down</strong> (for {}s): cached copies are served without \
             asking it; it is probed every few seconds.</p>",
            esc(host),
            since.as_secs()
        );
    }
    match page.usage {
        Some(usage) => {
            let limit = match page.max_size {
                Some(max) => format!(
                    " of {} ({:.0}%{})",
                    bytes(max),
                    100.0 * usage.bytes as f64 / max.max(1) as f64,
                    page.max_size_note
                        .map(|note| format!("; max_size {}", esc(note)))
                        .unwrap_or_default()
                ),
                None => " (no size limit)".into(),
            };
            let _ = write!(
                html,
                "<p id=\"store\">Store: <span data-metric=\"larder_store_bytes\" data-value=\"{b}\">{bh}</span>{limit} in \
                 <span data-metric=\"larder_store_blobs\" data-value=\"{n}\">{n}</span> blobs · {f} downloads in flight</p>",
                b = usage.bytes,
                bh = bytes(usage.bytes),
                n = usage.blobs,
                f = page.in_flight,
            );
        }
        None => html.push_str(
            "<p id=\"store\" class=\"bad\">Store: could not be measured (see the log)</p>",
        ),
    }
    served::line(html, page.base, page.served);
    fleet(html, &page.store_health);
    html.push_str("</header>");
}

/// A replica's line: which one served the page, and whether the bucket the fleet shares answers.
fn fleet(html: &mut String, health: &crate::store::StoreHealth) {
    if !health.shared {
        return;
    }
    let replica = esc(health.replica.as_deref().unwrap_or("?"));
    let (class, bucket) = match &health.degraded {
        None => ("", "<span data-metric=\"larder_bucket_up\" data-value=\"1\">reachable</span>".to_string()),
        Some((since_ms, why)) => (
            " class=\"bad\"",
            format!(
                "<span data-metric=\"larder_bucket_up\" data-value=\"0\">unreachable</span> for {}s ({}): \
                 serving from this replica's disk and upstream",
                now_ms().saturating_sub(*since_ms) / 1000,
                esc(why)
            ),
        ),
    };
    let _ = write!(
        html,
        "<p id=\"fleet\"{class}>Replica <code>{replica}</code> · shared bucket {bucket} · \
         <span data-metric=\"larder_bucket_share_queue\" data-value=\"{q}\">{q}</span> waiting to be shared · \
         {u} being shared · {c} misses served from another replica's fetch</p>",
        q = health.share_queue,
        u = health.pending_uploads,
        c = health.fleet_coalesced,
    );
}

fn table(html: &mut String, page: &Page) {
    html.push_str(
        "<h2>Since start</h2><div class=\"scroll\"><table id=\"ecosystems\"><thead><tr><th>ecosystem</th><th>requests</th>\
         <th>hits</th><th>misses</th><th>hit ratio</th><th title=\"misses that waited on another request's download\">coalesced</th>\
         <th title=\"cached copies served because upstream failed\">stale</th>\
         <th title=\"revalidations answered 304 (unchanged) / 200 (new body)\">304 / 200</th>\
         <th title=\"response bytes read from the store\">from cache</th><th title=\"bytes received from upstream\">fetched</th>\
         <th>upstream</th></tr></thead><tbody>",
    );
    let now = now_ms();
    for eco in &page.ecosystems {
        let c = &eco.counters;
        let name = esc(c.name);
        let cell = |metric: &str, value: u64, shown: String| {
            format!(
                "<td data-metric=\"{metric}\" data-ecosystem=\"{name}\" data-value=\"{value}\">{shown}</td>"
            )
        };
        let count = |metric: &str, value: u64| cell(metric, value, value.to_string());
        let ratio = c
            .hit_ratio()
            .map_or("–".to_string(), |r| format!("{:.1}%", 100.0 * r));
        let _ = write!(
            html,
            "<tr data-ecosystem=\"{name}\"><td class=\"eco\">/{name}/</td>{}{}{}<td class=\"ratio\">{ratio}</td>{}{}<td>{} / {}</td>{}{}{}</tr>",
            count("larder_requests_total", c.requests),
            count("larder_cache_hits_total", c.hits),
            count("larder_cache_misses_total", c.misses),
            count("larder_coalesced_waits_total", c.coalesced),
            count("larder_stale_served_total", c.stale),
            cell_inline("larder_revalidations_total", &name, "304", c.not_modified),
            cell_inline("larder_revalidations_total", &name, "200", c.modified),
            cell("larder_served_bytes_total", c.served_cache, bytes(c.served_cache)),
            cell("larder_upstream_fetched_bytes_total", c.fetched, bytes(c.fetched)),
            health(eco, now),
        );
    }
    html.push_str("</tbody></table></div>");
}

/// A value inside a cell (the two revalidation answers share one).
fn cell_inline(metric: &str, name: &str, status: &str, value: u64) -> String {
    format!(
        "<span data-metric=\"{metric}\" data-ecosystem=\"{name}\" data-status=\"{status}\" data-value=\"{value}\">{value}</span>"
    )
}

fn health(eco: &Ecosystem, now: u64) -> String {
    let c = &eco.counters;
    let upstream = eco
        .upstream
        .as_deref()
        .map(|u| format!(" title=\"{}\"", esc(u)))
        .unwrap_or_default();
    let (class, text) = if c.last_success_ms == 0 && c.last_error_ms == 0 {
        ("idle", "not asked since start".to_string())
    } else if c.last_error_ms > c.last_success_ms {
        (
            "bad",
            format!(
                "failing {}: {}",
                ago(now, c.last_error_ms),
                esc(&c.last_error)
            ),
        )
    } else {
        (
            "ok",
            format!("ok, answered {}", ago(now, c.last_success_ms)),
        )
    };
    format!("<td class=\"health {class}\"{upstream}>{text}</td>")
}

fn charts(html: &mut String, page: &Page) {
    let minutes = page.history.interval().as_secs_f64() / 60.0;
    let _ = write!(
        html,
        "<h2>Recent</h2><p class=\"legend\">One bar per {} for the last {}: \
         <span style=\"color:#2f6fae\">■</span> bytes served from the cache (saved upstream traffic), \
         <span style=\"color:#e08a00\">━</span> hit ratio (0–100%). The rightmost bar is the interval in progress.</p><div class=\"charts\">",
        if (minutes - 1.0).abs() < f64::EPSILON {
            "minute".to_string()
        } else {
            format!("{} s", page.history.interval().as_secs())
        },
        period(page.history.interval().as_secs() * INTERVALS as u64),
    );
    for eco in &page.ecosystems {
        let points = page.history.points(&eco.counters);
        let saved: u64 = points.iter().map(|p| p.saved).sum();
        let (hits, misses) = points
            .iter()
            .fold((0, 0), |(h, m), p| (h + p.hits, m + p.misses));
        let ratio = if hits + misses > 0 {
            format!("{:.1}%", 100.0 * hits as f64 / (hits + misses) as f64)
        } else {
            "–".into()
        };
        let _ = write!(
            html,
            "<figure data-ecosystem=\"{name}\">{svg}<figcaption><b>/{name}/</b>: {saved} saved, hit ratio {ratio}</figcaption></figure>",
            name = esc(eco.counters.name),
            svg = chart(&points),
            saved = bytes(saved),
        );
    }
    html.push_str("</div>");
}

/// Bars for bytes saved per interval, a line for the hit ratio; the newest interval at the
/// right edge.
fn chart(points: &[Point]) -> String {
    const W: f64 = 300.0;
    const H: f64 = 80.0;
    let slot = W / INTERVALS as f64;
    let offset = INTERVALS.saturating_sub(points.len()) as f64 * slot;
    let max = points.iter().map(|p| p.saved).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"bytes saved and hit ratio, recent intervals\">\
         <rect width=\"{W}\" height=\"{H}\" fill=\"#f7f8f9\"/>"
    );
    let mut line = String::new();
    for (i, point) in points.iter().enumerate() {
        let x = offset + i as f64 * slot;
        if point.saved > 0 {
            let h = (point.saved as f64 / max * (H - 4.0)).max(1.0);
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{} saved, {} hits, {} misses</title></rect>",
                H - h,
                slot * 0.8,
                bytes(point.saved),
                point.hits,
                point.misses
            );
        }
        if let Some(ratio) = point.hit_ratio() {
            let (cx, cy) = (x + slot * 0.4, H - 2.0 - ratio * (H - 4.0));
            let _ = write!(line, "{cx:.1},{cy:.1} ");
            let _ = write!(
                svg,
                "<circle class=\"dot\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"2\"><title>hit ratio {:.0}%</title></circle>",
                100.0 * ratio
            );
        }
    }
    if line.matches(' ').count() > 1 {
        let _ = write!(
            svg,
            "<polyline class=\"line\" points=\"{}\" stroke-linecap=\"round\"/>",
            line.trim_end()
        );
    }
    svg.push_str("</svg>");
    svg
}

fn clients(html: &mut String, page: &Page) {
    html.push_str("<h2>Point your tools at this larder</h2><div class=\"clients\">");
    let mut snippets: Vec<&Snippet> = page
        .ecosystems
        .iter()
        .flat_map(|eco| &eco.clients.snippets)
        .collect();
    let build_args = clients::build_args(&page.env);
    snippets.extend(&build_args);
    for snippet in snippets {
        let _ = write!(
            html,
            "<section><h3>{}</h3><pre>{}</pre></section>",
            esc(snippet.title),
            esc(&snippet.text)
        );
    }
    html.push_str("</div>");
}

/// `1.5 MiB`: binary units, as the config's sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn ago(now: u64, then: u64) -> String {
    let secs = now.saturating_sub(then) / 1000;
    match secs {
        0..=1 => "just now".into(),
        2..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

fn period(secs: u64) -> String {
    if secs % 3600 == 0 {
        let h = secs / 3600;
        if h == 1 {
            "hour".into()
        } else {
            format!("{h} hours")
        }
    } else if secs % 60 == 0 {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn page_with(history: &History, counters: EcoSnapshot) -> String {
        let base = url::Url::parse("http://mirror:7878").unwrap();
        let npm = clients::of(&larder_npm::factory(), &base, &[]);
        render(&Page {
            version: "0.1.0",
            base: "http://mirror:7878",
            env: npm.env.clone(),
            ecosystems: vec![Ecosystem {
                counters,
                upstream: Some("https://registry.npmjs.org/".into()),
                clients: npm,
            }],
            history,
            usage: Some(Usage {
                bytes: 3 * 1024 * 1024,
                blobs: 7,
            }),
            max_size: Some(12 * 1024 * 1024),
            max_size_note: None,
            offline: false,
            upstreams_down: Vec::new(),
            in_flight: 0,
            served: None,
            store_health: crate::store::StoreHealth::default(),
            build_cache: vec![(
                "ccache",
                crate::buildcache::metrics::ToolSnapshot {
                    hits: 41,
                    puts: 3,
                    ..Default::default()
                },
            )],
            policy: String::new(),
        })
    }

    #[test]
    fn page_shows_the_build_cache_and_its_settings() {
        let history = History::new(Duration::from_secs(60));
        let html = page_with(&history, EcoSnapshot::default());
        assert!(html.contains("<tr data-tool=\"ccache\"><td class=\"eco\">/cache/ccache/</td><td>41</td><td>0</td><td>3</td>"), "{html}");
        assert!(html.contains("export CCACHE_REMOTE_STORAGE=http://mirror:7878/cache/ccache"));
        assert!(html.contains("GOCACHEPROG=&quot;larder gocache --url http://mirror:7878&quot;"));
    }

    #[test]
    fn page_shows_counters_usage_and_escapes_errors() {
        let history = History::new(Duration::from_secs(60));
        let page = page_with(
            &history,
            EcoSnapshot {
                name: "npm",
                hits: 3,
                misses: 1,
                served_cache: 2048,
                last_error_ms: now_ms(),
                last_error: "upstream <b>bad</b> answered 500".into(),
                ..EcoSnapshot::default()
            },
        );
        assert!(page.contains(
            "data-metric=\"larder_cache_hits_total\" data-ecosystem=\"npm\" data-value=\"3\">3</td>"
        ));
        assert!(page.contains("75.0%"));
        assert!(page.contains("2.0 KiB"));
        assert!(page.contains("3.0 MiB</span> of 12.0 MiB (25%)"));
        assert!(page.contains("upstream &lt;b&gt;bad&lt;/b&gt; answered 500"));
        assert!(!page.contains("<b>bad</b>"));
        assert!(page.contains("npm config set registry http://mirror:7878/npm/"));
        assert!(page.contains("--build-arg NPM_CONFIG_REGISTRY=http://mirror:7878/npm/"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src=\"http"));
    }

    #[test]
    fn a_default_limit_says_how_it_was_chosen() {
        let history = History::new(Duration::from_secs(60));
        let page = render(&Page {
            version: "0.1.0",
            base: "http://mirror:7878",
            env: Vec::new(),
            ecosystems: Vec::new(),
            history: &history,
            usage: Some(Usage {
                bytes: 1024 * 1024 * 1024,
                blobs: 7,
            }),
            max_size: Some(4 * 1024 * 1024 * 1024),
            max_size_note: Some("default: a quarter of the 16.0 GiB filesystem holding data_dir"),
            upstreams_down: Vec::new(),
            build_cache: Vec::new(),
            policy: String::new(),
            store_health: crate::store::StoreHealth::default(),
            offline: false,
            in_flight: 0,
            served: None,
        });
        assert!(
            page.contains(
                "of 4.0 GiB (25%; max_size default: a quarter of the 16.0 GiB filesystem"
            ),
            "{page}"
        );
    }

    #[test]
    fn chart_draws_a_bar_per_interval_with_savings() {
        let points = vec![
            Point {
                hits: 1,
                misses: 1,
                saved: 10,
            },
            Point::default(),
            Point {
                hits: 4,
                misses: 0,
                saved: 20,
            },
        ];
        let svg = chart(&points);
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 2);
        let line = svg.split("points=\"").nth(1).expect("a line");
        let line = &line[..line.find('"').expect("closed")];
        assert_eq!(line.split(' ').count(), 2, "two ratio points: {svg}");
        assert_eq!(svg.matches("<circle class=\"dot\"").count(), 2);
    }

    #[test]
    fn sizes_read_like_the_config() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(20 * 1024 * 1024 * 1024), "20.0 GiB");
    }
}
