//! Listed digests (`Verify::Listed`): the digest an index object declares for an artifact,
//! obtained through the cache (revalidating the index once if it does not list the artifact)
//! and read by the adapter's `find_digest` on the blocking pool (npm's largest packuments are
//! tens of MB: tens of milliseconds of parsing that must not hold an async worker).

use super::{Engine, Found, Mounted};
use crate::fill::{await_end, FillState, Outcome};
use crate::metrics::Lookup;
use crate::store::read_whole;
use futures_util::future::BoxFuture;
use larder_adapter::{Digest, Listing, Object};
use std::sync::Arc;

impl Engine {
    /// The digest `index` declares for `artifact`: from the cached index, or a revalidated one
    /// when `revalidate` (for bytes that contradict the cached index, which may predate them).
    pub(super) async fn listed_digest(
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

    /// [`Engine::listed_digest`] from the cached index, started now as a task of its own so
    /// that it resolves while the artifact's body streams.
    pub(super) fn look_up_listed_digest(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        artifact: &Object,
    ) -> tokio::task::JoinHandle<Option<Digest>> {
        let (engine, eco) = (self.clone(), eco.clone());
        let (index, artifact) = (index.clone(), artifact.clone());
        tokio::spawn(async move { engine.listed_digest(&eco, &index, &artifact, false).await })
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
            match find_digest(eco, index, body, artifact).await {
                Listing::Absent => {
                    tracing::debug!(index = %index.key, artifact = %artifact.key, "not listed; revalidating the index");
                }
                listing => return Some(listing),
            }
        }
        let body = self.whole_body(eco, index, true).await?;
        Some(find_digest(eco, index, body, artifact).await)
    }

    /// An index's whole body through the cache, uncounted, as listed digests get it: for the
    /// documents that state publish times (`src/policy/`). `force` revalidates it now (at most
    /// every 10 s per object), for a release the cached copy predates.
    pub(crate) async fn index_body(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        index: &Object,
        force: bool,
    ) -> Option<Vec<u8>> {
        self.whole_body(eco, index, force).await
    }

    /// An object's whole body, through the cache (for indexes, which are small enough to parse).
    fn whole_body<'a>(
        self: &'a Arc<Self>,
        eco: &'a Arc<Mounted>,
        object: &'a Object,
        force: bool,
    ) -> BoxFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let stall = self.client.limits().stall_wait();
            match self.find(eco, object, force, &mut Lookup::Miss).await {
                Found::Stored { blob, .. } => {
                    // Still arriving from the shared bucket: parsed once whole and verified.
                    if let Some(growing) = &blob.growing {
                        growing.finished().await.ok()?;
                    }
                    read_whole(Arc::new(blob.file)).await.ok()
                }
                Found::Filling { head, mut rx } => match await_end(&mut rx, stall).await {
                    FillState::Body(progress)
                        if !matches!(progress.outcome, Some(Outcome::Failed(_))) =>
                    {
                        read_whole(head.file.clone()).await.ok()
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
}

/// The adapter's `find_digest`, on the blocking pool.
async fn find_digest(
    eco: &Arc<Mounted>,
    index: &Object,
    body: Vec<u8>,
    artifact: &Object,
) -> Listing {
    let (eco, index, artifact) = (eco.clone(), index.clone(), artifact.clone());
    tokio::task::spawn_blocking(move || eco.adapter.find_digest(&index, &body, &artifact))
        .await
        .unwrap_or(Listing::Unverifiable)
}
