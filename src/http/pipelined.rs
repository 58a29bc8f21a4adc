//! Pipelined HTTP/1.1 requests answered in order but fetched at once.
//!
//! apt sends up to ten requests on a connection before reading the first answer
//! (`Acquire::http::Pipeline-Depth`). hyper answers them in order, one at a time, so on a cold
//! cache each `.deb` paid its own upstream round trip: 150 packages behind a 40 ms link took
//! 13.5 s through larder against 4.1 s straight at the archive (benches/RESULTS.md, row 14).
//!
//! `super::client_io::ClientIo` hands the bytes hyper reads (unchanged) to [`Heads`], which
//! finds the request heads in them. A bodiless `GET` that is queued behind another request of the same
//! connection (hyper has not started it yet) is *prefetched*: a `HEAD` for the same target,
//! with the same headers, goes through the router, so the access check, the policy and the
//! routing are the ones the request itself will meet; a miss starts its fill there (fills run on
//! their own, `crate::fill`), and the request, once hyper reaches it, joins that fill or finds
//! the object stored. A prefetch is not counted as a client's request; its lookup is (the miss
//! it starts is the miss, the request after it counts as coalesced or a hit), and the served-log
//! records nothing for it (a `HEAD` has no body). At most [`PREFETCHES`] run at once per
//! connection. At the first head that
//! is not a bodiless `GET` or `HEAD` (a body's bytes cannot be told from a head's), that does not
//! parse, or that is larger than hyper's buffer, the connection is no longer read: nothing is
//! prefetched on it again. HTTP/2 starts with `PRI`, so it is never read past its preface.

use axum::body::Body;
use axum::extract::ConnectInfo;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Prefetches in flight at once per connection: apt's default pipeline depth.
pub const PREFETCHES: usize = 10;

/// The most headers a head may have to be read here (hyper's own bound is `[limits]`).
const MAX_HEADERS: usize = 64;

/// Marks a prefetch's request, so `handle` does not count it as a client's request.
#[derive(Clone, Copy, Debug)]
pub struct Prefetch;

/// A request head read off the connection: its place in the connection's order, its target
/// and its headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub index: u64,
    pub target: String,
    pub headers: Vec<(String, Vec<u8>)>,
    /// A `GET` (a `HEAD` is read past but never prefetched).
    pub get: bool,
}

/// Finds request heads in a connection's bytes as they are read.
#[derive(Default)]
pub struct Heads {
    /// Bytes of a head not complete yet.
    partial: Vec<u8>,
    /// Heads read so far.
    seen: u64,
    /// Set for good at anything this cannot follow.
    off: bool,
}

impl Heads {
    /// Reads `bytes` (the next ones on the connection), returning the heads they complete.
    /// `limit` bounds a head's size (hyper refuses larger ones and closes).
    pub fn feed(&mut self, bytes: &[u8], limit: usize) -> Vec<Head> {
        self.feed_wanted(bytes, limit, |_| true)
    }

    /// As [`Heads::feed`], but a head is copied out only where `wanted(index)` (most are not:
    /// a connection that does not pipeline costs a parse per request, no allocation).
    pub fn feed_wanted(
        &mut self,
        bytes: &[u8],
        limit: usize,
        mut wanted: impl FnMut(u64) -> bool,
    ) -> Vec<Head> {
        let mut heads = Vec::new();
        if self.off {
            return heads;
        }
        // Bytes that complete a head begun before are parsed together with it; otherwise the
        // read is parsed where it is, and only an unfinished head's bytes are kept.
        let joined;
        let input: &[u8] = if self.partial.is_empty() {
            bytes
        } else {
            self.partial.extend_from_slice(bytes);
            joined = std::mem::take(&mut self.partial);
            &joined
        };
        let mut start = 0;
        while start < input.len() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            let len = match request.parse(&input[start..]) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if input.len() - start <= limit => break,
                Ok(httparse::Status::Partial) | Err(_) => {
                    self.stop();
                    return heads;
                }
            };
            let get = request.method == Some("GET");
            let has_body = request.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case("content-length") && h.value != b"0"
                    || h.name.eq_ignore_ascii_case("transfer-encoding")
            });
            if !(get || request.method == Some("HEAD")) || has_body {
                self.stop();
                return heads;
            }
            if wanted(self.seen) {
                heads.push(Head {
                    index: self.seen,
                    target: request.path.unwrap_or("/").to_string(),
                    headers: request
                        .headers
                        .iter()
                        .map(|h| (h.name.to_string(), h.value.to_vec()))
                        .collect(),
                    get,
                });
            }
            self.seen += 1;
            start += len;
        }
        self.partial = input[start..].to_vec();
        heads
    }

    /// Whether heads are still read (`false` once the connection showed something this
    /// cannot follow).
    pub fn reading(&self) -> bool {
        !self.off
    }

    fn stop(&mut self) {
        self.off = true;
        self.partial = Vec::new();
    }
}

