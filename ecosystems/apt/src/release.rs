//! Reading a suite's `InRelease` or `Release`: the checksum lists that name every index file.
//!
//! A Release file is one deb822 paragraph. Its `SHA256:` field (also `SHA512:`, `SHA1:`,
//! `MD5Sum:`) is multi-line: one ` <hex> <size> <path relative to dists/<suite>/>` per line.
//! `InRelease` is the same text inside an OpenPGP cleartext signature (RFC 4880 §7), which adds
//! an armor header, dash-escapes lines that begin with `-`, and appends the signature.
//!
//! Written by hand rather than with a deb822 crate: we need three fields of one paragraph, the
//! crates that parse deb822 either build a lossless syntax tree (`deb822-lossless`: rowan and
//! regex, far more than a lookup needs) or bring HTTP and PGP stacks with them
//! (`debian-packaging`), which an adapter that does no I/O must not depend on. This reader is
//! linear, allocation-light, works on bytes (a non-UTF-8 byte cannot make it fail) and is fuzzed.
//! It does not check the signature: apt does that, with keys larder never holds.

use larder_adapter::{Algorithm, Digest};

const SIGNED_HEADER: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const SIGNATURE_HEADER: &str = "-----BEGIN PGP SIGNATURE-----";

/// What a Release file says about one index path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Listed with a digest larder can check (the strongest of SHA512, SHA256).
    Digest(Digest),
    /// Listed only under MD5Sum or SHA1.
    WeakOnly,
    /// Not listed.
    Absent,
}

/// The signed text of a Release or InRelease body, as lines (armor and dash-escapes removed).
fn signed_lines(body: &[u8]) -> Vec<&str> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        // Release files are ASCII; keep what decodes (the fields we read come first).
        Err(err) => std::str::from_utf8(&body[..err.valid_up_to()]).unwrap_or_default(),
    };
    let mut lines = text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let mut first = lines.clone().find(|line| !line.trim().is_empty());
    if first.map(str::trim_end) != Some(SIGNED_HEADER) {
        return text.lines().collect();
    }
    // Skip up to and including the armor header ("Hash: SHA512") and the blank line after it.
    for line in lines.by_ref() {
        if first.take().is_some() {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
    }
    lines
        .take_while(|line| line.trim_end() != SIGNATURE_HEADER)
        .map(|line| line.strip_prefix("- ").unwrap_or(line))
        .collect()
}

/// The first paragraph's fields: (name, value lines), where a multi-line field's first value line
/// is whatever followed the colon.
fn fields<'a>(lines: &[&'a str]) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    for &line in lines {
        if line.trim().is_empty() {
            if out.is_empty() {
                continue;
            }
            break; // end of the first paragraph
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, values)) = out.last_mut() {
                values.push(line.trim());
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim(), vec![value.trim()]));
        }
    }
    out
}

fn listed_in<'a>(values: &[&'a str], path: &str) -> Option<&'a str> {
    values.iter().find_map(|line| {
        let mut parts = line.split_whitespace();
        let hex = parts.next()?;
        let _size = parts.next()?;
        let name = parts.next()?;
        (name == path && parts.next().is_none()).then_some(hex)
    })
}

/// Looks `path` (relative to the Release file's directory) up in a Release or InRelease body.
pub fn lookup(body: &[u8], path: &str) -> Entry {
    let lines = signed_lines(body);
    let fields = fields(&lines);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    for (name, algorithm) in [("SHA256", Algorithm::Sha256), ("SHA512", Algorithm::Sha512)] {
        if let Some(hex) = field(name).and_then(|values| listed_in(values, path)) {
            return match Digest::from_hex(algorithm, hex) {
                Some(digest) => Entry::Digest(digest),
                // Listed, but with a malformed digest: nothing larder can check against.
                None => Entry::WeakOnly,
            };
        }
    }
    let weak = ["SHA1", "MD5Sum"].iter().any(|name| {
        field(name)
            .and_then(|values| listed_in(values, path))
            .is_some()
    });
    if weak {
        Entry::WeakOnly
    } else {
        Entry::Absent
    }
}

