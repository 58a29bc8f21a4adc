//! Where a fill's body goes: the temp file and the hashers, fed off the async workers, with
//! the progress broadcast to every client of the fill.

use crate::fill::{BodyHead, BodyProgress, FillState};
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

/// A body that came in whole.
pub struct Drained {
    pub hashers: Hashers,
    pub written: u64,
    /// Why the temp file holds only the first part (the disk filled up): the bytes were
    /// streamed to the fill's clients from memory, and cannot be stored.
    pub spilled: Option<io::Error>,
}

/// The bytes a batch wrote to the temp file, and the error that stopped it, if one did.
struct Written {
    file: std::fs::File,
    hashers: Hashers,
    bytes: u64,
    failed: Option<(usize, io::Error)>,
}

impl Written {
    /// Writes and hashes `pieces` in order, until one fails to write.
    fn batch(mut file: std::fs::File, mut hashers: Hashers, pieces: &[bytes::Bytes]) -> Written {
        let mut bytes = 0u64;
        for (index, piece) in pieces.iter().enumerate() {
            if let Err(err) = file.write_all(piece) {
                return Written {
                    file,
                    hashers,
                    bytes,
                    failed: Some((index, err)),
                };
            }
            hashers.update(piece);
            bytes += piece.len() as u64;
        }
        Written {
            file,
            hashers,
            bytes,
            failed: None,
        }
    }
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
    ) -> Result<Drained, UpstreamError> {
        let idle_timeout = bounds.idle_timeout;
        // Whatever has arrived is written in one blocking call: fewer thread hops per MB.
        // This host's connection slot is held until the body is in, then given back.
        let UpstreamResponse { response, permit } = upstream;
        let _permit = permit;
        let mut chunks = response.bytes_stream().ready_chunks(64);
        let head = announce.head.clone();
        let mut announce = Some(announce);
        let mut spilled: Option<io::Error> = None;
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
                    return Ok(Drained {
                        hashers: self.hashers,
                        written: self.written,
                        spilled,
                    });
                }
                Ok(Some(batch)) => batch,
            };
            let pieces = collect(batch, self.written, bounds, host)?;
            let n: u64 = pieces.iter().map(|piece| piece.len() as u64).sum();
            if spilled.is_some() {
                self.spill(pieces, &head);
            } else {
                let refused;
                (self, refused) = self.write(pieces, &head).await?;
                if let Some((on_disk, err)) = refused {
                    tracing::warn!(error = %err, bytes_on_disk = on_disk, "the disk could not take this download; its clients get the rest from memory, uncached");
                    tx.send_modify(|state| {
                        if let FillState::Body(progress) = state {
                            progress.on_disk = on_disk;
                        }
                    });
                    if let Some(progress) = announce.as_mut() {
                        progress.on_disk = on_disk;
                    }
                    spilled = Some(err);
                }
            }
            self.written += n;
            self.metrics.fetched(n);
            let written = self.written;
            let on_disk = match spilled {
                Some(_) => None,
                None => Some(written),
            };
            if let Some(announced) = content_length.filter(|&announced| written > announced) {
                return Err(UpstreamError::Short {
                    host: host.into(),
                    got: written,
                    announced,
                });
            }
            progress(tx, &mut announce, written, on_disk);
        }
    }
}

impl BodySink {
    /// Writes and hashes a batch to the temp file. When the disk refuses part of it, the rest
    /// goes to the spill, and the answer says how much is on disk and why the rest is not;
    /// digests the verification may still ask for are taken then, while the file holds every
    /// byte before the spill.
    async fn write(
        mut self,
        pieces: Vec<bytes::Bytes>,
        head: &BodyHead,
    ) -> Result<(Self, Option<(u64, io::Error)>), UpstreamError> {
        let (file, hashers) = (self.file, self.hashers);
        let (written, pieces) = tokio::task::spawn_blocking(move || {
            let written = Written::batch(file, hashers, &pieces);
            (written, pieces)
        })
        .await
        .map_err(|err| storage_error(io::Error::other(err)))?;
        self.file = written.file;
        self.hashers = written.hashers;
        let Some((failed_at, err)) = written.failed else {
            return Ok((self, None));
        };
        let on_disk = self.written + written.bytes;
        let file = self.file.try_clone().map_err(storage_error)?;
        let hashers = self.hashers;
        self.hashers =
            tokio::task::spawn_blocking(move || hashers.covering_every_algorithm(&file, on_disk))
                .await
                .map_err(|err| storage_error(io::Error::other(err)))?
                .map_err(storage_error)?;
        head.spill.begin(on_disk);
        self.spill(pieces.into_iter().skip(failed_at), head);
        Ok((self, Some((on_disk, err))))
    }