/// What a connection's prefetches need: the router, the peer, and how many requests hyper has
/// started on the connection (a head past that many is queued).
#[derive(Clone)]
pub struct Prefetcher {
    pub router: axum::Router,
    pub peer: SocketAddr,
    pub started: Arc<AtomicU64>,
    pub permits: Arc<Semaphore>,
    pub head_limit: usize,
}

impl Prefetcher {
    /// Whether the head at `index` waits behind another: the head hyper starts next is answered
    /// as soon as it is read, only later ones wait.
    pub fn queued(&self, index: u64) -> bool {
        index > self.started.load(Ordering::Acquire)
    }

    pub fn consider(&self, head: Head) {
        if !head.get {
            return;
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return;
        };
        let Some(request) = head_request(&head, self.peer) else {
            return;
        };
        let router = self.router.clone();
        tokio::spawn(async move {
            // The answer is dropped: what mattered is the fill it started.
            let _ = router.oneshot(request).await;
            drop(permit);
        });
    }
}

/// The `HEAD` that stands for `head`'s `GET`.
fn head_request(head: &Head, peer: SocketAddr) -> Option<http::Request<Body>> {
    let mut builder = http::Request::builder()
        .method(http::Method::HEAD)
        .uri(&head.target);
    for (name, value) in &head.headers {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    let mut request = builder.body(Body::empty()).ok()?;
    request.extensions_mut().insert(ConnectInfo(peer));
    request.extensions_mut().insert(Prefetch);
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 * 1024;

    fn targets(heads: &[Head]) -> Vec<(u64, &str)> {
        heads.iter().map(|h| (h.index, h.target.as_str())).collect()
    }

    #[test]
    fn pipelined_heads_are_read_across_reads() {
        let mut heads = Heads::default();
        let bytes =
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HT";
        let first = heads.feed(bytes, LIMIT);
        assert_eq!(targets(&first), [(0, "/a"), (1, "/b")]);
        assert_eq!(first[1].headers, [("Host".to_string(), b"x".to_vec())]);
        let second = heads.feed(b"TP/1.1\r\n\r\nHEAD /d HTTP/1.1\r\n\r\n", LIMIT);
        assert_eq!(targets(&second), [(2, "/c"), (3, "/d")]);
        assert!(second[0].get && !second[1].get);
    }

    #[test]
    fn only_wanted_heads_are_copied_out_and_the_numbering_goes_on() {
        let mut heads = Heads::default();
        let bytes = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
        let queued = heads.feed_wanted(bytes, LIMIT, |index| index > 0);
        assert_eq!(targets(&queued), [(1, "/b"), (2, "/c")]);
        assert_eq!(
            targets(&heads.feed(b"GET /d HTTP/1.1\r\n\r\n", LIMIT)),
            [(3, "/d")]
        );
    }

    #[test]
    fn a_body_a_foreign_method_or_http2_stops_the_reading_for_good() {
        for stopper in [
            &b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"[..],
            b"GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"PUT /x HTTP/1.1\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"\x16\x03\x01 not http at all\r\n\r\n",
        ] {
            let mut heads = Heads::default();
            assert!(heads.feed(stopper, LIMIT).is_empty());
            assert!(heads.feed(b"GET /y HTTP/1.1\r\n\r\n", LIMIT).is_empty());
        }
    }

    #[test]
    fn a_head_larger_than_the_limit_stops_the_reading() {
        let mut heads = Heads::default();
        assert!(heads.feed(b"GET /a HTTP/1.1\r\nX: ", 16).is_empty());
        assert!(heads.off);
        assert!(heads
            .feed(b"y\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 16)
            .is_empty());
    }
}
