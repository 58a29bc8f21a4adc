//! What an adapter tells the engine about one request: a [`Route`], and for cached objects an
//! [`Object`] with its freshness rule and how to verify it.

use crate::Digest;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use std::time::Duration;
use url::Url;

/// The adapter's answer to one request.
#[derive(Debug)]
pub enum Route {
    /// Serve this object through the cache.
    Fetch(Object),
    /// Redirect the client. `location` is relative to the adapter's prefix (`/simple/foo/` under
    /// `/pypi` becomes `/pypi/simple/foo/`).
    Redirect { location: String },
    /// Answer locally, without contacting upstream (`/-/ping`, a sumdb `supported` probe) or
    /// reject a request that is malformed or outside the protocol (400, 404, 405).
    Reply(Reply),
    /// Pass the request through to upstream uncached (npm's audit `POST`s).
    Forward(Forward),
}

impl Route {
    pub fn reply(status: StatusCode, message: impl Into<String>) -> Self {
        Route::Reply(Reply::text(status, message))
    }
}

/// A response the engine sends as it is.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl Reply {
    pub fn text(status: StatusCode, message: impl Into<String>) -> Self {
        let mut body = message.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Bytes::from(body),
        }
    }
}

/// An uncached pass-through of the client's request (method, body and content headers kept).
#[derive(Clone, Debug)]
pub struct Forward {
    pub upstream: Url,
    /// How long the client may wait for upstream before it gets `fallback` instead.
    pub timeout: Duration,
    /// Sent when upstream fails or times out, so that an optional call (npm audit) never fails a
    /// build. `None` reports the failure as 502/504.
    pub fallback: Option<Reply>,
}

/// One cacheable object: where it lives upstream, whether it can change, how to check it.
#[derive(Clone, Debug)]
pub struct Object {
    /// Cache identity, unique within the adapter. Two routes that name the same bytes (apt's
    /// proxy and mirror modes) must produce the same key. The engine prefixes the adapter name.
    pub key: String,
    pub upstream: Url,
    /// Extra headers for the upstream request (npm's `Accept` for abbreviated packuments).
    pub upstream_headers: Vec<(HeaderName, HeaderValue)>,
    pub freshness: Freshness,
    pub verify: Verify,
    /// `Content-Type` sent to clients; `None` keeps the upstream's.
    pub content_type: Option<&'static str>,
    /// Headers added to every response for this object (`Vary: Accept`).
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    /// This object is an index that declares other objects' digests (apt's InRelease declares
    /// its indexes', a Packages index its pool files'): once stored, the engine hands it to
    /// [`crate::Ecosystem::declared_digests`] and serves a cached object those digests
    /// contradict no more.
    pub declares_digests: bool,
    /// Upstream may legitimately answer with an HTML page (PEP 503 simple pages). For every
    /// other object an HTML body is an error or captive-portal page: never stored or served.
    pub may_be_html: bool,
}

impl Object {
    pub fn new(key: impl Into<String>, upstream: Url, freshness: Freshness) -> Self {
        Object {
            key: key.into(),
            upstream,
            upstream_headers: Vec::new(),
            freshness,
            verify: Verify::None,
            content_type: None,
            response_headers: Vec::new(),
            declares_digests: false,
            may_be_html: false,
        }
    }

    pub fn may_be_html(mut self) -> Self {
        self.may_be_html = true;
        self
    }

    pub fn declares_digests(mut self) -> Self {
        self.declares_digests = true;
        self
    }

    pub fn verify(mut self, verify: Verify) -> Self {
        self.verify = verify;
        self
    }

    pub fn content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = Some(content_type);
        self
    }

    pub fn upstream_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.upstream_headers.push((name, value));
        self
    }

    pub fn response_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.response_headers.push((name, value));
        self
    }

    pub fn is_metadata(&self) -> bool {
        matches!(self.freshness, Freshness::Mutable { .. })
    }
}

/// Whether an object's bytes can change under the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Artifacts: once verified and stored, served forever without asking upstream.
    Immutable,
    /// Metadata: served from the cache for `ttl`, then revalidated; served stale when upstream
    /// fails. A 404 is remembered for `negative_ttl`.
    Mutable {
        ttl: Duration,
        negative_ttl: Duration,
    },
}

/// How the engine checks an object's bytes before it publishes them to the store.
#[derive(Clone, Debug)]
pub enum Verify {
    /// Stored as fetched (Go zips: the client checks `go.sum` and the checksum database).
    None,
    /// The digest is known now: from the route (`by-hash/SHA256/<hex>`) or sent by the client.
    Digest(Digest),
    /// The digest is declared by another object, which the engine obtains through the cache
    /// (revalidating it once if it does not list this artifact) and hands to
    /// [`crate::Ecosystem::find_digest`]: npm's packument, PyPI's simple page, apt's InRelease.
    Listed(Box<Object>),
}

/// What an index object says about an artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    /// The index declares this digest.
    Found(Digest),
    /// The index does not list the artifact at all; it may be out of date.
    Absent,
    /// The index lists the artifact without a digest larder can check, or cannot be parsed.
    Unverifiable,
}
