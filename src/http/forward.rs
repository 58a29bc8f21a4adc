//! Uncached pass-through of a client's request (npm's audit `POST`s).

use crate::engine::{Engine, Mounted};
use crate::respond::{self, Body};
use axum::body::Body as AxumBody;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use larder_adapter::Forward;
use std::sync::Arc;

const MAX_FORWARDED_BODY: usize = 16 * 1024 * 1024;

pub async fn forward(
    engine: &Engine,
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
    let body = match axum::body::to_bytes(body, MAX_FORWARDED_BODY).await {
        Ok(body) => body,
        Err(_) => {
            return respond::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large\n".into(),
            )
        }
    };
    match engine
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