    /// Hashes bytes the disk cannot take and keeps them in the spill for the fill's clients.
    fn spill(&mut self, pieces: impl IntoIterator<Item = bytes::Bytes>, head: &BodyHead) {
        for piece in pieces {
            self.hashers.update(&piece);
            head.spill.push(piece);
        }
    }
}

/// Tells the fill's clients how far the body has got: the first time, that a body is coming
/// (with its head); after that, the bytes written and (unless spilled) on disk.
fn progress(
    tx: &watch::Sender<FillState>,
    announce: &mut Option<BodyProgress>,
    written: u64,
    on_disk: Option<u64>,
) {
    match announce.take() {
        Some(progress) => {
            tx.send_replace(FillState::Body(BodyProgress {
                written,
                on_disk: on_disk.unwrap_or(progress.on_disk),
                ..progress
            }));
        }
        None => tx.send_modify(|state| {
            if let FillState::Body(progress) = state {
                progress.written = written;
                if let Some(on_disk) = on_disk {
                    progress.on_disk = on_disk;
                }
            }
        }),
    }
}

/// A batch of body chunks, or why the body is given up: a broken transfer, or more bytes than
/// `bounds` allow in all (`written` came before).
fn collect<E: std::error::Error + 'static>(
    batch: Vec<Result<bytes::Bytes, E>>,
    written: u64,
    bounds: Bounds,
    host: &str,
) -> Result<Vec<bytes::Bytes>, UpstreamError> {
    let mut pieces = Vec::with_capacity(batch.len());
    let mut arrived = written;
    for piece in batch {
        let piece = piece.map_err(|err| UpstreamError::Body {
            host: host.into(),
            detail: crate::upstream::error_chain(&err),
        })?;
        arrived += piece.len() as u64;
        pieces.push(piece);
    }
    match bounds.max_size.filter(|&limit| arrived > limit) {
        Some(limit) => Err(UpstreamError::TooLarge {
            host: host.into(),
            limit,
        }),
        None => Ok(pieces),
    }
}

/// sha256 always (the store's address), plus the declared digest's algorithm when known upfront.
pub struct Hashers {
    sha256: sha2::Sha256,
    extra: Vec<(Algorithm, Box<dyn DynDigest + Send>)>,
}

impl Hashers {
    pub fn new(extra: Option<Algorithm>) -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            extra: extra.into_iter().map(|a| (a, hasher_for(a))).collect(),
        }
    }

    /// Every algorithm an ecosystem declares digests in, for a body whose digest is not known
    /// until it has streamed.
    pub fn every() -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            extra: [Algorithm::Sha1, Algorithm::Sha512]
                .into_iter()
                .map(|a| (a, hasher_for(a)))
                .collect(),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.sha256, bytes);
        for (_, hasher) in &mut self.extra {
            hasher.update(bytes);
        }
    }

    /// Adds a hasher for every algorithm not hashed yet, fed the first `len` bytes of `file`
    /// (what has been hashed so far): for a body that will not be whole on disk to rehash.
    fn covering_every_algorithm(mut self, file: &std::fs::File, len: u64) -> io::Result<Self> {
        use std::os::unix::fs::FileExt;
        for algorithm in [Algorithm::Sha1, Algorithm::Sha512] {
            if self.extra.iter().any(|(a, _)| *a == algorithm) {
                continue;
            }
            let mut hasher = hasher_for(algorithm);
            let mut buf = vec![0; 256 * 1024];
            let mut pos = 0u64;
            while pos < len {
                let want = buf.len().min((len - pos) as usize);
                let n = file.read_at(&mut buf[..want], pos)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the temp file is shorter than what was written to it",
                    ));
                }
                hasher.update(&buf[..n]);
                pos += n as u64;
            }
            self.extra.push((algorithm, hasher));
        }
        Ok(self)
    }

    pub fn finish(self) -> ([u8; 32], Vec<(Algorithm, Vec<u8>)>) {
        let extra = self
            .extra
            .into_iter()
            .map(|(a, h)| (a, h.finalize().to_vec()))
            .collect();
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
