//! The HTTP layer: the only module that knows axum. It routes a request to an adapter by its
//! first path segment (or, for absolute-form proxy requests, by host), asks the adapter for a
//! route, and hands cacheable objects to the engine.

mod access;
mod build;
mod cache;
mod client_io;
mod forward;
mod idle;
mod listen;
pub mod pipelined;
mod public_base;
mod served;
mod target;

use crate::engine::{Engine, Mounted};
use crate::metrics::history::History;
use crate::metrics::Metrics;
use crate::respond::{self, Body, Want};
use axum::body::Body as AxumBody;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{header, HeaderValue, Method, StatusCode, Version};
use larder_adapter::{AdapterFactory, ClientRequest, Route};
use std::collections::HashMap;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;

/// Everything a request handler needs.
pub struct App {
    pub engine: Arc<Engine>,
    pub by_name: HashMap<&'static str, Arc<Mounted>>,
    pub by_proxy_host: HashMap<String, Arc<Mounted>>,
    /// The mounted ecosystems' registrations, in the binary's order (for the clients' settings).
    pub factories: Vec<&'static AdapterFactory>,
    pub public_url: Option<url::Url>,
    pub trust_forwarded: bool,
    pub metrics: Arc<Metrics>,
    pub history: Arc<History>,
    /// The store's size limit, shown on the status page against its use.
    pub max_size: Option<u64>,
    /// Where the limit comes from, when it is a default (`default: a quarter of …`).
    pub max_size_note: Option<String>,
    /// Client tokens and allowed networks (`[access]`).
    pub access: crate::access::Access,
    /// `/cache/`: the build cache's settings and counters (`[cache]`).
    pub build_cache: Arc<crate::buildcache::BuildCache>,
    /// `[policy]`: release age and deny rules, applied in `fetch`.
    pub policy: Arc<crate::policy::Policy>,
    /// The record of every artifact served (`src/served/`).
    pub served: crate::served::ServedLog,
    /// Where the served-log's files are, for `/-/served`.
    pub data_dir: std::path::PathBuf,
    /// What a client may send and hold (`[limits]`).
    pub client_limits: crate::client_limits::ClientLimits,
}

pub fn router(app: Arc<App>) -> axum::Router {
    // Metadata compresses 5-10x; artifacts are already compressed, and ranges must not be.
    let compress_metadata =
        |status: StatusCode, _: Version, headers: &http::HeaderMap, _: &http::Extensions| {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // A body of a few hundred bytes gains nothing from gzip and loses its length.
            let small = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .is_some_and(|len| len < 1024);
            status == StatusCode::OK
                && !small
                && !headers.contains_key(header::CONTENT_RANGE)
                && (content_type.contains("json") || content_type.starts_with("text/"))
        };
    let panics = app.metrics.handler_panics.clone();
    axum::Router::new()
        .fallback(handle)
        .with_state(app)
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd()
                .compress_when(compress_metadata),
        )
        // A bug in one handler answers that request 500 and is counted, while every other
        // request and fill goes on (an abort would cut them all).
        .layer(CatchPanicLayer::custom(move |panic| {
            answer_panic(&panics, panic)
        }))
}

fn answer_panic(
    panics: &prometheus_client::metrics::counter::Counter,
    panic: Box<dyn std::any::Any + Send>,
) -> Response {
    panics.inc();
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked; answered 500");
    into_axum(respond::text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "larder hit a bug answering this request (logged and counted in larder_handler_panics_total); \
         retrying may work, and a report helps\n"
            .into(),
    ))
}

pub use listen::serve;

