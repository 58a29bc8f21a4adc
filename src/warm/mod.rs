//! `larder warm FILE...`: fetch everything lockfiles name through a running larder, so that the
//! build that follows finds it all cached.
//!
//! Parsing is each adapter's (`larder_npm::lockfile`, `larder_pypi::lockfile`,
//! `larder_go::lockfile`, `larder_apt::print_uris`, `larder_cargo::lockfile`: pure functions); [`sources`] picks the
//! parser; this module does the I/O: plain HTTP requests to larder (never to an upstream: larder
//! fetches, verifies and stores exactly as for a client), a bounded number at a time, with a
//! progress bar on a terminal and plain lines otherwise.

pub mod sources;

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use larder_pypi::lockfile::{Pin, Tags};
use sources::Job;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// What to warm, and where.
pub struct Options {
    /// larder's base URL (`http://127.0.0.1:7878`).
    pub base: Url,
    /// Lockfiles; `-` reads standard input.
    pub files: Vec<PathBuf>,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub python_version: Option<String>,
    pub platforms: Vec<String>,
}

/// What a warm run did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Objects larder had to fetch from upstream (or had as stale).
    pub fetched: usize,
    /// Objects larder already held.
    pub cached: usize,
    pub bytes: u64,
    /// What could not be fetched, and why.
    pub failures: Vec<(String, String)>,
}

/// Reads the lockfiles (all of them first: a malformed one fails before any fetch), then fetches.
pub async fn run(options: &Options) -> Result<Outcome> {
    let mut jobs = Vec::new();
    for file in &options.files {
        let bytes = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("reading standard input")?;
            bytes
        } else {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        };
        let format = sources::detect(file, &bytes)?;
        let found = sources::jobs(format, &bytes)
            .with_context(|| format!("{}: cannot read it as {format:?}", file.display()))?;
        if found.is_empty() {
            eprintln!("larder warm: {}: nothing to fetch in it", file.display());
        }
        jobs.extend(found);
    }
    let tags = if jobs.iter().any(|j| matches!(j, Job::Python { .. })) {
        sources::target_tags(options.python_version.as_deref(), &options.platforms)?
    } else {
        Tags::default()
    };
    let client = Client::new(&options.base)?;
    client.preflight().await?;

    let progress = Progress::new(jobs.len() as u64);
    let mut outcome = Outcome::default();
    let mut results = futures_util::stream::iter(jobs.into_iter().map(|job| {
        let client = &client;
        let tags = &tags;
        async move {
            let result = client.fetch(&job, tags).await;
            (job, result)
        }
    }))
    .buffer_unordered(options.concurrency.max(1));
    while let Some((job, result)) = results.next().await {
        match result {
            Ok(got) => {
                if got.cached {
                    outcome.cached += 1;
                } else {
                    outcome.fetched += 1;
                }
                outcome.bytes += got.bytes;
                progress.done(&job.label(), None);
            }
            Err(why) => {
                progress.done(&job.label(), Some(&why));
                outcome.failures.push((job.label(), why));
            }
        }
    }
    progress.finish();
    outcome.failures.sort();
    Ok(outcome)
}

struct Got {
    bytes: u64,
    cached: bool,
}

struct Client {
    base: String,
    direct: reqwest::Client,
    /// Through larder as a forward proxy (apt's archive URIs).
    proxied: reqwest::Client,
}

