//! `[policy]` end to end: the real `larder` binary in front of fixture registries whose
//! versions were published at controlled times (relative to now), driven by the real npm, pip,
//! uv and go clients. Each test asserts what a build would see: what gets installed, and the
//! refusal larder's 403 puts in the client's output.
//!
//! Tools come from `.ci/install/npm.sh`, `pypi.sh` and `go.sh`.

#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../npm/client.rs"]
mod npm_client;
#[allow(dead_code)]
#[path = "../npm/fixture.rs"]
mod npm_fixture;

mod cargo;
mod go;
mod live;
mod npm;
mod pypi;

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs() as i64
}

pub const DAY: i64 = 86_400;

/// `seconds` since the epoch as RFC 3339 with milliseconds, as npm's registry writes times.
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(DAY);
    let in_day = seconds.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}
