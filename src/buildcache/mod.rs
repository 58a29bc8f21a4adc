//! The build cache: what compilers built, kept next to what package managers downloaded.
//!
//! `/cache/` speaks the HTTP cache protocols build tools already have (Bazel, Gradle, ccache,
//! sccache's WebDAV) and the one `larder gocache` (`src/gocache/`) uses for the go command. It
//! knows no HTTP framework: `src/http/cache.rs` hands it the method, path, peer, credentials and
//! body stream. Entries live in the same store as mirrored objects ([`entries`]), under their
//! own key space.
//!
//! Two kinds of entry ([`paths::Kind`]): blobs, whose key is the sha256 of their bytes and is
//! checked on every write; and action entries, whose key is a hash of a build step's inputs
//! chosen by the client. An action entry cannot be checked, so a client that may write can
//! poison it for everyone who reads it: that is why writes need a right ([`rights`]).

pub mod binary;
pub mod entries;
pub mod metrics;
pub mod paths;
pub mod rights;
pub mod webdav;

use crate::engine::Engine;
use crate::respond::{self, Body, Response};
use bytes::Bytes;
use futures_util::Stream;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use paths::{Kind, Target};
use std::net::IpAddr;

pub use crate::cache_config::CacheConfig;
pub use metrics::CacheMetrics;

/// The build cache's settings and counters, held by the HTTP layer.
#[derive(Default)]
pub struct BuildCache {
    pub config: CacheConfig,
    pub metrics: CacheMetrics,
}

/// One request to `/cache/`, without its framework.
pub struct CacheRequest<S> {
    pub method: Method,
    /// The path after `/cache/`.
    pub rest: String,
    /// The whole request path (WebDAV answers name it).
    pub href: String,
    pub peer: Option<IpAddr>,
    pub authorization: Option<HeaderValue>,
    pub content_length: Option<u64>,
    pub body: S,
}

impl BuildCache {
    pub fn new(config: CacheConfig) -> BuildCache {
        BuildCache {
            config,
            metrics: CacheMetrics::new(),
        }
    }

    /// Answers one request.
    pub async fn serve<S, E>(&self, engine: &Engine, request: CacheRequest<S>) -> Response
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if !self.config.enabled {
            return respond::text(
                StatusCode::NOT_FOUND,
                "the build cache is off here ([cache] enabled = false)\n".into(),
            );
        }
        let target = match paths::parse(&request.rest) {
            Ok(target) => target,
            Err(why) => return respond::text(StatusCode::NOT_FOUND, format!("{why}\n")),
        };
        let counters = self.metrics.tool(target.tool);
        let writes = matches!(request.method.as_str(), "PUT" | "DELETE" | "MKCOL");
        if writes
            && !rights::may_write(
                &self.config,
                &target.namespace,
                request.peer,
                request.authorization.as_ref().map(HeaderValue::as_bytes),
            )
        {
            counters.refused.inc();
            tracing::debug!(peer = ?request.peer, namespace = %target.namespace, "build-cache write refused");
            return respond::text(
                StatusCode::FORBIDDEN,
                format!(
                    "this larder does not take build-cache writes from you in namespace {:?}: \
                     writes come from [cache] write_networks (loopback by default) or carry \
                     that namespace's token from [cache.write_tokens]; nothing was stored\n",
                    target.namespace
                ),
            );
        }
        match request.method.as_str() {
            "GET" | "HEAD" => {
                self.get(engine, &target, request.method == Method::HEAD)
                    .await
            }
            "PUT" => self.put(engine, &target, request).await,
            "DELETE" => match entries::delete(engine, target.store_key()).await {
                Ok(()) => respond::build(StatusCode::NO_CONTENT, HeaderMap::new(), Body::Empty),
                Err(err) => storage_failure(&err),
            },
            "PROPFIND" => self.propfind(engine, &target, &request.href).await,
            "MKCOL" => webdav::created(),
            _ => {
                let mut headers = HeaderMap::new();
                headers.insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, HEAD, PUT, DELETE, PROPFIND, MKCOL"),
                );
                respond::build(StatusCode::METHOD_NOT_ALLOWED, headers, Body::Empty)
            }
        }
    }

    async fn get(&self, engine: &Engine, target: &Target, head: bool) -> Response {
        let counters = self.metrics.tool(target.tool);
        if target.kind == Kind::Collection {
            return respond::text(
                StatusCode::NOT_FOUND,
                "a collection has no content\n".into(),
            );
        }
        let entry = match entries::read(engine, target.store_key()).await {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                counters.misses.inc();
                return respond::build(StatusCode::NOT_FOUND, HeaderMap::new(), Body::Empty);
            }
            Err(err) => return storage_failure(&err),
        };
        counters.hits.inc();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.blob.len));
        if let Some(sha) = &entry.pointer.sha256 {
            if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
                headers.insert(header::ETAG, etag);
            }
        }
        let body = if head {
            Body::Empty
        } else {
            let len = entry.blob.len;
            let key = entry.pointer.key.clone();
            // A large blob not verified since it was written is hashed as it streams; a
            // mismatch cuts the response and quarantines it (counted in the log only here).
            let audit = move || crate::body::Audit {
                key,
                quarantined: prometheus_client::metrics::counter::Counter::default(),
            };
            Body::Stream(crate::body::blob_range(
                entry.blob,
                0,
                len,
                counters.served_bytes.clone(),
                audit,
            ))
        };
        respond::build(StatusCode::OK, headers, body)
    }

    async fn put<S, E>(
        &self,
        engine: &Engine,
        target: &Target,
        request: CacheRequest<S>,
    ) -> Response
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let counters = self.metrics.tool(target.tool);
        if target.kind == Kind::Collection {
            return respond::text(
                StatusCode::METHOD_NOT_ALLOWED,
                "a collection takes MKCOL, not PUT\n".into(),
            );
        }
        let written = entries::write(
            engine,
            target.store_key(),
            request.body,
            request.content_length,
            self.config.max_entry_size,
            target.expected_sha256().map(str::to_string),
        )
        .await;
        match written {
            Ok(pointer) => {
                counters.puts.inc();
                counters.stored_bytes.inc_by(pointer.size);
                respond::build(StatusCode::CREATED, HeaderMap::new(), Body::Empty)
            }
            Err(err) => {
                let status = match &err {
                    entries::WriteError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    entries::WriteError::Mismatch { .. } | entries::WriteError::Body(_) => {
                        StatusCode::BAD_REQUEST
                    }
                    entries::WriteError::Store(io) => return storage_failure(io),
                };
                counters.refused.inc();
                tracing::debug!(key = %target.key, tool = target.tool.name(), %err, "build-cache write refused");
                respond::text(status, format!("{err}\n"))
            }
        }
    }

    async fn propfind(&self, engine: &Engine, target: &Target, href: &str) -> Response {
        if target.kind == Kind::Collection {
            return webdav::collection(href);
        }
        match entries::read(engine, target.store_key()).await {
            Ok(Some(entry)) => webdav::entry(
                href,
                entry.blob.len,
                entry.pointer.sha256.as_deref().unwrap_or_default(),
                entry.pointer.fetched_at_ms,
            ),
            Ok(None) => respond::build(StatusCode::NOT_FOUND, HeaderMap::new(), Body::Empty),
            Err(err) => storage_failure(&err),
        }
    }
}

/// The store failed: a build must treat it as a cache that is unavailable, not as a miss.
fn storage_failure(err: &std::io::Error) -> Response {
    tracing::error!(error = %err, "the build cache could not use the store");
    respond::text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("larder's store failed ({err}); the build cache is unavailable for now\n"),
    )
}
