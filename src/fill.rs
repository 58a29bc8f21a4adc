//! Fills: one upstream fetch per object, shared by every client that wants it.
//!
//! A fill runs as its own task, independent of any client, so a client that disconnects cancels
//! nothing. The body is hashed and written to a temp file as it arrives; every waiting client,
//! including one that joins late, reads that file from byte 0 up to what has been written
//! (`body.rs`). Only when the bytes are verified is the temp file published to the store;
//! the last byte of a download reaches clients only after that, so a mismatch or a short stream
//! always ends in a broken connection, never in a complete-looking response.
//!
//! States, in order: `Connecting` → one of `NotModified`, `Missing`, `Failed`, or `Body`; a
//! `Body` fill ends with an [`Outcome`].

use crate::inflight::{Abandon, InFlight, Leader};
use crate::store::Pointer;
use crate::upstream::UpstreamError;
use std::sync::Arc;
use std::time::Duration;
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
    /// Bytes received so far.
    pub written: u64,
    /// How many of them are in the temp file (readable by positioned reads): all of them,
    /// unless the disk filled up half-way and the rest is in [`BodyHead::spill`].
    pub on_disk: u64,
    /// Set once the last byte is in and checked.
    pub outcome: Option<Outcome>,
}

/// The response head of a fill, and the temp file its body goes to.
pub struct BodyHead {
    pub file: Arc<std::fs::File>,
    pub content_length: Option<u64>,
    pub content_type: Option<String>,
    /// The bytes past `on_disk`, once the temp file could not take more.
    pub spill: crate::spill::Spill,
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

impl Abandon for FillState {
    fn abandon(&mut self) {
        let err = Arc::new(UpstreamError::Storage {
            detail: "the fill ended unexpectedly (see larder's log)".into(),
        });
        match self {
            FillState::Body(progress) if progress.outcome.is_none() => {
                progress.outcome = Some(Outcome::Failed(err))
            }
            FillState::Connecting => *self = FillState::Failed(err),
            _ => {}
        }
    }
}

/// The fills in flight, by fill key (the object's key, plus the digest it expects).
pub type Fills = InFlight<FillState>;

/// The task's handle on its fill: dropped without finishing, it fails the fill for every client.
pub type FillLeader = Leader<FillState>;

/// Waits until the fill has a response head (or a final answer without one), at most `bound`:
/// a fill stuck before its head (a hung disk, a bug) answers its clients with a 504.
pub async fn await_head(rx: &mut watch::Receiver<FillState>, bound: Duration) -> FillState {
    let head = rx.wait_for(|state| !matches!(state, FillState::Connecting));
    match tokio::time::timeout(bound, head).await {
        Ok(Ok(state)) => state.clone(),
        Ok(Err(_)) => ended_unexpectedly(),
        Err(_) => FillState::Failed(Arc::new(UpstreamError::Stuck { after: bound })),
    }
}

/// Waits until the fill is over: a final state, or a body with its outcome. Gives up when the
/// fill makes no progress for `stall`.
pub async fn await_end(rx: &mut watch::Receiver<FillState>, stall: Duration) -> FillState {
    loop {
        let state = rx.borrow_and_update().clone();
        let done = match &state {
            FillState::Connecting => false,
            FillState::Body(progress) => progress.outcome.is_some(),
            _ => true,
        };
        if done {
            return state;
        }
        match tokio::time::timeout(stall, rx.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return ended_unexpectedly(),
            Err(_) => return FillState::Failed(Arc::new(UpstreamError::Stuck { after: stall })),
        }
    }
}

fn ended_unexpectedly() -> FillState {
    FillState::Failed(Arc::new(UpstreamError::Storage {
        detail: "the fill task ended unexpectedly".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fill_stuck_before_its_head_is_answered_in_bounded_time() {
        let (_tx, mut rx) = watch::channel(FillState::Connecting);
        let state = await_head(&mut rx, Duration::from_millis(50)).await;
        assert!(
            matches!(&state, FillState::Failed(err) if matches!(**err, UpstreamError::Stuck { .. })),
            "a stuck fill is a 504, not an endless wait"
        );
    }

    #[tokio::test]
    async fn a_fill_that_stops_progressing_is_given_up() {
        let (tx, mut rx) = watch::channel(FillState::Connecting);
        let progress = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            tx.send_replace(FillState::Missing { status: 404 });
            tx
        });
        // Progress within the stall bound is waited for.
        let state = await_end(&mut rx, Duration::from_millis(500)).await;
        assert!(matches!(state, FillState::Missing { status: 404 }));
        let _tx = progress.await;
        let (_tx, mut rx) = watch::channel(FillState::Connecting);
        let state = await_end(&mut rx, Duration::from_millis(50)).await;
        assert!(
            matches!(&state, FillState::Failed(err) if matches!(**err, UpstreamError::Stuck { .. }))
        );
    }

    #[test]
    fn an_abandoned_body_ends_with_a_failure_its_clients_see() {
        let (tx, _) = watch::channel(FillState::Connecting);
        let head = Arc::new(BodyHead {
            file: Arc::new(tempfile::tempfile().expect("temp file")),
            content_length: None,
            content_type: None,
            spill: Default::default(),
        });
        tx.send_replace(FillState::Body(BodyProgress {
            head,
            written: 10,
            on_disk: 10,
            outcome: None,
        }));
        tx.send_modify(FillState::abandon);
        let state = tx.borrow().clone();
        assert!(matches!(
            state,
            FillState::Body(BodyProgress {
                outcome: Some(Outcome::Failed(_)),
                ..
            })
        ));
    }
}
