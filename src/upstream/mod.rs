//! The upstream HTTP client: the only code that opens connections.
//!
//! It refuses hosts that no adapter declared (larder is never an open proxy), attaches an
//! ecosystem's credentials only to that ecosystem's configured origin, bounds every phase with
//! a timeout, retries requests that failed before any response, and caps concurrent requests
//! per host.

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

mod error;
mod health;
mod settings;

pub use error::UpstreamError;
pub use health::{Availability, PROBE_INTERVAL};
use settings::retry_backoff;
pub use settings::{Credentials, Limits};

/// An HTML body is an error page unless the object may be HTML: the registries' error pages,
/// proxies' and captive portals' answers arrive as `200 text/html`.
pub fn is_unexpected_html(object: &larder_adapter::Object, content_type: Option<&str>) -> bool {
    !object.may_be_html
        && content_type
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// One request to make.
pub struct UpstreamRequest<'a> {
    pub method: Method,
    pub url: &'a Url,
    pub headers: &'a [(HeaderName, HeaderValue)],
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    /// Metadata may be fetched compressed and decoded (artifacts never are), and has a
    /// connection budget of its own, so it never queues behind artifact downloads.
    pub metadata: bool,
    pub credentials: Option<&'a (Url, Credentials)>,
}

/// A response head, with the permit that holds one of this host's connection slots (of the
/// request's budget: metadata or artifacts) until the body is consumed.
pub struct UpstreamResponse {
    pub response: reqwest::Response,
    pub permit: OwnedSemaphorePermit,
}

pub struct UpstreamClient {
    decoding: reqwest::Client,
    verbatim: reqwest::Client,
    limits: Limits,
    allowed: HashSet<String>,
    per_host: Mutex<HashMap<String, Arc<HostBudget>>>,
    breakers: health::Breakers,
}

/// One host's connection slots, in two budgets of `max_connections_per_host` each: a build's
/// many artifact downloads (each holding its slot for its whole body) must never delay the
/// metadata revalidations every install starts with.
struct HostBudget {
    metadata: Arc<Semaphore>,
    artifacts: Arc<Semaphore>,
}

