//! The cached copy of an object, as the engine may use it: the remembered record of a hot
//! immutable object, else the store's record and blob, else (for an object named by its
//! sha256) the same bytes stored under another key. A copy that the newest index's declaration
//! contradicts is no copy at all.

use super::{Cached, Engine, Mounted};
use crate::store::{Pointer, SMALL_BLOB};
use larder_adapter::{Algorithm, Digest, Freshness, Object, Verify};
use std::sync::Arc;

impl Engine {
    pub(super) async fn cached_copy(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        key: &str,
    ) -> Option<Cached> {
        let immutable = object.freshness == Freshness::Immutable;
        let mut cached = match immutable {
            true => self.recent.hit(self.store.now(), key, SMALL_BLOB),
            false => None,
        };
        if cached.is_none() {
            cached = self.stored(key).await;
            if cached.is_none() {
                cached = self.stored_by_digest(key, object).await;
            }
            if let (true, Some((pointer, Some(_)))) = (immutable, &cached) {
                self.recent.remember(pointer);
            }
        }
        let (pointer, mut blob) = cached?;
        let Some(stored) = blob.as_mut() else {
            return Some((pointer, blob));
        };
        // A damaged blob (wrong size, or not hashing to its name) is quarantined and the hit
        // becomes a miss: the client gets a refetched copy (store/integrity.rs).
        if let Err(damage) = crate::store::integrity::check_hit(key, &pointer, stored).await {
            eco.metrics.quarantined(damage).inc();
            return None;
        }
        if object.declares_digests {
            self.learn_declarations_in_background(eco, object, &pointer);
        } else {
            // An index of this ecosystem was just stored and may contradict the cached copy.
            // (A miss does not wait: its fill checks the declaration once it is learnt.)
            eco.declarations.learnt().await;
        }
        match eco.declarations.declared(&object.key) {
            Some(declared) if contradicts(&pointer, &declared) => {
                tracing::info!(%key, %declared, "the cached copy no longer matches its index; fetching again");
                None
            }
            _ => Some((pointer, blob)),
        }
    }

    async fn stored(&self, key: &str) -> Option<Cached> {
        match self.store.lookup(key).await {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!(%key, error = %err, "store lookup failed; treating as a miss");
                None
            }
        }
    }

    /// An immutable object the request names by its sha256 (apt's `by-hash/SHA256/<hex>`)
    /// whose bytes the store already holds under another key: recorded under this one too,
    /// without asking upstream (and so served offline).
    async fn stored_by_digest(&self, key: &str, object: &Object) -> Option<Cached> {
        let Verify::Digest(digest) = &object.verify else {
            return None;
        };
        if digest.algorithm != Algorithm::Sha256 || object.is_metadata() {
            return None;
        }
        let sha256 = digest.to_hex();
        let blob = self.store.open_blob(&sha256).await.ok()??;
        let pointer = Pointer {
            verified: Some(digest.to_string()),
            fetched_at_ms: self.clock.now_ms(),
            ..Pointer::stored(key, &sha256, blob.len)
        };
        self.put_pointer(&pointer).await;
        tracing::debug!(%key, "already stored under another name");
        Some((pointer, Some(blob)))
    }
}

/// Whether a stored object's bytes differ from what an index now declares. A declaration in an
/// algorithm larder did not record for the object cannot be checked, and does not count.
fn contradicts(pointer: &Pointer, declared: &Digest) -> bool {
    if declared.algorithm == Algorithm::Sha256 {
        return pointer.sha256.as_deref() != Some(declared.to_hex().as_str());
    }
    pointer
        .verified
        .as_ref()
        .is_some_and(|verified| *verified != declared.to_string())
}

/// Whether a stored object's bytes are the ones a fill expects: those of the digest it must
/// match, checked as strictly as its own fetch would be (a digest the record does not carry
/// does not fit).
pub(super) fn fits(verify: &Verify, pointer: &Pointer) -> bool {
    match verify {
        Verify::Digest(digest) if digest.algorithm == Algorithm::Sha256 => {
            pointer.sha256.as_deref() == Some(digest.to_hex().as_str())
        }
        Verify::Digest(digest) => pointer.verified == Some(digest.to_string()),
        _ => true,
    }
}