async fn handle(State(app): State<Arc<App>>, mut request: Request) -> Response {
    if request.method() == Method::CONNECT {
        return into_axum(respond::text(
            StatusCode::FORBIDDEN,
            "larder does not tunnel CONNECT (it is not an open proxy and cannot cache TLS). \
             Use an http:// source through the proxy, or larder's mirror URL for https upstreams.\n"
                .into(),
        ));
    }
    if let Some(refused) = head_too_large(&app, &request) {
        return into_axum(refused);
    }
    if let Some(refused) = target_too_long(&app, request.uri()) {
        return into_axum(refused);
    }
    target::host_from_authority(&mut request);
    let proxy_authority = target::proxy_authority(&request).cloned();
    if let Err(invalid) = build::tag(&mut request, proxy_authority.is_some()) {
        return into_axum(*invalid);
    }
    let uri = request.uri().clone();
    if proxy_authority.is_none() && uri.path() == "/-/health" {
        return into_axum(health(&app));
    }
    if uri.authority().is_none() && uri.path().starts_with("/cache/") {
        return into_axum(cache::handle(&app, request).await);
    }
    if let Some(refused) = access::check(&app.access, &request) {
        return into_axum(refused);
    }
    let mounted = mount_for(&app, &uri, request.headers(), proxy_authority.as_ref()).await;
    let (eco, path) = match mounted {
        Ok(mounted) => mounted,
        Err(answer) => return into_axum(answer),
    };
    if request.extensions().get::<pipelined::Prefetch>().is_none() {
        eco.metrics.request();
    }
    if let Err(why) = check_path(&path) {
        return into_axum(respond::text(StatusCode::BAD_REQUEST, format!("{why}\n")));
    }
    let (parts, body) = request.into_parts();
    let client_request = ClientRequest {
        method: &parts.method,
        proxy_host: proxy_authority.as_ref().map(|a| a.as_str()),
        path: &path,
        query: uri.query(),
        headers: &parts.headers,
    };
    let response = match eco.adapter.route(&client_request) {
        Route::Reply(reply) => {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(reply.content_type),
            );
            respond::build(reply.status, headers, Body::Full(reply.body))
        }
        Route::Redirect { location } => {
            let prefix = build::BuildTag::mount_prefix(parts.extensions.get());
            redirect(&eco, &prefix, &location, uri.query())
        }
        Route::Forward(forward) => forward::forward(&app, &eco, &forward, parts, body).await,
        Route::Fetch(_) if !client_request.is_read() => respond::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "larder is a read-only mirror\n".into(),
        ),
        Route::Fetch(object) => fetch(&app, &eco, &object, &parts).await,
    };
    into_axum(response)
}

/// 431 for a request head (request line and headers) over `[limits] max_header_bytes`. hyper
/// refuses only heads over its buffer, which is kept at least [`listen::WRITE_BUFFER`] so that
/// large downloads are written in large pieces; the configured bound is checked here.
fn head_too_large(app: &App, request: &Request) -> Option<respond::Response> {
    let line = request.method().as_str().len() + target_length(request.uri()) + 12;
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    let limit = app.client_limits.max_header_bytes;
    if line + headers <= limit {
        return None;
    }
    app.metrics.clients.headers.inc();
    Some(respond::text(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!(
            "the request head is larger than larder's [limits] max_header_bytes ({limit} bytes)\n"
        ),
    ))
}

/// 414 for a request-target longer than `[limits] max_target_length` (one longer than the
/// whole head allows is answered 431 by hyper before it gets here).
fn target_too_long(app: &App, uri: &http::Uri) -> Option<respond::Response> {
    let limit = app.client_limits.max_target_length;
    if target_length(uri) <= limit {
        return None;
    }
    app.metrics.clients.target_length.inc();
    Some(respond::text(
        StatusCode::URI_TOO_LONG,
        format!("the request-target is longer than larder's [limits] max_target_length ({limit} bytes)\n"),
    ))
}

/// The request-target's length as the client sent it, counted without formatting it (every
/// request is measured).
fn target_length(uri: &http::Uri) -> usize {
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let rest = uri.path_and_query().map_or(0, |p| p.as_str().len());
    scheme + authority + rest
}

/// The adapter a request is for, and the path below its mount; or the answer for a request
/// that is for none (the status page and metrics, an unknown prefix, a refused proxy host).
async fn mount_for(
    app: &App,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    proxy_authority: Option<&http::uri::Authority>,
) -> Result<(Arc<Mounted>, String), respond::Response> {
    if let Some(authority) = proxy_authority {
        // Host names are case-insensitive (RFC 9110 §4.2.3); adapters name theirs in lower case.
        let eco = app
            .by_proxy_host
            .get(&authority.as_str().to_ascii_lowercase())
            .or_else(|| {
                app.by_proxy_host
                    .get(&authority.host().to_ascii_lowercase())
            });
        return match eco {
            Some(eco) => Ok((eco.clone(), uri.path().to_string())),
            None => Err(respond::text(
                StatusCode::FORBIDDEN,
                proxy_refusal(app, authority.as_str()),
            )),
        };
    }
    let path = uri.path();
    match path {
        "/-/metrics" => return Err(metrics(app).await),
        "/-/bin/larder" => return Err(cache::own_binary().await),
        "/-/served" => return Err(served::export(app, uri.query()).await),
        _ => {}
    }
    let rest = path.trim_start_matches('/');
    let (name, tail) = rest.split_once('/').map_or((rest, ""), |(n, t)| (n, t));
    match app.by_name.get(name) {
        Some(eco) => Ok((eco.clone(), format!("/{tail}"))),
        None if path == "/" => Err(status_page(app, headers).await),
        None => Err(respond::text(
            StatusCode::NOT_FOUND,
            format!(
                "no ecosystem is served at /{name}/; larder serves {}\n",
                mounts(app)
            ),
        )),
    }
}

