//! `larder gocache`: the program the go command starts as `GOCACHEPROG` (Go 1.24+, or Go
//! 1.21-1.23 with `GOEXPERIMENT=cacheprog`), so a build's compiled packages come from larder.
//!
//! The go command needs a local file for every hit and put ([`local`]); larder is the shared
//! tier behind it ([`remote`]). Requests are answered concurrently, in any order, as the
//! protocol allows ([`protocol`]): the go command asks for many actions at once, so a slow link
//! costs about one round trip per wave of gets, not per action. Puts are answered as soon as
//! the output is on local disk; the upload to larder runs in the background and is awaited (for
//! at most `--flush-timeout`) only when the go command closes the helper.

pub mod local;
pub mod protocol;
pub mod remote;

use anyhow::{Context, Result};
use local::{LocalDir, Record};
use protocol::{Request, Response};
use remote::Remote;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How many uploads run at once.
const UPLOADS_AT_ONCE: usize = 8;

/// `larder gocache`'s settings.
pub struct Settings {
    /// larder's URL (`http://host:7878`).
    pub url: String,
    /// The local directory for DiskPaths.
    pub dir: PathBuf,
    /// A build-cache namespace (`/cache/ns/<namespace>/go`), if not the default.
    pub namespace: Option<String>,
    /// A write token for an office mirror.
    pub token: Option<String>,
    /// Time for one request for an action record.
    pub timeout: Duration,
    /// At close, how long to wait for uploads still running.
    pub flush_timeout: Duration,
    /// Print counters on stderr when the go command closes the helper.
    pub stats: bool,
}

/// What the helper did, for `--stats`.
#[derive(Default)]
struct Counters {
    gets: AtomicU64,
    local_hits: AtomicU64,
    remote_hits: AtomicU64,
    puts: AtomicU64,
    uploaded: AtomicU64,
    upload_failures: AtomicU64,
}

struct Helper {
    local: LocalDir,
    remote: Remote,
    counters: Counters,
    uploads: Arc<tokio::sync::Semaphore>,
}

/// Runs the helper until the go command sends `close` or closes stdin.
pub fn run(settings: Settings) -> Result<()> {
    let local = LocalDir::open(&settings.dir).with_context(|| {
        format!(
            "cannot use {} as the gocache directory; pass a writable --dir",
            settings.dir.display()
        )
    })?;
    let remote = Remote::new(
        &settings.url,
        settings.namespace.as_deref(),
        settings.token.clone(),
        settings.timeout,
    )?;
    let helper = Arc::new(Helper {
        local,
        remote,
        counters: Counters::default(),
        uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS_AT_ONCE)),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(helper, &settings))
}

/// A put, close or unknown request as read from stdin (gets are answered by the reader), with
/// its body line when it has one.
struct Incoming {
    request: Request,
    body: Result<Vec<u8>, String>,
}

/// Reads requests on a thread of its own (stdin blocks), until close or end of input.
///
/// A get the local directory answers is answered here at once: a warm build makes hundreds of
/// gets, mostly one after another, and the hops to the async tasks cost more than the lookup.
fn read_requests(
    helper: Arc<Helper>,
    runtime: tokio::runtime::Handle,
    requests: mpsc::Sender<Incoming>,
) {
    let mut stdin = std::io::stdin().lock();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) => {
                eprintln!("larder gocache: cannot read the go command's requests ({err})");
                return;
            }
        }
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = match serde_json::from_str(&line) {
            Ok(request) => request,
            Err(err) => {
                eprintln!("larder gocache: ignoring a request that is not JSON ({err})");
                continue;
            }
        };
        let body = if request.body_size > 0 {
            read_body_line(&mut stdin, &mut line)
        } else {
            Ok(Vec::new())
        };
        if request.command == "get" {
            match helper.local_get(&request) {
                Some(hit) => send(&hit),
                None => {
                    let helper = helper.clone();
                    runtime.spawn(async move { send(&helper.get(&request).await) });
                }
            }
            continue;
        }
        let close = request.command == "close";
        if requests.blocking_send(Incoming { request, body }).is_err() || close {
            return;
        }
    }
}

/// The line after a put: the go command ends the request with an empty line first.
fn read_body_line(stdin: &mut impl BufRead, line: &mut String) -> Result<Vec<u8>, String> {
    loop {
        line.clear();
        match stdin.read_line(line) {
            Ok(0) => return Err("the go command's input ended before a put's body".into()),
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => return protocol::decode_body(line),
            Err(err) => return Err(format!("cannot read a put's body ({err})")),
        }
    }
}

/// Writes one response line and flushes it, from whichever thread answered (stdout's lock
/// keeps lines whole). A go command that has gone away is no error of the helper's.
fn send(response: &Response) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(response.to_line().as_bytes())
        .and_then(|()| stdout.flush());
}

