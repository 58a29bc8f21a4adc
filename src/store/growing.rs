//! A blob that is still arriving from the shared bucket: its bytes land in a local temp file
//! (hashed on the way, published when they match the blob's name), and a reader follows that
//! file as it grows, exactly as the clients of an upstream fill do ([`crate::body::following`]):
//! the copy broadcasts the same [`FillState`], so its last byte is released only once verified
//! and a mismatch cuts the reader's connection.

use crate::body::ByteStream;
use crate::fill::{FillState, Outcome};
use std::io;
use std::sync::Arc;
use tokio::sync::watch;

/// Reads bytes `start..end` of the blob straight from the bucket (a ranged GET).
pub type RangedRead = Arc<dyn Fn(u64, u64) -> ByteStream + Send + Sync>;

#[derive(Clone)]
pub struct Growing {
    /// The copy's progress: `FillState::Body`, ending in `Outcome::Stored` once published.
    pub rx: watch::Receiver<FillState>,
    /// For a range the copy has not reached yet: the bucket serves it directly rather than
    /// making the reader wait for every byte before it.
    pub ranged: RangedRead,
}

impl Growing {
    /// Bytes copied so far.
    pub fn written(&self) -> u64 {
        match &*self.rx.borrow() {
            FillState::Body(progress) => progress.written,
            _ => 0,
        }
    }

    /// Waits until the copy is verified and published (for callers that read the whole file).
    pub async fn finished(&self) -> io::Result<()> {
        let mut rx = self.rx.clone();
        let ended = rx
            .wait_for(|state| match state {
                FillState::Body(progress) => progress.outcome.is_some(),
                _ => true,
            })
            .await
            .map_err(|_| io::Error::other("the copy from the bucket ended unexpectedly"))?;
        match &*ended {
            FillState::Body(progress) => match &progress.outcome {
                Some(Outcome::Stored(_)) | Some(Outcome::PassedThrough { .. }) => Ok(()),
                Some(Outcome::Failed(err)) => Err(io::Error::other(err.to_string())),
                None => Err(io::Error::other("the copy from the bucket is unfinished")),
            },
            FillState::Failed(err) => Err(io::Error::other(err.to_string())),
            _ => Err(io::Error::other(
                "the copy from the bucket ended without a body",
            )),
        }
    }
}
