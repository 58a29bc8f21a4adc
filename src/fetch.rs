//! The task that drives one fill: request upstream, stream the body into a temp file while
//! hashing it, verify it, publish it.

use crate::engine::{Engine, Mounted};
use crate::fill::{BodyHead, BodyProgress, FillState, Outcome};
use crate::store::{now_ms, Pointer};
use crate::upstream::{UpstreamError, UpstreamRequest};
use futures_util::StreamExt;
use larder_adapter::{Algorithm, Digest, Freshness, Object, Verify};
use sha2::digest::DynDigest;
use sha2::Digest as _;
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::sync::watch;

/// How a fill's bytes will be checked.
enum Check {
    /// Stored as fetched.
    Trust,
    Expect(Digest),
    /// The digest comes from an index object, resolved while the body streams; without one
    /// the body is served but not stored.
    Pending(tokio::task::JoinHandle<Option<Digest>>),
    /// The digest an index being learnt now may declare; without one the body is stored as
    /// fetched.
    Declared(tokio::task::JoinHandle<Option<Digest>>),
}

pub struct FillJob {
    pub engine: Arc<Engine>,
    pub eco: Arc<Mounted>,
    pub object: Object,
    pub key: String,
    /// The in-flight identity: the key, plus the expected digest when there is one.
    pub fill_key: String,
    /// The cached record being revalidated, for a conditional request.
    pub previous: Option<Pointer>,
    /// Whether the fill writes the object's pointer itself. A member of a set
    /// (`Ecosystem::published_with`) leaves it to the set's refresh, which writes the pointers
    /// of all members together once every one of them was fetched.
    pub publishes_pointer: bool,
}

