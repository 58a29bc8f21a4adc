//! Response bodies read from a file: a published blob, or the temp file of a fill in progress.

use crate::fill::{BodyHead, FillState, Outcome};
use crate::store::growing::{CopyState, Growing};
use crate::store::integrity::{self, BlobCheck, Damage};
use crate::store::BlobFile;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures_util::FutureExt;
use larder_adapter::Rewriter;
use prometheus_client::metrics::counter::Counter;
use sha2::{Digest as _, Sha256};
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tokio::sync::watch;

const CHUNK: u64 = 256 * 1024;
/// Reads of published blobs: two in flight per response, so the same memory as one `CHUNK`.
const BLOB_CHUNK: u64 = CHUNK / 2;

pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Who hears of a hit whose blob turns out damaged: the log (with the object's key) and the
/// ecosystem's `larder_quarantined_blobs_total`.
pub struct Audit {
    pub key: String,
    pub quarantined: Counter,
}

/// Bytes `start..end` of a published blob, added to `served` as they are read: from memory when
/// the engine read it whole, else by positioned reads.
///
/// A blob that still needs hashing here (one larger than `integrity::HASH_FIRST_UP_TO`, which
/// the engine did not hash before answering) is hashed before its last byte goes out: the whole
/// body as it streams, its last chunk held until the digest matches; a part waits for the whole
/// blob to be hashed. A mismatch quarantines the blob and ends the stream with an error, which
/// cuts the client's connection. `audit` is asked for only then.
pub fn blob_range(
    blob: BlobFile,
    start: u64,
    end: u64,
    served: Counter,
    audit: impl FnOnce() -> Audit,
) -> ByteStream {
    if let Some(growing) = blob.growing {
        return growing_range(blob.file, *growing, start, end, served);
    }
    let check = blob.check.filter(|check| check.needs_hashing());
    if let Some(content) = blob.content {
        // The engine checks what it read whole before it answers (and then clears `check`); this
        // is the same check for a lookup that did not.
        if let Some(check) = check {
            if !check.matches(&Sha256::digest(&content)) {
                return stream::once(futures_util::future::ready(Err(damaged(&check, audit()))))
                    .boxed();
            }
        }
        let range = content.slice(start as usize..end as usize);
        served.inc_by(range.len() as u64);
        return stream::once(futures_util::future::ready(Ok(range))).boxed();
    }
    let file = Arc::new(blob.file);
    let Some(check) = check else {
        return file_range(file, start, end, served);
    };
    if start == 0 && end == blob.len {
        hashed_as_served(file_range(file, start, end, served), check, end, audit())
    } else {
        hashed_first(file.clone(), check, blob.len, audit())
            .chain(file_range(file, start, end, served))
            .boxed()
    }
}

/// Bytes `start..end` of a blob still being copied from the shared bucket: followed in its
/// temp file as it grows (the last byte released once the copy is verified), unless the copy has
/// not reached `start` yet, when a ranged read from the bucket serves them without waiting.
fn growing_range(
    file: std::fs::File,
    growing: Growing,
    start: u64,
    end: u64,
    served: Counter,
) -> ByteStream {
    if start > growing.written() {
        let counted = served.clone();
        return (growing.ranged)(start, end)
            .inspect_ok(move |chunk| {
                counted.inc_by(chunk.len() as u64);
            })
            .boxed();
    }
    following(Arc::new(file), None, growing.rx, start, Some(end), served)
}

/// `whole` (a blob's bytes `0..len`) hashed as it streams; the chunk that completes it is
/// released only if the blob's bytes hash to its name.
fn hashed_as_served(
    whole: ByteStream,
    check: Box<BlobCheck>,
    len: u64,
    audit: Audit,
) -> ByteStream {
    let state = (whole, Sha256::new(), 0u64, check, audit);
    stream::try_unfold(
        state,
        move |(mut whole, mut hasher, pos, check, audit)| async move {
            let Some(chunk) = whole.next().await.transpose()? else {
                return Ok(None);
            };
            hasher.update(&chunk);
            let pos = pos + chunk.len() as u64;
            if pos >= len && !check.matches(&hasher.finalize_reset()) {
                return Err(damaged(&check, audit));
            }
            Ok(Some((chunk, (whole, hasher, pos, check, audit))))
        },
    )
    .boxed()
}

/// Nothing, once the whole blob (`len` bytes of `file`) hashes to its name; else an error.
fn hashed_first(
    file: Arc<std::fs::File>,
    check: Box<BlobCheck>,
    len: u64,
    audit: Audit,
) -> ByteStream {
    stream::once(async move {
        let digest = tokio::task::spawn_blocking(move || integrity::hash_file(&file, len))
            .await
            .map_err(io::Error::other)??;
        match check.matches(&digest) {
            true => Ok(None),
            false => Err(damaged(&check, audit)),
        }
    })
    .try_filter_map(|nothing| futures_util::future::ready(Ok(nothing)))
    .boxed()
}

/// Quarantines a blob whose bytes do not hash to its name; the error that cuts the response.
fn damaged(check: &BlobCheck, audit: Audit) -> io::Error {
    check.quarantine(&audit.key, Damage::Digest);
    audit.quarantined.inc();
    io::Error::other(format!(
        "the stored copy of {} is damaged (its bytes do not match their sha256); it was moved \
         out of the store and the next request fetches it again",
        audit.key
    ))
}

/// Bytes `start..end` of a complete file, added to `served` as they are read, one chunk ahead:
/// the next chunk is read while the current one is written to the client, so the disk and the
/// socket work at the same time. At most two chunks are held per response (`BLOB_CHUNK` is half
/// of `CHUNK` for that).
pub fn file_range(file: Arc<std::fs::File>, start: u64, end: u64, served: Counter) -> ByteStream {
    let read_ahead = move |file: &Arc<std::fs::File>, pos: u64| {
        let len = (end - pos.min(end)).min(BLOB_CHUNK);
        if len == 0 {
            return None;
        }
        // In the page cache (the usual hit): read here, no hand-off to the blocking pool.
        if let Some(chunk) = crate::nowait::read(file, pos, len) {
            return Some(futures_util::future::ready(Ok(Bytes::from(chunk))).boxed());
        }
        let file = file.clone();
        let read = tokio::task::spawn_blocking(move || read_at_blocking(&file, pos, len));
        Some(read.map(|joined| joined.map_err(io::Error::other)?).boxed())
    };
    let first = read_ahead(&file, start);
    stream::try_unfold((first, start, file), move |(ahead, pos, file)| {
        let served = served.clone();
        async move {
            let Some(ahead) = ahead else {
                return Ok(None);
            };
            let chunk = ahead.await?;
            let next = pos + chunk.len() as u64;
            served.inc_by(chunk.len() as u64);
            let following = read_ahead(&file, next);
            Ok(Some((chunk, (following, next, file))))
        }
    })
    .boxed()
}

/// What a file being written says to its readers: how much of it they may read now, whether
/// it is complete, or why it failed. A fill's state, and a copy from the shared bucket's.
pub trait Progress: Clone + Send + Sync + 'static {
    /// The bytes readable now, and whether that is all of them. A writer that has not verified
    /// its bytes yet holds its last byte back, so that a reader never has them all before.
    fn readable(&self) -> io::Result<(u64, bool)>;

    /// How many of them are in the file; the rest are in the fill's `spill` (a fill the disk
    /// filled up under).
    fn on_disk(&self) -> u64 {
        u64::MAX
    }
}

