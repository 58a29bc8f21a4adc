//! The engine's one decision, as a pure function: given what is cached and the situation, what
//! happens to a request. No I/O, no clock (the copy's age is an input), so every case is a row
//! of the table test below; `Engine::find` carries the phase out.

use larder_adapter::Freshness;
use std::time::Duration;

/// What the engine knows of the cached copy when it decides.
#[derive(Clone, Copy, Debug)]
pub struct CachedCopy {
    /// Since upstream last confirmed it.
    pub age: Duration,
    /// A remembered 404/410 rather than a body.
    pub negative: bool,
}

/// Everything else the decision depends on.
#[derive(Clone, Copy, Debug)]
pub struct Situation {
    pub freshness: Freshness,
    /// The client asked for a revalidation now (`no-cache`), and the rate limit allows it.
    pub forced: bool,
    /// `--offline`: upstream is never contacted.
    pub offline: bool,
    /// The store refused a write lately (a full disk): misses pass through uncached.
    pub store_refuses_writes: bool,
    /// The object is published as one set with others (`Ecosystem::published_with`).
    pub member_of_set: bool,
    /// The upstream's breaker is open (`upstream::Availability::Down`); `probe_due`: this
    /// request may carry the probe.
    pub upstream_down: bool,
    pub probe_due: bool,
    /// How long past its TTL a copy is served at once while it is revalidated in the background.
    pub stale_while_revalidate: Duration,
}

/// What happens to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Serve the cached copy (or its remembered 404) as it is.
    Serve,
    /// Serve the stale copy at once, and revalidate it in the background if `revalidate`:
    /// upstream is down (the revalidation is then the probe), or the copy is within the
    /// stale-while-revalidate bound.
    ServeStale { why: Stale, revalidate: bool },
    /// Offline, and nothing is cached: 424 (`UpstreamError::client_status`).
    Unavailable,
    /// Stream from upstream uncached; the cached copy, if any, stands in when upstream fails.
    Bypass,
    /// Refresh the whole set the object belongs to, then serve it.
    RefreshSet,
    /// One fill (shared by concurrent requests). With a copy in hand it is a revalidation: the
    /// client waits at most `stale_timeout`, and gets the copy when upstream fails.
    Fill { revalidating: bool },
}

/// Why a stale copy is served without waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    UpstreamDown,
    Revalidating,
}

pub fn decide(copy: Option<CachedCopy>, situation: &Situation) -> Phase {
    if let Some(copy) = copy {
        if is_fresh(copy, situation) || situation.offline {
            return Phase::Serve;
        }
        if situation.upstream_down {
            return Phase::ServeStale {
                why: Stale::UpstreamDown,
                revalidate: situation.probe_due,
            };
        }
        // A remembered 404 is never served past its TTL unasked: it must not hide a release
        // for long. A client's `no-cache` (npm, after a version it wanted was missing) waits.
        if !copy.negative && !situation.forced && within_grace(copy, situation) {
            return Phase::ServeStale {
                why: Stale::Revalidating,
                revalidate: true,
            };
        }
    } else if situation.offline {
        return Phase::Unavailable;
    }
    if situation.store_refuses_writes {
        return Phase::Bypass;
    }
    if situation.member_of_set {
        return Phase::RefreshSet;
    }
    Phase::Fill {
        revalidating: copy.is_some(),
    }
}

fn within_grace(copy: CachedCopy, situation: &Situation) -> bool {
    match situation.freshness {
        Freshness::Immutable => true,
        Freshness::Mutable { ttl, .. } => copy.age < ttl + situation.stale_while_revalidate,
    }
}

