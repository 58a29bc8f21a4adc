//! Accepting client connections under `[limits]` (`crate::client_limits`): the accept loop,
//! the connection caps, and hyper's bounds on a request head.
//!
//! - A request head over `max_headers` headers, or over hyper's buffer (at least
//!   [`WRITE_BUFFER`]), is answered 431 by hyper itself, which then closes the connection
//!   (HTTP/2: the header list is bounded by `max_header_bytes`); one over `max_header_bytes`
//!   but within the buffer is answered 431 by `handle`.
//! - A head begun and unfinished within `header_read_timeout` closes the connection without an
//!   answer (hyper has no 408); so does a keep-alive connection idle for as long, HTTP/2
//!   included (`super::idle`: a GOAWAY once no request has been in progress for that long).
//! - Past `max_connections`, or `max_connections_per_client` for the peer's address, a new
//!   connection gets a plain HTTP/1.1 `503` with `Retry-After` and is closed. At most
//!   [`MAX_REFUSING`] such answers are in progress at once: past that, a connection is closed
//!   without one, so a flood cannot hold larder's descriptors with refusals.
//!
//! Every refusal is counted (`ClientCounters`).

use super::idle::{self, Activity};
use crate::client_limits::ClientLimits;
use crate::metrics::{ClientCounters, Metrics};
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt;

/// Refusals (503s to connections over a cap) written at once; more are closed unanswered.
pub const MAX_REFUSING: usize = 64;

/// How long a refusal may take to write, and to read what the client sent meanwhile (so that
/// closing does not reset the connection before the client reads the 503).
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// hyper's own default buffer size (8 KiB + 100 × 4 KiB): what a connection may buffer to write.
pub const WRITE_BUFFER: usize = 8192 + 4096 * 100;

