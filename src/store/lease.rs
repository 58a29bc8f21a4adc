//! Fleet-wide single flight: before a replica goes upstream for an object nobody has stored, it
//! claims the object in the bucket with a lease object, `leases/<2 hex>/<sha256 of key>.json`,
//! created with a conditional PUT (`If-None-Match: *`, [`PutMode::Create`]) so that exactly one
//! replica wins. The record names the claimant and when the lease expires; the claimant renews
//! it (`If-Match: <etag>`) while its fill runs and until the object is shared, then deletes it.
//! The other replicas poll the bucket for the published pointer ([`super::tiered`]); a lease
//! that has expired (its claimant died or hung) is taken over with a conditional PUT on the
//! ETag that was read, so again exactly one replica takes over.
//!
//! Expiry is judged by the replicas' clocks: they must agree to well within [`LEASE_TTL`].

use super::bucket::{Bucket, BucketError};
use object_store::path::Path as ObjectPath;
use object_store::{PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// How long a lease holds without renewal: the longest a dead claimant delays the fleet.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often a claimant renews its lease (three renewals may fail before it lapses).
const RENEW_EVERY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub key: String,
    /// The replica that holds it (`host/pid`).
    pub claimant: String,
    pub expires_at_ms: u64,
}

/// What an attempt to claim found.
#[derive(Debug)]
pub enum ClaimAttempt {
    /// This replica holds the lease now; the ETag renews it.
    Claimed { etag: Option<String> },
    /// A live claimant holds it.
    HeldBy(LeaseRecord),
}

impl Bucket {
    pub fn lease_path(&self, key: &str) -> ObjectPath {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.path(&format!("leases/{}/{name}.json", &name[..2]))
    }

    /// Creates the lease on `key`, or takes over one that has expired.
    pub async fn try_claim(&self, key: &str, claimant: &str) -> Result<ClaimAttempt, BucketError> {
        let path = self.lease_path(key);
        for _ in 0..4 {
            let (mode, expired) = match self.read_lease(&path).await? {
                None => (PutMode::Create, None),
                Some((held, _)) if held.expires_at_ms > super::now_ms() => {
                    return Ok(ClaimAttempt::HeldBy(held))
                }
                Some((held, etag)) => {
                    let mode = PutMode::Update(UpdateVersion {
                        e_tag: etag,
                        version: None,
                    });
                    (mode, Some(held))
                }
            };
            match self.write_lease(&path, key, claimant, mode).await {
                Ok(etag) => {
                    if let Some(held) = expired {
                        self.metrics.takeovers.inc();
                        tracing::warn!(%key, claimant = %held.claimant, "took over an expired fleet lease (its claimant stopped renewing it); fetching the object here");
                    }
                    return Ok(ClaimAttempt::Claimed { etag });
                }
                // Another replica created or took it over first: look again.
                Err(BucketError::Store(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                )) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(BucketError::Io(std::io::Error::other(
            "claiming a fleet lease lost the race 4 times in a row",
        )))
    }

    async fn read_lease(
        &self,
        path: &ObjectPath,
    ) -> Result<Option<(LeaseRecord, Option<String>)>, BucketError> {
        self.call("reading a fleet lease", async {
            let got = match self.store.get(path).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            let etag = got.meta.e_tag.clone();
            let bytes = got.bytes().await?;
            match serde_json::from_slice::<LeaseRecord>(&bytes) {
                Ok(record) => Ok(Some((record, etag))),
                // Unreadable: treated as expired, so it is replaced.
                Err(_) => Ok(Some((
                    LeaseRecord {
                        key: String::new(),
                        claimant: "(unreadable)".into(),
                        expires_at_ms: 0,
                    },
                    etag,
                ))),
            }
        })
        .await
    }

    async fn write_lease(
        &self,
        path: &ObjectPath,
        key: &str,
        claimant: &str,
        mode: PutMode,
    ) -> Result<Option<String>, BucketError> {
        let record = LeaseRecord {
            key: key.to_string(),
            claimant: claimant.to_string(),
            expires_at_ms: super::now_ms() + LEASE_TTL.as_millis() as u64,
        };
        let bytes = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        self.call("writing a fleet lease", async {
            let options = PutOptions {
                mode,
                ..PutOptions::default()
            };
            let put = self
                .store
                .put_opts(path, PutPayload::from(bytes), options)
                .await?;
            Ok(put.e_tag)
        })
        .await
    }

    /// Deletes this replica's lease on `key` (if another replica took it over, it stays).
    async fn release(&self, key: &str, claimant: &str) -> Result<(), BucketError> {
        let path = self.lease_path(key);
        match self.read_lease(&path).await? {
            Some((held, _)) if held.claimant == claimant => {
                self.call("deleting a fleet lease", async {
                    match self.store.delete(&path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                        Err(err) => Err(err.into()),
                    }
                })
                .await
            }
            _ => Ok(()),
        }
    }
}

/// A lease this replica holds: renewed in the background until dropped, then deleted.
pub struct FleetLease {
    pub key: String,
    bucket: Arc<Bucket>,
    claimant: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl FleetLease {
    pub fn new(bucket: Arc<Bucket>, key: &str, claimant: &str, etag: Option<String>) -> Self {
        let renewer = tokio::spawn(renew(
            bucket.clone(),
            key.to_string(),
            claimant.to_string(),
            etag,
        ));
        FleetLease {
            key: key.to_string(),
            bucket,
            claimant: claimant.to_string(),
            renewer,
        }
    }
}

impl Drop for FleetLease {
    fn drop(&mut self) {
        self.renewer.abort();
        let (bucket, key, claimant) =
            (self.bucket.clone(), self.key.clone(), self.claimant.clone());
        // Best effort: a lease left behind expires on its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(err) = bucket.release(&key, &claimant).await {
                    tracing::debug!(%key, error = %err, "could not delete a fleet lease; it expires on its own");
                }
            });
        }
    }
}

async fn renew(bucket: Arc<Bucket>, key: String, claimant: String, mut etag: Option<String>) {
    let path = bucket.lease_path(&key);
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let mode = PutMode::Update(UpdateVersion {
            e_tag: etag.clone(),
            version: None,
        });
        match bucket.write_lease(&path, &key, &claimant, mode).await {
            Ok(renewed) => etag = renewed,
            Err(BucketError::Store(object_store::Error::Precondition { .. })) => {
                tracing::warn!(%key, "another replica took over this replica's fleet lease (it was not renewed in time); both may fetch the object");
                return;
            }
            Err(err) => {
                tracing::debug!(%key, error = %err, "could not renew a fleet lease; trying again");
            }
        }
    }
}
