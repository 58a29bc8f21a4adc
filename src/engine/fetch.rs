//! The task that drives one fill: request upstream, stream the body into a temp file while
//! hashing it ([`super::sink`]), verify it, publish it.

use super::fleet::FleetTurn;
use super::lookup::fits;
use super::sink::{rehash, storage_error, BodySink, Bounds, Drained, Hashers};
use super::{Engine, Mounted};
use crate::fill::{BodyHead, BodyProgress, FillLeader, FillState, Outcome};
use crate::store::{Pointer, PublishError, TempBlob};
use crate::triage::{triage, ResponseHead, Triage};
use crate::upstream::{UpstreamError, UpstreamRequest, UpstreamResponse};
use larder_adapter::{Algorithm, Digest, Freshness, Object, Verify};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How a fill's bytes will be checked.
enum Check {
    /// Stored as fetched.
    Trust,
    Expect(Digest),
    /// The digest comes from an index object, resolved while the body streams; without one
    /// the body is served but not stored.
    Pending(JoinHandle<Option<Digest>>),
    /// The digest an index being learnt now may declare; without one the body is stored as
    /// fetched.
    Declared(JoinHandle<Option<Digest>>),
}

pub struct FillJob {
    pub engine: Arc<Engine>,
    pub eco: Arc<Mounted>,
    pub object: Object,
    pub key: String,
    /// The cached record being revalidated, for a conditional request.
    pub previous: Option<Pointer>,
    /// Whether the fill writes the object's pointer itself. A member of a set
    /// (`Ecosystem::published_with`) leaves it to the set's refresh, which writes the pointers
    /// of all members together once every one of them was fetched.
    pub publishes_pointer: bool,
}

/// A body that streamed in whole: its temp file, hashes and length.
struct Streamed {
    temp: TempBlob,
    hashers: Hashers,
    written: u64,
    /// The disk took only the first part; the clients got the rest from memory.
    spilled: Option<std::io::Error>,
}

impl FillJob {
    pub async fn run(self, leader: FillLeader) {
        let state = self.fetch(leader.sender()).await;
        leader.finish(|tx| match state {
            Ok(Some(final_state)) => {
                tx.send_replace(final_state);
            }
            Ok(None) => {}
            Err(err) => {
                if let UpstreamError::Storage { detail } = &err {
                    self.engine.storage.note_failure(detail);
                }
                tracing::warn!(key = %self.key, error = %err, "fill failed");
                self.eco.metrics.upstream_error(&err);
                let err = Arc::new(err);
                tx.send_modify(|state| match state {
                    FillState::Body(progress) => {
                        progress.outcome = Some(Outcome::Failed(err.clone()))
                    }
                    other => *other = FillState::Failed(err.clone()),
                });
            }
        });
    }

    /// Returns the final state, or `None` when it was already sent as the body's outcome.
    async fn fetch(
        &self,
        tx: &watch::Sender<FillState>,
    ) -> Result<Option<FillState>, UpstreamError> {
        let started = std::time::Instant::now();
        if let Some(stored) = self.stored_meanwhile().await {
            return Ok(Some(stored));
        }
        let lease = match self.fleet_turn(tx).await {
            FleetTurn::Answered(state) => return Ok(Some(state)),
            FleetTurn::Fetch(lease) => lease,
        };
        let upstream = self.send().await?;
        let metrics = &self.eco.metrics;
        metrics.upstream_answered(started.elapsed().as_secs_f64());
        tracing::debug!(key = %self.key, status = %upstream.response.status(), ms = started.elapsed().as_millis() as u64, "upstream answered");
        let previous = self.revalidated();
        let head = match triage(&self.object, &upstream.response, previous.is_some()) {
            Triage::NotModified => match previous {
                Some(previous) => return Ok(Some(self.not_modified(previous).await)),
                // Never: triage confirms only a request that carried validators.
                None => {
                    return Err(UpstreamError::Status {
                        host: self.host(),
                        status: http::StatusCode::NOT_MODIFIED,
                    })
                }
            },
            Triage::Missing { status } => return Ok(Some(self.missing(status).await)),
            Triage::Refused(err) => return Err(err),
            Triage::Body(head) => head,
        };
        metrics.upstream_ok();
        if self.previous.is_some() {
            metrics.revalidated(false);
        }
        let check = self.check();
        let self_declared =
            (self.eco.adapter).response_digests(&self.object, upstream.response.headers());
        let streamed = self.stream(upstream, &head, tx, &check).await?;
        if let Some(lease) = lease {
            self.engine.store.hold_until_shared(lease);
        }
        let outcome = self
            .verify_and_publish(streamed, check, &self_declared, head)
            .await;
        if !matches!(outcome, Ok(Outcome::Stored(_))) {
            self.engine.store.release_claim(&self.key);
        }
        let outcome = outcome?;
        if let Outcome::Stored(pointer) = &outcome {
            tracing::info!(key = %self.key, bytes = pointer.size, ms = started.elapsed().as_millis() as u64, "stored");
        }
        Ok(Some(finished(tx, outcome)))
    }