impl Client {
    fn new(base: &Url) -> Result<Client> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(300))
                .no_gzip()
                .user_agent(concat!("larder-warm/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Client {
            base: base.as_str().trim_end_matches('/').to_string(),
            direct: builder().no_proxy().build()?,
            proxied: builder()
                .proxy(reqwest::Proxy::http(base.as_str()).context("larder's URL as a proxy")?)
                .build()?,
        })
    }

    async fn preflight(&self) -> Result<()> {
        if let Err(err) = self
            .direct
            .get(format!("{}/-/health", self.base))
            .send()
            .await
        {
            bail!(
                "cannot reach larder at {}: {err}; is `larder serve` running there? (--url to choose, or --data-dir to warm a data dir directly)",
                self.base
            );
        }
        Ok(())
    }

    async fn fetch(&self, job: &Job, tags: &Tags) -> Result<Got, String> {
        match job {
            Job::Get { path, headers } => {
                let mut request = self.direct.get(format!("{}/{path}", self.base));
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                drain(request).await
            }
            Job::Proxy { uri } => {
                if uri.starts_with(&format!("{}/", self.base)) {
                    drain(self.direct.get(uri)).await // apt pointed at larder as a mirror
                } else if uri.starts_with("http://") {
                    drain(self.proxied.get(uri)).await
                } else {
                    Err("an https:// archive cannot go through larder as a proxy; point apt at larder as a mirror (deb http://LARDER/apt/<remote>/…) and print the URIs again".into())
                }
            }
            Job::Python { pin } => self.python(pin, tags).await,
            Job::Cargo { pin } => self.cargo(pin).await,
        }
    }

    /// What cargo does for a locked crate: its index file, then the download its registry's
    /// `config.json` (larder's, so the download goes through larder) names.
    async fn cargo(&self, pin: &larder_cargo::lockfile::Pin) -> Result<Got, String> {
        let Some(registry) = pin.larder_registry(&self.base) else {
            return Err(format!(
                "its registry {} is not one reached through this larder; name it in [cargo.registries] and build with its index at {}/cargo/<name>/",
                pin.registry, self.base
            ));
        };
        let root = format!("{}/cargo/{registry}", self.base);
        let config_url = format!("{root}/config.json");
        let response = self
            .direct
            .get(&config_url)
            .send()
            .await
            .map_err(|err| format!("{config_url}: {err}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "{config_url}: {}",
                status_text(status, response).await
            ));
        }
        let config = response
            .bytes()
            .await
            .map_err(|err| format!("{config_url}: {err}"))?;
        let dl = larder_cargo::lockfile::dl_of(&config)
            .ok_or_else(|| format!("{config_url}: no `dl` in it"))?;
        let index = drain(self.direct.get(format!("{root}/{}", pin.index_path())))
            .await
            .map_err(|err| format!("index file {}: {err}", pin.index_path()))?;
        let download = pin
            .download_url(&dl)
            .ok_or("the lockfile has no checksum for it (a version 1 Cargo.lock: run `cargo update -w` to rewrite it)")?;
        let mut got = drain(self.direct.get(download)).await?;
        got.bytes += index.bytes;
        Ok(got)
    }

    async fn python(&self, pin: &Pin, tags: &Tags) -> Result<Got, String> {
        let page_url = format!("{}/pypi/simple/{}/", self.base, pin.name);
        let response = self
            .direct
            .get(&page_url)
            .header("accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .await
            .map_err(|err| format!("{page_url}: {err}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!(
                "{page_url}: {}",
                status_text(status, response).await
            ));
        }
        let page = response
            .bytes()
            .await
            .map_err(|err| format!("{page_url}: {err}"))?;
        let chosen =
            larder_pypi::lockfile::choose(&page, pin, tags).map_err(|err| err.to_string())?;
        let file_url = Url::parse(&page_url)
            .and_then(|page| page.join(&chosen.url))
            .map_err(|err| format!("{}: bad link {:?}: {err}", chosen.filename, chosen.url))?;
        let mut got = drain(self.direct.get(file_url.clone())).await?;
        if chosen.metadata {
            let mut metadata_url = file_url;
            metadata_url.set_path(&format!("{}.metadata", metadata_url.path()));
            let metadata = drain(self.direct.get(metadata_url))
                .await
                .map_err(|err| format!("{}.metadata: {err}", chosen.filename))?;
            got.bytes += metadata.bytes;
        }
        Ok(got)
    }
}

/// Sends, and reads the whole body (larder stores a fill whether or not its client stays, but
/// warm waits for it to be verified and published before saying it is done).
async fn drain(request: reqwest::RequestBuilder) -> Result<Got, String> {
    let response = request.send().await.map_err(|err| err.to_string())?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(status_text(status, response).await);
    }
    let cache = response
        .headers()
        .get("x-larder-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = response.bytes_stream();
    let mut bytes = 0u64;
    while let Some(chunk) = body.next().await {
        bytes += chunk
            .map_err(|err| format!("download broke after {bytes} bytes: {err}"))?
            .len() as u64;
    }
    if cache == "bypass" {
        return Err(
            "served but not stored: larder's disk refused the write (x-larder-cache: bypass)"
                .into(),
        );
    }
    Ok(Got {
        bytes,
        cached: cache == "hit",
    })
}

async fn status_text(status: reqwest::StatusCode, response: reqwest::Response) -> String {
    let body = response.text().await.unwrap_or_default();
    let body: String = body.trim().chars().take(300).collect();
    if body.is_empty() {
        format!("larder answered {status}")
    } else {
        format!("larder answered {status}: {body}")
    }
}

/// A progress bar on a terminal; plain lines (one per object) otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {wide_msg}",
            );
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        });
        if bar.is_none() {
            eprintln!("larder warm: {total} objects to fetch");
        }
        Progress { bar }
    }

    fn done(&self, label: &str, failure: Option<&str>) {
        match (&self.bar, failure) {
            (Some(bar), None) => {
                bar.set_message(label.to_string());
                bar.inc(1);
            }
            (Some(bar), Some(why)) => {
                bar.println(format!("failed: {label}: {why}"));
                bar.inc(1);
            }
            (None, None) => eprintln!("ok      {label}"),
            (None, Some(why)) => eprintln!("FAILED  {label}: {why}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