/// A pause after an accept error that is not about one connection (out of descriptors):
/// accepting again at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `graceful` resolves; then stops accepting, asks every
/// connection to finish its responses in progress, and resolves once they are all closed (the
/// caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ClientLimits,
    metrics: Arc<Metrics>,
    graceful: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let builder = Arc::new(builder(&limits));
    let connections = Arc::new(Connections::new(&limits));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(graceful);
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut graceful => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) if is_per_connection(&err) => continue,
                Err(err) => {
                    tracing::warn!(%err, "cannot accept a connection (out of file descriptors? raise LimitNOFILE or lower [limits] max_connections)");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Small metadata answers must not wait for Nagle's algorithm to meet a delayed ACK
        // (40 ms per request, measured with the go command).
        let _ = tcp.set_nodelay(true);
        let admitted = match connections.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                refusal.count(&metrics.clients);
                if let Ok(permit) = refusing.clone().try_acquire_owned() {
                    let answer = refusal.answer(&limits);
                    tokio::spawn(async move {
                        refuse(tcp, &answer).await;
                        drop(permit);
                    });
                }
                continue;
            }
        };
        metrics.clients.open.inc();
        let activity = Activity::new();
        let prefetcher = super::pipelined::Prefetcher {
            router: router.clone(),
            peer,
            started: Arc::new(AtomicU64::new(0)),
            permits: Arc::new(Semaphore::new(super::pipelined::PREFETCHES)),
            head_limit: limits.max_header_bytes.max(WRITE_BUFFER),
        };
        let service = TowerToHyperService::new(tower::service_fn({
            let (router, activity) = (router.clone(), activity.clone());
            let started = prefetcher.started.clone();
            move |mut request: http::Request<Incoming>| {
                started.fetch_add(1, Ordering::AcqRel);
                // An HTTP/2 request is in progress until its response body is dropped.
                let in_progress = activity.begin(request.version());
                // The peer's address reaches `handle` for `[access] allow_networks`.
                request.extensions_mut().insert(ConnectInfo(peer));
                let response = router.clone().oneshot(request);
                async move {
                    let response = response.await?;
                    Ok::<_, Infallible>(match in_progress {
                        Some(in_progress) => idle::carried_by(response, in_progress),
                        None => response,
                    })
                }
            }
        }));
        let (builder, metrics, mut stop) = (builder.clone(), metrics.clone(), stop_rx.clone());
        let idle_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            // Asked only inside the loop below, while `connection` owns the socket.
            let socket = std::os::fd::AsRawFd::as_raw_fd(&tcp);
            let tcp = super::client_io::ClientIo::new(tcp, prefetcher, activity.clone());
            let connection = builder.serve_connection(TokioIo::new(tcp), service);
            tokio::pin!(connection);
            // hyper closes an idle HTTP/1.1 connection at `idle_timeout` itself (and one that
            // has sent nothing yet); this check waits one period longer, so that it only ever
            // closes HTTP/2 connections.
            let idle_check = idle_check_period(idle_timeout);
            let mut idle_checks = tokio::time::interval(idle_check);
            let (mut stopping, mut closed_idle) = (false, false);
            let served = loop {
                tokio::select! {
                    served = connection.as_mut() => break served,
                    _ = stop.wait_for(|&stop| stop), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = idle_checks.tick(), if !stopping => {
                        let idle = activity.idle_for().is_some_and(|idle| idle >= idle_timeout + idle_check);
                        if idle && idle::unsent_bytes(socket) > 0 {
                            activity.still_sending();
                        } else if idle {
                            stopping = true;
                            closed_idle = true;
                            metrics.clients.header_read_timeout.inc();
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            };
            if let Err(err) = served {
                // Counted once: a client that never acknowledges the idle bound's GOAWAY is
                // closed by the ping timeout, which hyper reports as a timeout too.
                if !closed_idle {
                    count_hyper_refusal(err.as_ref(), &metrics.clients);
                }
                tracing::debug!(%peer, err = %crate::upstream::error_chain(err.as_ref()), "client connection ended with an error");
            }
            // The place is free before the gauge says so.
            drop(admitted);
            metrics.clients.open.dec();
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    connections.all_closed().await;
    Ok(())
}

/// How often a connection checks whether it has been idle for `idle_timeout`: it is closed
/// between one and one and a quarter timeouts after its last request ended.
fn idle_check_period(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).max(Duration::from_millis(50))
}

/// hyper's connection settings from the limits.
fn builder(limits: &ClientLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(limits.max_headers)
        // The buffer bounds the write side too: kept as large as hyper's default, so that a
        // download is written in large pieces; `max_header_bytes` below it is checked per
        // request (`head_too_large`).
        .max_buf_size(limits.max_header_bytes.max(WRITE_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        // A peer that stops answering pings is closed: after a GOAWAY, the graceful close
        // waits for the client's acknowledgement, and a streamed body may still be in hyper's
        // send buffer after the response body is dropped, so larder cannot drop the
        // connection itself without risking a download in flight.
        .keep_alive_interval(limits.header_read_timeout)
        .keep_alive_timeout(limits.header_read_timeout)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Counts what hyper refused on its own (it answered 431, or closed a slow head).
fn count_hyper_refusal(err: &(dyn std::error::Error + 'static), counters: &ClientCounters) {
    let Some(err) = err.downcast_ref::<hyper::Error>() else {
        return;
    };
    if err.is_parse_too_large() {
        counters.headers.inc();
    } else if err.is_timeout() {
        counters.header_read_timeout.inc();
    }
}

/// Accept errors about one connection that went away before it was accepted.
fn is_per_connection(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Writes a 503 before the client has sent anything, then reads what it sends until it
/// closes (or [`REFUSAL_TIME`] passes): closing with unread bytes would reset the connection,
/// and the client could lose the answer.
async fn refuse(mut tcp: TcpStream, answer: &str) {
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        while tcp.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Which cap a connection met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Total,
    PerClient,
}

impl Refusal {
    fn count(self, counters: &ClientCounters) {
        match self {
            Refusal::Total => counters.connections.inc(),
            Refusal::PerClient => counters.connections_per_client.inc(),
        };
    }

    fn answer(self, limits: &ClientLimits) -> String {
        let body = match self {
            Refusal::Total => format!(
                "larder has {} client connections open, its [limits] max_connections; retry shortly\n",
                limits.max_connections
            ),
            Refusal::PerClient => format!(
                "your address has {} connections open to larder, its [limits] max_connections_per_client; \
                 close some or retry shortly\n",
                limits.max_connections_per_client
            ),
        };
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }
}

/// The connections open, in total and per peer address.
struct Connections {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<Open>,
    closed: Notify,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

impl Connections {
    fn new(limits: &ClientLimits) -> Connections {
        Connections {
            max_total: limits.max_connections,
            max_per_client: limits.max_connections_per_client,
            open: Mutex::default(),
            closed: Notify::new(),
        }
    }

    /// A place for one more connection from `ip`, held until the returned guard drops.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        // An IPv4 peer on a dual-stack socket is the same client as on a v4 one.
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let from_client = open.by_client.entry(ip).or_default();
        if *from_client >= self.max_per_client {
            return Err(Refusal::PerClient);
        }
        *from_client += 1;
        open.total += 1;
        Ok(Admitted {
            connections: self.clone(),
            ip,
        })
    }

    fn release(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_client.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&ip);
            }
        }
        if open.total == 0 {
            self.closed.notify_waiters();
        }
    }

    async fn all_closed(&self) {
        loop {
            let closed = self.closed.notified();
            if self.open.lock().unwrap_or_else(|p| p.into_inner()).total == 0 {
                return;
            }
            closed.await;
        }
    }
}

/// One admitted connection's place.
struct Admitted {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(total: usize, per_client: usize) -> Arc<Connections> {
        Arc::new(Connections::new(&ClientLimits {
            max_connections: total,
            max_connections_per_client: per_client,
            ..ClientLimits::default()
        }))
    }

    #[test]
    fn each_address_has_its_own_cap_under_the_total() {
        let conns = connections(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = conns.admit(a).unwrap();
        let _second = conns.admit(a).unwrap();
        assert_eq!(conns.admit(a).err(), Some(Refusal::PerClient));
        let _third = conns.admit(b).unwrap();
        assert_eq!(conns.admit(b).err(), Some(Refusal::Total));
        drop(first);
        assert!(
            conns.admit(a).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn a_v4_mapped_peer_counts_as_its_v4_address() {
        let conns = connections(10, 1);
        let _v4 = conns.admit("10.0.0.1".parse().unwrap()).unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(conns.admit(mapped).err(), Some(Refusal::PerClient));
    }

    #[test]
    fn a_refusal_is_a_complete_http_answer_that_says_when_to_retry() {
        let answer = Refusal::PerClient.answer(&ClientLimits::default());
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(head.contains("\r\nRetry-After: 1\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(body.contains("max_connections_per_client"), "{body}");
    }
}
