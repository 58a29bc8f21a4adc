//! The engine: decides, for one object, whether the store can answer, whether upstream must be
//! asked, and what the client gets when upstream fails. It never looks at an ecosystem's name.
//!
//! `find` reads the cached copy ([`lookup`]), decides a [`phase`] (a pure function, tested as a
//! table) and carries it out: a hit, a fill ([`fetch`], coalesced through [`crate::fill`]) that
//! [`settle`] turns into an answer, a set's refresh ([`sets`]), or the pass-through ([`crate::direct`]).

use crate::direct::{Direct, DirectBody};
use crate::fill::{BodyHead, FillState, Fills};
use crate::metrics::Lookup;
use crate::store::{AsyncStore, BlobFile, Pointer};
use crate::upstream::{Availability, UpstreamClient, UpstreamError};
use larder_adapter::{Freshness, Object, Verify};
use std::sync::Arc;
use tokio::sync::watch;

mod checked;
mod clock;
mod expiry;
mod fetch;
mod fleet;
mod forced;
mod learn;
mod listed;
mod lookup;
pub mod phase;
mod recent;
mod sets;
mod settle;
mod sink;
mod storage_health;

pub use crate::mounted::Mounted;
pub use clock::Clock;
pub use expiry::valid_until_text;

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
        head: Arc<BodyHead>,
        rx: watch::Receiver<FillState>,
    },
    /// Upstream (now, or remembered) says it does not exist.
    Missing {
        status: u16,
    },
    /// Streamed straight from upstream, uncached, because the store cannot take writes.
    Direct(DirectBody),
    Failed(Arc<UpstreamError>),
}

impl Found {
    /// A stored copy upstream has just confirmed (or sent): served as a plain hit.
    fn confirmed(pointer: Pointer, blob: BlobFile) -> Found {
        Found::Stored {
            pointer,
            blob,
            stale: None,
            expired: None,
        }
    }
}

/// A cached record, with its blob unless it is a remembered 404.
type Cached = (Pointer, Option<BlobFile>);

pub struct Engine {
    pub store: AsyncStore,
    pub client: UpstreamClient,
    pub fills: Fills,
    /// The time freshness is judged by; tests move it instead of sleeping out TTLs.
    pub clock: Clock,
    offline: bool,
    forced: forced::ForcedRevalidations,
    storage: storage_health::StorageHealth,
    sets: sets::SetRefreshes,
    recent: recent::RecentRecords,
}

