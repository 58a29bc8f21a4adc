//! Digests that an ecosystem's stored indexes declare for its other objects
//! (`Ecosystem::declared_digests`: apt's InRelease for its indexes, a Packages index for its
//! pool files), kept in memory. After a restart they are learnt again from the next index a
//! client fetches; until then cached objects are served as they are.
//!
//! Each index's declarations are one map, replaced whole when a new version of that index is
//! learnt: a key the new version no longer lists is forgotten with the old map, and a key it
//! lists again gets its new digest (never a stale one, which would fail a rebuilt file with a
//! mismatch). Building a map (Debian's main Packages declares about 65,000 files) happens off
//! the lock and off the async workers ([`Declarations::prepare`]); installing it is a swap
//! under a lock that lookups hold only for a few map probes.
//!
//! Keys are kept as 128 bits of their sha256, digests as raw bytes: about 60 bytes per
//! declaration in all, rather than three heap strings.

use larder_adapter::{Algorithm, Digest};
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// More declarations than any real set of indexes makes (Debian's main/amd64 Packages lists
/// about 65,000 files): a bound against a hostile index, not a working limit. Past it, the
/// indexes learnt longest ago are forgotten first.
const MAX_DECLARATIONS: usize = 2_000_000;

/// The longest a request waits for an index's declarations to be learnt before it is served
/// without them.
const LEARNING_WAIT: Duration = Duration::from_secs(10);

type KeyId = u128;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Declared {
    Sha256([u8; 32]),
    Other(Digest),
}

impl Declared {
    fn new(digest: Digest) -> Self {
        match <[u8; 32]>::try_from(digest.bytes.as_slice()) {
            Ok(bytes) if digest.algorithm == Algorithm::Sha256 => Declared::Sha256(bytes),
            _ => Declared::Other(digest),
        }
    }

    fn digest(&self) -> Digest {
        match self {
            Declared::Sha256(bytes) => Digest {
                algorithm: Algorithm::Sha256,
                bytes: bytes.to_vec(),
            },
            Declared::Other(digest) => digest.clone(),
        }
    }
}

/// One version of one index's declarations, built by [`Declarations::prepare`].
pub struct IndexDeclarations {
    /// The sha256 of the index body they were read from.
    index_sha256: String,
    digests: HashMap<KeyId, Declared>,
    /// Set when installed: the newest-learnt index wins where two declare the same key.
    generation: u64,
}

#[derive(Default)]
pub struct Declarations {
    /// Index key → its current declarations (a handful of indexes per ecosystem).
    indexes: Mutex<HashMap<String, Arc<IndexDeclarations>>>,
    generations: AtomicU64,
    /// How many indexes are being learnt now (shared with the guards that count them).
    learning: Arc<watch::Sender<usize>>,
}

impl Declarations {
    /// Whether this version of the index (its body's sha256) is already learnt.
    pub fn already_learnt(&self, index_key: &str, index_sha256: &str) -> bool {
        self.lock()
            .get(index_key)
            .is_some_and(|known| known.index_sha256 == index_sha256)
    }

    /// Builds one index's declarations from the adapter's (object key, digest) pairs. Heavy
    /// for a large index: call it on the blocking pool.
    pub fn prepare(index_sha256: &str, declared: Vec<(String, Digest)>) -> IndexDeclarations {
        let mut digests = HashMap::with_capacity(declared.len().min(MAX_DECLARATIONS));
        for (key, digest) in declared.into_iter().take(MAX_DECLARATIONS) {
            digests.insert(key_id(&key), Declared::new(digest));
        }
        IndexDeclarations {
            index_sha256: index_sha256.to_string(),
            digests,
            generation: 0,
        }
    }

    /// Makes `prepared` the declarations of `index_key`, replacing its previous version whole.
    pub fn install(&self, index_key: &str, mut prepared: IndexDeclarations) {
        prepared.generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let count = prepared.digests.len();
        let mut indexes = self.lock();
        indexes.insert(index_key.to_string(), Arc::new(prepared));
        let mut total: usize = indexes.values().map(|i| i.digests.len()).sum();
        while total > MAX_DECLARATIONS {
            let Some(oldest) = indexes
                .iter()
                .filter(|(key, _)| key.as_str() != index_key)
                .min_by_key(|(_, index)| index.generation)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(forgotten) = indexes.remove(&oldest) {
                tracing::warn!(index = %oldest, "too many declared digests; forgetting the oldest index's");
                total -= forgotten.digests.len();
            }
        }
        drop(indexes);
        tracing::debug!(index = %index_key, count, "learnt declared digests");
    }

