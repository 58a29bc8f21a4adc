//! The shared tier: blobs and pointers in an S3-compatible bucket, through `object_store`.
//!
//! Layout under `<prefix>/`:
//! - `blobs/sha256/<2 hex>/<64 hex>`: content, uploaded once (a plain PUT, or a multipart
//!   upload that is completed or aborted: a partial object is never visible);
//! - `pointers/<2 hex>/<sha256 of key>.json`: one record per object key, written with
//!   conditional PUTs (`If-None-Match: *` to create, `If-Match: <etag>` to replace), so a
//!   replica never puts an older record (`fetched_at_ms`) on top of a newer one.
//!
//! Every call is bounded by the configured timeout. A failed or timed-out call marks the
//! bucket unreachable (`degraded`): the tiered store then stops asking it until a probe or a
//! later call succeeds.

use super::bucket_metrics::BucketMetrics;
use super::growing::ByteStream;
use super::Pointer;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig,
    UpdateVersion,
};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// `[storage]` with `backend = "s3"`.
#[derive(Clone, Debug)]
pub struct BucketSettings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing slash), so one bucket can hold
    /// several mirrors.
    pub prefix: String,
    /// `http://minio:9000`; absent for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// `http://endpoint/bucket/key` rather than `http://bucket.endpoint/key`.
    pub path_style: bool,
    /// The longest any request waits for the bucket.
    pub timeout: Duration,
    /// From `credentials_file`; else the standard `AWS_*` environment variables.
    pub credentials: Option<BucketCredentials>,
}

/// Access keys read from a credentials file. Never printed.
#[derive(Clone)]
pub struct BucketCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for BucketCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BucketCredentials(***)")
    }
}

impl BucketCredentials {
    /// Reads the `[default]` profile of an AWS shared credentials file
    /// (`aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`).
    pub fn from_file(path: &std::path::Path) -> Result<BucketCredentials, String> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            format!(
                "cannot read [storage] credentials_file {}: {err}",
                path.display()
            )
        })?;
        let (mut section, mut id, mut secret, mut token) = (String::new(), None, None, None);
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_string();
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if section != "default" && !section.is_empty() {
                continue;
            }
            let value = Some(value.trim().to_string());
            match key.trim() {
                "aws_access_key_id" => id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
        match (id, secret) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(BucketCredentials {
                access_key_id,
                secret_access_key,
                session_token: token,
            }),
            _ => Err(format!(
                "[storage] credentials_file {} has no aws_access_key_id and aws_secret_access_key \
                 in its [default] profile",
                path.display()
            )),
        }
    }
}

/// A blob's bytes as they come from the bucket.
pub type BlobStream = BoxStream<'static, object_store::Result<bytes::Bytes>>;

/// What went wrong talking to the bucket.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    #[error("the bucket did not answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Store(#[from] object_store::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("blob {0} in the bucket does not hash to its name; ignored")]
    Corrupt(String),
}

impl BucketError {
    /// Whether the bucket failed as a service (down, hung, refusing larder's key), rather than
    /// answering about one object.
    fn means_unreachable(&self) -> bool {
        match self {
            BucketError::Timeout(_) | BucketError::Io(_) => true,
            BucketError::Store(err) => !matches!(
                err,
                object_store::Error::NotFound { .. }
                    | object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. }
                    | object_store::Error::NotModified { .. }
            ),
            BucketError::Corrupt(_) => false,
        }
    }
}

/// Whether the bucket answered its last call.
#[derive(Default)]
struct Reachability {
    degraded: AtomicBool,
    /// Why, and since when (unix ms), while degraded.
    reason: Mutex<Option<(u64, String)>>,
}

/// An S3-compatible bucket holding blobs and pointers.
pub struct Bucket {
    pub(super) store: Arc<dyn ObjectStore>,
    prefix: String,
    pub(super) timeout: Duration,
    reach: Reachability,
    pending: AtomicUsize,
    pub(super) metrics: BucketMetrics,
}

/// What a conditional pointer write did.
#[derive(Debug, PartialEq, Eq)]
pub enum PointerWrite {
    Written,
    /// The bucket already holds a record at least as new.
    KeptNewer,
}

