//! Uncached pass-through, for when the store cannot take a write (a full disk): the client's
//! download streams straight from upstream, so a full disk costs speed, never a failed build.

use crate::body::ByteStream;
use crate::engine::{Found, Mounted};
use crate::metrics::Source;
use crate::upstream::{error_chain, UpstreamClient, UpstreamError, UpstreamRequest};
use futures_util::{stream, StreamExt};
use larder_adapter::Object;
use std::sync::Arc;

/// A response head and body read straight from upstream.
pub struct DirectBody {
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: ByteStream,
}

pub async fn fetch(client: &UpstreamClient, eco: &Mounted, object: &Object) -> Found {
    let request = UpstreamRequest {
        method: http::Method::GET,
        url: &object.upstream,
        headers: &object.upstream_headers,
        etag: None,
        last_modified: None,
        decode: object.is_metadata(),
        credentials: eco.credentials.as_ref(),
    };
    let metrics = &eco.metrics;
    let started = std::time::Instant::now();
    let upstream = match client.send(&request).await {
        Ok(upstream) => upstream,
        Err(err) => {
            metrics.upstream_error(&err);
            return Found::Failed(Arc::new(err));
        }
    };
    metrics.upstream_answered(started.elapsed().as_secs_f64());
    let response = upstream.response;
    let status = response.status();
    let host = object.upstream.host_str().unwrap_or_default().to_string();
    if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::GONE {
        metrics.upstream_ok();
        return Found::Missing {
            status: status.as_u16(),
        };
    }
    if status != http::StatusCode::OK {
        let err = UpstreamError::Status { host, status };
        metrics.upstream_error(&err);
        return Found::Failed(Arc::new(err));
    }
    metrics.upstream_ok();
    // Every byte is both fetched upstream and served from upstream.
    let (fetched, served) = (metrics.clone(), metrics.served(Source::Upstream));
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if crate::upstream::is_unexpected_html(object, content_type.as_deref()) {
        return Found::Failed(Arc::new(UpstreamError::HtmlPage { host }));
    }
    let encoded = response
        .headers()
        .contains_key(http::header::CONTENT_ENCODING);
    let content_length = if encoded {
        None
    } else {
        response.content_length()
    };
    let idle = client.limits().idle_timeout;
    let permit = upstream.permit;
    // The permit travels with the stream: this host's connection slot is held until the body
    // is consumed or dropped.
    let body = stream::unfold(
        (response.bytes_stream(), permit),
        move |(mut chunks, permit)| {
            let host = host.clone();
            let (fetched, served) = (fetched.clone(), served.clone());
            async move {
                match tokio::time::timeout(idle, chunks.next()).await {
                    Err(_) => {
                        let err = UpstreamError::Timeout { host, after: idle };
                        Some((
                            Err(std::io::Error::other(err.to_string())),
                            (chunks, permit),
                        ))
                    }
                    Ok(None) => None,
                    Ok(Some(Ok(bytes))) => {
                        fetched.fetched(bytes.len() as u64);
                        served.inc_by(bytes.len() as u64);
                        Some((Ok(bytes), (chunks, permit)))
                    }
                    Ok(Some(Err(err))) => {
                        let err = UpstreamError::Body {
                            host,
                            detail: error_chain(&err),
                        };
                        Some((
                            Err(std::io::Error::other(err.to_string())),
                            (chunks, permit),
                        ))
                    }
                }
            }
        },
    )
    .boxed();
    Found::Direct(DirectBody {
        content_type,
        content_length,
        body,
    })
}