    /// The copy another fill of this immutable object stored after this fill's first client
    /// looked in the store and before it looked for a fill to join (that fill had published
    /// and ended meanwhile): served as it is, not fetched a second time. A fill publishes
    /// before it ends, so no window is left.
    async fn stored_meanwhile(&self) -> Option<FillState> {
        let cold = self.previous.is_none() && self.publishes_pointer;
        if !cold || self.object.freshness != Freshness::Immutable {
            return None;
        }
        let (pointer, blob) = (self.engine)
            .cached_copy(&self.eco, &self.object, &self.key)
            .await?;
        blob?;
        tracing::debug!(key = %self.key, "stored by a fill that just ended");
        fits(&self.object.verify, &pointer).then_some(FillState::NotModified(pointer))
    }

    /// The cached record being revalidated, unless it is a remembered 404.
    fn revalidated(&self) -> Option<&Pointer> {
        self.previous.as_ref().filter(|p| !p.is_negative())
    }

    async fn send(&self) -> Result<UpstreamResponse, UpstreamError> {
        let previous = self.revalidated();
        let request = UpstreamRequest {
            method: http::Method::GET,
            url: &self.object.upstream,
            headers: &self.object.upstream_headers,
            etag: previous.and_then(|p| p.etag.as_deref()),
            last_modified: previous.and_then(|p| p.last_modified.as_deref()),
            metadata: self.object.is_metadata(),
            credentials: self.eco.credentials.as_ref(),
        };
        self.engine.client.send(&request).await
    }

    /// Upstream confirmed the cached copy: its record is refreshed.
    async fn not_modified(&self, previous: &Pointer) -> FillState {
        self.eco.metrics.upstream_ok();
        self.eco.metrics.revalidated(true);
        let refreshed = Pointer {
            fetched_at_ms: self.engine.clock.now_ms(),
            ..previous.clone()
        };
        if self.publishes_pointer {
            self.engine.put_pointer(&refreshed).await;
        }
        FillState::NotModified(refreshed)
    }

    /// Upstream says the object does not exist: remembered for metadata (an immutable
    /// object's 404 is never remembered: it may be published any moment).
    async fn missing(&self, status: u16) -> FillState {
        self.eco.metrics.upstream_ok();
        if let (Freshness::Mutable { .. }, true) = (self.object.freshness, self.publishes_pointer) {
            let negative = Pointer {
                fetched_at_ms: self.engine.clock.now_ms(),
                ..Pointer::negative(&self.key, status)
            };
            self.engine.put_pointer(&negative).await;
        }
        FillState::Missing { status }
    }

    /// How this fill's bytes will be checked; a digest to look up starts resolving now, while
    /// the body streams.
    fn check(&self) -> Check {
        let engine = &self.engine;
        match &self.object.verify {
            Verify::None if !self.object.declares_digests && self.eco.declarations.learning() => {
                let (eco, key) = (self.eco.clone(), self.object.key.clone());
                Check::Declared(tokio::spawn(async move {
                    eco.declarations.learnt().await;
                    eco.declarations.declared(&key)
                }))
            }
            Verify::None => Check::Trust,
            Verify::Digest(digest) => Check::Expect(digest.clone()),
            Verify::Listed(index) => {
                Check::Pending(engine.look_up_listed_digest(&self.eco, index, &self.object))
            }
        }
    }

