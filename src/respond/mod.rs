//! Turns what the engine found into the client's response: ETag and 304, HEAD, a single Range
//! (206/416), streaming rewrites of metadata, and error statuses with a text body.

use crate::body::{self, ByteStream};
use crate::direct::DirectBody;
use crate::engine::{Found, Mounted};
use crate::metrics::Source;
use crate::store::integrity::Damage;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;
use larder_adapter::Object;
use sha2::Digest as _;

mod range;

pub use range::{model as range_model, parse_range, RangeRequest};

/// A response body: the HTTP layer turns it into its own type.
pub enum Body {
    Empty,
    Full(Bytes),
    Stream(ByteStream),
}

pub type Response = http::Response<Body>;

/// The parts of a request that shape the response.
pub struct Want {
    pub head: bool,
    pub range: Option<String>,
    /// Resuming clients (apt) send the validator of the copy they hold: the Range applies only
    /// if the object is still that copy.
    pub if_range: Option<String>,
    pub if_none_match: Option<String>,
    /// larder's own base URL for this adapter, for rewritten links (`http://host:7878/npm`).
    pub public_base: String,
}

const X_CACHE: HeaderName = HeaderName::from_static("x-larder-cache");
/// On a copy served unconfirmed past the validity its upstream declared: when that was.
const X_EXPIRED: HeaderName = HeaderName::from_static("x-larder-expired");
/// On a response `[policy]` changed: `refused`, or `withheld <n>` (releases left out).
const X_POLICY: HeaderName = HeaderName::from_static("x-larder-policy");

pub fn respond(eco: &Mounted, object: &Object, found: Found, want: &Want) -> Response {
    match found {
        Found::Failed(err) => {
            let mut response = text(err.client_status(), format!("{err}\n"));
            if let Some(reason) = err.reason_phrase() {
                response.extensions_mut().insert(Reason(reason.to_string()));
            }
            response
        }
        Found::Missing { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
            text(
                status,
                format!(
                    "not found upstream: {} answered {status}\n",
                    object.upstream
                ),
            )
        }
        Found::Stored {
            pointer,
            blob,
            stale,
            expired,
        } => stored(
            eco,
            object,
            Stored {
                pointer,
                blob,
                stale,
                expired,
            },
            want,
        ),
        Found::Direct(direct) => passed_through(eco, object, direct, want),
        Found::Filling { head, rx } => filling(eco, object, head, rx, want),
    }
}

/// A stored copy, and why it is served unconfirmed, if it is.
struct Stored {
    pointer: crate::store::Pointer,
    blob: crate::store::BlobFile,
    stale: Option<std::sync::Arc<crate::upstream::UpstreamError>>,
    expired: Option<i64>,
}

fn stored(eco: &Mounted, object: &Object, copy: Stored, want: &Want) -> Response {
    let from_cache = eco.metrics.served(Source::Cache);
    let audit = || body::Audit {
        key: format!("{}/{}", eco.name(), object.key),
        quarantined: eco.metrics.quarantined(Damage::Digest),
    };
    let sha = copy.pointer.sha256.as_deref().unwrap_or_default();
    let rewriter = eco.adapter.rewriter(object, &want.public_base);
    let etag = match &rewriter {
        None => format!("\"{sha}\""),
        // The links in a rewritten body depend on the base URL it was served for.
        Some(_) => format!(
            "\"{}-{}\"",
            &sha[..sha.len().min(40)],
            short_hash(&want.public_base)
        ),
    };
    let mut headers = base_headers(object, copy.pointer.content_type.as_deref());
    insert(&mut headers, header::ETAG, &etag);
    unconfirmed_headers(&mut headers, &copy);
    if want
        .if_none_match
        .as_deref()
        .is_some_and(|inm| etag_matches(inm, &etag))
    {
        return build(StatusCode::NOT_MODIFIED, headers, Body::Empty);
    }
    let len = copy.blob.len;
    let blob = copy.blob;
    if let Some(rewriter) = rewriter {
        let body = match want.head {
            true => Body::Empty,
            false => Body::Stream(body::rewritten(
                body::blob_range(blob, 0, len, from_cache, audit),
                rewriter,
            )),
        };
        return build(StatusCode::OK, headers, body);
    }
    ranged(headers, len, want, Some(&etag), |start, end| {
        body::blob_range(blob, start, end, from_cache, audit)
    })
}

