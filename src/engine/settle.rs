//! Starting or joining an object's fill, and turning its state into the client's answer: the
//! body as it streams, upstream's 404, or, for a revalidation, the cached copy whenever
//! upstream fails or is slower than `stale_timeout`.

use super::fetch::FillJob;
use super::{stored_or_missing, Cached, Engine, Found, Mounted};
use crate::fill::{await_end, await_head, FillState, Outcome};
use crate::metrics::Lookup;
use crate::store::Pointer;
use crate::upstream::UpstreamError;
use larder_adapter::{Object, Verify};
use std::sync::Arc;
use tokio::sync::watch;

impl Engine {
    pub(super) async fn fill_and_settle(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        key: &str,
        cached: Option<Cached>,
        lookup: &mut Lookup,
    ) -> Found {
        let previous = cached.as_ref().map(|(pointer, _)| pointer.clone());
        let rx = self.join_or_start_fill(eco, object, key, previous, lookup);
        match cached {
            Some((pointer, blob)) => self.settle_revalidation(object, rx, pointer, blob).await,
            None => self.settle_fill(eco, object, rx).await,
        }
    }

    /// Starts (or joins) the revalidation of a stale copy that is served meanwhile: the fill,
    /// or the refresh of the set the object belongs to. Nobody waits for it.
    pub(super) fn revalidate_in_background(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        key: &str,
        set: Vec<Object>,
        stale: &Pointer,
    ) {
        let mut lookup = Lookup::Miss;
        if set.is_empty() {
            self.join_or_start_fill(eco, object, key, Some(stale.clone()), &mut lookup);
        } else {
            let mut members = vec![object.clone()];
            members.extend(set);
            self.join_or_start_refresh(eco, members, &mut lookup);
        }
    }

    fn join_or_start_fill(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        key: &str,
        previous: Option<Pointer>,
        lookup: &mut Lookup,
    ) -> watch::Receiver<FillState> {
        let mut to_fill = object.clone();
        // While an index is being learnt, the declaration may be about to change: the fill
        // then checks the learnt one at its end instead.
        if let (Verify::None, false) = (&object.verify, eco.declarations.learning()) {
            if let Some(declared) = eco.declarations.declared(&object.key) {
                to_fill.verify = Verify::Digest(declared);
            }
        }
        let fill_key = Self::fill_key(key, &to_fill.verify);
        *lookup = Lookup::Coalesced;
        self.fills.join_or_lead(
            &fill_key,
            || FillState::Connecting,
            |leader| {
                *lookup = Lookup::Miss;
                let job = FillJob {
                    engine: self.clone(),
                    eco: eco.clone(),
                    object: to_fill,
                    key: key.to_string(),
                    previous,
                    publishes_pointer: true,
                };
                tokio::spawn(job.run(leader));
            },
        )
    }

    /// With a stale copy in hand, the client waits for the whole revalidation (bounded), so
    /// that a failure at any point can still be answered with the stale copy.
    async fn settle_revalidation(
        &self,
        object: &Object,
        mut rx: watch::Receiver<FillState>,
        pointer: Pointer,
        blob: Option<crate::store::BlobFile>,
    ) -> Found {
        let stale_timeout = self.client.limits().stale_timeout;
        let stall = self.client.limits().stall_wait();
        let stale = |err: Arc<UpstreamError>| {
            tracing::warn!(key = %pointer.key, error = %err, "serving the cached copy");
            stored_or_missing(
                pointer.clone(),
                blob.as_ref().and_then(crate::store::BlobFile::duplicate),
                Some(err),
            )
        };
        let host = object.upstream.host_str().unwrap_or_default().to_string();
        let ended = tokio::time::timeout(stale_timeout, await_end(&mut rx, stall));
        // Upstream marked down meanwhile (other requests failed): the copy answers at once.
        let state = tokio::select! {
            ended = ended => match ended {
                Ok(state) => state,
                Err(_) => {
                    return stale(Arc::new(UpstreamError::Timeout {
                        host,
                        after: stale_timeout,
                    }))
                }
            },
            _ = self.client.marked_down(&object.upstream) => {
                return stale(Arc::new(UpstreamError::Down { host }));
            }
        };
        match state {
            FillState::NotModified(fresh) => stored_or_missing(fresh, blob, None),
            FillState::Missing { status } => Found::Missing { status },
            FillState::Body(progress) => match progress.outcome {
                Some(Outcome::Stored(fresh)) => match self.store.open_blob_of(&fresh).await {
                    Some(blob) => Found::confirmed(fresh, blob),
                    None => Found::Filling {
                        head: progress.head,
                        rx,
                    },
                },
                Some(Outcome::Failed(err)) if err.allows_stale() => stale(err),
                Some(Outcome::Failed(err)) => Found::Failed(err),
                Some(Outcome::PassedThrough { .. }) | None => Found::Filling {
                    head: progress.head,
                    rx,
                },
            },
            FillState::Failed(err) if err.allows_stale() => stale(err),
            FillState::Failed(err) => Found::Failed(err),
            FillState::Connecting => stale(Arc::new(UpstreamError::Stuck { after: stall })),
        }
    }

    /// Without a copy, the client gets the body as soon as it starts arriving.
    async fn settle_fill(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        mut rx: watch::Receiver<FillState>,
    ) -> Found {
        match await_head(&mut rx, self.client.limits().head_wait()).await {
            FillState::Body(progress) => Found::Filling {
                head: progress.head,
                rx,
            },
            FillState::Missing { status } => Found::Missing { status },
            FillState::NotModified(pointer) => match self.store.open_blob_of(&pointer).await {
                Some(blob) => Found::confirmed(pointer, blob),
                None => Found::Failed(Arc::new(UpstreamError::Storage {
                    detail: "the cached copy vanished".into(),
                })),
            },
            // The store could not even create the fill's temp file: this client passes through.
            FillState::Failed(err) if matches!(*err, UpstreamError::Storage { .. }) => {
                self.direct(eco, object).await
            }
            FillState::Failed(err) => Found::Failed(err),
            FillState::Connecting => Found::Failed(Arc::new(UpstreamError::Stuck {
                after: self.client.limits().head_wait(),
            })),
        }
    }
}