fn is_fresh(copy: CachedCopy, situation: &Situation) -> bool {
    match situation.freshness {
        Freshness::Immutable => true,
        Freshness::Mutable { ttl, negative_ttl } => {
            let ttl = if copy.negative { negative_ttl } else { ttl };
            copy.age < ttl && !situation.forced
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(300);
    const NEGATIVE_TTL: Duration = Duration::from_secs(60);
    const MUTABLE: Freshness = Freshness::Mutable {
        ttl: TTL,
        negative_ttl: NEGATIVE_TTL,
    };

    fn copy(age_secs: u64, negative: bool) -> Option<CachedCopy> {
        Some(CachedCopy {
            age: Duration::from_secs(age_secs),
            negative,
        })
    }

    fn situation(freshness: Freshness) -> Situation {
        Situation {
            freshness,
            forced: false,
            offline: false,
            store_refuses_writes: false,
            member_of_set: false,
            upstream_down: false,
            probe_due: false,
            stale_while_revalidate: Duration::ZERO,
        }
    }

    #[test]
    fn the_phase_table() {
        let immutable = situation(Freshness::Immutable);
        let mutable = situation(MUTABLE);
        let forced = Situation {
            forced: true,
            ..mutable
        };
        let offline = Situation {
            offline: true,
            ..mutable
        };
        let full_disk = Situation {
            store_refuses_writes: true,
            ..mutable
        };
        let in_set = Situation {
            member_of_set: true,
            ..mutable
        };
        let fill = Phase::Fill {
            revalidating: false,
        };
        let revalidate = Phase::Fill { revalidating: true };
        let grace = Situation {
            stale_while_revalidate: Duration::from_secs(600),
            ..mutable
        };
        let down = Situation {
            upstream_down: true,
            ..mutable
        };
        let probe = Situation {
            probe_due: true,
            ..down
        };
        let in_background = Phase::ServeStale {
            why: Stale::Revalidating,
            revalidate: true,
        };
        let down_no_probe = Phase::ServeStale {
            why: Stale::UpstreamDown,
            revalidate: false,
        };
        let down_probe = Phase::ServeStale {
            why: Stale::UpstreamDown,
            revalidate: true,
        };
        #[rustfmt::skip]
        let table: &[(&str, Option<CachedCopy>, Situation, Phase)] = &[
            ("an artifact, cached, however old",     copy(1_000_000, false), immutable, Phase::Serve),
            ("an artifact, not cached",              None,                   immutable, fill),
            ("metadata within its TTL",              copy(299, false),       mutable,   Phase::Serve),
            ("metadata past its TTL",                copy(300, false),       mutable,   revalidate),
            ("metadata within its TTL, forced",      copy(10, false),        forced,    revalidate),
            ("an artifact, forced, stays a hit",     copy(10, false),        Situation { forced: true, ..immutable }, Phase::Serve),
            ("a remembered 404 within its TTL",      copy(59, true),         mutable,   Phase::Serve),
            ("a remembered 404 past its TTL",        copy(60, true),         mutable,   revalidate),
            ("offline, stale metadata",              copy(10_000, false),    offline,   Phase::Serve),
            ("offline, a stale 404",                 copy(10_000, true),     offline,   Phase::Serve),
            ("offline, nothing cached",              None,                   offline,   Phase::Unavailable),
            ("offline beats a full disk",            None,                   Situation { store_refuses_writes: true, ..offline }, Phase::Unavailable),
            ("a full disk, a fresh copy",            copy(1, false),         full_disk, Phase::Serve),
            ("a full disk, a stale copy",            copy(301, false),       full_disk, Phase::Bypass),
            ("a full disk, nothing cached",          None,                   full_disk, Phase::Bypass),
            ("a set member, fresh",                  copy(1, false),         in_set,    Phase::Serve),
            ("a set member, stale",                  copy(301, false),       in_set,    Phase::RefreshSet),
            ("a set member, not cached",             None,                   in_set,    Phase::RefreshSet),
            ("a full disk beats a set refresh",      None,                   Situation { store_refuses_writes: true, ..in_set }, Phase::Bypass),
            ("stale within the grace: at once",      copy(301, false),       grace,     in_background),
            ("stale past the grace: wait",           copy(901, false),       grace,     revalidate),
            ("within the grace, forced: wait",       copy(301, false),       Situation { forced: true, ..grace }, revalidate),
            ("a stale 404 is never served in grace", copy(61, true),         grace,     revalidate),
            ("a set member in grace",                copy(301, false),       Situation { member_of_set: true, ..grace }, in_background),
            ("upstream down, a stale copy",          copy(10_000, false),    down,      down_no_probe),
            ("upstream down, the probe is due",      copy(10_000, false),    probe,     down_probe),
            ("upstream down, forced: still at once", copy(10, false),        Situation { forced: true, ..down }, down_no_probe),
            ("upstream down, a stale 404",           copy(61, true),         down,      down_no_probe),
            ("upstream down, nothing cached: try",   None,                   down,      fill),
            ("upstream down, a fresh copy",          copy(1, false),         down,      Phase::Serve),
        ];
        for (case, copy, situation, expected) in table {
            assert_eq!(decide(*copy, situation), *expected, "{case}");
        }
    }
}
