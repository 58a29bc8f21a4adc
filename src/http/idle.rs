//! When a client connection is idle: no request in progress, and none since a given time.
//!
//! hyper closes an idle HTTP/1.1 keep-alive connection itself (its `header_read_timeout` starts
//! when a response ends), but an HTTP/2 connection has no such bound: a client that opened one
//! and sent nothing more would hold it, and its slot under `max_connections`, forever. The
//! connection task asks [`Activity::idle_for`] and shuts an idle connection down gracefully
//! (HTTP/2: a GOAWAY, so the client opens a new connection for its next request).
//!
//! An HTTP/2 request counts as in progress from its head until its response body is dropped.
//! hyper may still be sending the body's last window then (its send buffer holds up to 400 KB,
//! seconds for a slow client): a connection whose bytes still go out is not idle either. The
//! connection's writes are counted ([`Activity::wrote`], by `super::client_io::ClientIo`), and
//! [`Activity::idle_for`], seeing the count move between two looks, takes that as activity.
//! Once hyper has written the last byte, the kernel may still hold much of the body (a send
//! buffer grows to megabytes): [`unsent_bytes`] says so, and a connection with bytes queued
//! for its client is not idle. Closing it then is what must not happen: a client frame
//! arriving unread after the close makes the kernel reset the connection and drop the queue.
//! HTTP/1.1 requests are not tracked at all: hyper's own bound covers them, and the hit path
//! of the common protocol stays as it was.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// Writes shorter than this are control frames, not a body going out (a PING is 17 bytes).
const CONTROL_FRAMES: usize = 64;

/// One connection's requests in progress, and when the last one ended.
pub struct Activity {
    opened: Instant,
    /// An HTTP/1.1 request came: hyper bounds this connection's idle time itself, and its
    /// requests are not tracked (nothing is added to the hit path of HTTP/1.1).
    http1: AtomicBool,
    in_progress: AtomicUsize,
    /// Milliseconds from `opened` to the end of the last request (0: none yet).
    last_ended_ms: AtomicU64,
    /// Bytes written to the connection so far.
    written: AtomicU64,
    /// `written` when `idle_for` last looked.
    written_seen: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            opened: Instant::now(),
            http1: AtomicBool::new(false),
            in_progress: AtomicUsize::new(0),
            last_ended_ms: AtomicU64::new(0),
            written: AtomicU64::new(0),
            written_seen: AtomicU64::new(0),
        })
    }

    /// `bytes` more were written to the connection. A write of a few bytes is a control frame
    /// (hyper's keep-alive PING, a SETTINGS acknowledgement) and does not count, or the
    /// keep-alive would keep an idle connection open for ever.
    pub fn wrote(&self, bytes: usize) {
        if bytes >= CONTROL_FRAMES {
            self.written.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    /// The connection is still sending (its kernel queue is not empty): active now.
    pub fn still_sending(&self) {
        self.last_ended_ms
            .fetch_max(self.now_ms(), Ordering::SeqCst);
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request's head arrived: an HTTP/2 one is in progress until the returned guard is
    /// dropped.
    pub fn begin(self: &Arc<Self>, version: http::Version) -> Option<InProgress> {
        if version != http::Version::HTTP_2 {
            self.http1.store(true, Ordering::Relaxed);
            return None;
        }
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        Some(InProgress(self.clone()))
    }

    /// How long an HTTP/2 connection (or one that has sent no request yet) has had no request
    /// in progress (`None`: one is in progress, or the connection is HTTP/1.1).
    /// Bytes written since the last look count as activity at the time of this one.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.http1.load(Ordering::Relaxed) || self.in_progress.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let written = self.written.load(Ordering::Relaxed);
        if self.written_seen.swap(written, Ordering::Relaxed) != written {
            self.last_ended_ms
                .fetch_max(self.now_ms(), Ordering::SeqCst);
        }
        let since_open = self.opened.elapsed();
        let last_ended = Duration::from_millis(self.last_ended_ms.load(Ordering::SeqCst));
        Some(since_open.saturating_sub(last_ended))
    }
}

/// Bytes the kernel holds for the client, written but not yet acknowledged (0 when the
/// socket cannot say). `socket` must be open: the caller asks only while the connection that owns it runs.
pub fn unsent_bytes(socket: std::os::fd::RawFd) -> usize {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ for a TCP socket) writes one int through the pointer; a
    // descriptor that is not a socket only makes the call fail.
    let asked = unsafe { libc::ioctl(socket, libc::TIOCOUTQ, &mut queued) };
    match asked {
        0 => usize::try_from(queued).unwrap_or(0),
        _ => 0,
    }
}

/// A request in progress on its connection.
pub struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0
            .last_ended_ms
            .fetch_max(self.0.now_ms(), Ordering::SeqCst);
        self.0.in_progress.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `response` with `in_progress` carried in its body, dropped with it.
pub fn carried_by(response: Response, in_progress: InProgress) -> Response {
    response.map(|inner| {
        Body::new(Carrying {
            inner,
            _in_progress: in_progress,
        })
    })
}

/// A response body that holds its request's [`InProgress`] until it is dropped.
struct Carrying {
    inner: Body,
    _in_progress: InProgress,
}

impl http_body::Body for Carrying {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