impl Progress for FillState {
    fn readable(&self) -> io::Result<(u64, bool)> {
        match self {
            FillState::Body(progress) => match &progress.outcome {
                None => Ok((progress.written.saturating_sub(1), false)),
                Some(Outcome::Failed(err)) => Err(io::Error::other(err.to_string())),
                Some(_) => Ok((progress.written, true)),
            },
            FillState::Failed(err) => Err(io::Error::other(err.to_string())),
            _ => Err(io::Error::other("the fill ended without a body")),
        }
    }

    fn on_disk(&self) -> u64 {
        match self {
            FillState::Body(progress) => progress.on_disk,
            _ => u64::MAX,
        }
    }
}

impl Progress for CopyState {
    fn readable(&self) -> io::Result<(u64, bool)> {
        match self {
            CopyState::Copying(copying) => match &copying.outcome {
                None => Ok((copying.written.saturating_sub(1), false)),
                Some(Err(why)) => Err(io::Error::other(why.clone())),
                Some(Ok(())) => Ok((copying.written, true)),
            },
            CopyState::Opening => Ok((0, false)),
            CopyState::Failed(why) => Err(io::Error::other(why.clone())),
            CopyState::Absent => Err(io::Error::other("the bucket does not have the blob")),
        }
    }
}

/// Bytes `start..end` (`end = None`: to the end) of a file being written (a fill's temp file, or
/// a copy from the bucket), following it as it grows, added to `served` as they are read.
///
/// The final byte of the whole object is released only once the writer verified it: a failed,
/// short or mismatching body ends the stream with an error, which aborts the client connection.
/// Bytes past what the writer says is on disk come from the fill's spill (`crate::spill`).
pub fn following<S: Progress>(
    file: Arc<std::fs::File>,
    spill: Option<Arc<BodyHead>>,
    rx: watch::Receiver<S>,
    start: u64,
    end: Option<u64>,
    served: Counter,
) -> ByteStream {
    stream::try_unfold((start, rx), move |(pos, mut rx)| {
        let (file, spill) = (file.clone(), spill.clone());
        let served = served.clone();
        async move {
            loop {
                let (written, on_disk, finished) = {
                    let state = rx.borrow_and_update();
                    let (written, finished) = state.readable()?;
                    (written, state.on_disk(), finished)
                };
                let limit = end.map_or(written, |end| end.min(written));
                if pos < limit {
                    let chunk = match &spill {
                        Some(head) if pos >= on_disk => head
                            .spill
                            .read(pos, limit.min(pos + CHUNK))
                            .map_err(|behind| io::Error::other(behind.to_string()))?,
                        _ => {
                            let until = limit.min(on_disk);
                            read_at(file, pos, (until - pos).min(CHUNK)).await?
                        }
                    };
                    let next = pos + chunk.len() as u64;
                    served.inc_by(chunk.len() as u64);
                    return Ok(Some((chunk, (next, rx))));
                }
                if finished || end.is_some_and(|end| pos >= end) {
                    return Ok(None);
                }
                if rx.changed().await.is_err() {
                    // The writer is gone; whatever it last said decides on the next pass.
                    let last = rx.borrow().readable();
                    if !matches!(last, Ok((_, true))) {
                        return Err(io::Error::other("the download ended unexpectedly"));
                    }
                }
            }
        }
    })
    .boxed()
}

