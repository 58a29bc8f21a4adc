//! The fill's hook into the fleet of replicas (`store::lease`): before going upstream, a cold
//! fill claims its object for the fleet; a fill whose object another replica fetched takes
//! its states from the streamed bucket copy of it instead. All the bucket work is the store's.

use super::fetch::FillJob;
use super::lookup::fits;
use crate::fill::{BodyHead, BodyProgress, FillState, Outcome};
use crate::store::growing::CopyState;
use crate::store::lease::FleetLease;
use crate::store::{Claim, Pointer};
use crate::upstream::UpstreamError;
use std::sync::Arc;
use tokio::sync::watch;

/// How much sooner than its clients' wait for a head a fill stops waiting for another replica.
const FLEET_SLACK: std::time::Duration = std::time::Duration::from_secs(5);

/// What a fill does once the fleet has had its say.
pub(super) enum FleetTurn {
    /// Answered without going upstream: another replica's fetch, or this replica's own.
    Answered(FillState),
    /// Go upstream, holding the fleet's lease when there is a fleet.
    Fetch(Option<FleetLease>),
}

impl FillJob {
    /// The fleet's say on a fill about to go upstream (see [`FillJob::claim_for_fleet`]).
    pub(super) async fn fleet_turn(&self, tx: &watch::Sender<FillState>) -> FleetTurn {
        match self.claim_for_fleet().await {
            Claim::Lead(lease) => FleetTurn::Fetch(Some(lease)),
            Claim::Published(pointer) => match self.follow_fleet(&pointer, tx).await {
                Some(state) => FleetTurn::Answered(state),
                None => FleetTurn::Fetch(None),
            },
            Claim::Stored(pointer) if pointer.is_negative() => {
                FleetTurn::Answered(FillState::Missing {
                    status: pointer.status,
                })
            }
            Claim::Stored(pointer) => FleetTurn::Answered(FillState::NotModified(pointer)),
            Claim::Alone => FleetTurn::Fetch(None),
        }
    }

    /// A cold miss that publishes its own record is fetched once for the whole fleet of
    /// replicas (`store::lease`): this replica either fetches it, holding the claim, or waits
    /// for the replica that does. A revalidation is not claimed: it is cheap, and stale copies
    /// answer meanwhile.
    async fn claim_for_fleet(&self) -> Claim {
        if self.previous.is_some() || !self.publishes_pointer {
            return Claim::Alone;
        }
        // Waiting longer than clients wait for a fill's head would answer them 504.
        let max_wait = (self.engine.client.limits().head_wait()).saturating_sub(FLEET_SLACK);
        self.engine.store.claim(&self.key, max_wait).await
    }

    /// The fill's states, taken from the copy of what another replica published; `None` when
    /// that copy cannot serve this fill (another digest expected, or the bucket failed), which
    /// then goes upstream itself.
    async fn follow_fleet(
        &self,
        pointer: &Pointer,
        tx: &watch::Sender<FillState>,
    ) -> Option<FillState> {
        if !fits(&self.object.verify, pointer) {
            return None;
        }
        let blob = self.engine.store.from_fleet(pointer).await;
        if pointer.is_negative() {
            return Some(FillState::Missing {
                status: pointer.status,
            });
        }
        let mut rx = blob?.growing?.rx;
        let mut head = None;
        loop {
            let copy = rx.borrow_and_update().clone();
            let CopyState::Copying(copying) = copy else {
                // Gone from the bucket, or failed before a byte: fetched upstream instead.
                return None;
            };
            let head = head
                .get_or_insert_with(|| {
                    Arc::new(BodyHead {
                        file: copying.file.clone(),
                        content_length: Some(copying.size),
                        content_type: pointer.content_type.clone(),
                        spill: Default::default(),
                    })
                })
                .clone();
            let outcome = copying.outcome.map(|copied| match copied {
                Ok(()) => Outcome::Stored(pointer.clone()),
                Err(detail) => Outcome::Failed(Arc::new(UpstreamError::Body {
                    host: "the shared bucket".into(),
                    detail,
                })),
            });
            let done = outcome.is_some();
            let state = FillState::Body(BodyProgress {
                head,
                written: copying.written,
                on_disk: copying.written,
                outcome,
            });
            if done {
                tracing::info!(key = %self.key, "served from another replica's fetch, through the bucket");
                return Some(state);
            }
            tx.send_replace(state);
            if rx.changed().await.is_err() {
                let err = UpstreamError::Storage {
                    detail: "the copy from the bucket ended unexpectedly".into(),
                };
                return Some(FillState::Failed(Arc::new(err)));
            }
        }
    }
}
