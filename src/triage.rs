//! What an upstream response head means for an object, decided once for fills and for the
//! uncached pass-through alike: confirmed (304), absent (404/410), a body to take (with the
//! head fields larder keeps), or a refusal.

use crate::upstream::{is_unexpected_html, UpstreamError};
use http::StatusCode;
use larder_adapter::Object;

/// The head fields of a body larder takes.
#[derive(Clone, Debug, Default)]
pub struct ResponseHead {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    /// The announced length of the bytes larder will read: `None` when upstream did not say,
    /// or when the body is decoded (gunzipped), which no longer has the announced length.
    pub content_length: Option<u64>,
}

pub enum Triage {
    /// 304 to a conditional request: the cached copy stands.
    NotModified,
    /// 404 or 410: upstream says the object does not exist.
    Missing {
        status: u16,
    },
    Body(ResponseHead),
    Refused(UpstreamError),
}

/// `conditional`: the request carried a validator of a cached copy, so a 304 confirms it.
pub fn triage(object: &Object, response: &reqwest::Response, conditional: bool) -> Triage {
    let status = response.status();
    let host = object.upstream.host_str().unwrap_or_default().to_string();
    match status {
        StatusCode::NOT_MODIFIED if conditional => return Triage::NotModified,
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            return Triage::Missing {
                status: status.as_u16(),
            }
        }
        StatusCode::OK => {}
        status => return Triage::Refused(UpstreamError::Status { host, status }),
    }
    let header = |name: http::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(http::header::CONTENT_TYPE);
    if is_unexpected_html(object, content_type.as_deref()) {
        return Triage::Refused(UpstreamError::HtmlPage { host });
    }
    let content_length = match header(http::header::CONTENT_ENCODING) {
        Some(_) => None,
        None => response.content_length(),
    };
    Triage::Body(ResponseHead {
        etag: header(http::header::ETAG),
        last_modified: header(http::header::LAST_MODIFIED),
        content_type,
        content_length,
    })
}
