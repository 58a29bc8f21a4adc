//! Reading the served-log back: every file, oldest first, a torn last line (a process killed
//! mid-write) and any line that is not a record skipped and counted.

use super::Record;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Which records an export takes.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// From this time on, unix milliseconds (inclusive).
    pub since_ms: Option<u64>,
    /// Before this time, unix milliseconds (exclusive).
    pub until_ms: Option<u64>,
    pub build: Option<String>,
}

impl Filter {
    pub fn accepts(&self, record: &Record) -> bool {
        !self.since_ms.is_some_and(|since| record.at_ms < since)
            && !self.until_ms.is_some_and(|until| record.at_ms >= until)
            && !self
                .build
                .as_ref()
                .is_some_and(|build| record.build.as_ref() != Some(build))
    }
}

/// The records `filter` accepts, in the order they were written, and how many lines were
/// skipped as torn or unreadable.
pub struct Read {
    pub records: Vec<Record>,
    pub skipped: usize,
}

/// Reads every file of the log in `dir`.
pub fn read(dir: &Path, filter: &Filter) -> Result<Read> {
    let mut out = Read {
        records: Vec::new(),
        skipped: 0,
    };
    let files = super::writer::list(dir)
        .with_context(|| format!("cannot list the served-log folder {}", dir.display()))?;
    for (_, path) in files {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // Removed by rotation since it was listed: its records are gone anyway.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        parse_lines(&bytes, filter, &mut out);
    }
    Ok(out)
}

/// Every complete line that is a record; the bytes after the last newline (a line still being
/// written, or torn by a kill) are skipped.
fn parse_lines(bytes: &[u8], filter: &Filter, out: &mut Read) {
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(last) => {
            if last + 1 < bytes.len() {
                out.skipped += 1;
            }
            &bytes[..last]
        }
        None => {
            if !bytes.is_empty() {
                out.skipped += 1;
            }
            return;
        }
    };
    for line in complete.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match serde_json::from_slice::<Record>(line) {
            Ok(record) if filter.accepts(&record) => out.records.push(record),
            Ok(_) => {}
            Err(_) => out.skipped += 1,
        }
    }
}

/// A time as `--since`/`--until` and `?since=` take it: a date (`2026-12-01`, midnight UTC),
/// an RFC 3339 time (`2026-12-01T08:00:00Z`), or unix milliseconds.
pub fn parse_time(what: &str, raw: &str) -> Result<u64> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && raw.len() > 10 {
        return raw
            .parse()
            .with_context(|| format!("{what} {raw:?} is too large"));
    }
    let text = if raw.len() == 10 {
        format!("{raw}T00:00:00Z")
    } else {
        raw.to_string()
    };
    match humantime::parse_rfc3339_weak(text.trim_end_matches('Z')) {
        Ok(time) => Ok(time
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)),
        Err(_) => bail!(
            "{what} {raw:?} is not a time: use a date like 2026-12-01, or 2026-12-01T08:00:00Z"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: u64, build: Option<&str>) -> Record {
        Record {
            at_ms,
            ecosystem: "npm".into(),
            package: "left-pad".into(),
            version: "1.3.0".into(),
            purl: "pkg:npm/left-pad@1.3.0".into(),
            sha256: "ab".repeat(32),
            size: 10,
            client: "127.0.0.1".into(),
            token: None,
            outcome: "hit".into(),
            build: build.map(str::to_string),
        }
    }

    fn line(record: &Record) -> Vec<u8> {
        let mut line = serde_json::to_vec(record).unwrap();
        line.push(b'\n');
        line
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let mut bytes = line(&record(1, None));
        bytes.extend(line(&record(2, None)));
        let torn = line(&record(3, None));
        bytes.extend(&torn[..torn.len() / 2]);
        let mut out = Read {
            records: Vec::new(),
            skipped: 0,
        };
        parse_lines(&bytes, &Filter::default(), &mut out);
        assert_eq!(out.records.len(), 2);
        assert_eq!(out.skipped, 1);
    }

    #[test]
    fn filters_by_time_and_build() {
        let filter = Filter {
            since_ms: Some(10),
            until_ms: Some(20),
            build: Some("a".into()),
        };
        assert!(filter.accepts(&record(10, Some("a"))));
        assert!(!filter.accepts(&record(20, Some("a"))));
        assert!(!filter.accepts(&record(9, Some("a"))));
        assert!(!filter.accepts(&record(15, Some("b"))));
        assert!(!filter.accepts(&record(15, None)));
    }

    #[test]
    fn times_are_dates_rfc3339_or_milliseconds() {
        assert_eq!(parse_time("--since", "1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_time("--since", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(
            parse_time("--since", "1764633600000").unwrap(),
            1_764_633_600_000
        );
        assert!(parse_time("--since", "yesterday").is_err());
    }
}
