//! The engine: decides, for one object, whether the store can answer, whether upstream must be
//! asked, and what the client gets when upstream fails. It never looks at an ecosystem's name.

use crate::config::Credentials;
use crate::fetch::FillJob;
use crate::fill::{await_end, await_head, FillState, Fills, Outcome};
use crate::metrics::{EcoMetrics, Lookup};
use crate::store::{BlobFile, Pointer, Store};
use crate::upstream::{UpstreamClient, UpstreamError};
use larder_adapter::{Digest, Ecosystem, Freshness, Listing, Object, Verify};
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

mod expiry;
mod recent;
mod sets;

pub use expiry::valid_until_text;

/// A client may force a revalidation (or a digest lookup may) at most this often per object.
const FORCED_REVALIDATION_INTERVAL: Duration = Duration::from_secs(10);

/// An adapter as the engine holds it, with what only the engine may see.
pub struct Mounted {
    pub adapter: Box<dyn Ecosystem>,
    /// The configured upstream's origin and credentials; attached to requests for that origin.
    pub credentials: Option<(url::Url, Credentials)>,
    /// How many stored indexes of this ecosystem are being read for declared digests.
    learning: watch::Sender<usize>,
    /// This ecosystem's counters (atomics: cheap on the hit path).
    pub metrics: Arc<EcoMetrics>,
}

impl Mounted {
    pub fn new(
        adapter: Box<dyn Ecosystem>,
        credentials: Option<(url::Url, Credentials)>,
        metrics: Arc<EcoMetrics>,
    ) -> Self {
        Mounted {
            adapter,
            credentials,
            learning: watch::Sender::new(0),
            metrics,
        }
    }

    pub fn name(&self) -> &'static str {
        self.adapter.name()
    }
}

/// The longest a request waits for an index's declarations to be learnt before it is served
/// without them.
const DECLARATIONS_WAIT: Duration = Duration::from_secs(10);

/// Where an object's bytes come from for one request.
pub enum Found {
    Stored {
        pointer: Pointer,
        blob: BlobFile,
        /// Why upstream could not confirm this copy, when it is served stale.
        stale: Option<Arc<UpstreamError>>,
        /// When the copy stopped being acceptable to clients (`Ecosystem::valid_until`, unix
        /// seconds), if it is served unconfirmed past that time.
        expired: Option<i64>,
    },
    Filling {
        head: Arc<crate::fill::BodyHead>,
        rx: watch::Receiver<FillState>,
    },
    /// Upstream (now, or remembered) says it does not exist.
    Missing {
        status: u16,
    },
    /// Streamed straight from upstream, uncached, because the store cannot take writes.
    Direct(crate::direct::DirectBody),
    Failed(Arc<UpstreamError>),
}

pub struct Engine {
    pub store: Arc<dyn Store>,
    pub client: UpstreamClient,
    pub fills: Fills,
    offline: bool,
    forced: Mutex<HashMap<String, Instant>>,
    storage_failures: AtomicU64,
    /// Until when (unix ms) misses bypass the store after a write to it failed.
    storage_degraded_until_ms: AtomicU64,
    declarations: Declarations,
    sets: sets::SetRefreshes,
    recent: recent::RecentRecords,
}

