//! A blob that is still arriving from the shared bucket: its bytes land in a local temp file
//! (hashed on the way, published when they match the blob's name), and a reader follows that
//! file as it grows with the machinery that follows an upstream fill (`body::following`, which
//! reads a [`CopyState`] as it reads a fill's state): the last byte is released only once the
//! copy is verified, and a mismatch cuts the reader's connection.

use crate::inflight::Abandon;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use std::io;
use std::sync::Arc;
use tokio::sync::watch;

/// A body read from somewhere else than a local file (the same type as `body::ByteStream`).
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Reads bytes `start..end` of the blob straight from the bucket (a ranged GET).
pub type RangedRead = Arc<dyn Fn(u64, u64) -> ByteStream + Send + Sync>;

/// How far the copy of one blob from the bucket has got; broadcast to its readers.
#[derive(Clone)]
pub enum CopyState {
    /// Asking the bucket for the blob.
    Opening,
    /// The bucket does not have it.
    Absent,
    /// Failed before its first byte.
    Failed(String),
    Copying(Copying),
}

#[derive(Clone)]
pub struct Copying {
    /// The temp file the bytes go to (the blob's file once published).
    pub file: Arc<std::fs::File>,
    /// The blob's size, as the bucket announced it.
    pub size: u64,
    /// Bytes written so far (readable by positioned reads).
    pub written: u64,
    /// Set once the last byte is in: `Ok` when the bytes hash to the blob's name (then kept),
    /// else why the readers were cut off.
    pub outcome: Option<Result<(), String>>,
}

impl Abandon for CopyState {
    fn abandon(&mut self) {
        let why = "the copy from the bucket ended unexpectedly (see larder's log)".to_string();
        match self {
            CopyState::Copying(copying) if copying.outcome.is_none() => {
                copying.outcome = Some(Err(why))
            }
            CopyState::Opening => *self = CopyState::Failed(why),
            _ => {}
        }
    }
}

#[derive(Clone)]
pub struct Growing {
    pub rx: watch::Receiver<CopyState>,
    /// For a range the copy has not reached yet: the bucket serves it directly rather than
    /// making the reader wait for every byte before it.
    pub ranged: RangedRead,
}

impl Growing {
    /// Bytes copied so far.
    pub fn written(&self) -> u64 {
        match &*self.rx.borrow() {
            CopyState::Copying(copying) => copying.written,
            _ => 0,
        }
    }

    /// Waits until the copy is verified (for callers that read the whole file).
    pub async fn finished(&self) -> io::Result<()> {
        let mut rx = self.rx.clone();
        let ended = rx
            .wait_for(|state| match state {
                CopyState::Copying(copying) => copying.outcome.is_some(),
                CopyState::Opening => false,
                _ => true,
            })
            .await
            .map_err(|_| io::Error::other("the copy from the bucket ended unexpectedly"))?;
        match &*ended {
            CopyState::Copying(Copying {
                outcome: Some(Ok(())),
                ..
            }) => Ok(()),
            CopyState::Copying(Copying {
                outcome: Some(Err(why)),
                ..
            })
            | CopyState::Failed(why) => Err(io::Error::other(why.clone())),
            _ => Err(io::Error::other("the bucket does not have the blob")),
        }
    }
}
