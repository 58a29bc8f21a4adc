//! Fills: one upstream fetch per object, shared by every client that wants it.
//!
//! A fill runs as its own task, independent of any client, so a client that disconnects cancels
//! nothing. The body is hashed and written to a temp file as it arrives; every waiting client,
//! including one that joins late, reads that file from byte 0 up to what has been written
//! ([`crate::body`]). Only when the bytes are verified is the temp file published to the store;
//! the last byte of a download reaches clients only after that, so a mismatch or a short stream
//! always ends in a broken connection, never in a complete-looking response.
//!
//! States, in order: `Connecting` → one of `NotModified`, `Missing`, `Failed`, or `Body`; a
//! `Body` fill ends with an [`Outcome`].

use crate::store::Pointer;
use crate::upstream::UpstreamError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What a fill has got to; broadcast to every waiting client.
#[derive(Clone)]
pub enum FillState {
    Connecting,
    /// Upstream confirmed the cached copy (304); the pointer has been refreshed.
    NotModified(Pointer),
    /// Upstream says the object does not exist (404/410); remembered as a negative pointer.
    Missing {
        status: u16,
    },
    /// Upstream failed before sending a body.
    Failed(Arc<UpstreamError>),
    /// A body is arriving.
    Body(BodyProgress),
}

#[derive(Clone)]
pub struct BodyProgress {
    pub head: Arc<BodyHead>,
    /// Bytes written to the temp file so far (readable by positioned reads).
    pub written: u64,
    /// Set once the last byte is in and checked.
    pub outcome: Option<Outcome>,
}

/// The response head of a fill, and the temp file its body goes to.
pub struct BodyHead {
    pub file: Arc<std::fs::File>,
    pub content_length: Option<u64>,
    pub content_type: Option<String>,
}

#[derive(Clone)]
pub enum Outcome {
    /// Verified and published; the pointer is the new record.
    Stored(Pointer),
    /// Complete and served, but not stored (no digest to verify against, or the store failed).
    PassedThrough { sha256: String },
    /// Short, broken, timed out or mismatching: clients are cut off, nothing is stored.
    Failed(Arc<UpstreamError>),
}

/// The fills in flight, by full object key.
#[derive(Default)]
pub struct Fills {
    inflight: Mutex<HashMap<String, watch::Receiver<FillState>>>,
}

impl Fills {
    /// Joins the fill for `key`, or creates one and hands its sender to `start`, which must
    /// spawn the task that drives it and calls [`Fills::finish`] before its final state.
    pub fn join_or_start(
        &self,
        key: &str,
        start: impl FnOnce(watch::Sender<FillState>),
    ) -> watch::Receiver<FillState> {
        let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = inflight.get(key) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(FillState::Connecting);
        inflight.insert(key.to_string(), rx.clone());
        start(tx);
        rx
    }

    /// Removes a fill so the next request looks at the store (or starts afresh).
    pub fn finish(&self, key: &str) {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn in_flight(&self) -> usize {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

/// Waits until the fill has a response head (or a final answer without one).
pub async fn await_head(rx: &mut watch::Receiver<FillState>) -> FillState {
    match rx
        .wait_for(|state| !matches!(state, FillState::Connecting))
        .await
    {
        Ok(state) => state.clone(),
        Err(_) => FillState::Failed(Arc::new(UpstreamError::Storage {
            detail: "the fill task ended unexpectedly".into(),
        })),
    }
}

/// Waits until the fill is over: a final state, or a body with its outcome.
pub async fn await_end(rx: &mut watch::Receiver<FillState>) -> FillState {
    let done = |state: &FillState| match state {
        FillState::Connecting => false,
        FillState::Body(progress) => progress.outcome.is_some(),
        _ => true,
    };
    match rx.wait_for(done).await {
        Ok(state) => state.clone(),
        Err(_) => FillState::Failed(Arc::new(UpstreamError::Storage {
            detail: "the fill task ended unexpectedly".into(),
        })),
    }
}
