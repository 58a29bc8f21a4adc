//! `/cache/`: hands a request to the build cache (`crate::buildcache`), which knows no axum.
//! The `[access]` check applies as everywhere, except that a build-cache write token also
//! passes it: CI sends one credential, not two.

use super::{access, App};
use crate::buildcache::{rights, CacheRequest};
use crate::respond::{self, Body};
use axum::extract::{ConnectInfo, Request};
use http::{header, HeaderValue, StatusCode};
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
    let answer = app.build_cache.serve(&app.engine, cache_request).await;
    if answer.status() == StatusCode::PAYLOAD_TOO_LARGE {
        app.metrics.clients.request_body.inc();
    }
    answer
}

/// `GET /-/bin/larder`: this binary, when it is static (see `crate::buildcache::binary`).
pub async fn own_binary() -> respond::Response {
    let opened = tokio::task::spawn_blocking(|| {
        let path = crate::buildcache::binary::static_self()?;
        let file = std::fs::File::open(&path)
            .map_err(|err| format!("cannot open {}: {err}\n", path.display()))?;
        let len = file.metadata().map_err(|err| err.to_string())?.len();
        Ok::<_, String>((file, len))
    })
    .await
    .unwrap_or_else(|err| Err(err.to_string()));
    match opened {
        Ok((file, len)) => {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            let body = crate::body::file_range(
                std::sync::Arc::new(file),
                0,
                len,
                prometheus_client::metrics::counter::Counter::default(),
            );
            respond::build(StatusCode::OK, headers, Body::Stream(body))
        }
        Err(why) => respond::text(StatusCode::NOT_FOUND, why),
    }
}
