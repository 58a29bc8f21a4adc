//! The records of immutable objects served lately, so that a hot hit reads only its blob.
//!
//! An immutable object's record changes only through the engine (`Engine::put_pointer` forgets
//! it here) or when its blob goes (eviction, `larder gc`: the blob then fails to open, and the
//! full lookup decides), so a remembered record is as good as the one on disk.

use crate::store::{BlobFile, Pointer, Store};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many records are kept (a few MB) before the memory starts again.
const CAPACITY: usize = 16_384;

#[derive(Default)]
pub struct RecentRecords {
    records: Mutex<HashMap<String, Pointer>>,
}

impl RecentRecords {
    /// A remembered object whose blob can be read now without waiting for a disk (whole, up
    /// to `read_up_to` bytes).
    pub fn hit(
        &self,
        store: &dyn Store,
        key: &str,
        read_up_to: u64,
    ) -> Option<(Pointer, Option<BlobFile>)> {
        let pointer = self.lock().get(key)?.clone();
        match store.blob_without_waiting(pointer.sha256.as_deref()?, read_up_to) {
            Some(blob) => Some((pointer, Some(blob))),
            None => {
                // Gone, or not in the page cache: the full lookup decides.
                self.forget(key);
                None
            }
        }
    }

    pub fn remember(&self, pointer: &Pointer) {
        let mut records = self.lock();
        if records.len() >= CAPACITY && !records.contains_key(&pointer.key) {
            records.clear();
        }
        records.insert(pointer.key.clone(), pointer.clone());
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pointer>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}
