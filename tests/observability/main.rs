//! What an operator sees, through the real binary: the status page rendered by headless Chromium
//! shows the numbers `/-/metrics` reports and client settings for the URL it was reached at;
//! `log_format = "json"` writes one JSON object per line.
//!
//! `LARDER_UPDATE_SCREENSHOT=1` also writes the page's screenshot to `docs/status-page.png`.

#[path = "../support/mod.rs"]
mod support;

mod secrets;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{get, metric, scrape, Larder, Resource, Routes, Upstream};

/// A Go module proxy and an npm registry with one module and one packument.
const MOD: &[u8] = b"module example.com/lib\n\ngo 1.22\n";

fn fixture() -> Upstream {
    let mut routes = Routes::new();
    routes.insert(
        "/example.com/lib/@v/list".into(),
        vec![Resource::new("text/plain", b"v1.0.0\nv1.1.0\n".to_vec())],
    );
    routes.insert(
        "/example.com/lib/@v/v1.1.0.mod".into(),
        vec![Resource::new("text/plain", MOD.to_vec())],
    );
    routes.insert(
        "/example.com/lib/@v/v1.1.0.zip".into(),
        vec![Resource::new("application/zip", vec![7u8; 300_000])],
    );
    routes.insert(
        "/left-pad".into(),
        vec![Resource::new(
            "application/json",
            br#"{"name":"left-pad","dist-tags":{"latest":"1.3.0"},"versions":{}}"#.to_vec(),
        )],
    );
    Upstream::start(routes)
}

fn config(upstream: &Upstream, extra: &str) -> String {
    format!(
        "{extra}\n[go]\nupstream = \"{0}/\"\n[npm]\nupstream = \"{0}/\"\n",
        upstream.url
    )
}

fn ok(larder: &Larder, path: &str) -> usize {
    let response = get(&larder.at(path));
    assert_eq!(response.status(), 200, "GET {path}");
    response.bytes().expect("body").len()
}

/// `chromium --headless` with a fresh profile and no background traffic; `args` add the action.
fn chromium(args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs (installed by .ci/install/observability.sh)");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("chromium's output");
    out
}

/// Every element the page tags with a series: (series as `/-/metrics` prints it, data-value,
/// shown text).
fn tagged_values(dom: &str) -> Vec<(String, u64, String)> {
    let mut found = Vec::new();
    for piece in dom.split("data-metric=\"").skip(1) {
        let tag = &piece[..piece.find('>').expect("tag ends")];
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            let end = start + tag[start..].find('"')?;
            Some(tag[start..end].to_string())
        };
        let metric = piece[..piece.find('"').expect("closed")].to_string();
        let value: u64 = attr("data-value")
            .and_then(|v| v.parse().ok())
            .expect("data-value");
        let shown = piece[piece.find('>').expect("tag ends") + 1..]
            .split('<')
            .next()
            .unwrap_or_default()
            .to_string();
        let series = match (attr("data-ecosystem"), metric.as_str()) {
            (None, _) => metric.clone(),
            (Some(eco), "larder_served_bytes_total") => {
                format!("{metric}{{ecosystem=\"{eco}\",source=\"cache\"}}")
            }
            (Some(eco), "larder_revalidations_total") => format!(
                "{metric}{{ecosystem=\"{eco}\",status=\"{}\"}}",
                attr("data-status").expect("status")
            ),
            (Some(eco), _) => format!("{metric}{{ecosystem=\"{eco}\"}}"),
        };
        found.push((series, value, shown));
    }
    found
}

