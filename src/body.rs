//! Response bodies read from a file: a published blob, or the temp file of a fill in progress.

use crate::fill::{FillState, Outcome};
use crate::store::BlobFile;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use futures_util::FutureExt;
use larder_adapter::Rewriter;
use prometheus_client::metrics::counter::Counter;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use tokio::sync::watch;

const CHUNK: u64 = 256 * 1024;
/// Reads of published blobs: two in flight per response, so the same memory as one `CHUNK`.
const BLOB_CHUNK: u64 = CHUNK / 2;

pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Bytes `start..end` of a published blob, added to `served` as they are read: from memory when
/// the engine read it whole, else by positioned reads.
pub fn blob_range(blob: BlobFile, start: u64, end: u64, served: Counter) -> ByteStream {
    match blob.content {
        Some(content) => {
            let range = content.slice(start as usize..end as usize);
            served.inc_by(range.len() as u64);
            stream::once(futures_util::future::ready(Ok(range))).boxed()
        }
        None => file_range(Arc::new(blob.file), start, end, served),
    }
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

/// Bytes `start..end` (`end = None`: to the end) of a fill's temp file, following it as it grows,
/// added to `served` as they are read.
///
/// The final byte of the whole object is released only once the fill is verified: a failed,
/// short or mismatching fill ends the stream with an error, which aborts the client connection.
pub fn following(
    file: Arc<std::fs::File>,
    rx: watch::Receiver<FillState>,
    start: u64,
    end: Option<u64>,
    served: Counter,
) -> ByteStream {
    stream::try_unfold((start, rx), move |(pos, mut rx)| {
        let file = file.clone();
        let served = served.clone();
        async move {
            loop {
                let (written, finished) = match &*rx.borrow_and_update() {
                    FillState::Body(progress) => match &progress.outcome {
                        None => (progress.written.saturating_sub(1), false),
                        Some(Outcome::Failed(err)) => {
                            return Err(io::Error::other(err.to_string()))
                        }
                        Some(_) => (progress.written, true),
                    },
                    FillState::Failed(err) => return Err(io::Error::other(err.to_string())),
                    _ => return Err(io::Error::other("the fill ended without a body")),
                };
                let limit = end.map_or(written, |end| end.min(written));
                if pos < limit {
                    let chunk = read_at(file, pos, (limit - pos).min(CHUNK)).await?;
                    let next = pos + chunk.len() as u64;
                    served.inc_by(chunk.len() as u64);
                    return Ok(Some((chunk, (next, rx))));
                }
                if finished || end.is_some_and(|end| pos >= end) {
                    return Ok(None);
                }
                if rx.changed().await.is_err() {
                    // The task is gone; whatever it last said decides on the next pass.
                    let state = rx.borrow().clone();
                    if !matches!(&state, FillState::Body(p) if p.outcome.is_some()) {
                        return Err(io::Error::other("the fill task ended unexpectedly"));
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

/// Up to `len` bytes of `file` from `pos`, read on the blocking pool.
pub async fn read_at(file: Arc<std::fs::File>, pos: u64, len: u64) -> io::Result<Bytes> {
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
