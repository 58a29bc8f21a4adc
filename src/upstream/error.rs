//! Why an upstream request failed, and what the client is told.

use http::StatusCode;
use std::time::Duration;

/// Why an upstream request failed; each maps to the status the client sees.
#[derive(Clone, Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("host {host} is not a configured upstream; larder only contacts configured upstreams")]
    HostNotAllowed { host: String },
    #[error("upstream {host} is unreachable: {detail}")]
    Connect { host: String, detail: String },
    #[error("upstream {host} did not answer within {}", humantime::format_duration(*.after))]
    Timeout { host: String, after: Duration },
    #[error("upstream {host} answered {status}")]
    Status { host: String, status: StatusCode },
    #[error("upstream {host} answered with an HTML page where a file was expected (an error or captive-portal page?); not cached")]
    HtmlPage { host: String },
    #[error("upstream {host} redirected where larder does not follow: {detail}")]
    Redirect { host: String, detail: String },
    #[error("upstream {host} sent a metadata document larger than [limits] max_metadata_size ({}); refused and not stored (raise the limit if the document is genuine)", crate::toml_keys::format_size(*.limit))]
    TooLarge { host: String, limit: u64 },
    #[error("upstream {host} broke off the download: {detail}")]
    Body { host: String, detail: String },
    #[error("upstream {host} sent {got} bytes where it announced {announced}")]
    Short {
        host: String,
        got: u64,
        announced: u64,
    },
    #[error("bytes from {host} do not match the published digest (expected {expected}); nothing was stored")]
    DigestMismatch { host: String, expected: String },
    #[error("larder runs offline and has no copy of this object")]
    Offline,
    #[error("larder could not store the download: {detail}")]
    Storage { detail: String },
    #[error("upstream {host} is marked down after failing repeatedly; serving the cached copy without asking it (it is probed every few seconds)")]
    Down { host: String },
    #[error("upstream {host} is being asked for a newer copy in the background; serving the cached one meanwhile")]
    Revalidating { host: String },
    #[error("the download made no progress for {}; larder gave up waiting for it (see larder's log)", humantime::format_duration(*.after))]
    Stuck { after: Duration },
}

impl UpstreamError {
    /// The status a client gets when no cached copy can stand in.
    pub fn client_status(&self) -> StatusCode {
        match self {
            UpstreamError::HostNotAllowed { .. } => StatusCode::FORBIDDEN,
            UpstreamError::Timeout { .. } | UpstreamError::Stuck { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
            UpstreamError::Status { status, .. } if *status == StatusCode::TOO_MANY_REQUESTS => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            // Nothing cached, and no upstream to ask: a status no client retries (npm, pnpm,
            // uv and cargo retry 5xx for a minute or more, pip 500 and 503), so the build fails
            // at once, with the reason below in its output.
            UpstreamError::Offline | UpstreamError::Down { .. } => StatusCode::FAILED_DEPENDENCY,
            _ => StatusCode::BAD_GATEWAY,
        }
    }

    /// The status line's reason phrase, where the status alone would mislead: npm, pip, apt
    /// and Maven print the reason phrase but not the body (go and cargo print the body).
    pub fn reason_phrase(&self) -> Option<&'static str> {
        match self {
            UpstreamError::Offline => Some("larder runs offline and has no copy of this"),
            UpstreamError::Down { .. } => Some("upstream down and larder has no copy of this"),
            _ => None,
        }
    }

    /// Whether a stale cached copy should be served instead (stale-if-error). True for
    /// failures of upstream's availability, including 401/403 from an expired token.
    pub fn allows_stale(&self) -> bool {
        match self {
            UpstreamError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::UNAUTHORIZED
                    || *status == StatusCode::FORBIDDEN
            }
            UpstreamError::HostNotAllowed { .. } | UpstreamError::DigestMismatch { .. } => false,
            _ => true,
        }
    }
}
