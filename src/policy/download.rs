//! The download hook: an artifact the policy excludes is refused with 403 before the store is
//! even asked, so a cached copy never bypasses the rules, and nothing is fetched for it.

use super::{times, Policy, Refusal};
use crate::engine::{Engine, Mounted};
use crate::respond::{self, Response};
use larder_adapter::Object;
use std::sync::Arc;

/// The 403 for `object`, if the policy refuses the release it is.
pub async fn check(
    policy: &Policy,
    engine: &Arc<Engine>,
    eco: &Arc<Mounted>,
    object: &Object,
) -> Option<Response> {
    let rules = policy.for_eco(eco)?;
    if object.is_metadata() {
        return None;
    }
    let release = eco.adapter.release(object)?;
    let now = now_seconds(engine);
    // Deny entries and records need no time; the age rules do, unless the release is allowed.
    let published = match rules.needs_times()
        && !policy.is_allowed(eco, rules, &release.package, &release.version)
    {
        true => times::of_artifact(engine, eco, object, &release).await,
        false => None,
    };
    let refusal = policy.judge(
        eco,
        rules,
        &release.package,
        &release.version,
        published,
        now,
    )?;
    Some(refused(policy, eco, &refusal, now, "download"))
}

/// Counts a refusal and answers it in the ecosystem's error form (plus a reason phrase that
/// says the same for clients that print only the status line).
pub fn refused(
    policy: &Policy,
    eco: &Mounted,
    refusal: &Refusal,
    now: i64,
    at: &'static str,
) -> Response {
    policy.report.refused(refusal, now, at);
    let message = refusal.message(now);
    tracing::info!(ecosystem = eco.name(), package = %refusal.package, version = %refusal.version, rule = refusal.rule.label(), "{message}");
    respond::refused(eco.adapter.refusal(&message), refusal.reason_phrase())
}

/// The engine's clock in seconds (tests move it).
pub fn now_seconds(engine: &Engine) -> i64 {
    (engine.clock.now_ms() / 1000) as i64
}
