//! The narrow hook in the response path: an artifact's body stream that appends one record to
//! the served-log once its last byte has been handed to the connection: the chunk that
//! completes its `Content-Length` (the HTTP server stops reading a body there, so its end is
//! never seen), or the end of a body of unknown length.
//!
//! A body that ends in an error (a fill that failed, a damaged blob) or that the client stops
//! reading (it hung up: the stream is dropped) records nothing: that client did not get the
//! artifact. The hook counts bytes (an add per chunk) and, on a hit, never hashes: the
//! digest is the stored blob's name.

use super::{Record, ServedLog};
use crate::body::ByteStream;
use crate::engine::Found;
use crate::fill::{FillState, Outcome};
use crate::metrics::Lookup;
use futures_util::stream::{self, StreamExt};
use larder_adapter::Release;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;

/// Where the digest of the served bytes comes from.
pub enum Digest {
    /// The stored blob's name.
    Known(String),
    /// The fill's outcome, read once the body is complete (it is verified by then).
    Fill(watch::Receiver<FillState>),
    /// Hashed as it streams: only for bodies passed through uncached, which no record names.
    Hash,
}

/// Everything a record needs but the size and the time, known when the response starts.
pub struct Pending {
    pub log: ServedLog,
    pub ecosystem: &'static str,
    pub release: Release,
    pub client: String,
    pub token: Option<String>,
    pub build: Option<String>,
    pub outcome: &'static str,
    pub digest: Digest,
}

/// How the cache answered, and where the digest comes from, for what the engine found; `None`
/// when there is no body to record.
pub fn describe(found: &Found, lookup: Lookup) -> Option<(&'static str, Digest)> {
    match found {
        Found::Stored { pointer, stale, .. } => {
            let outcome = if stale.is_some() { "stale" } else { "hit" };
            Some((
                outcome,
                Digest::Known(pointer.sha256.clone().unwrap_or_default()),
            ))
        }
        Found::Filling { rx, .. } => {
            let outcome = match lookup {
                Lookup::Coalesced => "coalesced",
                _ => "miss",
            };
            Some((outcome, Digest::Fill(rx.clone())))
        }
        Found::Direct(_) => Some(("bypass", Digest::Hash)),
        Found::Missing { .. } | Found::Failed(_) => None,
    }
}

struct State {
    inner: ByteStream,
    pending: Option<Pending>,
    hasher: Option<Sha256>,
    size: u64,
    /// The body's `Content-Length`, when the response states one.
    length: Option<u64>,
}

impl State {
    /// Appends the record, once.
    fn finish(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let sha256 = match (pending.digest, self.hasher.take()) {
            (_, Some(hasher)) => hex::encode(hasher.finalize()),
            (Digest::Known(sha), _) => sha,
            (Digest::Fill(rx), _) => fill_digest(&rx),
            (Digest::Hash, None) => String::new(),
        };
        pending.log.record(Record {
            at_ms: crate::store::now_ms(),
            ecosystem: pending.ecosystem.to_string(),
            package: pending.release.package,
            version: pending.release.version,
            purl: pending.release.purl,
            sha256,
            size: self.size,
            client: pending.client,
            token: pending.token,
            outcome: pending.outcome.to_string(),
            build: pending.build,
        });
    }
}

/// `body` (of `length` bytes, if known), recording `pending` when its last byte goes out.
pub fn recorded(body: ByteStream, length: Option<u64>, pending: Pending) -> ByteStream {
    let hasher = matches!(pending.digest, Digest::Hash).then(Sha256::new);
    let state = State {
        inner: body,
        pending: Some(pending),
        hasher,
        size: 0,
        length,
    };
    stream::unfold(state, |mut state| async move {
        match state.inner.next().await {
            Some(Ok(chunk)) => {
                state.size += chunk.len() as u64;
                if let Some(hasher) = &mut state.hasher {
                    hasher.update(&chunk);
                }
                // A fill's last chunk is released only once verified: this one is sound.
                if state.length.is_some_and(|length| state.size >= length) {
                    state.finish();
                }
                Some((Ok(chunk), state))
            }
            Some(Err(err)) => {
                // Not served: the connection is cut, and nothing after this is recorded.
                state.pending = None;
                Some((Err(err), state))
            }
            None => {
                state.finish();
                None
            }
        }
    })
    .boxed()
}

fn fill_digest(rx: &watch::Receiver<FillState>) -> String {
    match &*rx.borrow() {
        FillState::Body(progress) => match &progress.outcome {
            Some(Outcome::Stored(pointer)) => pointer.sha256.clone().unwrap_or_default(),
            Some(Outcome::PassedThrough { sha256 }) => sha256.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::served::{Counters, ServedSettings};
    use bytes::Bytes;
    use prometheus_client::metrics::counter::Counter;
    use std::sync::Arc;

    fn pending(log: &ServedLog) -> Pending {
        Pending {
            log: log.clone(),
            ecosystem: "npm",
            release: Release::new("a", "1.0.0", "npm", &[], "a", &[]),
            client: "127.0.0.1".into(),
            token: None,
            build: Some("b1".into()),
            outcome: "hit",
            digest: Digest::Hash,
        }
    }

    fn chunks(parts: Vec<std::io::Result<Bytes>>) -> ByteStream {
        stream::iter(parts).boxed()
    }

    #[tokio::test]
    async fn only_a_body_sent_whole_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let counters = Arc::new(Counters::new(Counter::default(), Counter::default()));
        let log = ServedLog::start(dir.path(), &ServedSettings::default(), counters).unwrap();

        let two_chunks = || {
            chunks(vec![
                Ok(Bytes::from_static(b"ab")),
                Ok(Bytes::from_static(b"c")),
            ])
        };
        let whole = recorded(two_chunks(), None, pending(&log));
        let _: Vec<_> = whole.collect().await;
        // Read to its last byte by a server that stops at the Content-Length.
        let mut sized = recorded(two_chunks(), Some(3), pending(&log));
        let _ = sized.next().await;
        let _ = sized.next().await;
        drop(sized);
        let broken = recorded(
            chunks(vec![
                Ok(Bytes::from_static(b"ab")),
                Err(std::io::Error::other("cut")),
            ]),
            None,
            pending(&log),
        );
        let _: Vec<_> = broken.collect().await;
        let mut abandoned = recorded(two_chunks(), Some(3), pending(&log));
        let _ = abandoned.next().await;
        drop(abandoned);

        assert!(log.flush(std::time::Duration::from_secs(5)).await);
        let read = crate::served::read::read(&crate::served::dir(dir.path()), &Default::default())
            .unwrap();
        assert_eq!(read.records.len(), 2, "{:?}", read.records);
        let record = &read.records[0];
        assert_eq!(read.records[1].size, 3);
        assert_eq!(record.size, 3);
        assert_eq!(record.sha256, hex::encode(Sha256::digest(b"abc")));
        assert_eq!(record.build.as_deref(), Some("b1"));
    }
}
