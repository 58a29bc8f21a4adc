//! The status page's line about the served-log: what it recorded today and how to export it.

use crate::served::TodaySummary;
use std::fmt::Write as _;

/// The served-log as the page shows it (`None` on the page: `[served] enabled = false`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Line {
    pub today: TodaySummary,
    /// Records dropped since start (the writer fell behind, or a write failed).
    pub dropped: u64,
}

pub fn line(html: &mut String, base: &str, line: Option<Line>) {
    let Some(line) = line else {
        html.push_str(
            "<p id=\"served\">Served-log: off (<code>[served] enabled = false</code>)</p>",
        );
        return;
    };
    let _ = write!(
        html,
        "<p id=\"served\">Served-log: <strong>{records}</strong> \
         artifacts recorded today (UTC), from {builds} build(s) · export: \
         <code>{base}/-/served?since=YYYY-MM-DD&amp;build=ID&amp;format=cyclonedx</code>{dropped}</p>",
        records = line.today.records,
        builds = line.today.builds,
        base = super::esc(base),
        dropped = match line.dropped {
            0 => String::new(),
            n => format!(
                " · <strong class=\"bad\">{n} record(s) dropped</strong> (the disk was too slow or failed: see the log)"
            ),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_was_recorded_today_and_what_was_dropped() {
        let mut html = String::new();
        line(
            &mut html,
            "http://mirror:7878",
            Some(Line {
                today: TodaySummary {
                    records: 12,
                    builds: 3,
                },
                dropped: 2,
            }),
        );
        assert!(
            html.contains("<strong>12</strong> artifacts recorded today (UTC), from 3 build(s)"),
            "{html}"
        );
        assert!(html.contains("2 record(s) dropped"), "{html}");
        assert!(
            html.contains("http://mirror:7878/-/served?since="),
            "{html}"
        );
    }
}
