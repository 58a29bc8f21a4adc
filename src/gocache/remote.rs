//! larder as the helper's remote: `/cache/<namespace>/go/ac/<action id>` holds an action's
//! [`Record`], `/cache/go/cas/<output sha256>` the output (verified by larder on write, and
//! by the helper on read).
//!
//! A build must never fail or wait long because of the remote: every request has a short
//! timeout, and the first connection failure or timeout sets the remote aside for
//! [`SET_ASIDE`]: gets are then local misses at once and puts stay local.

use super::local::{LocalDir, Record};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How long the remote is left alone after it failed to answer.
const SET_ASIDE: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Remote {
    client: reqwest::Client,
    /// `http://host:7878/cache/go` or `.../cache/ns/<namespace>/go`.
    base: String,
    token: Option<String>,
    /// Time allowed for an action record (a few hundred bytes).
    record_timeout: Duration,
    /// Unix ms until which the remote is set aside.
    down_until_ms: AtomicU64,
    warned: AtomicBool,
}

/// Why the remote could not answer: the remote is then set aside.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl Remote {
    pub fn new(
        url: &str,
        namespace: Option<&str>,
        token: Option<String>,
        record_timeout: Duration,
    ) -> anyhow::Result<Remote> {
        let root = url.trim_end_matches('/');
        let base = match namespace {
            Some(ns) => format!("{root}/cache/ns/{ns}/go"),
            None => format!("{root}/cache/go"),
        };
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Remote {
            client,
            base,
            token,
            record_timeout,
            down_until_ms: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        })
    }

    pub fn is_up(&self) -> bool {
        crate::store::now_ms() >= self.down_until_ms.load(Ordering::Relaxed)
    }

    fn set_aside(&self, why: &str) {
        let until = crate::store::now_ms() + SET_ASIDE.as_millis() as u64;
        self.down_until_ms.store(until, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "larder gocache: larder at {} did not answer ({why}); the build goes on with the \
                 local cache only, retrying larder every {}s",
                self.base,
                SET_ASIDE.as_secs()
            );
        }
    }

    fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, url);
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Marks the remote as down when `err` says it is unreachable or slow.
    fn failed(&self, err: reqwest::Error) -> Unavailable {
        let why = if err.is_timeout() {
            "timed out".to_string()
        } else {
            err.to_string()
        };
        self.set_aside(&why);
        Unavailable(why)
    }

    /// The record of an action, if larder has one.
    pub async fn record(&self, action_hex: &str) -> Result<Option<Record>, Unavailable> {
        let url = format!("{}/ac/{action_hex}", self.base);
        let response = self
            .request(reqwest::Method::GET, url)
            .timeout(self.record_timeout)
            .send()
            .await
            .map_err(|err| self.failed(err))?;
        if response.status() != reqwest::StatusCode::OK {
            return Ok(None);
        }
        let body = response.bytes().await.map_err(|err| self.failed(err))?;
        Ok(serde_json::from_slice(&body).ok())
    }

    /// Downloads an output into the local directory; `None` when larder lacks it or it does
    /// not hash to its name.
    pub async fn fetch_object(
        &self,
        local: &LocalDir,
        output_hex: &str,
        size: u64,
    ) -> Result<Option<PathBuf>, Unavailable> {
        let url = format!("{}/cas/{output_hex}", self.base);
        let mut response = self
            .request(reqwest::Method::GET, url)
            .timeout(self.body_timeout(size))
            .send()
            .await
            .map_err(|err| self.failed(err))?;
        if response.status() != reqwest::StatusCode::OK {
            return Ok(None);
        }
        let temp = local.temp_path();
        let mut file = std::fs::File::create(&temp).map_err(|err| Unavailable(err.to_string()))?;
        let mut hasher = Sha256::new();
        let mut received = 0u64;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len() as u64;
                    hasher.update(&chunk);
                    if let Err(err) = file.write_all(&chunk) {
                        let _ = std::fs::remove_file(&temp);
                        return Err(Unavailable(err.to_string()));
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    let _ = std::fs::remove_file(&temp);
                    return Err(self.failed(err));
                }
            }
        }
        if received != size || hex::encode(hasher.finalize()) != output_hex {
            let _ = std::fs::remove_file(&temp);
            return Ok(None);
        }
        match local.adopt(&temp, output_hex) {
            Ok(path) => Ok(Some(path)),
            Err(err) => {
                let _ = std::fs::remove_file(&temp);
                Err(Unavailable(err.to_string()))
            }
        }
    }

    /// Shares an action and its output: the output first, so a record never names an output
    /// larder lacks. Returns whether larder took both.
    pub async fn upload(&self, action_hex: &str, record: &Record, body: bytes::Bytes) -> bool {
        if !self.is_up() {
            return false;
        }
        let object_url = format!("{}/cas/{}", self.base, record.output);
        let already = record.size > 64 * 1024
            && self
                .request(reqwest::Method::HEAD, object_url.clone())
                .timeout(self.record_timeout)
                .send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
        if !already {
            let sent = self
                .request(reqwest::Method::PUT, object_url)
                .timeout(self.body_timeout(record.size))
                .body(body)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => return self.refused(response.status()),
                Err(err) => {
                    self.failed(err);
                    return false;
                }
            }
        }
        let record_body = serde_json::to_vec(record).unwrap_or_default();
        let sent = self
            .request(
                reqwest::Method::PUT,
                format!("{}/ac/{action_hex}", self.base),
            )
            .timeout(self.record_timeout)
            .body(record_body)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => self.refused(response.status()),
            Err(err) => {
                self.failed(err);
                false
            }
        }
    }

    /// larder answered a put with an error: say so once (a 403 means no write right here).
    fn refused(&self, status: reqwest::StatusCode) -> bool {
        if !self.warned.swap(true, Ordering::Relaxed) {
            let hint = if status == reqwest::StatusCode::FORBIDDEN {
                "; this larder takes writes from its write_networks or with a token (--token)"
            } else {
                ""
            };
            eprintln!(
                "larder gocache: larder at {} refused a put ({status}){hint}; builds still read from it",
                self.base
            );
        }
        false
    }

    /// A body gets the record timeout plus a second per 10 MB: never less than a LAN needs.
    fn body_timeout(&self, size: u64) -> Duration {
        self.record_timeout + Duration::from_millis(size / 10_000)
    }
}