/// Every (path, digest) the SHA256 field lists (the SHA512 field if there is no SHA256), paths
/// relative to the Release file's directory.
pub fn entries(body: &[u8]) -> Vec<(String, Digest)> {
    let lines = signed_lines(body);
    let fields = fields(&lines);
    for (name, algorithm) in [("SHA256", Algorithm::Sha256), ("SHA512", Algorithm::Sha512)] {
        let Some((_, values)) = fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        return values
            .iter()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let digest = Digest::from_hex(algorithm, parts.next()?)?;
                let _size = parts.next()?;
                let path = parts.next()?;
                parts.next().is_none().then(|| (path.to_string(), digest))
            })
            .collect();
    }
    Vec::new()
}

/// The `Valid-Until` field as written (`Sat, 07 Dec 2026 08:10:41 UTC`), if any.
pub fn valid_until(body: &[u8]) -> Option<String> {
    let lines = signed_lines(body);
    fields(&lines)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Valid-Until"))
        .and_then(|(_, values)| values.first().map(|value| value.to_string()))
}

/// When a Release body stops being acceptable to apt, in seconds since the Unix epoch: its
/// `Valid-Until`, if present and parseable. For the engine's "serving an expired InRelease"
/// warning (see the crate docs); the adapter has no clock, so the engine compares.
pub fn valid_until_unix(body: &[u8]) -> Option<i64> {
    parse_release_date(&valid_until(body)?)
}

