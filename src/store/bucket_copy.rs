//! Copies of bucket blobs into the local tier, streamed: the bytes go to a local temp file as
//! they come from the bucket, hashed on the way, and the temp file is published as the blob once
//! they hash to its name. The copy broadcasts its [`CopyState`], and readers follow the temp file
//! with the machinery of upstream fills (`body::following`): they get bytes from the first chunk
//! on, the last byte only once verified, and a cut connection if the bucket's bytes do not match
//! (tampered or damaged). Concurrent readers of one blob on a replica share one copy.

use super::bucket::{Bucket, BucketError};
use super::facade::blocking;
use super::growing::{CopyState, Copying, Growing};
use super::{BlobFile, Store, TempBlob};
use crate::inflight::{InFlight, Leader};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Default)]
pub struct BucketCopies {
    flights: InFlight<CopyState>,
}

impl BucketCopies {
    /// Joins or starts the copy of the blob `sha256`, and returns it as a blob whose bytes are
    /// still arriving, once the bucket has started sending them; `None` when the bucket lacks
    /// the blob or fails before its first byte (a miss: the caller goes upstream).
    pub async fn start(
        &self,
        bucket: &Arc<Bucket>,
        local: &Arc<dyn Store>,
        sha256: &str,
    ) -> Option<BlobFile> {
        let sha256 = sha256.to_string();
        let mut rx = self.flights.join_or_lead(
            &sha256,
            || CopyState::Opening,
            |leader| {
                let job = CopyJob {
                    bucket: bucket.clone(),
                    local: local.clone(),
                    sha256: sha256.clone(),
                };
                tokio::spawn(job.run(leader));
            },
        );
        // The bucket's answer is bounded by its timeout; the slack is for scheduling.
        let bound = bucket.timeout + Duration::from_secs(5);
        let opened = rx.wait_for(|state| !matches!(state, CopyState::Opening));
        let copying = match tokio::time::timeout(bound, opened).await {
            Ok(Ok(state)) => match &*state {
                CopyState::Copying(copying) => copying.clone(),
                CopyState::Failed(why) => {
                    tracing::warn!(sha256, error = %why, "could not copy a blob from the bucket; treating it as a miss");
                    return None;
                }
                _ => return None,
            },
            _ => return None,
        };
        let file = copying.file.try_clone().ok()?;
        let ranged = {
            let (bucket, sha256) = (bucket.clone(), sha256.clone());
            Arc::new(move |start, end| bucket.blob_range_stream(&sha256, start, end))
        };
        Some(BlobFile {
            file,
            len: copying.size,
            content: None,
            // Hashed by the copy itself, before its last byte is released.
            check: None,
            growing: Some(Box::new(Growing { rx, ranged })),
        })
    }
}

struct CopyJob {
    bucket: Arc<Bucket>,
    local: Arc<dyn Store>,
    sha256: String,
}

impl CopyJob {
    async fn run(self, leader: Leader<CopyState>) {
        let started = std::time::Instant::now();
        let copied = self.copy(leader.sender()).await;
        leader.finish(|tx| {
            if let Err(why) = copied {
                tracing::warn!(sha256 = %self.sha256, error = %why, "copy from the bucket failed");
                tx.send_modify(|state| match state {
                    CopyState::Copying(copying) => copying.outcome = Some(Err(why)),
                    other => *other = CopyState::Failed(why),
                });
            }
        });
        tracing::debug!(sha256 = %self.sha256, ms = started.elapsed().as_millis() as u64, "copy from the bucket ended");
    }

    async fn copy(&self, tx: &watch::Sender<CopyState>) -> Result<(), String> {
        let opened = self.bucket.open_blob_stream(&self.sha256).await;
        let Some((size, stream)) = opened.map_err(broken)? else {
            tx.send_replace(CopyState::Absent);
            return Ok(());
        };
        let temp = blocking(&self.local, |local| local.create_temp())
            .await
            .map_err(storage)?;
        let path = temp.path.clone();
        match self.stream_into(temp, size, stream, tx).await {
            Ok(()) => Ok(()),
            Err(err) => {
                let _ = blocking(&self.local, move |local| {
                    local.discard(&path);
                    Ok(())
                })
                .await;
                Err(err)
            }
        }
    }

    async fn stream_into(
        &self,
        temp: TempBlob,
        size: u64,
        stream: super::bucket::BlobStream,
        tx: &watch::Sender<CopyState>,
    ) -> Result<(), String> {
        tx.send_replace(CopyState::Copying(Copying {
            file: Arc::new(temp.file.try_clone().map_err(storage)?),
            size,
            written: 0,
            outcome: None,
        }));
        let timeout = self.bucket.timeout;
        let mut chunks = stream.ready_chunks(64);
        let (mut file, mut hasher, mut written) = (temp.file, Sha256::new(), 0u64);
        loop {
            let batch = match tokio::time::timeout(timeout, chunks.next()).await {
                Err(_) => {
                    let err = BucketError::Timeout(timeout);
                    self.bucket.mark_unreachable("reading a blob", &err);
                    return Err(broken(err));
                }
                Ok(None) => break,
                Ok(Some(batch)) => batch,
            };
            let pieces = batch
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| broken(BucketError::Store(err)))?;
            // Whatever has arrived is written in one blocking call, as a fill does.
            let wrote = tokio::task::spawn_blocking(move || {
                let mut n = 0u64;
                for piece in &pieces {
                    file.write_all(piece)?;
                    hasher.update(piece);
                    n += piece.len() as u64;
                }
                Ok::<_, io::Error>((file, hasher, n))
            })
            .await
            .map_err(|err| storage(io::Error::other(err)))?
            .map_err(storage)?;
            (file, hasher, written) = (wrote.0, wrote.1, written + wrote.2);
            if written > size {
                return Err(mismatch(&self.sha256));
            }
            tx.send_modify(|state| {
                if let CopyState::Copying(copying) = state {
                    copying.written = written;
                }
            });
        }
        if written != size || hex::encode(hasher.finalize()) != self.sha256 {
            tracing::error!(
                sha256 = %self.sha256,
                "the bucket's copy of a blob does not hash to its name (damaged or tampered \
                 with); its readers were cut off and nothing was stored (delete the object from \
                 the bucket: the next fill uploads a good copy)"
            );
            return Err(mismatch(&self.sha256));
        }
        let (path, sha256) = (temp.path.clone(), self.sha256.clone());
        if let Err(err) = blocking(&self.local, move |local| local.publish(&path, &sha256)).await {
            // Verified, so served; kept next time.
            tracing::warn!(sha256 = %self.sha256, error = %err, "could not keep a blob copied from the bucket; served without storing it");
            let path = temp.path;
            let _ = blocking(&self.local, move |local| {
                local.discard(&path);
                Ok(())
            })
            .await;
        }
        tx.send_modify(|state| {
            if let CopyState::Copying(copying) = state {
                copying.outcome = Some(Ok(()));
            }
        });
        Ok(())
    }
}

fn broken(err: BucketError) -> String {
    format!("the shared bucket broke off the copy: {err}")
}

fn mismatch(sha256: &str) -> String {
    format!(
        "the shared bucket's copy of blob {sha256} does not hash to its name; nothing was stored"
    )
}

fn storage(err: io::Error) -> String {
    format!("larder could not store the copy from the bucket: {err}")
}
