//! The `[access]` check in front of every route but `/-/health` (see `crate::access`).

use crate::access::{Access, Denied};
use crate::respond::{self, Body};
use axum::extract::{ConnectInfo, Request};
use http::{header, HeaderValue, StatusCode};
use std::net::SocketAddr;

/// `None` when the request may proceed; else the refusal, which carries no content.
pub fn check(access: &Access, request: &Request) -> Option<respond::Response> {
    if access.is_open() {
        return None;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    // A forward-proxy request (apt's Acquire::http::Proxy) authenticates to the proxy.
    let proxied = super::target::proxy_authority(request).is_some();
    let credentials = if proxied {
        request
            .headers()
            .get(header::PROXY_AUTHORIZATION)
            .or_else(|| request.headers().get(header::AUTHORIZATION))
    } else {
        request.headers().get(header::AUTHORIZATION)
    };
    match access
        .check(peer, credentials.map(HeaderValue::as_bytes))
        .err()?
    {
        Denied::Network => {
            tracing::debug!(
                peer = peer.map(tracing::field::display),
                "refused: outside [access] allow_networks"
            );
            Some(respond::text(
                StatusCode::FORBIDDEN,
                "this larder does not serve your network\n".into(),
            ))
        }
        Denied::Credentials => {
            let (status, challenge) = if proxied {
                (
                    StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                    header::PROXY_AUTHENTICATE,
                )
            } else {
                (StatusCode::UNAUTHORIZED, header::WWW_AUTHENTICATE)
            };
            let mut headers = http::HeaderMap::new();
            headers.append(
                challenge.clone(),
                HeaderValue::from_static("Bearer realm=\"larder\""),
            );
            headers.append(
                challenge,
                HeaderValue::from_static("Basic realm=\"larder\""),
            );
            Some(respond::build(status, headers, Body::Empty))
        }
    }
}
