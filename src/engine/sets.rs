//! Objects that upstream publishes as one set (`Ecosystem::published_with`: apt's InRelease,
//! Release and Release.gpg of a suite) are refreshed together and swapped whole: a client never
//! gets one generation's Release with another's Release.gpg, and when upstream fails part-way,
//! the previous set is served, whole.

use super::fetch::FillJob;
use super::{stored_or_missing, Cached, Engine, Found, Mounted};
use crate::fill::{await_end, FillState, Outcome};
use crate::inflight::{Abandon, InFlight};
use crate::metrics::Lookup;
use crate::store::Pointer;
use crate::upstream::UpstreamError;
use larder_adapter::Object;
use std::sync::Arc;
use tokio::sync::watch;

/// How a set's refresh ended: `None` while it runs.
#[derive(Clone)]
pub struct Refreshed(Option<Result<(), Arc<UpstreamError>>>);

impl Abandon for Refreshed {
    fn abandon(&mut self) {
        if self.0.is_none() {
            self.0 = Some(Err(Arc::new(UpstreamError::Storage {
                detail: "the refresh task ended unexpectedly (see larder's log)".into(),
            })));
        }
    }
}

/// The set refreshes in flight, by the set's identity (its members' keys).
pub type SetRefreshes = InFlight<Refreshed>;

impl Engine {
    /// Serves `object`, a member of a set with `others`, after refreshing the whole set: the
    /// cached copy while the refresh is slower than `stale_timeout` or fails in a way that
    /// allows it. `None` when the refresh left nothing to serve (an immutable member upstream
    /// does not have): the caller fetches the object on its own.
    pub(super) async fn obtain_from_set(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        object: &Object,
        others: Vec<Object>,
        cached: Option<Cached>,
        lookup: &mut Lookup,
    ) -> Option<Found> {
        let key = Self::full_key(eco, object);
        let mut members = vec![object.clone()];
        members.extend(others);
        let mut rx = self.join_or_start_refresh(eco, members, lookup);
        let ended = rx.wait_for(|refreshed| refreshed.0.is_some());
        // With a copy in hand the client waits `stale_timeout`; without one, as long as a
        // fill may take (each member's fill has its own timeouts).
        let (wait, timeout) = match &cached {
            Some(_) => {
                let after = self.client.limits().stale_timeout;
                let host = object.upstream.host_str().unwrap_or_default().to_string();
                (after, UpstreamError::Timeout { host, after })
            }
            None => {
                let after = self.client.limits().stall_wait();
                (after, UpstreamError::Stuck { after })
            }
        };
        let refreshed = match tokio::time::timeout(wait, ended).await {
            Ok(ended) => ended.ok().and_then(|state| state.0.clone()),
            Err(_) => Some(Err(Arc::new(timeout))),
        };
        let refreshed = refreshed.unwrap_or_else(|| {
            Err(Arc::new(UpstreamError::Storage {
                detail: "the refresh task ended unexpectedly".into(),
            }))
        });
        match (refreshed, cached) {
            (Ok(()), _) => {
                let (pointer, blob) = self.store.lookup(&key).await.ok()??;
                Some(stored_or_missing(pointer, blob, None))
            }
            (Err(err), Some((pointer, blob))) if err.allows_stale() => {
                tracing::warn!(%key, error = %err, "serving the cached copy, and the rest of its set");
                Some(stored_or_missing(pointer, blob, Some(err)))
            }
            (Err(err), _) => Some(Found::Failed(err)),
        }
    }

    pub(super) fn join_or_start_refresh(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        members: Vec<Object>,
        lookup: &mut Lookup,
    ) -> watch::Receiver<Refreshed> {
        let mut keys: Vec<String> = members
            .iter()
            .map(|member| Self::full_key(eco, member))
            .collect();
        keys.sort();
        let set = keys.join(" ");
        *lookup = Lookup::Coalesced;
        self.sets.join_or_lead(
            &set,
            || Refreshed(None),
            |leader| {
                *lookup = Lookup::Miss;
                let (engine, eco, set) = (self.clone(), eco.clone(), set.clone());
                // A task of its own: a client that leaves does not cancel the refresh.
                tokio::spawn(async move {
                    let result = engine.refresh_set(&eco, &members).await;
                    if let Err(err) = &result {
                        tracing::warn!(set = %set, error = %err, "set not refreshed; keeping the previous one");
                    }
                    leader.finish(|tx| drop(tx.send_replace(Refreshed(Some(result)))));
                });
            },
        )
    }

    /// Fetches every member (conditionally, in parallel) as a fill that stores its bytes but
    /// not its pointer; once all have ended well, writes the members' pointers back to back.
    async fn refresh_set(
        self: &Arc<Self>,
        eco: &Arc<Mounted>,
        members: &[Object],
    ) -> Result<(), Arc<UpstreamError>> {
        let fills = members.iter().map(|member| self.fill_member(eco, member));
        let ends = futures_util::future::join_all(fills).await;
        let mut pointers = Vec::with_capacity(members.len());
        for (member, end) in members.iter().zip(ends) {
            let key = Self::full_key(eco, member);
            match end {
                FillState::NotModified(pointer) => pointers.push((member, pointer)),
                FillState::Missing { status } if member.is_metadata() => {
                    pointers.push((member, Pointer::negative(&key, status)))
                }
                FillState::Missing { .. } => {}
                FillState::Body(progress) => match progress.outcome {
                    Some(Outcome::Stored(pointer)) => pointers.push((member, pointer)),
                    Some(Outcome::Failed(err)) => return Err(err),
                    Some(Outcome::PassedThrough { .. }) | None => {
                        return Err(Arc::new(UpstreamError::Storage {
                            detail: format!("{key} could not be stored"),
                        }))
                    }
                },
                FillState::Failed(err) => return Err(err),
                FillState::Connecting => {
                    return Err(Arc::new(UpstreamError::Storage {
                        detail: "fill did not start".into(),
                    }))
                }
            }
        }
        let written: Vec<Pointer> = pointers.iter().map(|(_, p)| p.clone()).collect();
        if !self.put_pointers(written).await {
            return Err(Arc::new(UpstreamError::Storage {
                detail: "the set's records could not be written".into(),
            }));
        }
        for (member, pointer) in &pointers {
            if member.declares_digests && !pointer.is_negative() {
                self.learn_declarations_in_background(eco, member, pointer);
            }
        }
        Ok(())
    }

    /// One member's fill, revalidating its cached copy; its final state.
    async fn fill_member(self: &Arc<Self>, eco: &Arc<Mounted>, member: &Object) -> FillState {
        let key = Self::full_key(eco, member);
        let previous = self.store.lookup(&key).await.ok().flatten();
        let previous = previous.map(|(pointer, _)| pointer);
        let fill_key = format!("{key}#set");
        let mut rx = self.fills.join_or_lead(
            &fill_key,
            || FillState::Connecting,
            |leader| {
                let job = FillJob {
                    engine: self.clone(),
                    eco: eco.clone(),
                    object: member.clone(),
                    key,
                    previous,
                    publishes_pointer: false,
                };
                tokio::spawn(job.run(leader));
            },
        );
        await_end(&mut rx, self.client.limits().stall_wait()).await
    }
}
