//! `/cache/`: hands a request to the build cache (`crate::buildcache`), which knows no axum.
//! The `[access]` check applies as everywhere, except that a build-cache write token also
//! passes it: CI sends one credential, not two.

use super::{access, App};
use crate::buildcache::{rights, CacheRequest};
use crate::respond;
use axum::extract::{ConnectInfo, Request};
use http::header;
use std::net::SocketAddr;

pub async fn handle(app: &App, request: Request) -> respond::Response {
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    if let Some(refused) = access::check(&app.access, &request) {
        let token = authorization.as_ref().map(|v| v.as_bytes());
        let is_writer = rights::holds_any_token(&app.build_cache.config, token);
        let network_refused = refused.status() == http::StatusCode::FORBIDDEN;
        if !is_writer || network_refused {
            return refused;
        }
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_canonical());
    let content_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let (parts, body) = request.into_parts();
    let href = parts.uri.path().to_string();
    let rest = href.strip_prefix("/cache/").unwrap_or_default().to_string();
    let cache_request = CacheRequest {
        method: parts.method,
        rest,
        href,
        peer,
        authorization,
        content_length,
        body: body.into_data_stream(),
    };
    app.build_cache.serve(&app.engine, cache_request).await
}