/// Seconds since the Unix epoch for an RFC 2822 date as apt writes it in Release files
/// (`Sat, 07 Dec 2026 08:10:41 UTC`; also `+0000` offsets and no weekday). `None` if it does
/// not parse; the engine would then say nothing rather than guess.
pub fn parse_release_date(date: &str) -> Option<i64> {
    let date = date.trim();
    let date = match date.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => date,
    };
    let mut parts = date.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    let zone = parts.next().unwrap_or("UTC");
    if parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month_index = MONTHS.iter().position(|m| month.eq_ignore_ascii_case(m))?;
    let month = i64::try_from(month_index).ok()? + 1;
    let mut hms = time.split(':');
    let hour: i64 = hms.next()?.parse().ok()?;
    let minute: i64 = hms.next()?.parse().ok()?;
    let second: i64 = hms.next().unwrap_or("0").parse().ok()?;
    if hms.next().is_some()
        || !(1..=31).contains(&day)
        || !(1970..=9999).contains(&year)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let offset = match zone.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" => 0,
        numeric => {
            let (sign, digits) = match numeric.as_bytes().first()? {
                b'+' => (1, &numeric[1..]),
                b'-' => (-1, &numeric[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits[..2].parse().ok()?;
            let minutes: i64 = digits[2..].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN_RELEASE: &[u8] = include_bytes!("../tests/data/InRelease");

    fn sha256(hex: &str) -> Entry {
        Entry::Digest(Digest::from_hex(Algorithm::Sha256, hex).unwrap())
    }

    #[test]
    fn finds_sha256_of_listed_index() {
        assert_eq!(
            lookup(IN_RELEASE, "main/binary-amd64/Packages.xz"),
            sha256("8cb0e1aab8f3e5a4d05b3f4c3c4a3b2d5b1e6cfd1d1a64a0c1a5e2a2e1f6f1a2")
        );
        assert_eq!(
            lookup(IN_RELEASE, "main/i18n/Translation-en.bz2"),
            sha256("0d6c8a3a4c5e1f2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70819203")
        );
    }

    #[test]
    fn a_prefix_or_suffix_of_a_listed_path_is_absent() {
        assert_eq!(
            lookup(IN_RELEASE, "main/binary-amd64/Packages.x"),
            Entry::Absent
        );
        assert_eq!(
            lookup(IN_RELEASE, "binary-amd64/Packages.xz"),
            Entry::Absent
        );
        assert_eq!(
            lookup(IN_RELEASE, "contrib/binary-amd64/Packages.xz"),
            Entry::Absent
        );
    }

    #[test]
    fn entries_lists_the_sha256_field() {
        let entries = entries(IN_RELEASE);
        assert_eq!(entries.len(), 8);
        assert_eq!(entries[2].0, "main/binary-amd64/Packages.xz");
        assert_eq!(
            entries[2].1.to_hex(),
            "8cb0e1aab8f3e5a4d05b3f4c3c4a3b2d5b1e6cfd1d1a64a0c1a5e2a2e1f6f1a2"
        );
        assert!(super::entries(b"MD5Sum:\n 00 1 x\n").is_empty());
    }

    #[test]
    fn md5_only_entries_are_weak() {
        assert_eq!(
            lookup(IN_RELEASE, "main/legacy/Packages.gz"),
            Entry::WeakOnly
        );
    }

    #[test]
    fn dash_escaped_lines_are_unescaped() {
        // RFC 4880 §7.1: a signer must escape lines starting with '-' and may escape any other.
        let body = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n- SHA256:\n 0000000000000000000000000000000000000000000000000000000000000000 1 main/Packages\n- -----BEGIN PGP SIGNATURE----- not the end\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(
            lookup(body, "main/Packages"),
            sha256("0000000000000000000000000000000000000000000000000000000000000000")
        );
    }

    #[test]
    fn unsigned_release_and_crlf_work() {
        let body = b"Origin: x\r\nSHA256:\r\n 1111111111111111111111111111111111111111111111111111111111111111 9 main/Packages\r\n";
        assert_eq!(
            lookup(body, "main/Packages"),
            sha256("1111111111111111111111111111111111111111111111111111111111111111")
        );
    }

    #[test]
    fn the_signature_is_not_read_as_fields() {
        let body = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: x\n-----BEGIN PGP SIGNATURE-----\nSHA256:\n 1111111111111111111111111111111111111111111111111111111111111111 9 main/Packages\n";
        assert_eq!(lookup(body, "main/Packages"), Entry::Absent);
    }

    #[test]
    fn garbage_is_absent_not_a_panic() {
        for body in [
            &b""[..],
            b"\xff\xfe",
            b"-----BEGIN PGP SIGNED MESSAGE-----",
            b"SHA256:\n \n  x",
            b":\n:",
        ] {
            assert_eq!(lookup(body, "main/Packages"), Entry::Absent);
            let _ = valid_until(body);
        }
    }

    #[test]
    fn valid_until_is_read_from_the_signed_text() {
        assert_eq!(
            valid_until(IN_RELEASE).as_deref(),
            Some("Sat, 05 Dec 2026 20:22:51 UTC")
        );
        assert_eq!(valid_until(b"Origin: x\n"), None);
        assert_eq!(valid_until_unix(IN_RELEASE), Some(1_796_502_171));
    }

    #[test]
    fn release_dates_parse() {
        assert_eq!(parse_release_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_release_date("Sat, 05 Dec 2026 20:22:51 UTC"),
            Some(1_796_502_171)
        );
        assert_eq!(
            parse_release_date("05 Dec 2026 21:22:51 +0100"),
            Some(1_796_502_171)
        );
        assert_eq!(
            parse_release_date("Sun, 29 Feb 2032 00:00:00 GMT"),
            Some(1_961_625_600)
        );
        for bad in [
            "",
            "Sat, 05 Dek 2026 20:22:51 UTC",
            "05 Dec 2026 25:00:00",
            "1 2 3 4 5 6",
            "05 Dec 2026 20:22:51 EST",
        ] {
            assert_eq!(parse_release_date(bad), None, "{bad}");
        }
    }
}
