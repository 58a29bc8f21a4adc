//! What the supply-chain policy (`[policy]`: release age, deny lists) needs from an ecosystem,
//! as data and pure functions: where a release's publish time is stated, which versions a
//! metadata document offers, and how to write the document without some of them.
//!
//! The engine obtains the documents (through the cache) and decides; the adapter only reads and
//! writes its own formats.

use crate::Object;
use std::collections::{HashMap, HashSet};

/// Publish times, in seconds since the Unix epoch, keyed as [`Offer::key`] is: by version (npm,
/// Go) or by file name (PyPI, whose times are per file).
pub type PublishTimes = HashMap<String, i64>;

/// The keys of offers a policy withholds from a metadata document.
pub type Withheld = HashSet<String>;

/// Where the publish times that judge an object (an artifact, or a metadata document's offers)
/// are stated.
#[derive(Clone, Debug)]
pub enum TimesSource {
    /// Nowhere larder can read: a release-age rule refuses (fails closed) unless the ecosystem
    /// says age does not apply to it ([`AgeRules`]).
    Unknown,
    /// In the object's own body (npm's full packument, PyPI's JSON page, Go's `@latest`).
    Itself,
    /// In another object's body, obtained through the cache: npm's full packument for the
    /// abbreviated one and for tarballs, PyPI's JSON page for the HTML page and for files, a Go
    /// version's `.info` for its zip.
    Object(Box<Object>),
    /// In one object per offered version (Go's `@v/list`: each version's `.info`), named by
    /// [`crate::Ecosystem::version_times`].
    PerVersion,
}

/// Whether release-age rules (`min_age`, `exclude_newer`) mean anything for an ecosystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgeRules {
    /// Publish times exist (or should): a release without one is refused while an age rule
    /// applies.
    Apply,
    /// Age does not fit the ecosystem; the text says why (apt: a signed archive is a snapshot
    /// whose Release file names every index by hash, so withholding a package by age would
    /// break the signature or leave dependencies unsatisfiable). Only deny rules apply.
    DoNotApply(&'static str),
}

/// One release a metadata document offers, which a policy may withhold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The package in the ecosystem's own spelling (as [`crate::Release::package`]).
    pub package: String,
    pub version: String,
    /// What the publish time is keyed by, and what [`crate::Ecosystem::withhold`] takes:
    /// the version, or (PyPI) the file name.
    pub key: String,
}

/// Parses an RFC 3339 timestamp (`2023-01-01T00:00:00.000Z`, `2023-01-01T01:00:00+01:00`, or a
/// bare date `2023-01-01`, read as midnight UTC) into seconds since the Unix epoch. Fractions
/// of a second are dropped. `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Some(days * 86_400);
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 19 {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = rest[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60)
        }
    };
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Formats seconds since the Unix epoch as `2023-01-01T00:00:00Z`.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let in_day = seconds.rem_euclid(86_400);
    // Inverse of `days_from_civil` (Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_of_every_ecosystem_parse_and_print_back() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2023-01-01T00:00:00.000Z"),
            Some(1_672_531_200)
        );
        assert_eq!(parse_rfc3339("2023-01-01"), Some(1_672_531_200));
        assert_eq!(
            parse_rfc3339("2023-01-01T01:00:00.123456+01:00"),
            Some(1_672_531_200)
        );
        assert_eq!(parse_rfc3339("2024-02-29T12:34:56Z"), Some(1_709_210_096));
        assert_eq!(format_rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-01-01T25:00:00Z",
            "2023-01-01Tx",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn any_corruption_of_a_timestamp_is_none_or_a_time_never_a_panic() {
        crate::testing::sweep(b"2023-01-01T01:00:00.123+01:00", |bytes| {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = parse_rfc3339(text);
            }
        });
    }
}