/// A redirect within the adapter's mount; `prefix` is the build's (`b/<id>/`) or empty.
fn redirect(eco: &Mounted, prefix: &str, location: &str, query: Option<&str>) -> respond::Response {
    let mut target = format!("/{prefix}{}{}", eco.name(), location);
    if let Some(query) = query {
        target = format!("{target}?{query}");
    }
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&target) {
        headers.insert(header::LOCATION, value);
    }
    respond::build(StatusCode::MOVED_PERMANENTLY, headers, Body::Empty)
}

/// A cacheable object: through the engine, answered as the request's headers ask.
async fn fetch(
    app: &App,
    eco: &Arc<Mounted>,
    object: &larder_adapter::Object,
    parts: &http::request::Parts,
) -> respond::Response {
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let want = Want {
        head: parts.method == Method::HEAD,
        range: header(header::RANGE),
        if_range: header(header::IF_RANGE),
        if_none_match: header(header::IF_NONE_MATCH),
        // A build's prefix stays in rewritten links, so the artifacts a document names are
        // fetched as that build's too.
        public_base: public_base::for_request(
            app,
            &parts.headers,
            &format!(
                "{}{}",
                build::BuildTag::mount_prefix(parts.extensions.get()),
                eco.name()
            ),
        ),
    };
    // `no-cache` (npm's retry after a version miss) revalidates now; `max-age=0` (pip, on
    // every request) does not, or the TTL would mean nothing.
    let force = header(header::CACHE_CONTROL).is_some_and(|cc| cc.contains("no-cache"))
        || header(header::PRAGMA).is_some_and(|p| p.contains("no-cache"));
    if let Some(refused) =
        crate::policy::download::check(&app.policy, &app.engine, eco, object).await
    {
        return refused;
    }
    let (found, lookup) = app.engine.obtain_counted(eco, object, force).await;
    let pending = served::pending(app, eco, object, parts, &found, lookup);
    let response =
        match crate::policy::screen::screen(&app.policy, &app.engine, eco, object, found, &want)
            .await
        {
            crate::policy::screen::Screened::Pass(found) => {
                respond::respond(eco, object, found, &want)
            }
            crate::policy::screen::Screened::Answer(response) => response,
        };
    served::record(response, pending)
}

/// `/-/health`: always 200 while larder serves, so a load balancer keeps a replica whose
/// bucket is unreachable (it still serves its local tier and upstream); the first line says
/// `ok` or `degraded`, the next ones why.
fn health(app: &App) -> respond::Response {
    let health = app.engine.store.health();
    let mut text = match &health.degraded {
        None => "ok\n".to_string(),
        Some((since_ms, why)) => format!(
            "degraded\nbucket: unreachable for {}s ({why}); serving from the local tier and upstream\n",
            crate::store::now_ms().saturating_sub(*since_ms) / 1000
        ),
    };
    if health.shared {
        if health.degraded.is_none() {
            text.push_str("bucket: reachable\n");
        }
        text.push_str(&format!("pending_uploads: {}\n", health.pending_uploads));
    }
    respond::text(StatusCode::OK, text)
}

/// Refuses dot segments and control bytes in any percent-encoding, for every adapter: no
/// ecosystem names a file `..`, and an upstream URL must never climb out of its base.
fn check_path(path: &str) -> Result<(), &'static str> {
    let decoded = percent_encoding::percent_decode_str(path).collect::<Vec<u8>>();
    if decoded.iter().any(|b| b.is_ascii_control()) {
        return Err("control characters are not allowed in paths");
    }
    let dot_segment = decoded
        .split(|b| *b == b'/' || *b == b'\\')
        .any(|segment| segment == b".." || segment == b".");
    if dot_segment {
        return Err("dot segments (. and ..) are not allowed in paths");
    }
    Ok(())
}

