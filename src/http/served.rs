//! The served-log at the HTTP layer: recording an artifact's response ([`record`]), and the
//! export at `/-/served?since=&until=&build=&format=` (behind `[access]`, like the status page
//! and the metrics: it tells what was installed).

use super::build::BuildTag;
use super::App;
use crate::engine::{Found, Mounted};
use crate::metrics::Lookup;
use crate::respond::{self, Body};
use crate::served::export::{self, Format};
use crate::served::hook::{self, Pending};
use crate::served::read::{self, Filter};
use axum::extract::ConnectInfo;
use http::{header, HeaderValue, StatusCode};
use larder_adapter::Object;
use std::net::SocketAddr;
use std::time::Duration;

/// How long an export waits for records still queued.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// What a record of this request needs before the response is built; `None` for what is not
/// recorded (metadata, HEAD, no body, a log that is off).
pub fn pending(
    app: &App,
    eco: &Mounted,
    object: &Object,
    parts: &http::request::Parts,
    found: &Found,
    lookup: Lookup,
) -> Option<Pending> {
    if parts.method == http::Method::HEAD || !app.served.enabled() {
        return None;
    }
    let release = eco.adapter.release(object)?;
    let (outcome, digest) = hook::describe(found, lookup)?;
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_canonical().to_string())
        .unwrap_or_default();
    let token = app.access.token_name(
        parts
            .headers
            .get(header::AUTHORIZATION)
            .or_else(|| parts.headers.get(header::PROXY_AUTHORIZATION))
            .map(HeaderValue::as_bytes),
    );
    Some(Pending {
        log: app.served.clone(),
        ecosystem: eco.name(),
        release,
        client,
        token,
        build: parts
            .extensions
            .get::<BuildTag>()
            .map(|tag| tag.id.to_string()),
        outcome,
        digest,
    })
}

/// The response, its body recorded once sent whole when it is a full (200) body.
pub fn record(response: respond::Response, pending: Option<Pending>) -> respond::Response {
    let Some(pending) = pending else {
        return response;
    };
    if response.status() != StatusCode::OK {
        return response;
    }
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Stream(stream) => Body::Stream(hook::recorded(stream, length, pending)),
        other => other,
    };
    http::Response::from_parts(parts, body)
}

/// `GET /-/served`: the log as CycloneDX (the default), SPDX or CSV.
pub async fn export(app: &App, query: Option<&str>) -> respond::Response {
    let bad = |why: String| respond::text(StatusCode::BAD_REQUEST, format!("{why}\n"));
    let mut filter = Filter::default();
    let mut format = Format::Cyclonedx;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "since" => match read::parse_time("since", &value) {
                Ok(ms) => filter.since_ms = Some(ms),
                Err(err) => return bad(format!("{err:#}")),
            },
            "until" => match read::parse_time("until", &value) {
                Ok(ms) => filter.until_ms = Some(ms),
                Err(err) => return bad(format!("{err:#}")),
            },
            "build" => filter.build = Some(value.into_owned()),
            "format" => match Format::parse(&value) {
                Some(chosen) => format = chosen,
                None => return bad(format!("format {value:?}: use cyclonedx, spdx or csv")),
            },
            other => {
                return bad(format!(
                    "unknown parameter {other:?}; /-/served takes since, until, build and format"
                ))
            }
        }
    }
    if !app.served.enabled() {
        return respond::text(
            StatusCode::NOT_FOUND,
            "the served-log is off ([served] enabled = false)\n".into(),
        );
    }
    app.served.flush(FLUSH_WAIT).await;
    let dir = crate::served::dir(&app.data_dir);
    let scope = export::Scope {
        build: filter.build.clone(),
        since_ms: filter.since_ms,
        until_ms: filter.until_ms,
        now_ms: crate::store::now_ms(),
    };
    let read = tokio::task::spawn_blocking(move || read::read(&dir, &filter)).await;
    let read = match read {
        Ok(Ok(read)) => read,
        Ok(Err(err)) => {
            return respond::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the served-log: {err:#}\n"),
            )
        }
        Err(err) => {
            return respond::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the served-log failed: {err}\n"),
            )
        }
    };
    let components = export::components(&read.records);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    respond::build(
        StatusCode::OK,
        headers,
        Body::Full(export::render(format, &components, &scope).into()),
    )
}