/// `x-larder-cache` (hit or stale), and the warnings of a copy upstream did not confirm.
fn unconfirmed_headers(headers: &mut HeaderMap, copy: &Stored) {
    let outcome = if copy.stale.is_some() { "stale" } else { "hit" };
    headers.insert(X_CACHE, HeaderValue::from_static(outcome));
    if let Some(err) = &copy.stale {
        insert(
            headers,
            header::WARNING,
            &format!(
                "110 larder \"Response is Stale: {}\"",
                err.to_string().replace('"', "'")
            ),
        );
    }
    if let Some(valid_until) = copy.expired {
        let valid_until = crate::engine::valid_until_text(valid_until);
        insert(headers, X_EXPIRED, &valid_until);
        let warning = format!(
            "299 larder \"Expired: upstream declared this copy valid until {valid_until}; \
             clients will refuse it until upstream can be reached\""
        );
        if let Ok(value) = HeaderValue::from_str(&warning) {
            headers.append(header::WARNING, value);
        }
    }
}

/// Streamed from upstream, uncached (the store refuses writes).
fn passed_through(eco: &Mounted, object: &Object, direct: DirectBody, want: &Want) -> Response {
    let mut headers = base_headers(object, direct.content_type.as_deref());
    headers.insert(X_CACHE, HeaderValue::from_static("bypass"));
    let rewriter = eco.adapter.rewriter(object, &want.public_base);
    if let (Some(len), None) = (direct.content_length, &rewriter) {
        insert(&mut headers, header::CONTENT_LENGTH, &len.to_string());
    }
    let body = match (want.head, rewriter) {
        (true, _) => Body::Empty,
        (false, Some(rewriter)) => Body::Stream(body::rewritten(direct.body, rewriter)),
        (false, None) => Body::Stream(direct.body),
    };
    build(StatusCode::OK, headers, body)
}

/// A fill's body, following its temp file as it grows.
fn filling(
    eco: &Mounted,
    object: &Object,
    head: std::sync::Arc<crate::fill::BodyHead>,
    rx: tokio::sync::watch::Receiver<crate::fill::FillState>,
    want: &Want,
) -> Response {
    let from_upstream = eco.metrics.served(Source::Upstream);
    let mut headers = base_headers(object, head.content_type.as_deref());
    headers.insert(X_CACHE, HeaderValue::from_static("miss"));
    let rewriter = eco.adapter.rewriter(object, &want.public_base);
    let (Some(len), None) = (head.content_length, &rewriter) else {
        // Rewritten, or of unknown length: the whole body, as it comes.
        let body = match want.head {
            true => Body::Empty,
            false => {
                let whole = body::following(
                    head.file.clone(),
                    Some(head.clone()),
                    rx,
                    0,
                    None,
                    from_upstream,
                );
                match rewriter {
                    Some(rewriter) => Body::Stream(body::rewritten(whole, rewriter)),
                    None => Body::Stream(whole),
                }
            }
        };
        return build(StatusCode::OK, headers, body);
    };
    ranged(headers, len, want, None, |start, end| {
        body::following(
            head.file.clone(),
            Some(head.clone()),
            rx,
            start,
            Some(end),
            from_upstream,
        )
    })
}