/// Names the refused host, the hosts that are proxied, and where to add one.
fn proxy_refusal(app: &App, host: &str) -> String {
    let mut hosts: Vec<&str> = app.by_proxy_host.keys().map(String::as_str).collect();
    hosts.sort_unstable();
    let mut hints: Vec<&str> = app
        .by_name
        .values()
        .filter_map(|eco| eco.adapter.proxy_refusal_hint())
        .collect();
    hints.sort_unstable();
    let hint = if hints.is_empty() {
        "add it to its ecosystem's configuration".to_string()
    } else {
        hints.join("; ")
    };
    format!(
        "larder is not an open proxy: host {host} is not a configured upstream ({hint}). \
         Proxied hosts: {}.\n",
        hosts.join(", ")
    )
}

fn mounts(app: &App) -> String {
    let mut names: Vec<String> = app.by_name.keys().map(|n| format!("/{n}/")).collect();
    names.sort();
    names.join(", ")
}

/// `GET /-/metrics`: every counter, and the store's usage measured now.
async fn metrics(app: &App) -> respond::Response {
    let usage = store_usage(app).await;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    let down: Vec<String> = app
        .engine
        .client
        .hosts_down()
        .into_iter()
        .map(|(host, _)| host)
        .collect();
    let body = crate::buildcache::metrics::splice(
        app.metrics.encode(usage, &down),
        &app.build_cache.metrics.encode(),
    );
    let body = crate::buildcache::metrics::splice(body, &app.policy.report.encode());
    respond::build(StatusCode::OK, headers, Body::Full(body.into()))
}

/// `GET /`: the status page, with client settings for the URL the page was reached at.
async fn status_page(app: &App, headers: &http::HeaderMap) -> respond::Response {
    let usage = store_usage(app).await;
    let base = public_base::for_request(app, headers, "");
    let base = base.trim_end_matches('/');
    // A plain host from public_base always parses; without a URL the page shows no settings.
    let base_url = url::Url::parse(base).ok();
    let mut env = Vec::new();
    let mut clients: HashMap<&str, larder_adapter::ClientSettings> = HashMap::new();
    for factory in &app.factories {
        let (Some(url), Some(eco)) = (&base_url, app.by_name.get(factory.name)) else {
            continue;
        };
        let settings = crate::status::clients::of(factory, url, &eco.adapter.proxy_hosts());
        env.extend(settings.env.iter().cloned());
        clients.insert(factory.name, settings);
    }
    let mut mounted: Vec<&Arc<Mounted>> = app.by_name.values().collect();
    mounted.sort_by_key(|eco| eco.name());
    let page = crate::status::Page {
        version: env!("CARGO_PKG_VERSION"),
        base,
        ecosystems: mounted
            .iter()
            .map(|eco| crate::status::Ecosystem {
                counters: eco.metrics.snapshot(),
                upstream: eco.adapter.upstreams().first().map(|u| u.to_string()),
                clients: clients.remove(eco.name()).unwrap_or_default(),
            })
            .collect(),
        env,
        history: &app.history,
        usage,
        max_size: app.max_size,
        max_size_note: app.max_size_note.as_deref(),
        offline: app.engine.offline(),
        upstreams_down: app.engine.client.hosts_down(),
        in_flight: app.engine.fills.len(),
        store_health: app.engine.store.health(),
        build_cache: app
            .build_cache
            .metrics
            .snapshot()
            .into_iter()
            .map(|(tool, counters)| (tool.name(), counters))
            .collect(),
        policy: crate::status::policy::section(
            &app.policy,
            crate::policy::download::now_seconds(&app.engine),
        ),
        served: app.served.enabled().then(|| crate::status::served::Line {
            today: app.served.counters().today(),
            dropped: app.served.counters().dropped.get(),
        }),
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    respond::build(
        StatusCode::OK,
        headers,
        Body::Full(crate::status::render(&page).into()),
    )
}

async fn store_usage(app: &App) -> Option<crate::store::Usage> {
    match app.engine.store.usage().await {
        Ok(usage) => Some(usage),
        Err(err) => {
            tracing::warn!(error = %err, "could not measure the store");
            None
        }
    }
}

fn into_axum(response: respond::Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // Clients that print only the status line (pip and uv on a refusal, npm, apt and Maven on
    // any failure) learn why there too.
    if let Some(respond::Reason(reason)) = parts.extensions.remove::<respond::Reason>() {
        if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(reason) {
            parts.extensions.insert(phrase);
        }
    }
    let body = match body {
        Body::Empty => AxumBody::empty(),
        Body::Full(bytes) => AxumBody::from(bytes),
        Body::Stream(stream) => AxumBody::from_stream(stream),
    };
    Response::from_parts(parts, body)
}