impl FillJob {
    pub async fn run(self, tx: watch::Sender<FillState>) {
        let state = self.fetch(&tx).await;
        // Leave the in-flight map before the final state is seen, so that a request arriving
        // now finds the store rather than a finished fill.
        self.engine.fills.finish(&self.fill_key);
        match state {
            Ok(Some(final_state)) => {
                tx.send_replace(final_state);
            }
            Ok(None) => {}
            Err(err) => {
                if let UpstreamError::Storage { detail } = &err {
                    self.engine.note_storage_failure(detail);
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
        }
    }

    /// Returns the final state, or `None` when it was already sent as the body's outcome.
    async fn fetch(
        &self,
        tx: &watch::Sender<FillState>,
    ) -> Result<Option<FillState>, UpstreamError> {
        let engine = &self.engine;
        let object = &self.object;
        let previous = self.previous.as_ref().filter(|p| !p.is_negative());
        let request = UpstreamRequest {
            method: http::Method::GET,
            url: &object.upstream,
            headers: &object.upstream_headers,
            etag: previous.and_then(|p| p.etag.as_deref()),
            last_modified: previous.and_then(|p| p.last_modified.as_deref()),
            decode: object.is_metadata(),
            credentials: self.eco.credentials.as_ref(),
        };
        let started = std::time::Instant::now();
        let upstream = engine.client.send(&request).await?;
        let metrics = &self.eco.metrics;
        metrics.upstream_answered(started.elapsed().as_secs_f64());
        let response = upstream.response;
        let status = response.status();
        let host = object.upstream.host_str().unwrap_or_default().to_string();
        tracing::debug!(key = %self.key, %status, ms = started.elapsed().as_millis() as u64, "upstream answered");

        if status == http::StatusCode::NOT_MODIFIED {
            if let Some(previous) = previous {
                metrics.upstream_ok();
                metrics.revalidated(true);
                let refreshed = Pointer {
                    fetched_at_ms: now_ms(),
                    ..previous.clone()
                };
                if self.publishes_pointer {
                    engine.put_pointer(&refreshed).await;
                }
                return Ok(Some(FillState::NotModified(refreshed)));
            }
            return Err(UpstreamError::Status { host, status });
        }
        if status == http::StatusCode::NOT_FOUND || status == http::StatusCode::GONE {
            metrics.upstream_ok();
            if let (Freshness::Mutable { .. }, true) = (object.freshness, self.publishes_pointer) {
                engine
                    .put_pointer(&Pointer::negative(&self.key, status.as_u16()))
                    .await;
            }
            return Ok(Some(FillState::Missing {
                status: status.as_u16(),
            }));
        }
        if status != http::StatusCode::OK {
            return Err(UpstreamError::Status { host, status });
        }
        metrics.upstream_ok();
        if previous.is_some() {
            metrics.revalidated(false);
        }

        let header = |name: http::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if crate::upstream::is_unexpected_html(
            object,
            header(http::header::CONTENT_TYPE).as_deref(),
        ) {
            return Err(UpstreamError::HtmlPage { host });
        }
        let etag = header(http::header::ETAG);
        let last_modified = header(http::header::LAST_MODIFIED);
        let content_type = header(http::header::CONTENT_TYPE);
        // A decoded (gunzipped) body no longer has the announced length.
        let content_length = if header(http::header::CONTENT_ENCODING).is_some() {
            None
        } else {
            response.content_length()
        };

        let temp = engine
            .store_call(|store| store.create_temp())
            .await
            .map_err(storage_error)?;
        let read_handle = temp.file.try_clone().map_err(storage_error)?;
        let head = Arc::new(BodyHead {
            file: Arc::new(read_handle),
            content_length,
            content_type: content_type.clone(),
        });
        // Clients are told a body is coming only once its first bytes are on disk: a store
        // that cannot take them (a full disk) then fails the fill before any client depends on
        // it, and the engine passes the request through uncached instead.
        let announce = BodyProgress {
            head,
            written: 0,
            outcome: None,
        };

        let check = match &object.verify {
            Verify::None if !object.declares_digests && Engine::learning(&self.eco) => {
                let (engine, eco, key) = (engine.clone(), self.eco.clone(), self.key.clone());
                Check::Declared(tokio::spawn(async move {
                    engine.declared_once_learnt(&eco, &key).await
                }))
            }
            Verify::None => Check::Trust,
            Verify::Digest(digest) => Check::Expect(digest.clone()),
            Verify::Listed(index) => {
                let engine = engine.clone();
                let eco = self.eco.clone();
                let index = (**index).clone();
                let artifact = object.clone();
                Check::Pending(tokio::spawn(async move {
                    engine.listed_digest(&eco, &index, &artifact).await
                }))
            }
        };
        let streaming_algorithm = match &check {
            Check::Expect(digest) if digest.algorithm != Algorithm::Sha256 => {
                Some(digest.algorithm)
            }
            _ => None,
        };

        let idle_timeout = engine.client.limits().idle_timeout;
        let sink = BodySink {
            file: temp.file,
            hashers: Hashers::new(streaming_algorithm),
            written: 0,
            metrics: self.eco.metrics.clone(),
        };
        let streamed = sink
            .drain(response, tx, announce, content_length, idle_timeout, &host)
            .await;
        drop(upstream.permit);
        let discard = |engine: &Arc<Engine>| {
            let engine = engine.clone();
            let path = temp.path.clone();
            async move { engine.discard_temp(path).await }
        };
        let (hashers, written) = match streamed {
            Ok(done) => done,
            Err(err) => {
                discard(engine).await;
                return Err(err);
            }
        };
        if let Some(announced) = content_length.filter(|&n| n != written) {
            discard(engine).await;
            return Err(UpstreamError::Short {
                host,
                got: written,
                announced,
            });
        }

        let (sha256, streamed) = hashers.finish();
        let expected = match check {
            Check::Trust => None,
            Check::Expect(digest) => Some(digest),
            Check::Declared(handle) => handle.await.ok().flatten(),
            Check::Pending(handle) => match handle.await.ok().flatten() {
                Some(digest) => Some(digest),
                None => {
                    tracing::warn!(key = %self.key, "no published digest to verify against; served without storing");
                    discard(engine).await;
                    return Ok(Some(finished(
                        tx,
                        Outcome::PassedThrough {
                            sha256: hex::encode(sha256),
                        },
                    )));
                }
            },
        };
        if let Some(expected) = &expected {
            let actual = match (expected.algorithm, streamed) {
                (Algorithm::Sha256, _) => sha256.to_vec(),
                (algorithm, Some((streamed_algorithm, bytes)))
                    if algorithm == streamed_algorithm =>
                {
                    bytes
                }
                (algorithm, _) => rehash(&temp.path, algorithm).await.map_err(storage_error)?,
            };
            let revalidated = match (&object.verify, actual != expected.bytes) {
                (Verify::Listed(index), true) => {
                    tracing::debug!(key = %self.key, "digest differs from the cached index; revalidating it");
                    engine
                        .clone()
                        .listed_digest_revalidated(&self.eco, index, object)
                        .await
                }
                _ => None,
            };
            let matches_revalidated = revalidated.as_ref().is_some_and(|fresh| {
                fresh.algorithm == expected.algorithm && fresh.bytes == actual
                    || fresh.algorithm == Algorithm::Sha256 && fresh.bytes == sha256
            });
            if actual != expected.bytes && !matches_revalidated {
                discard(engine).await;
                tracing::warn!(key = %self.key, %expected, "digest mismatch; nothing stored");
                return Err(UpstreamError::DigestMismatch {
                    host,
                    expected: expected.to_string(),
                });
            }
        }
        let sha256 = hex::encode(sha256);
        let pointer = Pointer {
            content_type,
            etag,
            last_modified,
            verified: expected.map(|d| d.to_string()),
            ..Pointer::stored(&self.key, &sha256, written)
        };
        let temp_path = temp.path.clone();
        let published_sha = sha256.clone();
        let published = engine
            .store_call(move |store| store.publish(&temp_path, &published_sha))
            .await;
        let outcome = match published {
            Ok(()) if !self.publishes_pointer => Outcome::Stored(pointer),
            Ok(()) => {
                engine.put_pointer(&pointer).await;
                if object.declares_digests {
                    engine.learn_declarations_in_background(&self.eco, object, &pointer);
                }
                tracing::info!(key = %self.key, bytes = written, ms = started.elapsed().as_millis() as u64, "stored");
                Outcome::Stored(pointer)
            }
            Err(err) => {
                engine.note_storage_failure(&err);
                discard(engine).await;
                Outcome::PassedThrough { sha256 }
            }
        };
        Ok(Some(finished(tx, outcome)))
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

fn storage_error(err: io::Error) -> UpstreamError {
    UpstreamError::Storage {
        detail: err.to_string(),
    }
}

/// Where a fill's body goes: the temp file and the hashers, fed off the async threads.
struct BodySink {
    file: std::fs::File,
    hashers: Hashers,
    written: u64,
    metrics: Arc<crate::metrics::EcoMetrics>,
}

impl BodySink {
    async fn drain(
        mut self,
        response: reqwest::Response,
        tx: &watch::Sender<FillState>,
        announce: BodyProgress,
        content_length: Option<u64>,
        idle_timeout: std::time::Duration,
        host: &str,
    ) -> Result<(Hashers, u64), UpstreamError> {
        // Whatever has arrived is written in one blocking call: fewer thread hops per MB.
        let mut chunks = response.bytes_stream().ready_chunks(64);
        let mut announce = Some(announce);
        loop {
            let batch = match tokio::time::timeout(idle_timeout, chunks.next()).await {
                Err(_) => {
                    return Err(UpstreamError::Timeout {
                        host: host.into(),
                        after: idle_timeout,
                    })
                }
                Ok(None) => {
                    if let Some(progress) = announce.take() {
                        tx.send_replace(FillState::Body(progress));
                    }
                    return Ok((self.hashers, self.written));
                }
                Ok(Some(batch)) => batch,
            };
            let mut pieces = Vec::with_capacity(batch.len());
            for piece in batch {
                pieces.push(piece.map_err(|err| UpstreamError::Body {
                    host: host.into(),
                    detail: crate::upstream::error_chain(&err),
                })?);
            }
            let (mut file, mut hashers) = (self.file, self.hashers);
            let (file, hashers, n) = tokio::task::spawn_blocking(move || {
                let mut n = 0u64;
                for piece in &pieces {
                    file.write_all(piece)?;
                    hashers.update(piece);
                    n += piece.len() as u64;
                }
                Ok::<_, io::Error>((file, hashers, n))
            })
            .await
            .map_err(|err| storage_error(io::Error::other(err)))?
            .map_err(storage_error)?;
            self.file = file;
            self.hashers = hashers;
            self.written += n;
            self.metrics.fetched(n);
            let written = self.written;
            if let Some(announced) = content_length.filter(|&announced| written > announced) {
                return Err(UpstreamError::Short {
                    host: host.into(),
                    got: written,
                    announced,
                });
            }
            match announce.take() {
                Some(progress) => {
                    tx.send_replace(FillState::Body(BodyProgress {
                        written,
                        ..progress
                    }));
                }
                None => tx.send_modify(|state| {
                    if let FillState::Body(progress) = state {
                        progress.written = written;
                    }
                }),
            }
        }
    }
}

/// sha256 always (the store's address), plus the declared digest's algorithm when known upfront.
struct Hashers {
    sha256: sha2::Sha256,
    extra: Option<(Algorithm, Box<dyn DynDigest + Send>)>,
}

impl Hashers {
    fn new(extra: Option<Algorithm>) -> Self {
        Hashers {
            sha256: sha2::Sha256::new(),
            extra: extra.map(|a| (a, hasher_for(a))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.sha256, bytes);
        if let Some((_, hasher)) = &mut self.extra {
            hasher.update(bytes);
        }
    }

    fn finish(self) -> ([u8; 32], Option<(Algorithm, Vec<u8>)>) {
        let extra = self.extra.map(|(a, h)| (a, h.finalize().to_vec()));
        (sha2::Digest::finalize(self.sha256).into(), extra)
    }
}

fn hasher_for(algorithm: Algorithm) -> Box<dyn DynDigest + Send> {
    match algorithm {
        Algorithm::Sha1 => Box::new(sha1::Sha1::new()),
        Algorithm::Sha256 => Box::new(sha2::Sha256::new()),
        Algorithm::Sha512 => Box::new(sha2::Sha512::new()),
    }
}

/// Hashes a written temp file with an algorithm learnt only after it was streamed.
async fn rehash(path: &std::path::Path, algorithm: Algorithm) -> io::Result<Vec<u8>> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut hasher = hasher_for(algorithm);
        let mut file = std::fs::File::open(path)?;
        let mut buf = vec![0; 256 * 1024];
        loop {
            match file.read(&mut buf)? {
                0 => break,
                n => hasher.update(&buf[..n]),
            }
        }
        Ok(hasher.finalize().to_vec())
    })
    .await
    .map_err(io::Error::other)?
}