#[test]
fn the_status_page_in_chromium_shows_the_numbers_of_metrics() {
    let upstream = fixture();
    let larder = Larder::start(&config(&upstream, "max_size = \"20MiB\""));
    // go: 3 lookups of the list (1 miss, 2 hits), 2 of the .mod, 2 of the zip; npm: 2 of a
    // packument. 4 misses, 5 hits in all.
    for _ in 0..3 {
        ok(&larder, "go/example.com/lib/@v/list");
    }
    for _ in 0..2 {
        ok(&larder, "go/example.com/lib/@v/v1.1.0.mod");
        assert_eq!(ok(&larder, "go/example.com/lib/@v/v1.1.0.zip"), 300_000);
        ok(&larder, "npm/left-pad");
    }
    let text = scrape(&larder.url);
    let series = |s: &str| metric(&text, s).unwrap_or_else(|| panic!("{s}:\n{text}"));
    assert_eq!(series("larder_cache_hits_total{ecosystem=\"go\"}"), 4.0);
    assert_eq!(series("larder_cache_misses_total{ecosystem=\"go\"}"), 3.0);
    assert_eq!(series("larder_cache_hits_total{ecosystem=\"npm\"}"), 1.0);
    assert_eq!(series("larder_store_blobs"), 4.0);

    let dom = chromium(&["--dump-dom"], &format!("{}/", larder.url));
    assert!(dom.contains("<h1>larder "), "a status page:\n{dom}");
    let values = tagged_values(&dom);
    assert!(
        values.len() >= 4 * 9 + 2,
        "every ecosystem's row is tagged: {values:?}"
    );
    for (series, value, shown) in &values {
        assert_eq!(
            metric(&text, series),
            Some(*value as f64),
            "the page shows {series} = {value}; /-/metrics says otherwise:\n{text}"
        );
        let is_bytes = series.contains("bytes");
        if !is_bytes {
            assert_eq!(shown, &value.to_string(), "{series} is shown as its value");
        }
    }
    let go_hits = values
        .iter()
        .find(|(s, ..)| s == "larder_cache_hits_total{ecosystem=\"go\"}")
        .expect("go's hits are on the page");
    assert_eq!(go_hits.1, 4);
    // Client settings use the URL the page was reached at; the page loads nothing else.
    assert!(
        dom.contains(&format!("go env -w GOPROXY={}/go", larder.url)),
        "{dom}"
    );
    assert!(dom.contains(&format!("npm config set registry {}/npm/", larder.url)));
    assert!(dom.contains(&format!(
        "--build-arg NPM_CONFIG_REGISTRY={}/npm/",
        larder.url
    )));
    assert!(dom.contains("Acquire::http::Proxy"));
    assert!(!dom.contains("<script"));
    assert!(!dom.contains("<link"));
    assert!(dom.contains("<svg"), "charts are inline SVG");
    let blob_bytes = series("larder_store_bytes");
    let share = format!("{:.0}%", 100.0 * blob_bytes / (20.0 * 1024.0 * 1024.0));
    assert!(
        dom.contains(&format!("</span> of 20.0 MiB ({share})")),
        "store use against max_size ({share}):\n{dom}"
    );
    // The page saw no request of its own: the counters are where they were.
    assert_eq!(scrape(&larder.url), text);

    let shots = tempfile::tempdir().expect("screenshot dir");
    let png = shots.path().join("status-page.png");
    chromium(
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,1200",
            "--hide-scrollbars",
        ],
        &format!("{}/", larder.url),
    );
    let bytes = std::fs::read(&png).expect("chromium wrote a screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000);
    if std::env::var_os("LARDER_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status-page.png");
        std::fs::write(&docs, &bytes).expect("write docs/status-page.png");
        eprintln!("wrote {}", docs.display());
    }
}

#[test]
fn json_logs_are_one_object_per_line_with_level_target_and_fields() {
    let upstream = fixture();
    let larder = Larder::start(&config(&upstream, "log_format = \"json\""));
    ok(&larder, "go/example.com/lib/@v/v1.1.0.mod");
    let deadline = Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let log = larder.log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{log}"))
            })
            .collect();
        for line in &lines {
            for key in ["timestamp", "level", "target", "fields"] {
                assert!(line.get(key).is_some(), "{key} missing in {line}");
            }
        }
        let stored = lines.iter().find(|l| {
            l["fields"]["message"] == "stored"
                && l["fields"]["key"]
                    .as_str()
                    .is_some_and(|k| k.ends_with("@v/v1.1.0.mod"))
        });
        if let Some(stored) = stored {
            break stored.clone();
        }
        assert!(Instant::now() < deadline, "no `stored` event in:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(stored["level"], "INFO");
    assert_eq!(stored["fields"]["bytes"], MOD.len());
    assert!(stored["target"]
        .as_str()
        .is_some_and(|t| t.starts_with("larder")));

    // Values, not Rust's debug forms: the size limit is a number of bytes.
    let log = larder.log();
    let counted = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "store size counted")
        .unwrap_or_else(|| panic!("no `store size counted` event in:\n{log}"));
    assert!(
        counted["fields"]["max_size"].is_u64(),
        "max_size is a number: {counted}"
    );
}