impl Bucket {
    pub fn connect(settings: &BucketSettings) -> Result<Bucket, object_store::Error> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch)
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(settings.timeout)
                    // A whole part of a multipart upload must fit in one request.
                    .with_timeout(settings.timeout.max(Duration::from_secs(60)))
                    .with_allow_http(true),
            )
            .with_retry(RetryConfig {
                max_retries: 1,
                retry_timeout: settings.timeout,
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(creds) = &settings.credentials {
            builder = builder
                .with_access_key_id(&creds.access_key_id)
                .with_secret_access_key(&creds.secret_access_key);
            if let Some(token) = &creds.session_token {
                builder = builder.with_token(token);
            }
        }
        Ok(Bucket {
            store: Arc::new(builder.build()?),
            prefix: settings.prefix.trim_matches('/').to_string(),
            timeout: settings.timeout,
            reach: Reachability::default(),
            pending: AtomicUsize::new(0),
            metrics: BucketMetrics::default(),
        })
    }

    pub(super) fn path(&self, rest: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rest)
        } else {
            ObjectPath::from(format!("{}/{rest}", self.prefix))
        }
    }

    pub fn blob_path(&self, sha256: &str) -> ObjectPath {
        self.path(&format!("blobs/sha256/{}/{sha256}", &sha256[..2]))
    }

    pub fn pointer_path(&self, key: &str) -> ObjectPath {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.path(&format!("pointers/{}/{name}.json", &name[..2]))
    }

    /// The underlying client (tests inspect the bucket with it).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// `Some(why)` while the bucket is unreachable.
    pub fn degraded(&self) -> Option<(u64, String)> {
        if !self.reach.degraded.load(Ordering::Relaxed) {
            return None;
        }
        self.reach
            .reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn is_degraded(&self) -> bool {
        self.reach.degraded.load(Ordering::Relaxed)
    }

    /// Uploads in flight in the background.
    pub fn pending_uploads(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    pub fn upload_started(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        self.metrics.uploads.inc();
    }

    pub fn upload_finished(&self) {
        self.pending.fetch_sub(1, Ordering::Relaxed);
        self.metrics.uploads.dec();
    }

    /// The handles `/-/metrics` reads.
    pub fn metrics(&self) -> &BucketMetrics {
        &self.metrics
    }

    /// Runs one bucket call within the timeout, recording whether the bucket answered.
    pub(super) async fn call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, BucketError>>,
    ) -> Result<T, BucketError> {
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(BucketError::Timeout(self.timeout)),
        };
        self.metrics
            .latency
            .observe(started.elapsed().as_secs_f64());
        match &result {
            Err(err) if err.means_unreachable() => self.mark_unreachable(what, err),
            Err(_) => {}
            Ok(_) => self.mark_reachable(),
        }
        result
    }

    pub(super) fn mark_unreachable(&self, what: &str, err: &BucketError) {
        let why = format!("{what}: {}", crate::upstream::error_chain(err));
        let mut reason = self.reach.reason.lock().unwrap_or_else(|p| p.into_inner());
        self.metrics.up.set(0);
        if !self.reach.degraded.swap(true, Ordering::Relaxed) {
            tracing::error!(
                error = %why,
                "the shared bucket is unreachable; serving from the local tier and upstream, \
                 not sharing new objects, until it answers again (check [storage] endpoint, \
                 credentials and the S3 service)"
            );
            *reason = Some((super::now_ms(), why));
        }
    }

    fn mark_reachable(&self) {
        self.metrics.up.set(1);
        if self.reach.degraded.swap(false, Ordering::Relaxed) {
            let since = self
                .reach
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            let down_ms = since.map(|(at, _)| super::now_ms().saturating_sub(at));
            tracing::warn!(
                down_ms,
                "the shared bucket answers again; sharing objects again"
            );
        }
    }

    /// Checks that the bucket answers (one LIST of at most one level).
    pub async fn probe(&self) -> Result<(), BucketError> {
        let prefix = self.path("pointers");
        self.call("probe", async {
            self.store
                .list_with_delimiter(Some(&prefix))
                .await
                .map(|_| ())
                .map_err(BucketError::from)
        })
        .await
    }

    pub async fn get_pointer(&self, key: &str) -> Result<Option<Pointer>, BucketError> {
        Ok(self.read_pointer(key).await?.map(|(pointer, _)| pointer))
    }

    /// The record and its ETag.
    async fn read_pointer(
        &self,
        key: &str,
    ) -> Result<Option<(Pointer, Option<String>)>, BucketError> {
        let path = self.pointer_path(key);
        self.call("reading a pointer", async {
            let got = match self.store.get(&path).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            let etag = got.meta.e_tag.clone();
            let bytes = got.bytes().await?;
            match serde_json::from_slice::<Pointer>(&bytes) {
                Ok(pointer) if pointer.key == key => Ok(Some((pointer, etag))),
                _ => {
                    tracing::warn!(%path, "ignoring an unreadable pointer record in the bucket");
                    Ok(None)
                }
            }
        })
        .await
    }

    /// Writes `pointer` unless the bucket holds a record at least as new, with a conditional
    /// PUT; a lost race re-reads and decides again. `between` runs after the read and before
    /// the write (tests use it to interleave two writers).
    pub async fn put_pointer_with<F, Fut>(
        &self,
        pointer: &Pointer,
        mut between: F,
    ) -> Result<PointerWrite, BucketError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let path = self.pointer_path(&pointer.key);
        let bytes = bytes::Bytes::from(serde_json::to_vec(pointer).map_err(std::io::Error::other)?);
        for _ in 0..8 {
            let existing = self.read_pointer(&pointer.key).await?;
            let mode = match existing {
                Some((stored, _)) if stored.fetched_at_ms >= pointer.fetched_at_ms => {
                    return Ok(PointerWrite::KeptNewer)
                }
                Some((_, Some(etag))) => PutMode::Update(UpdateVersion {
                    e_tag: Some(etag),
                    version: None,
                }),
                // A record without an ETag cannot be replaced conditionally: overwrite it.
                Some((_, None)) => PutMode::Overwrite,
                None => PutMode::Create,
            };
            between().await;
            let put = self
                .call("writing a pointer", async {
                    let options = PutOptions {
                        mode,
                        ..PutOptions::default()
                    };
                    self.store
                        .put_opts(&path, PutPayload::from(bytes.clone()), options)
                        .await
                        .map(|_| ())
                        .map_err(BucketError::from)
                })
                .await;
            match put {
                Ok(()) => return Ok(PointerWrite::Written),
                // Another replica wrote first: read again and compare.
                Err(BucketError::Store(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                )) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(BucketError::Io(std::io::Error::other(
            "pointer write lost the race 8 times in a row",
        )))
    }

    pub async fn put_pointer(&self, pointer: &Pointer) -> Result<PointerWrite, BucketError> {
        self.put_pointer_with(pointer, || async {}).await
    }

    pub async fn has_blob(&self, sha256: &str) -> Result<bool, BucketError> {
        let path = self.blob_path(sha256);
        self.call("checking a blob", async {
            match self.store.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// Uploads a local blob file. Small blobs go in one PUT, large ones as a multipart upload
    /// that is aborted on error; either way the object appears whole or not at all.
    pub async fn put_blob(&self, sha256: &str, file: std::fs::File) -> Result<(), BucketError> {
        let path = self.blob_path(sha256);
        let mut writer =
            object_store::buffered::BufWriter::with_capacity(self.store.clone(), path, 8 << 20);
        let mut source = tokio::fs::File::from_std(file);
        let copied = async {
            tokio::io::copy(&mut source, &mut writer).await?;
            writer.shutdown().await
        }
        .await;
        if let Err(err) = copied {
            let _ = writer.abort().await;
            let err = BucketError::Io(err);
            self.mark_unreachable("uploading a blob", &err);
            return Err(err);
        }
        self.mark_reachable();
        Ok(())
    }

    /// Downloads a blob into `file`, checking that it hashes to its name. `Ok(false)` when the
    /// bucket does not have it. Waits at most the timeout for the answer and between chunks.
    pub async fn get_blob(
        &self,
        sha256: &str,
        file: &mut std::fs::File,
    ) -> Result<bool, BucketError> {
        let path = self.blob_path(sha256);
        let got = self
            .call("reading a blob", async {
                match self.store.get(&path).await {
                    Ok(got) => Ok(Some(got)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(err) => Err(err.into()),
                }
            })
            .await?;
        let Some(got) = got else {
            return Ok(false);
        };
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        loop {
            let chunk = match tokio::time::timeout(self.timeout, stream.next()).await {
                Err(_) => {
                    let err = BucketError::Timeout(self.timeout);
                    self.mark_unreachable("reading a blob", &err);
                    return Err(err);
                }
                Ok(None) => break,
                Ok(Some(chunk)) => chunk?,
            };
            hasher.update(&chunk);
            file.write_all(&chunk)?;
        }
        if hex::encode(hasher.finalize()) != sha256 {
            return Err(BucketError::Corrupt(sha256.to_string()));
        }
        Ok(true)
    }

    /// The blob's size and bytes as the bucket sends them, unchecked (the caller hashes them); `None`
    /// when the bucket does not have it. Only the answer is bounded by the timeout here: the
    /// caller bounds the wait between chunks.
    pub async fn open_blob_stream(
        &self,
        sha256: &str,
    ) -> Result<Option<(u64, BlobStream)>, BucketError> {
        let path = self.blob_path(sha256);
        self.call("reading a blob", async {
            match self.store.get(&path).await {
                Ok(got) => Ok(Some((got.meta.size, got.into_stream()))),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(err) => Err(err.into()),
            }
        })
        .await
    }

    /// Bytes `start..end` of a blob, by a ranged GET, each chunk awaited at most the timeout.
    pub fn blob_range_stream(self: &Arc<Self>, sha256: &str, start: u64, end: u64) -> ByteStream {
        let (bucket, path) = (self.clone(), self.blob_path(sha256));
        let opened = async move {
            let options = GetOptions {
                range: Some(GetRange::Bounded(start..end)),
                ..GetOptions::default()
            };
            let got = bucket
                .call("reading part of a blob", async {
                    Ok(bucket.store.get_opts(&path, options).await?)
                })
                .await
                .map_err(std::io::Error::other)?;
            let timeout = bucket.timeout;
            let chunks = got
                .into_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other));
            let bounded = futures_util::stream::unfold(chunks, move |mut chunks| async move {
                match tokio::time::timeout(timeout, chunks.next()).await {
                    Ok(next) => next.map(|chunk| (chunk, chunks)),
                    Err(_) => Some((
                        Err(std::io::Error::other(BucketError::Timeout(timeout))),
                        chunks,
                    )),
                }
            });
            Ok::<_, std::io::Error>(bounded)
        };
        futures_util::stream::once(opened).try_flatten().boxed()
    }
}
