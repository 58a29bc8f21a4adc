//! The store as the async code sees it: every call that may block (a disk, the bucket) runs on
//! the blocking pool here and nowhere else, so no async worker ever waits for a disk; the calls
//! that never block ([`Store::hit_without_waiting`], [`Store::blob_without_waiting`],
//! [`Store::health`]) are made directly.

use super::{BlobFile, Pointer, Store, StoreHealth, TempBlob, Usage};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Blobs up to this size are read with the lookup that opens them and served from memory: a
/// hit then costs no hand-off to the blocking pool when the blob is in the page cache
/// (`Store::hit_without_waiting`), and one instead of two when it is not (benches/RESULTS.md).
/// At 256 connections this holds at most 16 MiB.
pub const SMALL_BLOB: u64 = 64 * 1024;

#[derive(Clone)]
pub struct AsyncStore {
    store: Arc<dyn Store>,
}

impl AsyncStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AsyncStore { store }
    }

    /// The synchronous store, for the calls that never block.
    pub fn now(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn health(&self) -> StoreHealth {
        self.store.health()
    }

    /// An object's record and, for a stored body, its blob (read whole when small). `None`
    /// when there is no record, or its blob is gone.
    pub async fn lookup(&self, key: &str) -> io::Result<Option<(Pointer, Option<BlobFile>)>> {
        if let Some((pointer, blob)) = self.store.hit_without_waiting(key, SMALL_BLOB) {
            return Ok(Some((pointer, Some(blob))));
        }
        let key = key.to_string();
        self.call(move |store| {
            let Some(pointer) = store.get_pointer(&key)? else {
                return Ok(None);
            };
            match &pointer.sha256 {
                None => Ok(Some((pointer, None))),
                Some(sha) => match store.open_blob(sha)? {
                    Some(blob) => Ok(Some((pointer, Some(read_if_small(blob)?)))),
                    None => Ok(None),
                },
            }
        })
        .await
    }

    /// The blob `sha256`, read whole when small.
    pub async fn open_blob(&self, sha256: &str) -> io::Result<Option<BlobFile>> {
        let sha256 = sha256.to_string();
        self.call(move |store| store.open_blob(&sha256)?.map(read_if_small).transpose())
            .await
    }

    /// The blob a record names, if it is still there.
    pub async fn open_blob_of(&self, pointer: &Pointer) -> Option<BlobFile> {
        self.open_blob(pointer.sha256.as_deref()?)
            .await
            .ok()
            .flatten()
    }

    pub async fn put_pointers(&self, pointers: Vec<Pointer>) -> io::Result<()> {
        self.call(move |store| pointers.iter().try_for_each(|p| store.put_pointer(p)))
            .await
    }

    pub async fn create_temp(&self) -> io::Result<TempBlob> {
        self.call(|store| store.create_temp()).await
    }

    pub async fn publish(&self, temp: PathBuf, sha256: String) -> io::Result<()> {
        self.call(move |store| store.publish(&temp, &sha256)).await
    }

    pub async fn discard(&self, temp: PathBuf) {
        let _ = self
            .call(move |store| {
                store.discard(&temp);
                Ok(())
            })
            .await;
    }

    pub async fn usage(&self) -> io::Result<Usage> {
        self.call(|store| store.usage()).await
    }

    /// Runs a blocking store operation off the async workers.
    async fn call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn Store) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || op(store.as_ref()))
            .await
            .map_err(io::Error::other)?
    }
}

/// A whole file, read on the blocking pool (an index to parse).
pub async fn read_whole(file: Arc<std::fs::File>) -> io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let len = file.metadata()?.len() as usize;
        let mut buf = vec![0; len];
        file.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    })
    .await
    .map_err(io::Error::other)?
}

fn read_if_small(mut blob: BlobFile) -> io::Result<BlobFile> {
    if blob.len <= SMALL_BLOB {
        let mut content = vec![0; blob.len as usize];
        blob.file.read_exact_at(&mut content, 0)?;
        blob.content = Some(bytes::Bytes::from(content));
    }
    Ok(blob)
}
