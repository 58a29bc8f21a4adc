//! Helpers for the store's unit tests.

use super::{Pointer, Store};
use sha2::{Digest as _, Sha256};
use std::io::Write;

/// Publishes `bytes` as a blob with a pointer from `key` confirmed at `fetched_at_ms`; returns
/// the blob's sha256.
pub fn put_blob(store: &dyn Store, key: &str, bytes: &[u8], fetched_at_ms: u64) -> String {
    let mut temp = store.create_temp().unwrap();
    temp.file.write_all(bytes).unwrap();
    let sha = hex::encode(Sha256::digest(bytes));
    store.publish(&temp.path, &sha).unwrap();
    store
        .put_pointer(&Pointer {
            fetched_at_ms,
            ..Pointer::stored(key, &sha, bytes.len() as u64)
        })
        .unwrap();
    sha
}