impl UpstreamClient {
    pub fn new(limits: Limits, upstreams: &[Url]) -> anyhow::Result<Self> {
        let allowed: HashSet<String> = upstreams.iter().filter_map(host_key).collect();
        let build = |decode: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("larder/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(limits.connect_timeout)
                .pool_idle_timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(limits.max_connections_per_host)
                .redirect(redirect_policy(allowed.clone(), limits.max_redirects))
                .gzip(decode)
                .build()
        };
        Ok(UpstreamClient {
            decoding: build(true)?,
            verbatim: build(false)?,
            allowed,
            limits,
            per_host: Mutex::new(HashMap::new()),
            breakers: health::Breakers::default(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sends the request and waits for the response head, retrying connection failures and
    /// timeouts. Any HTTP status is returned as a response: the caller decides what it means.
    /// The outcome feeds the host's breaker ([`UpstreamClient::availability`]); so does a head
    /// still missing after `unresponsive_after`, so that a hung host is marked down about as
    /// fast as one that refuses.
    pub async fn send(
        &self,
        request: &UpstreamRequest<'_>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let host = request.url.host_str().unwrap_or_default().to_string();
        let key = host_key(request.url)
            .ok_or_else(|| UpstreamError::HostNotAllowed { host: host.clone() })?;
        if !self.allowed.contains(&key) {
            return Err(UpstreamError::HostNotAllowed { host: key });
        }
        let sent = self.send_with_retries(request, &host, &key);
        tokio::pin!(sent);
        let slow_after = self.limits.unresponsive_after;
        let result = tokio::select! {
            result = &mut sent => result,
            _ = tokio::time::sleep(slow_after) => {
                let why = format!("no answer within {}", humantime::format_duration(slow_after));
                self.breakers.failure(&key, &why);
                sent.await
            }
        };
        match &result {
            Ok(upstream) if is_availability_failure(upstream.response.status()) => {
                self.breakers.failure(&key, &upstream.response.status());
            }
            Ok(_) => self.breakers.success(&key),
            // Refusals and timeouts were counted attempt by attempt.
            Err(_) => {}
        }
        result
    }

    /// Whether `url`'s host is answering (see [`health`]).
    pub fn availability(&self, url: &Url) -> Availability {
        match host_key(url) {
            Some(key) => self.breakers.availability(&key),
            None => Availability::Up,
        }
    }

    /// Resolves once `url`'s host is marked down (for a client waiting on a revalidation that
    /// its stale copy can answer instead); never, while it is up.
    pub async fn marked_down(&self, url: &Url) {
        let Some(key) = host_key(url) else {
            return std::future::pending().await;
        };
        self.breakers.marked_down(&key).await
    }

    /// The hosts marked down, with for how long (for metrics and the status page).
    pub fn hosts_down(&self) -> Vec<(String, Duration)> {
        self.breakers.down()
    }

    async fn send_with_retries(
        &self,
        request: &UpstreamRequest<'_>,
        host: &str,
        key: &str,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let permit = self.slot(key, request.metadata, host).await?;
        let mut attempt = 0;
        loop {
            match self.attempt(request, host).await {
                Ok(response) => return Ok(UpstreamResponse { response, permit }),
                Err(err) if is_retryable(&err) => {
                    // Every failed attempt counts, so one request's retries against a dead host
                    // trip its breaker; once it is down, retrying only delays the stale copy.
                    self.breakers.failure(key, &err);
                    if attempt >= self.limits.retries || self.breakers.is_down(key) {
                        return Err(err);
                    }
                    attempt += 1;
                    tracing::debug!(%host, attempt, %err, "retrying upstream request");
                    tokio::select! {
                        _ = tokio::time::sleep(retry_backoff(attempt)) => {}
                        _ = self.breakers.marked_down(key) => return Err(err),
                    }
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn attempt(
        &self,
        request: &UpstreamRequest<'_>,
        host: &str,
    ) -> Result<reqwest::Response, UpstreamError> {
        let client = if request.metadata {
            &self.decoding
        } else {
            &self.verbatim
        };
        let mut headers = HeaderMap::new();
        for (name, value) in request.headers {
            headers.append(name.clone(), value.clone());
        }
        if !request.metadata {
            headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("identity"),
            );
        }
        if let Some(etag) = request.etag.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(http::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = request
            .last_modified
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(http::header::IF_MODIFIED_SINCE, date);
        }
        let mut builder = client
            .request(request.method.clone(), request.url.clone())
            .headers(headers);
        if let Some((origin, credentials)) = request.credentials {
            if same_origin(origin, request.url) {
                builder = match credentials {
                    Credentials::Bearer(token) => builder.bearer_auth(token),
                    Credentials::Basic { username, password } => {
                        builder.basic_auth(username, Some(password))
                    }
                };
            }
        }
        let after = self.limits.first_byte_timeout;
        match tokio::time::timeout(after, builder.send()).await {
            Err(_) => Err(UpstreamError::Timeout {
                host: host.into(),
                after,
            }),
            Ok(Err(err)) if err.is_timeout() => Err(UpstreamError::Timeout {
                host: host.into(),
                after,
            }),
            Ok(Err(err)) if err.is_redirect() => Err(refused_redirect(host, err)),
            Ok(Err(err)) => Err(UpstreamError::Connect {
                host: host.into(),
                detail: error_chain(&err),
            }),
            Ok(Ok(response)) => Ok(response),
        }
    }

    /// Sends a client's request on uncached (method, body, content headers kept) and buffers the
    /// small answer. Bounded by `timeout` as a whole, and answered at once while the host is
    /// marked down (or as soon as it is), so an optional call (npm's audit) costs a build
    /// nothing when the upstream is dead.
    pub async fn forward(
        &self,
        method: &Method,
        url: &Url,
        client_headers: &HeaderMap,
        body: bytes::Bytes,
        timeout: Duration,
        credentials: Option<&(Url, Credentials)>,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes), UpstreamError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let key =
            host_key(url).ok_or_else(|| UpstreamError::HostNotAllowed { host: host.clone() })?;
        if !self.allowed.contains(&key) {
            return Err(UpstreamError::HostNotAllowed { host: key });
        }
        if self.breakers.is_down(&key) {
            return Err(UpstreamError::Down { host });
        }
        let mut headers = HeaderMap::new();
        for name in [
            http::header::CONTENT_TYPE,
            http::header::CONTENT_ENCODING,
            http::header::ACCEPT,
        ] {
            if let Some(value) = client_headers.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        let mut builder = self
            .verbatim
            .request(method.clone(), url.clone())
            .headers(headers)
            .body(body);
        if let Some((origin, credentials)) = credentials {
            if same_origin(origin, url) {
                builder = match credentials {
                    Credentials::Bearer(token) => builder.bearer_auth(token),
                    Credentials::Basic { username, password } => {
                        builder.basic_auth(username, Some(password))
                    }
                };
            }
        }
        let exchange = async {
            let response = builder
                .send()
                .await
                .map_err(|err| match err.is_redirect() {
                    true => refused_redirect(&host, err),
                    false => UpstreamError::Connect {
                        host: host.clone(),
                        detail: error_chain(&err),
                    },
                })?;
            let status = response.status();
            let mut headers = HeaderMap::new();
            for name in [http::header::CONTENT_TYPE, http::header::CONTENT_ENCODING] {
                if let Some(value) = response.headers().get(&name) {
                    headers.insert(name, value.clone());
                }
            }
            let limit = self.limits.max_metadata_size;
            let body = bounded_body(response, limit, &host).await?;
            Ok::<_, UpstreamError>((status, headers, body))
        };
        let bounded = tokio::time::timeout(timeout, exchange);
        let answered = tokio::select! {
            answered = bounded => answered,
            _ = self.breakers.marked_down(&key) => return Err(UpstreamError::Down { host }),
        };
        match answered {
            Err(_) => Err(UpstreamError::Timeout {
                host,
                after: timeout,
            }),
            Ok(result) => result,
        }
    }

    /// A connection slot for `host` in the request's budget, waiting at most the first-byte
    /// timeout: a host whose slots are all held by stalled downloads answers a timeout (and a
    /// stale copy, where there is one) rather than an endless wait.
    async fn slot(
        &self,
        key: &str,
        metadata: bool,
        host: &str,
    ) -> Result<OwnedSemaphorePermit, UpstreamError> {
        let budget = {
            let mut map = self.per_host.lock().unwrap_or_else(|p| p.into_inner());
            let per_host = self.limits.max_connections_per_host;
            map.entry(key.to_string())
                .or_insert_with(|| {
                    Arc::new(HostBudget {
                        metadata: Arc::new(Semaphore::new(per_host)),
                        artifacts: Arc::new(Semaphore::new(per_host)),
                    })
                })
                .clone()
        };
        let semaphore = match metadata {
            true => budget.metadata.clone(),
            false => budget.artifacts.clone(),
        };
        let after = self.limits.first_byte_timeout;
        match tokio::time::timeout(after, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(UpstreamError::Connect {
                host: host.into(),
                detail: "shutting down".into(),
            }),
            Err(_) => {
                tracing::warn!(%host, metadata, "every connection slot to this upstream stayed busy for {}", humantime::format_duration(after));
                Err(UpstreamError::Timeout {
                    host: host.into(),
                    after,
                })
            }
        }
    }
}

/// Follows a redirect only to a configured upstream host, and at most `max` of them: a
/// redirect loop ends, and an upstream cannot send larder to a host nobody configured (the
/// cloud metadata address, a service on larder's own machine). Refused before any connection.
fn redirect_policy(allowed: HashSet<String>, max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(format!(
                "more than {max} redirects ([limits] max_redirects)"
            ));
        }
        match host_key(attempt.url()) {
            Some(key) if allowed.contains(&key) => attempt.follow(),
            Some(key) => {
                let why = format!("to {key}, which is not a configured upstream");
                tracing::warn!(redirect = %why, "refused an upstream redirect");
                attempt.error(why)
            }
            None => attempt.error("to a URL without a host"),
        }
    })
}

/// A redirect the policy refused, said without the URLs (they may carry signed queries).
fn refused_redirect(host: &str, err: reqwest::Error) -> UpstreamError {
    let err = err.without_url();
    let detail = match std::error::Error::source(&err) {
        Some(cause) => error_chain(cause),
        None => err.to_string(),
    };
    UpstreamError::Redirect {
        host: host.into(),
        detail,
    }
}

/// A forwarded request's answer, read whole but never past `limit` bytes.
async fn bounded_body(
    response: reqwest::Response,
    limit: u64,
    host: &str,
) -> Result<bytes::Bytes, UpstreamError> {
    use futures_util::StreamExt;
    let mut body = bytes::BytesMut::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| UpstreamError::Body {
            host: host.into(),
            detail: error_chain(&err),
        })?;
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(UpstreamError::TooLarge {
                host: host.into(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Statuses that say the host cannot serve now, rather than anything about the object.
fn is_availability_failure(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

fn is_retryable(err: &UpstreamError) -> bool {
    matches!(
        err,
        UpstreamError::Connect { .. } | UpstreamError::Timeout { .. }
    )
}

/// `host:port` with the scheme's default port made explicit.
fn host_key(url: &Url) -> Option<String> {
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && host_key(a) == host_key(b)
}

/// The error and its causes on one line, without the URL (which may carry a query).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hosts_outside_the_configuration_are_refused_without_a_connection() {
        let allowed = Url::parse("http://127.0.0.1:9/").unwrap();
        let client = UpstreamClient::new(Limits::default(), &[allowed]).unwrap();
        let evil = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let request = UpstreamRequest {
            method: Method::GET,
            url: &evil,
            headers: &[],
            etag: None,
            last_modified: None,
            metadata: false,
            credentials: None,
        };
        let err = client.send(&request).await.err().unwrap();
        assert!(matches!(err, UpstreamError::HostNotAllowed { .. }), "{err}");
        assert_eq!(err.client_status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn origins_compare_with_default_ports() {
        let a = Url::parse("https://registry.example/").unwrap();
        assert!(same_origin(
            &a,
            &Url::parse("https://registry.example:443/x").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("http://registry.example/x").unwrap()
        ));
        assert!(!same_origin(
            &a,
            &Url::parse("https://cdn.example/x").unwrap()
        ));
    }
}
