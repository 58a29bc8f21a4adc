//! A fixture upstream on 127.0.0.1: canned resources or a directory tree, with switchable
//! failure modes and a log of the requests it received.

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// What the fixture does with connections and requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// The port is closed: connections are refused, open ones are cut.
    Down,
    /// Connections are accepted and requests read, but nothing is ever answered.
    Hang,
    /// Every response waits `latency`, then trickles its body at `bytes_per_sec`.
    Slow {
        latency: Duration,
        bytes_per_sec: u64,
    },
    /// The body stops after half its bytes and the connection is cut.
    DieMidStream,
}

/// One canned response.
#[derive(Clone, Debug)]
pub struct Resource {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Served only when the request's `Accept` contains this; `None` is the fallback.
    pub accept: Option<String>,
    pub headers: Vec<(String, String)>,
    /// This resource's body alone trickles at this many bytes a second (in `Mode::Normal`).
    pub trickle: Option<u64>,
}

impl Resource {
    pub fn new(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Resource {
            status: 200,
            content_type: content_type.to_string(),
            body: body.into(),
            accept: None,
            headers: Vec::new(),
            trickle: None,
        }
    }

    pub fn trickle(mut self, bytes_per_sec: u64) -> Self {
        self.trickle = Some(bytes_per_sec);
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn for_accept(mut self, accept: &str) -> Self {
        self.accept = Some(accept.to_string());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Path (with query, if any) → the resources served there.
pub type Routes = BTreeMap<String, Vec<Resource>>;

/// A request the fixture received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    routes: Mutex<Routes>,
    dir: Option<PathBuf>,
    requests: Mutex<Vec<Recorded>>,
    mode: watch::Sender<Mode>,
}

/// A running fixture upstream; stops when dropped.
pub struct Upstream {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
    pub addr: SocketAddr,
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Upstream {
    pub fn start(routes: Routes) -> Upstream {
        Upstream::launch(routes, None)
    }

    /// Serves the files under `dir` (and any `routes` inserted later, which win).
    pub fn start_dir(dir: impl Into<PathBuf>) -> Upstream {
        Upstream::launch(Routes::new(), Some(dir.into()))
    }

    fn launch(routes: Routes, dir: Option<PathBuf>) -> Upstream {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("fixture runtime");
        // Bound without `block_on`, so a fixture can start inside an async test.
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fixture");
        std_listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).expect("fixture listener")
        };
        let addr = listener.local_addr().expect("fixture addr");
        let (mode, _) = watch::channel(Mode::Normal);
        let state = Arc::new(State {
            routes: Mutex::new(routes),
            dir,
            requests: Mutex::new(Vec::new()),
            mode,
        });
        runtime.spawn(accept_loop(Some(listener), addr, state.clone()));
        Upstream {
            url: format!("http://{addr}"),
            addr,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn insert(&self, path: &str, resource: Resource) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), vec![resource]);
    }

    pub fn insert_all(&self, path: &str, resources: Vec<Resource>) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), resources);
    }

    pub fn remove(&self, path: &str) {
        self.state.routes.lock().unwrap().remove(path);
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.send_replace(mode);
        // Give the accept loop a moment to close or reopen the port.
        std::thread::sleep(Duration::from_millis(50));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests named exactly `path` (with query, if any).
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap().clear();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(
    mut listener: Option<tokio::net::TcpListener>,
    addr: SocketAddr,
    state: Arc<State>,
) {
    let mut mode = state.mode.subscribe();
    loop {
        let current = *mode.borrow_and_update();
        match (&listener, current) {
            (Some(_), Mode::Down) => listener = None,
            (None, m) if m != Mode::Down => match tokio::net::TcpListener::bind(addr).await {
                Ok(bound) => listener = Some(bound),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ => {}
        }
        let Some(bound) = &listener else {
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            accepted = bound.accept() => {
                if let Ok((socket, _)) = accepted {
                    tokio::spawn(serve_connection(socket, state.clone()));
                }
            }
            changed = mode.changed() => if changed.is_err() { return },
        }
    }
}

async fn serve_connection(socket: tokio::net::TcpStream, state: Arc<State>) {
    let mut mode = state.mode.subscribe();
    let service_state = state.clone();
    let service =
        hyper::service::service_fn(move |request| respond(service_state.clone(), request));
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(socket), service);
    tokio::select! {
        _ = connection => {}
        // Going down cuts every open connection, as a dead host would.
        _ = mode.wait_for(|m| *m == Mode::Down) => {}
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

async fn respond(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = request.method().to_string();
    state.requests.lock().unwrap().push(Recorded {
        method: method.clone(),
        path: path.clone(),
        headers,
    });

    let mode = *state.mode.borrow();
    if mode == Mode::Hang {
        std::future::pending::<()>().await;
    }
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let resource = find(&state, &path, accept);
    let Some(resource) = resource else {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            format!("fixture: no {path}\n"),
        ));
    };
    if let Mode::Slow { latency, .. } = mode {
        tokio::time::sleep(latency).await;
    }
    let mut builder = Response::builder()
        .status(resource.status)
        .header("content-type", &resource.content_type)
        .header("content-length", resource.body.len());
    for (name, value) in &resource.headers {
        builder = builder.header(name, value);
    }
    let body = if method == "HEAD" {
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed()
    } else {
        let mode = match (mode, resource.trickle) {
            (Mode::Normal, Some(bytes_per_sec)) => Mode::Slow {
                latency: Duration::ZERO,
                bytes_per_sec,
            },
            (mode, _) => mode,
        };
        body_for(mode, Bytes::from(resource.body))
    };
    Ok(builder.body(body).expect("valid fixture response"))
}

fn find(state: &State, path: &str, accept: &str) -> Option<Resource> {
    if let Some(resources) = state.routes.lock().unwrap().get(path) {
        let chosen = resources
            .iter()
            .find(|r| r.accept.as_deref().is_some_and(|a| accept.contains(a)))
            .or_else(|| resources.iter().find(|r| r.accept.is_none()));
        return chosen.cloned();
    }
    let dir = state.dir.as_ref()?;
    let relative = path.split('?').next()?.trim_start_matches('/');
    if relative.split('/').any(|segment| segment == "..") {
        return None;
    }
    let file = dir.join(relative);
    let body = std::fs::read(file).ok()?;
    Some(Resource::new("application/octet-stream", body))
}

fn body_for(mode: Mode, body: Bytes) -> Body {
    match mode {
        Mode::Slow { bytes_per_sec, .. } => {
            let chunk = (bytes_per_sec / 20).clamp(1, 64 * 1024) as usize;
            let pause = Duration::from_secs_f64(chunk as f64 / bytes_per_sec.max(1) as f64);
            let pieces: Vec<Bytes> = (0..body.len())
                .step_by(chunk)
                .map(|at| body.slice(at..(at + chunk).min(body.len())))
                .collect();
            let frames = stream::unfold(pieces.into_iter(), move |mut rest| async move {
                let piece = rest.next()?;
                tokio::time::sleep(pause).await;
                Some((Ok(Frame::data(piece)), rest))
            });
            StreamBody::new(frames).boxed()
        }
        Mode::DieMidStream => {
            let half = body.slice(..body.len() / 2);
            let frames = stream::iter(vec![
                Ok(Frame::data(half)),
                Err(std::io::Error::other("fixture dies mid-stream")),
            ]);
            StreamBody::new(frames).boxed()
        }
        _ => Full::new(body).map_err(|never| match never {}).boxed(),
    }
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(
            Full::new(Bytes::from(text))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("valid fixture response")
}