/// A body of known length: `Accept-Ranges`, a single Range (206, or 416), or the whole (200);
/// `body(start, end)` is asked only when bytes are to be sent.
/// The whole body, or the part a `Range` asks for. `etag` is the object's strong validator, if
/// known: a `Range` with an `If-Range` that does not name it gets the whole body, so a client
/// never splices a part of a changed file onto what it holds (RFC 9110 13.1.5; a date never
/// matches, since larder sends no `Last-Modified`).
fn ranged(
    mut headers: HeaderMap,
    len: u64,
    want: &Want,
    etag: Option<&str>,
    body: impl FnOnce(u64, u64) -> ByteStream,
) -> Response {
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let still_the_same = match want.if_range.as_deref() {
        None => true,
        Some(validator) => etag.is_some_and(|etag| validator.trim() == etag),
    };
    let range = want.range.as_deref().filter(|_| still_the_same);
    let (status, start, end) = match range.map(|r| parse_range(r, len)) {
        Some(RangeRequest::Unsatisfiable) => {
            insert(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            return build(StatusCode::RANGE_NOT_SATISFIABLE, headers, Body::Empty);
        }
        Some(RangeRequest::Bytes(start, end)) => {
            let range = format!("bytes {start}-{}/{len}", end - 1);
            insert(&mut headers, header::CONTENT_RANGE, &range);
            (StatusCode::PARTIAL_CONTENT, start, end)
        }
        Some(RangeRequest::Ignore) | None => (StatusCode::OK, 0, len),
    };
    insert(
        &mut headers,
        header::CONTENT_LENGTH,
        &(end - start).to_string(),
    );
    let body = if want.head {
        Body::Empty
    } else {
        Body::Stream(body(start, end))
    };
    build(status, headers, body)
}

/// A non-canonical HTTP/1 reason phrase for a response (`403 Forbidden by larder policy …`,
/// `424 larder runs offline and has no copy of this`), for clients that print only the status
/// line; the HTTP layer sends it (HTTP/2 has none).
#[derive(Clone, Debug)]
pub struct Reason(pub String);

/// A policy refusal: the adapter's error body, and the reason phrase.
pub fn refused(reply: larder_adapter::Reply, reason: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(X_POLICY, HeaderValue::from_static("refused"));
    let mut response = build(reply.status, headers, Body::Full(reply.body));
    response.extensions_mut().insert(Reason(reason));
    response
}

/// A metadata document the policy filtered (`withheld` releases left out): whole, from memory,
/// through the adapter's rewrite, with an ETag of its own bytes, so it never matches the
/// unfiltered document's (nor a filtering by another policy).
pub fn filtered(
    eco: &Mounted,
    object: &Object,
    stored_type: Option<&str>,
    body: Vec<u8>,
    withheld: usize,
    want: &Want,
) -> Response {
    let body = match eco.adapter.rewriter(object, &want.public_base) {
        Some(mut rewriter) => {
            let mut out = Vec::with_capacity(body.len() + body.len() / 8);
            rewriter.push(&body, &mut out);
            rewriter.finish(&mut out);
            out
        }
        None => body,
    };
    let etag = format!(
        "\"policy-{}\"",
        hex::encode(&sha2::Sha256::digest(&body)[..16])
    );
    let mut headers = base_headers(object, stored_type);
    insert(&mut headers, header::ETAG, &etag);
    insert(&mut headers, X_POLICY, &format!("withheld {withheld}"));
    if want
        .if_none_match
        .as_deref()
        .is_some_and(|inm| etag_matches(inm, &etag))
    {
        return build(StatusCode::NOT_MODIFIED, headers, Body::Empty);
    }
    insert(
        &mut headers,
        header::CONTENT_LENGTH,
        &body.len().to_string(),
    );
    let body = match want.head {
        true => Body::Empty,
        false => Body::Full(Bytes::from(body)),
    };
    build(StatusCode::OK, headers, body)
}

pub fn text(status: StatusCode, message: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    build(status, headers, Body::Full(Bytes::from(message)))
}

pub fn build(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

fn base_headers(object: &Object, stored_type: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let content_type = object
        .content_type
        .or(stored_type)
        .unwrap_or("application/octet-stream");
    insert(&mut headers, header::CONTENT_TYPE, content_type);
    for (name, value) in &object.response_headers {
        headers.append(name.clone(), value.clone());
    }
    headers
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..6])
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_lists_and_weak_forms() {
        assert!(etag_matches("\"a\", \"b\"", "\"b\""));
        assert!(etag_matches("W/\"b\"", "\"b\""));
        assert!(!etag_matches("\"c\"", "\"b\""));
    }
}