/// Applies a streaming rewrite to a body.
pub fn rewritten(inner: ByteStream, rewriter: Box<dyn Rewriter>) -> ByteStream {
    stream::try_unfold(
        (inner, Some(rewriter)),
        |(mut inner, rewriter)| async move {
            let Some(mut rewriter) = rewriter else {
                return Ok(None);
            };
            let mut out = Vec::new();
            while out.is_empty() {
                match inner.next().await {
                    Some(chunk) => rewriter.push(&chunk?, &mut out),
                    None => {
                        rewriter.finish(&mut out);
                        return Ok(Some((Bytes::from(out), (inner, None))));
                    }
                }
            }
            Ok(Some((Bytes::from(out), (inner, Some(rewriter)))))
        },
    )
    .boxed()
}

/// Up to `len` bytes of `file` from `pos`: here when they are in the page cache (a fill's
/// temp file, just written, always is), else on the blocking pool.
pub async fn read_at(file: Arc<std::fs::File>, pos: u64, len: u64) -> io::Result<Bytes> {
    if let Some(chunk) = crate::nowait::read(&file, pos, len) {
        return Ok(Bytes::from(chunk));
    }
    tokio::task::spawn_blocking(move || read_at_blocking(&file, pos, len))
        .await
        .map_err(io::Error::other)?
}

fn read_at_blocking(file: &std::fs::File, pos: u64, len: u64) -> io::Result<Bytes> {
    let mut buf = vec![0; len as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], pos + filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    if filled == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the stored file is shorter than its record",
        ));
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}
