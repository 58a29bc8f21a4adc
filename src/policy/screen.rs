//! The metadata hook: a document that offers releases (a packument, a simple page, `@v/list`)
//! is served without the ones the policy excludes.
//!
//! Filtering happens as the document is served, never in the store: the stored bytes stay
//! upstream's, so a policy change takes effect at the next request and one store can serve two
//! policies. The document is read whole (at most [`times::MAX_DOCUMENT`]; a larger one is
//! refused, not served unchecked), with the document that states its times; the adapter lists
//! its offers and writes it again without the withheld ones, on the blocking pool. Peak memory
//! per request is about three times the document: its bytes, the times document's, and the
//! filtered copy; at most [`super::MAX_FILTERS`] documents are filtered at once. Time: a 10 MB packument of 5000 versions takes 6.5 ms to read times from,
//! 7.5 ms to list and 30 ms to write again without two versions (release build, 2 shared
//! cores: `cargo test -p larder-npm --release -- --ignored --nocapture measure_filtering`).
//! A document from which nothing is withheld is served as usual, with its usual
//! ETag; a filtered one is sent whole from memory with an ETag of its own bytes.

use super::download::{now_seconds, refused};
use super::{times, Policy, Refusal};
use crate::engine::{Engine, Found, Mounted};
use crate::fill::{await_end, FillState, Outcome};
use crate::respond::{self, Response, Want};
use crate::store::read_whole;
use futures_util::TryStreamExt;
use http::StatusCode;
use larder_adapter::{Object, Withheld};
use sha2::Digest as _;
use std::sync::Arc;

/// What the hook made of a response.
pub enum Screened {
    /// Serve it as found.
    Pass(Found),
    /// Serve this instead.
    Answer(Response),
}

/// A document's bytes, and whether the found copy can still be served as it is.
struct Read {
    body: Vec<u8>,
    content_type: Option<String>,
    /// `None` once the body had to be consumed (a pass-through while the store refuses writes).
    found: Option<Found>,
}

pub async fn screen(
    policy: &Policy,
    engine: &Arc<Engine>,
    eco: &Arc<Mounted>,
    object: &Object,
    found: Found,
    want: &Want,
) -> Screened {
    let Some(rules) = policy.for_eco(eco) else {
        return Screened::Pass(found);
    };
    if !object.is_metadata()
        || !eco.adapter.lists_releases(object)
        || !policy.could_refuse(eco, rules)
    {
        return Screened::Pass(found);
    }
    // Never closed; were it, the document would not be served unfiltered.
    let Ok(_permit) = policy.filters.acquire().await else {
        return Screened::Answer(respond::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "larder is shutting down; retry\n".into(),
        ));
    };
    let read = match read(engine, found).await {
        Ok(read) => read,
        Err(screened) => return screened,
    };
    let body = Arc::new(read.body);
    let offers = {
        let (eco, object, body) = (eco.clone(), object.clone(), body.clone());
        tokio::task::spawn_blocking(move || eco.adapter.offers(&object, &body)).await
    };
    let offers = match offers {
        Ok(Some(Ok(offers))) => offers,
        Ok(None) => return unchanged(eco, object, read.found, body, read.content_type, want),
        Ok(Some(Err(why))) => return Screened::Answer(unreadable(object, &why)),
        Err(join) => return Screened::Answer(unreadable(object, &join.to_string())),
    };
    let published = match rules.needs_times() {
        true => times::of_offers(engine, eco, object, &body, &offers).await,
        false => Default::default(),
    };
    let now = now_seconds(engine);
    let mut withheld = Withheld::new();
    let mut first: Option<Refusal> = None;
    for offer in &offers {
        let time = published.get(&offer.key).copied();
        if let Some(refusal) = policy.judge(eco, rules, &offer.package, &offer.version, time, now) {
            withheld.insert(offer.key.clone());
            first.get_or_insert(refusal);
        }
    }
    let Some(first) = first else {
        return unchanged(eco, object, read.found, body, read.content_type, want);
    };
    policy.report.withheld(eco.name(), withheld.len());
    let count = withheld.len();
    let filtered = {
        let (eco, object, body) = (eco.clone(), object.clone(), body.clone());
        tokio::task::spawn_blocking(move || eco.adapter.withhold(&object, &body, &withheld)).await
    };
    match filtered {
        Ok(Ok(filtered)) => Screened::Answer(respond::filtered(
            eco,
            object,
            read.content_type.as_deref(),
            filtered,
            count,
            want,
        )),
        // Nothing can remain (Go's `@latest` names one version): the release's refusal.
        Ok(Err(_)) => Screened::Answer(refused(policy, eco, &first, now, "metadata")),
        Err(join) => Screened::Answer(unreadable(object, &join.to_string())),
    }
}

