//! Where a fill's body goes: the temp file and the hashers, fed off the async workers, with
//! the progress broadcast to every client of the fill.

use crate::fill::{BodyProgress, FillState};
use crate::upstream::{UpstreamError, UpstreamResponse};
use futures_util::StreamExt;
use larder_adapter::Algorithm;
use sha2::digest::DynDigest;
use sha2::Digest as _;
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::sync::watch;

pub struct BodySink {
    pub file: std::fs::File,
    pub hashers: Hashers,
    pub written: u64,
    pub metrics: Arc<crate::metrics::EcoMetrics>,
}

/// What a body may do before its fill is given up.
#[derive(Clone, Copy)]
pub struct Bounds {
    /// Longest silence between two chunks.
    pub idle_timeout: std::time::Duration,
    /// The most bytes it may have (metadata); `None`: unbounded (artifacts).
    pub max_size: Option<u64>,
}

impl BodySink {
    pub async fn drain(
        mut self,
        upstream: UpstreamResponse,
        tx: &watch::Sender<FillState>,
        announce: BodyProgress,
        content_length: Option<u64>,
        bounds: Bounds,
        host: &str,
    ) -> Result<(Hashers, u64), UpstreamError> {
        let idle_timeout = bounds.idle_timeout;
        // Whatever has arrived is written in one blocking call: fewer thread hops per MB.
        // This host's connection slot is held until the body is in, then given back.
        let UpstreamResponse { response, permit } = upstream;
        let _permit = permit;
        let mut chunks = response.bytes_stream().ready_chunks(64);
        let mut announce = Some(announce);
        loop {
            let batch = match tokio::time::timeout(idle_timeout, chunks.next()).await {
                Err(_) => {
                    return Err(UpstreamError::Timeout {
                        host: host.into(),
                        after: idle_timeout,
                    })
                }
                Ok(None) => {
                    if let Some(progress) = announce.take() {
                        tx.send_replace(FillState::Body(progress));
                    }
                    return Ok((self.hashers, self.written));
                }
                Ok(Some(batch)) => batch,
            };
            let mut pieces = Vec::with_capacity(batch.len());
            let mut arrived = self.written;
            for piece in batch {
                let piece = piece.map_err(|err| UpstreamError::Body {
                    host: host.into(),
                    detail: crate::upstream::error_chain(&err),
                })?;
                arrived += piece.len() as u64;
                pieces.push(piece);
            }
            if let Some(limit) = bounds.max_size.filter(|&limit| arrived > limit) {
                return Err(UpstreamError::TooLarge {
                    host: host.into(),
                    limit,
                });
            }
            let (mut file, mut hashers) = (self.file, self.hashers);
            let (file, hashers, n) = tokio::task::spawn_blocking(move || {
                let mut n = 0u64;
                for piece in &pieces {
                    file.write_all(piece)?;
                    hashers.update(piece);
                    n += piece.len() as u64;
                }
                Ok::<_, io::Error>((file, hashers, n))
            })
            .await
            .map_err(|err| storage_error(io::Error::other(err)))?
            .map_err(storage_error)?;
            self.file = file;
            self.hashers = hashers;
            self.written += n;
            self.metrics.fetched(n);
            let written = self.written;
            if let Some(announced) = content_length.filter(|&announced| written > announced) {
                return Err(UpstreamError::Short {
                    host: host.into(),
                    got: written,
                    announced,
                });
            }
            match announce.take() {
                Some(progress) => {
                    tx.send_replace(FillState::Body(BodyProgress {
                        written,
                        ..progress
                    }));
                }
                None => tx.send_modify(|state| {
                    if let FillState::Body(progress) = state {
                        progress.written = written;
                    }
                }),
            }
        }
    }
}

/// sha256 always (the store's address), plus the declared digest's algorithm when known upfront.
pub struct Hashers {
    sha256: sha2::Sha256,
    extra: Option<(Algorithm, Box<dyn DynDigest + Send>)>,
}

impl Hashers {
    pub fn new(extra: Option<Algorithm>) -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            extra: extra.map(|a| (a, hasher_for(a))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.sha256, bytes);
        if let Some((_, hasher)) = &mut self.extra {
            hasher.update(bytes);
        }
    }

    pub fn finish(self) -> ([u8; 32], Option<(Algorithm, Vec<u8>)>) {
        let extra = self.extra.map(|(a, h)| (a, h.finalize().to_vec()));
        (sha2::Digest::finalize(self.sha256).into(), extra)
    }
}

fn hasher_for(algorithm: Algorithm) -> Box<dyn DynDigest + Send> {
    match algorithm {
        Algorithm::Sha1 => Box::new(sha1::Sha1::new()),
        Algorithm::Sha256 => Box::new(sha2::Sha256::new()),
        Algorithm::Sha512 => Box::new(sha2::Sha512::new()),
    }
}

/// Hashes a written temp file with an algorithm learnt only after it was streamed.
pub async fn rehash(path: &std::path::Path, algorithm: Algorithm) -> io::Result<Vec<u8>> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut hasher = hasher_for(algorithm);
        let mut file = std::fs::File::open(path)?;
        let mut buf = vec![0; 256 * 1024];
        loop {
            match file.read(&mut buf)? {
                0 => break,
                n => hasher.update(&buf[..n]),
            }
        }
        Ok(hasher.finalize().to_vec())
    })
    .await
    .map_err(io::Error::other)?
}

pub fn storage_error(err: io::Error) -> UpstreamError {
    UpstreamError::Storage {
        detail: err.to_string(),
    }
}