    /// Streams the body into a temp file. A store that cannot create one (a full disk) fails
    /// the fill before any client depends on it, and the engine passes the request through
    /// instead; a temp file the disk stops taking half-way is followed by a window in memory
    /// (`crate::spill`), so the fill's clients still get every byte, verified, only uncached.
    async fn stream(
        &self,
        upstream: UpstreamResponse,
        head: &ResponseHead,
        tx: &watch::Sender<FillState>,
        check: &Check,
    ) -> Result<Streamed, UpstreamError> {
        let engine = &self.engine;
        let temp = engine.store.create_temp().await.map_err(storage_error)?;
        let read_handle = temp.file.try_clone().map_err(storage_error)?;
        let announce = BodyProgress {
            head: Arc::new(BodyHead {
                file: Arc::new(read_handle),
                content_length: head.content_length,
                content_type: head.content_type.clone(),
                spill: Default::default(),
            }),
            written: 0,
            on_disk: 0,
            outcome: None,
        };
        let streaming_algorithm = match check {
            Check::Expect(digest) if digest.algorithm != Algorithm::Sha256 => {
                Some(digest.algorithm)
            }
            _ => None,
        };
        let sink = BodySink {
            file: temp.file.try_clone().map_err(storage_error)?,
            hashers: Hashers::new(streaming_algorithm),
            written: 0,
            metrics: self.eco.metrics.clone(),
        };
        let host = self.host();
        let limits = engine.client.limits();
        let bounds = Bounds {
            idle_timeout: limits.idle_timeout,
            // Metadata is read whole by clients and rewriters, so an endless body must end;
            // an artifact is as large as it is, and its digest says whether it is right.
            max_size: self
                .object
                .is_metadata()
                .then_some(limits.max_metadata_size),
        };
        if let Some(limit) = bounds.max_size {
            if head
                .content_length
                .is_some_and(|announced| announced > limit)
            {
                engine.store.discard(temp.path).await;
                return Err(UpstreamError::TooLarge { host, limit });
            }
        }
        let drained = sink
            .drain(upstream, tx, announce, head.content_length, bounds, &host)
            .await;
        let Drained {
            hashers,
            written,
            spilled,
        } = match drained {
            Ok(done) => done,
            Err(err) => {
                engine.store.discard(temp.path).await;
                return Err(err);
            }
        };
        if let Some(announced) = head.content_length.filter(|&n| n != written) {
            engine.store.discard(temp.path).await;
            return Err(UpstreamError::Short {
                host,
                got: written,
                announced,
            });
        }
        Ok(Streamed {
            temp,
            hashers,
            written,
            spilled,
        })
    }

    /// Checks the streamed bytes and publishes them: the outcome every client's last byte
    /// waits for.
    async fn verify_and_publish(
        &self,
        streamed: Streamed,
        check: Check,
        self_declared: &[Digest],
        head: ResponseHead,
    ) -> Result<Outcome, UpstreamError> {
        let engine = &self.engine;
        let Streamed {
            temp,
            hashers,
            written,
            spilled,
        } = streamed;
        let (sha256, streamed_digest) = hashers.finish();
        for declared in self_declared {
            let actual = self
                .digest_of(declared.algorithm, &temp, sha256, &streamed_digest)
                .await;
            if actual
                .as_ref()
                .is_ok_and(|actual| *actual != declared.bytes)
            {
                tracing::warn!(key = %self.key, %declared, "the body contradicts its response's own checksum header; nothing stored");
                engine.store.discard(temp.path).await;
                return Err(UpstreamError::DigestMismatch {
                    host: self.host(),
                    expected: declared.to_string(),
                });
            }
            if let Err(err) = actual {
                engine.store.discard(temp.path).await;
                return Err(err);
            }
        }
        let expected = match check {
            Check::Trust => None,
            Check::Expect(digest) => Some(digest),
            Check::Declared(handle) => handle.await.ok().flatten(),
            Check::Pending(handle) => match handle.await.ok().flatten() {
                Some(digest) => Some(digest),
                None => {
                    tracing::warn!(key = %self.key, "no published digest to verify against; served without storing");
                    engine.store.discard(temp.path).await;
                    return Ok(Outcome::PassedThrough {
                        sha256: hex::encode(sha256),
                    });
                }
            },
        };
        if let Some(expected) = &expected {
            if let Err(err) = self.verify(expected, &temp, sha256, streamed_digest).await {
                engine.store.discard(temp.path).await;
                return Err(err);
            }
        }
        let sha256 = hex::encode(sha256);
        if let Some(err) = spilled {
            engine.storage.note_failure(&err);
            engine.store.discard(temp.path).await;
            return Ok(Outcome::PassedThrough { sha256 });
        }
        let pointer = Pointer {
            content_type: head.content_type,
            etag: head.etag,
            last_modified: head.last_modified,
            verified: expected.map(|d| d.to_string()),
            fetched_at_ms: engine.clock.now_ms(),
            ..Pointer::stored(&self.key, &sha256, written)
        };
        Ok(self.publish(temp, pointer, sha256).await)
    }

