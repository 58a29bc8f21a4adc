//! Uncached pass-through, for when the store cannot take a write (a full disk): the client's
//! download streams straight from upstream, so a full disk costs speed, never a failed build.

use crate::body::ByteStream;
use crate::metrics::Source;
use crate::mounted::Mounted;
use crate::triage::{triage, Triage};
use crate::upstream::{error_chain, UpstreamClient, UpstreamError, UpstreamRequest};
use futures_util::{stream, StreamExt};
use larder_adapter::Object;

/// A response head and body read straight from upstream.
pub struct DirectBody {
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub body: ByteStream,
}

/// What upstream answered.
pub enum Direct {
    Body(DirectBody),
    Missing { status: u16 },
    Failed(UpstreamError),
}

pub async fn fetch(client: &UpstreamClient, eco: &Mounted, object: &Object) -> Direct {
    let request = UpstreamRequest {
        method: http::Method::GET,
        url: &object.upstream,
        headers: &object.upstream_headers,
        etag: None,
        last_modified: None,
        metadata: object.is_metadata(),
        credentials: eco.credentials.as_ref(),
    };
    let metrics = &eco.metrics;
    let started = std::time::Instant::now();
    let upstream = match client.send(&request).await {
        Ok(upstream) => upstream,
        Err(err) => {
            metrics.upstream_error(&err);
            return Direct::Failed(err);
        }
    };
    metrics.upstream_answered(started.elapsed().as_secs_f64());
    let head = match triage(object, &upstream.response, false) {
        Triage::Body(head) => head,
        Triage::Missing { status } => {
            metrics.upstream_ok();
            return Direct::Missing { status };
        }
        // Never sent for a request without validators.
        Triage::NotModified => {
            return Direct::Failed(UpstreamError::Status {
                host: object.upstream.host_str().unwrap_or_default().to_string(),
                status: http::StatusCode::NOT_MODIFIED,
            })
        }
        Triage::Refused(err) => {
            metrics.upstream_error(&err);
            return Direct::Failed(err);
        }
    };
    metrics.upstream_ok();
    let host = object.upstream.host_str().unwrap_or_default().to_string();
    let body = relay(upstream, host, client.limits().idle_timeout, eco);
    Direct::Body(DirectBody {
        content_type: head.content_type,
        content_length: head.content_length,
        body,
    })
}

/// The body, counted as fetched and as served from upstream, each chunk within `idle`. The
/// permit travels with the stream: this host's connection slot is held until the body is
/// consumed or dropped.
fn relay(
    upstream: crate::upstream::UpstreamResponse,
    host: String,
    idle: std::time::Duration,
    eco: &Mounted,
) -> ByteStream {
    let (fetched, served) = (eco.metrics.clone(), eco.metrics.served(Source::Upstream));
    let chunks = upstream.response.bytes_stream();
    stream::unfold((chunks, upstream.permit), move |(mut chunks, permit)| {
        let host = host.clone();
        let (fetched, served) = (fetched.clone(), served.clone());
        async move {
            let item = match tokio::time::timeout(idle, chunks.next()).await {
                Err(_) => Err(UpstreamError::Timeout { host, after: idle }),
                Ok(None) => return None,
                Ok(Some(Ok(bytes))) => {
                    fetched.fetched(bytes.len() as u64);
                    served.inc_by(bytes.len() as u64);
                    Ok(bytes)
                }
                Ok(Some(Err(err))) => Err(UpstreamError::Body {
                    host,
                    detail: error_chain(&err),
                }),
            };
            let item = item.map_err(|err| std::io::Error::other(err.to_string()));
            Some((item, (chunks, permit)))
        }
    })
    .boxed()
}
