//! Publish times, from the documents the adapter names ([`TimesSource`]), obtained through the
//! cache as listed digests are (so a warm cache decides offline) and parsed on the blocking
//! pool. A document that lacks a release is revalidated once (at most every 10 s per object),
//! since a cached copy may predate the release.

use crate::engine::{Engine, Mounted};
use futures_util::stream::{self, StreamExt};
use larder_adapter::{Object, Offer, PublishTimes, Release, TimesSource};
use std::sync::Arc;

/// The largest document the policy reads whole (a packument, a simple page, the times it
/// states): larger ones are refused rather than served unchecked. npm's largest full packuments
/// are a few tens of MB.
pub const MAX_DOCUMENT: usize = 64 << 20;

/// How many `.info` documents are obtained at once for one `@v/list`.
const PER_VERSION_CONCURRENCY: usize = 8;

/// The publish time of the release `artifact` is, if upstream states one.
pub async fn of_artifact(
    engine: &Arc<Engine>,
    eco: &Arc<Mounted>,
    artifact: &Object,
    release: &Release,
) -> Option<i64> {
    let key = eco.adapter.time_key(artifact, release);
    let source = match eco.adapter.times_source(artifact) {
        TimesSource::Object(source) => *source,
        TimesSource::Itself => artifact.clone(),
        TimesSource::PerVersion | TimesSource::Unknown => return None,
    };
    for force in [false, true] {
        let times = times_in(engine, eco, &source, force).await;
        if let Some(at) = times.get(&key) {
            return Some(*at);
        }
    }
    None
}

/// The publish times of what a metadata document (`object`, whose body is `body`) offers.
pub async fn of_offers(
    engine: &Arc<Engine>,
    eco: &Arc<Mounted>,
    object: &Object,
    body: &Arc<Vec<u8>>,
    offers: &[Offer],
) -> PublishTimes {
    match eco.adapter.times_source(object) {
        TimesSource::Unknown => PublishTimes::new(),
        TimesSource::Itself => parse(eco, object, body.clone()).await,
        TimesSource::Object(source) => {
            let times = times_in(engine, eco, &source, false).await;
            match offers.iter().all(|offer| times.contains_key(&offer.key)) {
                true => times,
                false => times_in(engine, eco, &source, true).await,
            }
        }
        TimesSource::PerVersion => {
            let mut versions: Vec<&str> = offers.iter().map(|o| o.version.as_str()).collect();
            versions.dedup();
            let sources: Vec<Object> = versions
                .into_iter()
                .filter_map(|version| eco.adapter.version_times(object, version))
                .collect();
            let all: Vec<PublishTimes> = stream::iter(sources)
                .map(|source| async move { times_in(engine, eco, &source, false).await })
                .buffer_unordered(PER_VERSION_CONCURRENCY)
                .collect()
                .await;
            all.into_iter().flatten().collect()
        }
    }
}

/// The times `source` states (none if it cannot be had, or is too large).
async fn times_in(
    engine: &Arc<Engine>,
    eco: &Arc<Mounted>,
    source: &Object,
    force: bool,
) -> PublishTimes {
    match engine.index_body(eco, source, force).await {
        Some(body) if body.len() <= MAX_DOCUMENT => parse(eco, source, Arc::new(body)).await,
        Some(body) => {
            tracing::warn!(key = %source.key, bytes = body.len(), "too large to read publish times from; its releases count as having none");
            PublishTimes::new()
        }
        None => PublishTimes::new(),
    }
}

async fn parse(eco: &Arc<Mounted>, source: &Object, body: Arc<Vec<u8>>) -> PublishTimes {
    let (eco, source) = (eco.clone(), source.clone());
    tokio::task::spawn_blocking(move || eco.adapter.publish_times(&source, &body))
        .await
        .unwrap_or_default()
}