/// How long misses pass through uncached after the store refused a write, before larder tries
/// storing again.
const STORAGE_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Digests that stored indexes declare for other objects (see
/// `Ecosystem::declared_digests`), kept in memory: after a restart they are learnt again from
/// the next index a client fetches, and until then cached objects are served as they are.
#[derive(Default)]
struct Declarations {
    /// Full object key → the digest the newest index declares for it.
    digests: Mutex<HashMap<String, Digest>>,
    /// Full index key → the sha256 of the index body last read, so each version is read once.
    read: Mutex<HashMap<String, String>>,
}

/// More entries than any real set of indexes declares (Debian's main/amd64 Packages lists about
/// 65,000 files): a bound against a hostile index, not a working limit.
const MAX_DECLARATIONS: usize = 2_000_000;

impl Engine {
    pub fn new(store: Arc<dyn Store>, client: UpstreamClient, offline: bool) -> Self {
        Engine {
            store,
            client,
            fills: Fills::default(),
            offline,
            forced: Mutex::default(),
            storage_failures: AtomicU64::new(0),
            storage_degraded_until_ms: AtomicU64::new(0),
            declarations: Declarations::default(),
            sets: sets::SetRefreshes::default(),
            recent: recent::RecentRecords::default(),
        }
    }

    /// Whether larder runs with `--offline` (never contacting upstream).
    pub fn offline(&self) -> bool {
        self.offline
    }

    pub fn full_key(eco: &Mounted, object: &Object) -> String {
        format!("{}/{}", eco.name(), object.key)
    }

    /// Finds the object's bytes: from the store when fresh (or immutable), else from a fill,
    /// falling back to a stale copy when upstream fails. `force` asks upstream even within the
    /// TTL (rate-limited per object). Counted in the ecosystem's metrics as a client lookup.
    pub async fn obtain(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        force: bool,
    ) -> Found {
        let mut lookup = Lookup::Miss;
        let mut found = self.find(eco, object, force, &mut lookup).await;
        eco.metrics.lookup(lookup);
        if let Found::Stored {
            stale,
            blob,
            expired,
            ..
        } = &mut found
        {
            if stale.is_some() {
                eco.metrics.stale_served();
            }
            if stale.is_some() || (self.offline && object.is_metadata()) {
                *expired = expiry::expired_copy(eco, object, blob).await;
            }
        }
        found
    }

    /// [`Engine::obtain`] without counting (for the engine's own lookups of indexes); says in
    /// `lookup` whether the store answered, or which fill did.
    async fn find(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        force: bool,
        lookup: &mut Lookup,
    ) -> Found {
        let key = Self::full_key(eco, object);
        let immutable = object.freshness == Freshness::Immutable;
        let mut cached = match immutable {
            true => self.recent.hit(&*self.store, &key, SMALL_BLOB),
            false => None,
        };
        if cached.is_none() {
            cached = self.cached(&key).await;
            if cached.is_none() {
                cached = self.stored_by_digest(&key, object).await;
            }
            if let (true, Some((pointer, Some(_)))) = (immutable, &cached) {
                self.recent.remember(pointer);
            }
        }
        // A damaged blob (wrong size, or not hashing to its name) is quarantined and the hit
        // becomes a miss: the client gets a refetched copy (store/integrity.rs).
        if let Some((pointer, Some(blob))) = &mut cached {
            if let Err(damage) = crate::store::integrity::check_hit(&key, pointer, blob).await {
                eco.metrics.quarantined(damage).inc();
                cached = None;
            }
        }
        if cached.is_some() && !object.declares_digests {
            // An index of this ecosystem was just stored and may contradict the cached copy.
            // (A miss does not wait: its fill checks the declaration once it is learnt.)
            Self::declarations_learnt(eco).await;
        }
        if let Some((pointer, Some(_))) = &cached {
            if object.declares_digests {
                self.learn_declarations_in_background(eco, object, pointer);
            }
            if let Some(declared) = self.declared(&key) {
                if contradicts(pointer, &declared) {
                    tracing::info!(%key, %declared, "the cached copy no longer matches its index; fetching again");
                    cached = None;
                }
            }
        }
        let force = force && object.is_metadata() && self.may_force(&key);
        if let Some((pointer, blob)) = &cached {
            let fresh = match object.freshness {
                Freshness::Immutable => true,
                Freshness::Mutable { ttl, negative_ttl } => {
                    let ttl = if pointer.is_negative() {
                        negative_ttl
                    } else {
                        ttl
                    };
                    pointer.age_ms() < ttl.as_millis() as u64 && !force
                }
            };
            if fresh || self.offline {
                *lookup = Lookup::Hit;
                return stored_or_missing(pointer.clone(), blob.as_ref(), None);
            }
        } else if self.offline {
            return Found::Failed(Arc::new(UpstreamError::Offline));
        }

        if self.storage_degraded() {
            return self.direct_or_stale(eco, object, cached).await;
        }
        let set = eco.adapter.published_with(object);
        if !set.is_empty() {
            // `None`: the refresh left nothing to serve; fetch the object on its own.
            if let Some(found) = self
                .obtain_from_set(eco, object, set, cached.take(), lookup)
                .await
            {
                return found;
            }
        }
        let previous = cached.as_ref().map(|(pointer, _)| pointer.clone());
        let mut object_to_fill = object.clone();
        // While an index is being learnt, the declaration may be about to change: the fill
        // then checks the learnt one at its end instead.
        if let (Verify::None, Some(declared), false) =
            (&object.verify, self.declared(&key), Self::learning(eco))
        {
            object_to_fill.verify = Verify::Digest(declared);
        }
        // Clients that expect different bytes (npm sends the lockfile's integrity) never share
        // a fill: one client's wrong expectation must not fail another's download.
        let fill_key = match &object_to_fill.verify {
            Verify::Digest(digest) => format!("{key}#{digest}"),
            _ => key.clone(),
        };
        *lookup = Lookup::Coalesced;
        let mut rx = self.fills.join_or_start(&fill_key, |tx| {
            *lookup = Lookup::Miss;
            let job = FillJob {
                engine: self.clone(),
                eco: eco.clone(),
                object: object_to_fill,
                key: key.clone(),
                fill_key: fill_key.clone(),
                previous,
                publishes_pointer: true,
            };
            tokio::spawn(job.run(tx));
        });

        // With a stale copy in hand, wait for the whole revalidation (bounded), so that a
        // failure at any point can still be answered with the stale copy.
        if let Some((pointer, blob)) = cached {
            let stale_timeout = self.client.limits().stale_timeout;
            let state = match tokio::time::timeout(stale_timeout, await_end(&mut rx)).await {
                Ok(state) => state,
                Err(_) => {
                    let host = object.upstream.host_str().unwrap_or_default().to_string();
                    let err = Arc::new(UpstreamError::Timeout {
                        host,
                        after: stale_timeout,
                    });
                    tracing::warn!(%key, error = %err, "serving the cached copy");
                    return stored_or_missing(pointer, blob.as_ref(), Some(err));
                }
            };
            return match state {
                FillState::NotModified(fresh) => stored_or_missing(fresh, blob.as_ref(), None),
                FillState::Missing { status } => Found::Missing { status },
                FillState::Body(progress) => match progress.outcome {
                    Some(Outcome::Stored(fresh)) => match self.open_blob(&fresh).await {
                        Some(blob) => Found::Stored {
                            pointer: fresh,
                            blob,
                            stale: None,
                            expired: None,
                        },
                        None => Found::Filling {
                            head: progress.head,
                            rx,
                        },
                    },
                    Some(Outcome::Failed(err)) if err.allows_stale() => {
                        tracing::warn!(%key, error = %err, "serving the cached copy");
                        stored_or_missing(pointer, blob.as_ref(), Some(err))
                    }
                    Some(Outcome::Failed(err)) => Found::Failed(err),
                    Some(Outcome::PassedThrough { .. }) | None => Found::Filling {
                        head: progress.head,
                        rx,
                    },
                },
                FillState::Failed(err) if err.allows_stale() => {
                    tracing::warn!(%key, error = %err, "serving the cached copy");
                    stored_or_missing(pointer, blob.as_ref(), Some(err))
                }
                FillState::Failed(err) => Found::Failed(err),
                FillState::Connecting => Found::Failed(Arc::new(UpstreamError::Storage {
                    detail: "fill did not start".into(),
                })),
            };
        }

        match await_head(&mut rx).await {
            FillState::Body(progress) => Found::Filling {
                head: progress.head,
                rx,
            },
            FillState::Missing { status } => Found::Missing { status },
            FillState::NotModified(pointer) => match self.open_blob(&pointer).await {
                Some(blob) => Found::Stored {
                    pointer,
                    blob,
                    stale: None,
                    expired: None,
                },
                None => Found::Failed(Arc::new(UpstreamError::Storage {
                    detail: "the cached copy vanished".into(),
                })),
            },
            FillState::Failed(err) if matches!(*err, UpstreamError::Storage { .. }) => {
                crate::direct::fetch(&self.client, eco, object).await
            }
            FillState::Failed(err) => Found::Failed(err),
            FillState::Connecting => Found::Failed(Arc::new(UpstreamError::Storage {
                detail: "fill did not start".into(),
            })),
        }
    }

    /// While the store refuses writes: straight from upstream, or the cached copy if upstream
    /// fails too.
    async fn direct_or_stale(
        &self,
        eco: &Arc<Mounted>,
        object: &Object,
        cached: Option<(Pointer, Option<BlobFile>)>,
    ) -> Found {
        match crate::direct::fetch(&self.client, eco, object).await {
            Found::Failed(err) if err.allows_stale() => match cached {
                Some((pointer, blob)) => stored_or_missing(pointer, blob.as_ref(), Some(err)),
                None => Found::Failed(err),
            },
            found => found,
        }
    }

    fn storage_degraded(&self) -> bool {
        crate::store::now_ms() < self.storage_degraded_until_ms.load(Ordering::Relaxed)
    }

    /// The digest an index object declares for `artifact`, obtaining the index through the
    /// cache and revalidating it once if it does not list the artifact.
    pub async fn listed_digest(
        self: Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        artifact: &Object,
    ) -> Option<Digest> {
        self.listed_digest_from(eco, index, artifact, false).await
    }

    /// The same, from a revalidated index: for bytes that contradict the cached index, which
    /// may predate them.
    pub async fn listed_digest_revalidated(
        self: Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        artifact: &Object,
    ) -> Option<Digest> {
        self.listed_digest_from(eco, index, artifact, true).await
    }

    async fn listed_digest_from(
        self: Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        artifact: &Object,
        revalidate: bool,
    ) -> Option<Digest> {
        // An index upstream does not have (or that cannot be had now) may be published under
        // another name in the same set: a repository with a Release but no InRelease.
        let candidates = std::iter::once(index.clone()).chain(eco.adapter.published_with(index));
        for candidate in candidates {
            match self.listing_in(eco, &candidate, artifact, revalidate).await {
                Some(Listing::Found(digest)) => return Some(digest),
                Some(Listing::Absent | Listing::Unverifiable) => return None,
                None => continue,
            }
        }
        None
    }

    /// What one index says of `artifact`, revalidating the index once if it does not list it;
    /// `None` if the index has no body to read.
    async fn listing_in(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        artifact: &Object,
        revalidate: bool,
    ) -> Option<Listing> {
        if !revalidate {
            let body = self.whole_body(eco, index, false).await?;
            match eco.adapter.find_digest(index, &body, artifact) {
                Listing::Absent => {
                    tracing::debug!(index = %index.key, artifact = %artifact.key, "not listed; revalidating the index");
                }
                listing => return Some(listing),
            }
        }
        let body = self.whole_body(eco, index, true).await?;
        Some(eco.adapter.find_digest(index, &body, artifact))
    }

    /// An object's whole body, through the cache (for indexes, which are small enough to parse).
    fn whole_body<'a>(
        self: &'a Arc<Self>,
        eco: &'a Arc<Mounted>,
        object: &'a Object,
        force: bool,
    ) -> futures_util::future::BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.find(eco, object, force, &mut Lookup::Miss).await {
                Found::Stored { blob, .. } => read_whole(blob.file).await.ok(),
                Found::Filling { head, mut rx } => match await_end(&mut rx).await {
                    FillState::Body(progress)
                        if !matches!(progress.outcome, Some(Outcome::Failed(_))) =>
                    {
                        read_whole_shared(head.file.clone()).await.ok()
                    }
                    _ => None,
                },
                Found::Direct(direct) => {
                    use futures_util::TryStreamExt;
                    let chunks: Vec<bytes::Bytes> = direct.body.try_collect().await.ok()?;
                    Some(chunks.concat())
                }
                Found::Missing { .. } | Found::Failed(_) => None,
            }
        })
    }

    /// Whether an index of this ecosystem is being read for declared digests.
    pub fn learning(eco: &Mounted) -> bool {
        *eco.learning.borrow() > 0
    }

    /// Waits (at most [`DECLARATIONS_WAIT`]) until no index of this ecosystem is being read
    /// for declared digests.
    async fn declarations_learnt(eco: &Mounted) {
        if Self::learning(eco) {
            let mut learning = eco.learning.subscribe();
            let _ = tokio::time::timeout(DECLARATIONS_WAIT, learning.wait_for(|n| *n == 0)).await;
        }
    }

    /// The digest declared for `key` once the indexes being read now are learnt: for a fill
    /// that started while they were, and checks its bytes at the end.
    pub async fn declared_once_learnt(&self, eco: &Mounted, key: &str) -> Option<Digest> {
        Self::declarations_learnt(eco).await;
        self.declared(key)
    }

    /// The digest the newest stored index declares for this object, if any.
    pub fn declared(&self, key: &str) -> Option<Digest> {
        self.declarations
            .digests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Reads a stored index's declarations (once per version of the index); see
    /// [`Engine::learn_declarations_in_background`].
    async fn learn_declarations(&self, eco: &Arc<Mounted>, index: &Object, pointer: &Pointer) {
        let Some(sha) = pointer.sha256.clone() else {
            return;
        };
        let index_key = Self::full_key(eco, index);
        {
            let read = self
                .declarations
                .read
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if read.get(&index_key) == Some(&sha) {
                return;
            }
        }
        let body = match self.store_call(move |store| store.open_blob(&sha)).await {
            Ok(Some(blob)) => match read_whole(blob.file).await {
                Ok(body) => body,
                Err(_) => return,
            },
            _ => return,
        };
        // Off the async threads: decompressing and reading Debian's main Packages takes about
        // a second.
        let (reader, parsed) = (eco.clone(), index.clone());
        let declared = match tokio::task::spawn_blocking(move || {
            reader.adapter.declared_digests(&parsed, &body)
        })
        .await
        {
            Ok(declared) => declared,
            Err(_) => return,
        };
        let count = declared.len();
        let mut digests = self
            .declarations
            .digests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (key, digest) in declared {
            if digests.len() >= MAX_DECLARATIONS {
                tracing::warn!(index = %index_key, "too many declared digests; ignoring the rest");
                break;
            }
            digests.insert(format!("{}/{key}", eco.name()), digest);
        }
        drop(digests);
        if let Some(sha) = &pointer.sha256 {
            self.declarations
                .read
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(index_key.clone(), sha.clone());
        }
        tracing::debug!(index = %index_key, count, "learnt declared digests");
    }

    /// Reads a stored index's declarations without delaying its response (a Debian Packages
    /// index takes a second or two to decompress and read). Until they are learnt, requests for
    /// this ecosystem's other objects wait (see `obtain`), so none is served against an old
    /// declaration.
    pub fn learn_declarations_in_background(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        pointer: &Pointer,
    ) {
        let key = Self::full_key(eco, index);
        let already = self
            .declarations
            .read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            == pointer.sha256.as_ref();
        if already {
            return;
        }
        eco.learning.send_modify(|n| *n += 1);
        let (engine, eco, index, pointer) =
            (self.clone(), eco.clone(), index.clone(), pointer.clone());
        tokio::spawn(async move {
            engine.learn_declarations(&eco, &index, &pointer).await;
            eco.learning.send_modify(|n| *n -= 1);
        });
    }

    /// An immutable object the request names by its sha256 (apt's `by-hash/SHA256/<hex>`)
    /// whose bytes the store already holds under another key: recorded under this one too,
    /// without asking upstream (and so served offline).
    async fn stored_by_digest(
        &self,
        key: &str,
        object: &Object,
    ) -> Option<(Pointer, Option<BlobFile>)> {
        let Verify::Digest(digest) = &object.verify else {
            return None;
        };
        if digest.algorithm != larder_adapter::Algorithm::Sha256 || object.is_metadata() {
            return None;
        }
        let sha256 = digest.to_hex();
        let wanted = sha256.clone();
        let blob = self
            .store_call(move |store| store.open_blob(&wanted)?.map(read_if_small).transpose())
            .await
            .ok()??;
        let pointer = Pointer {
            verified: Some(digest.to_string()),
            ..Pointer::stored(key, &sha256, blob.len)
        };
        self.put_pointer(&pointer).await;
        tracing::debug!(%key, "already stored under another name");
        Some((pointer, Some(blob)))
    }

    async fn cached(&self, key: &str) -> Option<(Pointer, Option<BlobFile>)> {
        if let Some((pointer, blob)) = self.store.hit_without_waiting(key, SMALL_BLOB) {
            return Some((pointer, Some(blob)));
        }
        let key = key.to_string();
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(
            move || -> io::Result<Option<(Pointer, Option<BlobFile>)>> {
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
            },
        )
        .await;
        match found {
            Ok(Ok(found)) => found,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "store lookup failed; treating as a miss");
                None
            }
            Err(_) => None,
        }
    }

    async fn open_blob(&self, pointer: &Pointer) -> Option<BlobFile> {
        let sha = pointer.sha256.clone()?;
        self.store_call(move |store| store.open_blob(&sha))
            .await
            .ok()
            .flatten()
    }

    /// Runs a blocking store operation off the async threads.
    pub async fn store_call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn Store) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || op(store.as_ref()))
            .await
            .map_err(io::Error::other)?
    }

    pub async fn put_pointer(&self, pointer: &Pointer) {
        self.recent.forget(&pointer.key);
        let pointer = pointer.clone();
        if let Err(err) = self
            .store_call(move |store| store.put_pointer(&pointer))
            .await
        {
            self.note_storage_failure(&err);
        }
    }

    /// Removes a temp file before the fill reports its end, so no failed fill leaves one behind.
    pub async fn discard_temp(&self, path: std::path::PathBuf) {
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.discard(&path)).await;
    }

    /// A write to the store failed (a full disk, say): requests keep being served from
    /// upstream, uncached, and the log says so.
    pub fn note_storage_failure(&self, err: &dyn std::fmt::Display) {
        let count = self.storage_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let until = crate::store::now_ms() + STORAGE_RETRY_AFTER.as_millis() as u64;
        self.storage_degraded_until_ms
            .store(until, Ordering::Relaxed);
        tracing::error!(
            error = %err,
            count,
            "could not write to the store; serving misses uncached for {}s (is the disk full?)",
            STORAGE_RETRY_AFTER.as_secs()
        );
    }

    fn may_force(&self, key: &str) -> bool {
        let mut forced = self.forced.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match forced.get(key) {
            Some(last) if now.duration_since(*last) < FORCED_REVALIDATION_INTERVAL => false,
            _ => {
                forced.insert(key.to_string(), now);
                if forced.len() > 10_000 {
                    forced.retain(|_, at| now.duration_since(*at) < FORCED_REVALIDATION_INTERVAL);
                }
                true
            }
        }
    }
}