    /// The digest the newest-learnt index declares for `key` (an adapter object key), if any.
    pub fn declared(&self, key: &str) -> Option<Digest> {
        let indexes = self.lock();
        // Most ecosystems have no index that declares digests: a hit then costs no hashing.
        if indexes.is_empty() {
            return None;
        }
        let id = key_id(key);
        indexes
            .values()
            .filter_map(|index| Some((index.generation, index.digests.get(&id)?)))
            .max_by_key(|(generation, _)| *generation)
            .map(|(_, declared)| declared.digest())
    }

    /// How many declarations are held (for tests and the log).
    pub fn len(&self) -> usize {
        self.lock().values().map(|i| i.digests.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks an index as being learnt until the returned guard is dropped (also when the task
    /// that learns it panics).
    pub fn learning_started(&self) -> Learning {
        self.learning.send_modify(|n| *n += 1);
        Learning {
            count: self.learning.clone(),
        }
    }

    /// Whether an index is being learnt now.
    pub fn learning(&self) -> bool {
        *self.learning.borrow() > 0
    }

    /// Waits (at most [`LEARNING_WAIT`]) until no index is being learnt.
    pub async fn learnt(&self) {
        if self.learning() {
            let mut learning = self.learning.subscribe();
            let _ = tokio::time::timeout(LEARNING_WAIT, learning.wait_for(|n| *n == 0)).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<IndexDeclarations>>> {
        self.indexes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An index being learnt; see [`Declarations::learning_started`].
pub struct Learning {
    count: Arc<watch::Sender<usize>>,
}

impl Drop for Learning {
    fn drop(&mut self) {
        self.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

fn key_id(key: &str) -> KeyId {
    let hash = sha2::Sha256::digest(key.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    u128::from_le_bytes(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(byte: u8) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            bytes: vec![byte; 32],
        }
    }

    fn learn(declarations: &Declarations, index: &str, version: &str, pairs: &[(&str, u8)]) {
        let pairs = pairs
            .iter()
            .map(|(k, b)| (k.to_string(), sha(*b)))
            .collect();
        declarations.install(index, Declarations::prepare(version, pairs));
    }

    #[test]
    fn a_new_version_of_an_index_replaces_its_declarations_whole() {
        let declarations = Declarations::default();
        learn(
            &declarations,
            "Packages",
            "v1",
            &[("a.deb", 1), ("b.deb", 2)],
        );
        assert_eq!(declarations.declared("a.deb"), Some(sha(1)));
        learn(&declarations, "Packages", "v2", &[("a.deb", 3)]);
        assert_eq!(declarations.declared("a.deb"), Some(sha(3)), "updated");
        assert_eq!(
            declarations.declared("b.deb"),
            None,
            "no longer listed: forgotten"
        );
        assert!(declarations.already_learnt("Packages", "v2"));
        assert!(!declarations.already_learnt("Packages", "v1"));
    }

    #[test]
    fn the_newest_learnt_index_wins_where_two_declare_the_same_key() {
        let declarations = Declarations::default();
        learn(&declarations, "main", "m1", &[("x.deb", 1)]);
        learn(&declarations, "backports", "b1", &[("x.deb", 2)]);
        assert_eq!(declarations.declared("x.deb"), Some(sha(2)));
        learn(&declarations, "main", "m2", &[("x.deb", 3)]);
        assert_eq!(declarations.declared("x.deb"), Some(sha(3)));
    }

    #[test]
    fn other_algorithms_are_kept_as_declared() {
        let declarations = Declarations::default();
        let sha512 = Digest {
            algorithm: Algorithm::Sha512,
            bytes: vec![7; 64],
        };
        declarations.install(
            "index",
            Declarations::prepare("v", vec![("f".into(), sha512.clone())]),
        );
        assert_eq!(declarations.declared("f"), Some(sha512));
    }

    #[test]
    fn learning_ends_when_its_guard_goes_even_on_a_panic() {
        let declarations = Declarations::default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _learning = declarations.learning_started();
            assert!(declarations.learning());
            panic!("a parser bug");
        }));
        assert!(outcome.is_err());
        assert!(!declarations.learning());
    }
}
