//! Objects that upstream publishes as one set (`Ecosystem::published_with`: apt's InRelease,
//! Release and Release.gpg of a suite) are refreshed together and swapped whole: a client never
//! gets one generation's Release with another's Release.gpg, and when upstream fails part-way,
//! the previous set is served, whole.

use super::{stored_or_missing, Engine, Found, Mounted};
use crate::fetch::FillJob;
use crate::fill::{await_end, FillState, Outcome};
use crate::metrics::Lookup;
use crate::store::Pointer;
use crate::upstream::UpstreamError;
use larder_adapter::Object;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How a set's refresh ended: `None` while it runs.
type Refreshed = Option<Result<(), Arc<UpstreamError>>>;

/// The set refreshes in flight, by the set's identity (its members' keys).
#[derive(Default)]
pub struct SetRefreshes {
    inflight: Mutex<HashMap<String, watch::Receiver<Refreshed>>>,
}

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
        cached: Option<(Pointer, Option<crate::store::BlobFile>)>,
        lookup: &mut Lookup,
    ) -> Option<Found> {
        let key = Self::full_key(eco, object);
        let mut members = vec![object.clone()];
        members.extend(others);
        let mut rx = self.join_or_start_refresh(eco, members, lookup);
        let ended = rx.wait_for(Option::is_some);
        let refreshed = match &cached {
            Some(_) => {
                let stale_timeout = self.client.limits().stale_timeout;
                match tokio::time::timeout(stale_timeout, ended).await {
                    Ok(ended) => ended.ok().and_then(|state| state.clone()),
                    Err(_) => Some(Err(Arc::new(UpstreamError::Timeout {
                        host: object.upstream.host_str().unwrap_or_default().to_string(),
                        after: stale_timeout,
                    }))),
                }
            }
            None => ended.await.ok().and_then(|state| state.clone()),
        };
        let refreshed = refreshed.unwrap_or_else(|| {
            Err(Arc::new(UpstreamError::Storage {
                detail: "the refresh task ended unexpectedly".into(),
            }))
        });
        match (refreshed, cached) {
            (Ok(()), _) => {
                let (pointer, blob) = self.cached(&key).await?;
                Some(stored_or_missing(pointer, blob.as_ref(), None))
            }
            (Err(err), Some((pointer, blob))) if err.allows_stale() => {
                tracing::warn!(%key, error = %err, "serving the cached copy, and the rest of its set");
                Some(stored_or_missing(pointer, blob.as_ref(), Some(err)))
            }
            (Err(err), _) => Some(Found::Failed(err)),
        }
    }

    fn join_or_start_refresh(
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
        let mut inflight = self.sets.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = inflight.get(&set) {
            *lookup = Lookup::Coalesced;
            return rx.clone();
        }
        *lookup = Lookup::Miss;
        let (tx, rx) = watch::channel(None);
        inflight.insert(set.clone(), rx.clone());
        let (engine, eco) = (self.clone(), eco.clone());
        // A task of its own: a client that leaves does not cancel the refresh.
        tokio::spawn(async move {
            let result = engine.refresh_set(&eco, &members).await;
            if let Err(err) = &result {
                tracing::warn!(set = %set, error = %err, "set not refreshed; keeping the previous one");
            }
            engine
                .sets
                .inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&set);
            tx.send_replace(Some(result));
        });
        rx
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
        for pointer in &written {
            self.recent.forget(&pointer.key);
        }
        if let Err(err) = self
            .store_call(move |store| written.iter().try_for_each(|p| store.put_pointer(p)))
            .await
        {
            self.note_storage_failure(&err);
            return Err(Arc::new(UpstreamError::Storage {
                detail: err.to_string(),
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
        let previous = self.cached(&key).await.map(|(pointer, _)| pointer);
        let fill_key = format!("{key}#set");
        let mut rx = self.fills.join_or_start(&fill_key, |tx| {
            let job = FillJob {
                engine: self.clone(),
                eco: eco.clone(),
                object: member.clone(),
                key,
                fill_key: fill_key.clone(),
                previous,
                publishes_pointer: false,
            };
            tokio::spawn(job.run(tx));
        });
        await_end(&mut rx).await
    }
}