/// Whether a stored object's bytes differ from what an index now declares. A declaration in an
/// algorithm larder did not record for the object cannot be checked, and does not count.
fn contradicts(pointer: &Pointer, declared: &Digest) -> bool {
    if declared.algorithm == larder_adapter::Algorithm::Sha256 {
        return pointer.sha256.as_deref() != Some(declared.to_hex().as_str());
    }
    pointer
        .verified
        .as_ref()
        .is_some_and(|verified| *verified != declared.to_string())
}

fn stored_or_missing(
    pointer: Pointer,
    blob: Option<&BlobFile>,
    stale: Option<Arc<UpstreamError>>,
) -> Found {
    match blob.and_then(|b| {
        b.file.try_clone().ok().map(|file| BlobFile {
            file,
            len: b.len,
            content: b.content.clone(),
            check: b.check.clone(),
        })
    }) {
        Some(blob) if !pointer.is_negative() => Found::Stored {
            pointer,
            blob,
            stale,
            expired: None,
        },
        _ => Found::Missing {
            status: if pointer.is_negative() {
                pointer.status
            } else {
                404
            },
        },
    }
}

/// Blobs up to this size are read with the lookup that opens them and served from memory: a
/// hit then costs no hand-off to the blocking pool when the blob is in the page cache
/// (`Store::hit_without_waiting`), and one instead of two when it is not (benches/RESULTS.md). At 256 connections this holds at most 16 MiB.
const SMALL_BLOB: u64 = 64 * 1024;

fn read_if_small(mut blob: BlobFile) -> io::Result<BlobFile> {
    if blob.len <= SMALL_BLOB {
        use std::os::unix::fs::FileExt;
        let mut content = vec![0; blob.len as usize];
        blob.file.read_exact_at(&mut content, 0)?;
        blob.content = Some(bytes::Bytes::from(content));
    }
    Ok(blob)
}

async fn read_whole(file: std::fs::File) -> io::Result<Vec<u8>> {
    read_whole_shared(Arc::new(file)).await
}

async fn read_whole_shared(file: Arc<std::fs::File>) -> io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let len = file.metadata()?.len() as usize;
        let mut buf = vec![0; len];
        file.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    })
    .await
    .map_err(io::Error::other)?
}
