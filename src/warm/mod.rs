//! `larder warm FILE...`: fetch everything lockfiles name through a running larder, so that the
//! build that follows finds it all cached.
//!
//! Formats and parsing are each adapter's (the [`larder_adapter::Lockfile`]s on its factory:
//! pure functions); [`sources`] picks the format and learns what the formats need about the
//! target; this module does the I/O: plain HTTP requests to larder (never to an upstream:
//! larder fetches, verifies and stores exactly as for a client), a bounded number at a time,
//! with a progress bar on a terminal and plain lines otherwise.

pub mod sources;

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;
use larder_adapter::{AdapterFactory, Fetch, Picker, Target};
use sources::Job;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// What to warm, and where.
pub struct Options {
    /// larder's base URL (`http://127.0.0.1:7878`).
    pub base: Url,
    /// The ecosystems whose lockfiles warm reads (the configured ones).
    pub factories: Vec<&'static AdapterFactory>,
    /// Lockfiles; `-` reads standard input.
    pub files: Vec<PathBuf>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// What the build's machine is, where it is not this one.
    pub target: sources::TargetFlags,
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
    let mut needs = Vec::new();
    for file in &options.files {
        let bytes = if file.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("reading standard input")?;
            bytes
        } else {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        };
        let format = sources::detect(&options.factories, file, &bytes)?;
        let found = sources::jobs(format, &bytes, &options.base).with_context(|| {
            format!(
                "{}: cannot read it as {}",
                file.display(),
                format.lockfile.kind
            )
        })?;
        if found.is_empty() {
            eprintln!("larder warm: {}: nothing to fetch in it", file.display());
        } else {
            needs.extend(format.lockfile.needs);
        }
        jobs.extend(found);
    }
    let target = sources::target(&needs, &options.target)?;
    let (jobs, skipped) = sources::for_target(jobs, &target);
    if skipped > 0 {
        eprintln!(
            "larder warm: skipped {skipped} packages for other platforms than {} (--all-platforms to fetch them too)",
            target
                .platform
                .as_ref()
                .map(|p| format!("{}-{}", p.os, p.cpu))
                .unwrap_or_default()
        );
    }
    let client = Client::new(&options.base)?;
    client.preflight().await?;

    let progress = Progress::new(jobs.len() as u64);
    let mut outcome = Outcome::default();
    let mut results = futures_util::stream::iter(jobs.into_iter().map(|job| {
        let client = &client;
        let target = &target;
        async move {
            let result = client.fetch(&job, target).await;
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

    async fn fetch(&self, job: &Job, target: &Target) -> Result<Got, String> {
        let mount = format!("{}/{}", self.base, job.ecosystem);
        match &job.fetch {
            Fetch::Get { path, headers } => {
                drain(with_headers(
                    self.direct.get(format!("{mount}/{path}")),
                    headers,
                ))
                .await
            }
            Fetch::Proxy { uri } => {
                if uri.starts_with(&format!("{}/", self.base)) {
                    drain(self.direct.get(uri)).await // already larder's URL (apt as a mirror)
                } else {
                    drain(self.proxied.get(uri)).await
                }
            }
            Fetch::Pick {
                path,
                headers,
                pick,
                ..
            } => {
                self.pick(&format!("{mount}/{path}"), headers, pick, target)
                    .await
            }
            Fetch::Refused { why, .. } => Err(why.clone()),
            // Unwrapped for the target before any fetch (`sources::for_target`).
            Fetch::When { .. } => Err("a conditional fetch reached the client".into()),
        }
    }

    /// Reads the index page at `page_url`, then fetches what `pick` chooses on it.
    async fn pick(
        &self,
        page_url: &str,
        headers: &[(&'static str, String)],
        pick: &Picker,
        target: &Target,
    ) -> Result<Got, String> {
        let response = with_headers(self.direct.get(page_url), headers)
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
        let chosen = pick(&page, target).map_err(|err| err.to_string())?;
        let page_url = Url::parse(page_url).map_err(|err| format!("{page_url}: {err}"))?;
        let mut total: Option<Got> = None;
        for link in chosen {
            let url = page_url
                .join(&link)
                .map_err(|err| format!("{page_url}: bad link {link:?}: {err}"))?;
            let got = drain(self.direct.get(url.clone()))
                .await
                .map_err(|err| format!("{url}: {err}"))?;
            // The first link is the file a resolver installs: its state is the job's.
            total = Some(match total {
                None => got,
                Some(first) => Got {
                    bytes: first.bytes + got.bytes,
                    cached: first.cached,
                },
            });
        }
        total.ok_or_else(|| format!("{page_url}: nothing on the page to fetch"))
    }
}

fn with_headers(
    mut request: reqwest::RequestBuilder,
    headers: &[(&'static str, String)],
) -> reqwest::RequestBuilder {
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
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
