//! Build-cache entries in the store: each one a pointer (`cache/<namespace>/<tool>/<key>`) that
//! names the blob of the entry's bytes. So the `max_size` LRU, `larder gc`/`verify` and the
//! replicas' bucket treat them like every mirrored object.
//!
//! An upload is streamed to a temp file while it is hashed (never held in memory), bounded by
//! `max_entry_size`, and checked against the key when the key is a digest; a refused upload
//! leaves nothing behind.

use crate::engine::Engine;
use crate::store::{BlobFile, Pointer, PublishError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::io;
use tokio::io::AsyncWriteExt;

/// Why an upload was not stored.
#[derive(Debug)]
pub enum WriteError {
    /// Over `max_entry_size` (the limit).
    TooLarge(u64),
    /// A content-addressed write whose bytes hash to something else.
    Mismatch { expected: String, actual: String },
    /// The client's body ended in an error (a cut connection).
    Body(String),
    /// The store could not take it (a full disk).
    Store(io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::TooLarge(limit) => write!(
                f,
                "the entry is larger than [cache] max_entry_size ({}); nothing was stored",
                crate::toml_keys::format_size(*limit)
            ),
            WriteError::Mismatch { expected, actual } => write!(
                f,
                "the body's sha256 is {actual}, not {expected} as its key says; nothing was stored"
            ),
            WriteError::Body(why) => write!(f, "the upload broke off ({why}); nothing was stored"),
            WriteError::Store(err) => write!(
                f,
                "larder could not store the entry ({err}); is its disk full?"
            ),
        }
    }
}

/// A stored entry: its record and its blob, opened.
pub struct Entry {
    pub pointer: Pointer,
    pub blob: BlobFile,
}

/// The entry under `key`, if one is stored and its blob is still there (eviction may have
/// taken the blob: that is a miss).
pub async fn read(engine: &Engine, key: String) -> io::Result<Option<Entry>> {
    Ok(match engine.store.lookup(&key).await? {
        Some((pointer, Some(blob))) if !pointer.is_negative() => Some(Entry { pointer, blob }),
        _ => None,
    })
}

/// Stores `body` under `key`; with `expected_sha256`, only if the bytes hash to it.
/// `declared_len` (Content-Length) refuses an oversized upload before reading it.
pub async fn write<S, E>(
    engine: &Engine,
    key: String,
    body: S,
    declared_len: Option<u64>,
    limit: u64,
    expected_sha256: Option<String>,
) -> Result<Pointer, WriteError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if declared_len.is_some_and(|len| len > limit) {
        return Err(WriteError::TooLarge(limit));
    }
    let temp = engine
        .store
        .create_temp()
        .await
        .map_err(WriteError::Store)?;
    let path = temp.path.clone();
    let filled = fill(temp.file, body, limit).await;
    let (sha256, size) = match filled {
        Ok(done) => done,
        Err(err) => {
            engine.store.discard(path).await;
            return Err(err);
        }
    };
    if let Some(expected) = expected_sha256 {
        if expected != sha256 {
            engine.store.discard(path).await;
            return Err(WriteError::Mismatch {
                expected,
                actual: sha256,
            });
        }
    }
    let pointer = Pointer::stored(&key, &sha256, size);
    // Publishing is idempotent: the same bytes already stored (a rebuild's identical output)
    // stay one blob.
    match (engine.store)
        .publish_with_record(path, sha256, pointer.clone())
        .await
    {
        Ok(()) => Ok(pointer),
        Err(PublishError::Blob(err) | PublishError::Record(err)) => Err(WriteError::Store(err)),
    }
}

/// Forgets the entry under `key` (ccache's DELETE): a newer record that says "not here".
pub async fn delete(engine: &Engine, key: String) -> io::Result<()> {
    engine
        .store
        .put_pointers(vec![Pointer::negative(&key, 404)])
        .await
}

/// Copies the body into the temp file, hashing it; returns the hex sha256 and the size.
async fn fill<S, E>(
    file: std::fs::File,
    mut body: S,
    limit: u64,
) -> Result<(String, u64), WriteError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| WriteError::Body(err.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(WriteError::TooLarge(limit));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(WriteError::Store)?;
    }
    file.flush().await.map_err(WriteError::Store)?;
    Ok((hex::encode(hasher.finalize()), size))
}