async fn serve(helper: Arc<Helper>, settings: &Settings) -> Result<()> {
    send(&Response::capabilities());
    let (requests, mut inbox) = mpsc::channel::<Incoming>(64);
    let reader_helper = helper.clone();
    let runtime = tokio::runtime::Handle::current();
    std::thread::spawn(move || read_requests(reader_helper, runtime, requests));
    let mut background = tokio::task::JoinSet::new();
    let mut close_id = None;
    while let Some(Incoming { request, body }) = inbox.recv().await {
        match request.command.as_str() {
            "put" => {
                let response = match body {
                    Ok(body) => helper.put(&request, body, &mut background),
                    Err(err) => Response::error(request.id, err),
                };
                send(&response);
            }
            "close" => {
                close_id = Some(request.id);
                break;
            }
            other => {
                send(&Response::error(
                    request.id,
                    format!("larder gocache does not know the command {other:?}"),
                ));
            }
        }
    }
    flush(&mut background, settings.flush_timeout).await;
    if settings.stats {
        helper.print_stats();
    }
    if let Some(id) = close_id {
        send(&Response {
            id,
            ..Response::default()
        });
    }
    Ok(())
}

/// Waits for the uploads still running, for at most `timeout`; the rest are dropped (the
/// outputs stay in the local directory, and the next build puts them again).
async fn flush(background: &mut tokio::task::JoinSet<()>, timeout: Duration) {
    let all = async { while background.join_next().await.is_some() {} };
    if tokio::time::timeout(timeout, all).await.is_err() {
        eprintln!(
            "larder gocache: {} upload(s) to larder still running after {}s; leaving them",
            background.len(),
            timeout.as_secs()
        );
        background.abort_all();
    }
}

impl Helper {
    /// The answer to a get from the local directory alone, if it has the action.
    fn local_get(&self, request: &Request) -> Option<Response> {
        let action = protocol::id_hex(request.action_id.as_deref()).ok()?;
        let record = self.local.lookup(&action)?;
        self.counters.gets.fetch_add(1, Ordering::Relaxed);
        self.counters.local_hits.fetch_add(1, Ordering::Relaxed);
        Some(self.hit(request.id, &record, self.local.object_path(&record.output)))
    }

    /// A get the local directory could not answer: larder's, or a miss.
    async fn get(&self, request: &Request) -> Response {
        self.counters.gets.fetch_add(1, Ordering::Relaxed);
        let action = match protocol::id_hex(request.action_id.as_deref()) {
            Ok(action) => action,
            Err(err) => return Response::error(request.id, err),
        };
        if !self.remote.is_up() {
            return Response::miss(request.id);
        }
        let Ok(Some(record)) = self.remote.record(&action).await else {
            return Response::miss(request.id);
        };
        if !crate::store::is_sha256_hex(&record.output) {
            return Response::miss(request.id);
        }
        let path = if self.local.has_object(&record.output, record.size) {
            self.local.object_path(&record.output)
        } else {
            match self
                .remote
                .fetch_object(&self.local, &record.output, record.size)
                .await
            {
                Ok(Some(path)) => path,
                _ => return Response::miss(request.id),
            }
        };
        if self.local.put_record(&action, &record).is_err() {
            return Response::miss(request.id);
        }
        self.counters.remote_hits.fetch_add(1, Ordering::Relaxed);
        self.hit(request.id, &record, path)
    }

    fn hit(&self, id: i64, record: &Record, path: PathBuf) -> Response {
        Response {
            id,
            output_id: protocol::id_base64(&record.output),
            size: record.size,
            time: Some(record.time.clone()),
            disk_path: Some(path.display().to_string()),
            ..Response::default()
        }
    }

    /// Stores the output locally and answers at once; the upload goes to `background`.
    fn put(
        self: &Arc<Self>,
        request: &Request,
        body: Vec<u8>,
        background: &mut tokio::task::JoinSet<()>,
    ) -> Response {
        self.counters.puts.fetch_add(1, Ordering::Relaxed);
        let ids = protocol::id_hex(request.action_id.as_deref()).and_then(|action| {
            protocol::id_hex(request.output_id.as_deref()).map(|output| (action, output))
        });
        let (action, output) = match ids {
            Ok(ids) => ids,
            Err(err) => return Response::error(request.id, err),
        };
        let path = match self.local.put_object(&output, &body) {
            Ok(path) => path,
            Err(err) => return Response::error(request.id, format!("larder gocache: {err}")),
        };
        let record = Record {
            output,
            size: body.len() as u64,
            time: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        if let Err(err) = self.local.put_record(&action, &record) {
            return Response::error(request.id, format!("larder gocache: {err}"));
        }
        if self.remote.is_up() {
            let helper = self.clone();
            let upload_record = record.clone();
            background.spawn(async move {
                let Ok(_permit) = helper.uploads.clone().acquire_owned().await else {
                    return;
                };
                let counter = if helper
                    .remote
                    .upload(&action, &upload_record, body.into())
                    .await
                {
                    &helper.counters.uploaded
                } else {
                    &helper.counters.upload_failures
                };
                counter.fetch_add(1, Ordering::Relaxed);
            });
        }
        Response {
            id: request.id,
            disk_path: Some(path.display().to_string()),
            ..Response::default()
        }
    }

    fn print_stats(&self) {
        let c = &self.counters;
        let gets = c.gets.load(Ordering::Relaxed);
        let local = c.local_hits.load(Ordering::Relaxed);
        let remote = c.remote_hits.load(Ordering::Relaxed);
        eprintln!(
            "larder gocache: gets={gets} hits={} local_hits={local} remote_hits={remote} misses={} puts={} uploaded={} upload_failures={}",
            local + remote,
            gets - local - remote,
            c.puts.load(Ordering::Relaxed),
            c.uploaded.load(Ordering::Relaxed),
            c.upload_failures.load(Ordering::Relaxed),
        );
    }
}