    /// Compares the bytes with the expected digest; bytes that contradict a cached index are
    /// compared once more with the revalidated index, which may postdate them.
    async fn verify(
        &self,
        expected: &Digest,
        temp: &TempBlob,
        sha256: [u8; 32],
        streamed: Vec<(Algorithm, Vec<u8>)>,
    ) -> Result<(), UpstreamError> {
        let actual = self
            .digest_of(expected.algorithm, temp, sha256, &streamed)
            .await?;
        if actual == expected.bytes {
            return Ok(());
        }
        if let Verify::Listed(index) = &self.object.verify {
            tracing::debug!(key = %self.key, "digest differs from the cached index; revalidating it");
            let revalidated = self
                .engine
                .clone()
                .listed_digest(&self.eco, index, &self.object, true)
                .await;
            let matches = revalidated.is_some_and(|fresh| {
                fresh.algorithm == expected.algorithm && fresh.bytes == actual
                    || fresh.algorithm == Algorithm::Sha256 && fresh.bytes == sha256
            });
            if matches {
                return Ok(());
            }
        }
        tracing::warn!(key = %self.key, %expected, "digest mismatch; nothing stored");
        Err(UpstreamError::DigestMismatch {
            host: self.host(),
            expected: expected.to_string(),
        })
    }

    /// The body's digest by `algorithm`: from the hashes taken while it streamed, else read
    /// again from its temp file.
    async fn digest_of(
        &self,
        algorithm: Algorithm,
        temp: &TempBlob,
        sha256: [u8; 32],
        streamed: &[(Algorithm, Vec<u8>)],
    ) -> Result<Vec<u8>, UpstreamError> {
        if algorithm == Algorithm::Sha256 {
            return Ok(sha256.to_vec());
        }
        match streamed.iter().find(|(streamed, _)| *streamed == algorithm) {
            Some((_, bytes)) => Ok(bytes.clone()),
            None => rehash(&temp.path, algorithm).await.map_err(storage_error),
        }
    }

    async fn publish(&self, temp: TempBlob, pointer: Pointer, sha256: String) -> Outcome {
        let engine = &self.engine;
        let published = if self.publishes_pointer {
            engine.recent.forget(&pointer.key);
            let record = pointer.clone();
            (engine.store)
                .publish_with_record(temp.path, sha256.clone(), record)
                .await
        } else {
            (engine.store)
                .publish(temp.path, sha256.clone())
                .await
                .map_err(PublishError::Blob)
        };
        match published {
            Err(PublishError::Blob(err)) => {
                engine.storage.note_failure(&err);
                return Outcome::PassedThrough { sha256 };
            }
            Err(PublishError::Record(err)) => engine.storage.note_failure(&err),
            Ok(()) => {}
        }
        if self.publishes_pointer && self.object.declares_digests {
            engine.learn_declarations_in_background(&self.eco, &self.object, &pointer);
        }
        Outcome::Stored(pointer)
    }

    fn host(&self) -> String {
        self.object
            .upstream
            .host_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// The body's final state with its outcome set.
fn finished(tx: &watch::Sender<FillState>, outcome: Outcome) -> FillState {
    let mut state = tx.borrow().clone();
    if let FillState::Body(progress) = &mut state {
        progress.outcome = Some(outcome);
    }
    state
}
