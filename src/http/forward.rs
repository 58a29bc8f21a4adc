//! Uncached pass-through of a client's request (npm's audit `POST`s).

use super::App;
use crate::engine::Mounted;
use crate::respond::{self, Body};
use axum::body::Body as AxumBody;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use larder_adapter::Forward;
use std::sync::Arc;

pub async fn forward(
    app: &App,
    eco: &Arc<Mounted>,
    forward: &Forward,
    parts: http::request::Parts,
    body: AxumBody,
) -> respond::Response {
    let fallback = |why: String| match &forward.fallback {
        Some(reply) => {
            tracing::info!(upstream = %forward.upstream, %why, "answering a forwarded request locally");
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(reply.content_type),
            );
            respond::build(reply.status, headers, Body::Full(reply.body.clone()))
        }
        None => respond::text(StatusCode::BAD_GATEWAY, format!("{why}\n")),
    };
    let limit = app.client_limits.max_request_body;
    let body = match axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    {
        Ok(body) => body,
        Err(_) => {
            app.metrics.clients.request_body.inc();
            return respond::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is larger than larder's [limits] max_request_body ({}); nothing was forwarded\n",
                    crate::toml_keys::format_size(limit)
                ),
            );
        }
    };
    match app
        .engine
        .client
        .forward(
            &parts.method,
            &forward.upstream,
            &parts.headers,
            body,
            forward.timeout,
            eco.credentials.as_ref(),
        )
        .await
    {
        Ok((status, headers, bytes)) => {
            if status.is_server_error() && forward.fallback.is_some() {
                return fallback(format!("upstream answered {status}"));
            }
            respond::build(status, headers, Body::Full(bytes))
        }
        Err(err) => fallback(err.to_string()),
    }
}
