//! Metadata served past the validity its upstream declared (`Ecosystem::valid_until`: apt's
//! `Valid-Until`): the client will refuse it, so larder says why, in its log and the response.

use super::Mounted;
use crate::store::BlobFile;
use larder_adapter::Object;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How much of a metadata body `Ecosystem::valid_until` is given: its header fields.
const VALIDITY_HEAD: usize = 64 * 1024;

/// When a copy served unconfirmed (stale or offline) stopped being acceptable to clients, if
/// it has: logged, since the client will refuse it and nothing else would say why.
pub(super) async fn expired_copy(eco: &Mounted, object: &Object, blob: &BlobFile) -> Option<i64> {
    if let Some(growing) = &blob.growing {
        growing.finished().await.ok()?;
    }
    let head = match &blob.content {
        Some(content) => content.slice(..content.len().min(VALIDITY_HEAD)),
        None => {
            let file = std::sync::Arc::new(blob.file.try_clone().ok()?);
            crate::body::read_at(file, 0, blob.len.min(VALIDITY_HEAD as u64))
                .await
                .ok()?
        }
    };
    let valid_until = eco.adapter.valid_until(object, &head)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    if valid_until >= now {
        return None;
    }
    tracing::warn!(
        key = %object.key,
        valid_until = %valid_until_text(valid_until),
        "serving a cached copy past the validity its upstream declared, because upstream \
         cannot be reached: clients will refuse it until upstream is back"
    );
    Some(valid_until)
}

/// A `valid_until` time as RFC 3339 (`2026-11-20T08:00:00Z`), for logs and headers.
pub fn valid_until_text(unix_seconds: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(unix_seconds.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}