/// The document as found, or (when its body had to be consumed) its bytes as read.
fn unchanged(
    eco: &Mounted,
    object: &Object,
    found: Option<Found>,
    body: Arc<Vec<u8>>,
    content_type: Option<String>,
    want: &Want,
) -> Screened {
    match found {
        Some(found) => Screened::Pass(found),
        None => Screened::Answer(respond::filtered(
            eco,
            object,
            content_type.as_deref(),
            Arc::unwrap_or_clone(body),
            0,
            want,
        )),
    }
}

/// The whole body of what the engine found, or what to answer when there is none to filter.
async fn read(engine: &Engine, found: Found) -> Result<Read, Screened> {
    let too_large = |len: u64| len > times::MAX_DOCUMENT as u64;
    match found {
        Found::Stored {
            ref blob,
            ref pointer,
            ..
        } => {
            if too_large(blob.len) {
                return Err(Screened::Answer(oversized(blob.len)));
            }
            let body = match &blob.content {
                Some(content) => content.to_vec(),
                None => match blob.file.try_clone() {
                    Ok(file) => read_whole(Arc::new(file))
                        .await
                        .map_err(|_| Screened::Pass(unreadable_copy()))?,
                    Err(_) => return Err(Screened::Answer(unreadable_store())),
                },
            };
            // Bytes not yet checked against their blob's name are checked here: a damaged
            // copy goes the usual way (quarantined, the response cut) instead of being parsed.
            if let Some(check) = blob.check.as_ref().filter(|c| c.needs_hashing()) {
                if !check.matches(&sha2::Sha256::digest(&body)) {
                    return Err(Screened::Pass(found));
                }
            }
            let content_type = pointer.content_type.clone();
            Ok(Read {
                body,
                content_type,
                found: Some(found),
            })
        }
        Found::Filling { ref head, ref rx } => {
            let mut rx = rx.clone();
            let stall = engine.client.limits().stall_wait();
            match await_end(&mut rx, stall).await {
                FillState::Body(progress)
                    if !matches!(progress.outcome, Some(Outcome::Failed(_))) => {}
                // The fill failed: its own response says how.
                _ => return Err(Screened::Pass(found)),
            }
            let body = match read_whole(head.file.clone()).await {
                Ok(body) if !too_large(body.len() as u64) => body,
                Ok(body) => return Err(Screened::Answer(oversized(body.len() as u64))),
                Err(_) => return Err(Screened::Answer(unreadable_store())),
            };
            let content_type = head.content_type.clone();
            Ok(Read {
                body,
                content_type,
                found: Some(found),
            })
        }
        Found::Direct(direct) => {
            let content_type = direct.content_type.clone();
            let chunks: Vec<bytes::Bytes> = match direct.body.try_collect().await {
                Ok(chunks) => chunks,
                Err(err) => {
                    return Err(Screened::Answer(respond::text(
                        StatusCode::BAD_GATEWAY,
                        format!("upstream's response broke off: {err}\n"),
                    )))
                }
            };
            Ok(Read {
                body: chunks.concat(),
                content_type,
                found: None,
            })
        }
        found @ (Found::Missing { .. } | Found::Failed(_)) => Err(Screened::Pass(found)),
    }
}

/// A stored copy that could not be re-read, answered as the store failure it is.
fn unreadable_copy() -> Found {
    Found::Failed(Arc::new(crate::upstream::UpstreamError::Storage {
        detail: "the stored copy could not be read to apply [policy]".into(),
    }))
}

fn oversized(len: u64) -> Response {
    respond::text(
        StatusCode::BAD_GATEWAY,
        format!(
            "this document is {len} bytes, more than the {} MiB larder reads to apply [policy]; it is not served unfiltered\n",
            times::MAX_DOCUMENT >> 20
        ),
    )
}

fn unreadable(object: &Object, why: &str) -> Response {
    respond::text(
        StatusCode::BAD_GATEWAY,
        format!(
            "larder cannot read {} to apply [policy] ({why}); it is not served unfiltered. Upstream sent a document larder does not understand\n",
            object.upstream
        ),
    )
}

fn unreadable_store() -> Response {
    respond::text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the stored copy could not be read to apply [policy]; see larder's log\n".into(),
    )
}