impl Engine {
    pub fn new(store: AsyncStore, client: UpstreamClient, offline: bool) -> Self {
        Engine {
            store,
            client,
            fills: Fills::default(),
            clock: Clock::default(),
            offline,
            forced: forced::ForcedRevalidations::default(),
            storage: storage_health::StorageHealth::default(),
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
        self.obtain_counted(eco, object, force).await.0
    }

    /// [`Engine::obtain`], saying also how the lookup was counted (for the served-log).
    pub async fn obtain_counted(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        force: bool,
    ) -> (Found, Lookup) {
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
        (found, lookup)
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
        let cached = self.cached_copy(eco, object, &key).await;
        let copy = cached.as_ref().map(|(pointer, _)| phase::CachedCopy {
            age: self.clock.age(pointer),
            negative: pointer.is_negative(),
        });
        // The breaker is consulted (and a probe slot taken) only for a copy that may be stale.
        let maybe_stale = match (object.freshness, copy) {
            (Freshness::Mutable { ttl, negative_ttl }, Some(copy)) => {
                force || copy.age >= if copy.negative { negative_ttl } else { ttl }
            }
            _ => false,
        };
        // Nor is the adapter asked for the object's set on a hit that needs nothing upstream.
        let set = match cached.is_none() || maybe_stale {
            true => eco.adapter.published_with(object),
            false => Vec::new(),
        };
        let (upstream_down, probe_due) = match maybe_stale {
            true => match self.client.availability(&object.upstream) {
                Availability::Up => (false, false),
                Availability::Down { probe } => (true, probe),
            },
            false => (false, false),
        };
        let situation = phase::Situation {
            freshness: object.freshness,
            forced: force && object.is_metadata() && self.forced.allow(&key),
            offline: self.offline,
            store_refuses_writes: self.storage.refuses_writes(),
            member_of_set: !set.is_empty(),
            upstream_down,
            probe_due,
            stale_while_revalidate: self.client.limits().stale_while_revalidate,
        };
        match (phase::decide(copy, &situation), cached) {
            (phase::Phase::Serve, Some((pointer, blob))) => {
                *lookup = Lookup::Hit;
                stored_or_missing(pointer, blob, None)
            }
            (phase::Phase::ServeStale { why, revalidate }, Some((pointer, blob))) => {
                *lookup = Lookup::Hit;
                if revalidate {
                    self.revalidate_in_background(eco, object, &key, set, &pointer);
                }
                let host = object.upstream.host_str().unwrap_or_default().to_string();
                let why = match why {
                    phase::Stale::UpstreamDown => UpstreamError::Down { host },
                    phase::Stale::Revalidating => UpstreamError::Revalidating { host },
                };
                stored_or_missing(pointer, blob, Some(Arc::new(why)))
            }
            (phase::Phase::Unavailable, _) => Found::Failed(Arc::new(UpstreamError::Offline)),
            (phase::Phase::Bypass, cached) => self.direct_or_stale(eco, object, cached).await,
            (phase::Phase::RefreshSet, cached) => {
                // `None`: the refresh left nothing to serve; fetch the object on its own.
                match self.obtain_from_set(eco, object, set, cached, lookup).await {
                    Some(found) => found,
                    None => self.fill_and_settle(eco, object, &key, None, lookup).await,
                }
            }
            (_, cached) => {
                self.fill_and_settle(eco, object, &key, cached, lookup)
                    .await
            }
        }
    }

    /// While the store refuses writes: straight from upstream, or the cached copy if upstream
    /// fails too.
    async fn direct_or_stale(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        cached: Option<Cached>,
    ) -> Found {
        match (self.direct(eco, object).await, cached) {
            (Found::Failed(err), Some((pointer, blob))) if err.allows_stale() => {
                stored_or_missing(pointer, blob, Some(err))
            }
            (found, _) => found,
        }
    }

    async fn direct(self: &Arc<Self>, eco: &Arc<Mounted>, object: &Object) -> Found {
        match crate::direct::fetch(&self.client, eco, object).await {
            Direct::Body(DirectBody {
                content_type,
                content_length,
                body,
            }) => Found::Direct(DirectBody {
                content_type,
                content_length,
                body: checked::checked(body, self.expected_digest(eco, object), object.key.clone()),
            }),
            Direct::Missing { status } => Found::Missing { status },
            Direct::Failed(err) => Found::Failed(Arc::new(err)),
        }
    }

    /// The digest an object's bytes must match, as a fill would check them (a lookup of a
    /// listed digest runs while the body streams).
    fn expected_digest(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
    ) -> futures_util::future::BoxFuture<'static, Option<larder_adapter::Digest>> {
        use futures_util::FutureExt;
        match &object.verify {
            Verify::None => futures_util::future::ready(None).boxed(),
            Verify::Digest(digest) => futures_util::future::ready(Some(digest.clone())).boxed(),
            Verify::Listed(index) => {
                let lookup = self.look_up_listed_digest(eco, index, object);
                async move { lookup.await.ok().flatten() }.boxed()
            }
        }
    }

    /// Records a pointer (forgetting the remembered copy of the old one); a store that refuses
    /// the write puts misses into pass-through for a while.
    pub async fn put_pointer(&self, pointer: &Pointer) {
        self.put_pointers(vec![pointer.clone()]).await;
    }

    async fn put_pointers(&self, pointers: Vec<Pointer>) -> bool {
        for pointer in &pointers {
            self.recent.forget(&pointer.key);
        }
        match self.store.put_pointers(pointers).await {
            Ok(()) => true,
            Err(err) => {
                self.storage.note_failure(&err);
                false
            }
        }
    }

    /// The key a fill is shared under: the object's, plus the digest it expects when it has one.
    /// Clients that expect different bytes (npm sends the lockfile's integrity) never share a
    /// fill, so one client's wrong expectation does not fail another's download.
    fn fill_key(key: &str, verify: &Verify) -> String {
        match verify {
            Verify::Digest(digest) => format!("{key}#{digest}"),
            _ => key.to_string(),
        }
    }
}

/// The answer for a cached record: its body, or the 404 it remembers.
fn stored_or_missing(
    pointer: Pointer,
    blob: Option<BlobFile>,
    stale: Option<Arc<UpstreamError>>,
) -> Found {
    match blob {
        Some(blob) if !pointer.is_negative() => Found::Stored {
            pointer,
            blob,
            stale,
            expired: None,
        },
        _ if pointer.is_negative() => Found::Missing {
            status: pointer.status,
        },
        _ => Found::Missing { status: 404 },
    }
}
