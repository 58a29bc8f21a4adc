//! What `[policy]` needs of a Cargo sparse index: each version's publish time is the index
//! line's `pubtime` (RFC 3339, written by crates.io since 2025; older lines and other
//! registries may lack it, and a version without one is refused while an age rule applies), and
//! an index file without withheld versions is the same file without their lines.

use larder_adapter::policy::parse_rfc3339;
use larder_adapter::{Offer, PublishTimes, Withheld};

#[derive(serde::Deserialize)]
struct Line {
    name: String,
    vers: String,
    #[serde(default)]
    pubtime: Option<String>,
}

fn lines(body: &[u8]) -> impl Iterator<Item = (&[u8], Option<Line>)> {
    body.split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .map(|line| (line, serde_json::from_slice::<Line>(line).ok()))
}

/// `pubtime` by version.
pub fn publish_times(body: &[u8]) -> PublishTimes {
    lines(body)
        .filter_map(|(_, line)| {
            let line = line?;
            Some((line.vers, parse_rfc3339(line.pubtime.as_deref()?)?))
        })
        .collect()
}

pub fn offers(body: &[u8]) -> Result<Vec<Offer>, String> {
    lines(body)
        .map(|(_, line)| {
            let line = line.ok_or("an index line is not a version's JSON")?;
            Ok(Offer {
                package: line.name,
                key: line.vers.clone(),
                version: line.vers,
            })
        })
        .collect()
}

pub fn withhold(body: &[u8], withheld: &Withheld) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(body.len());
    for (raw, line) in lines(body) {
        let line = line.ok_or("an index line is not a version's JSON")?;
        if !withheld.contains(&line.vers) {
            out.extend_from_slice(raw);
            out.push(b'\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lines_state_pubtime_and_lose_withheld_versions() {
        let body = b"{\"name\":\"demo\",\"vers\":\"1.0.0\",\"cksum\":\"a\",\"pubtime\":\"2024-01-01T00:00:00Z\"}\n{\"name\":\"demo\",\"vers\":\"1.1.0\",\"cksum\":\"b\"}\n";
        let times = publish_times(body);
        assert_eq!(times.len(), 1);
        assert_eq!(times["1.0.0"], 1_704_067_200);
        assert_eq!(offers(body).unwrap().len(), 2);
        let withheld: Withheld = ["1.1.0".to_string()].into_iter().collect();
        let out = withhold(body, &withheld).unwrap();
        assert_eq!(
            out,
            &body[..body.iter().position(|b| *b == b'\n').unwrap() + 1]
        );
    }

    #[test]
    fn malformed_index_files_are_errors_never_panics() {
        let body = b"{\"name\":\"demo\",\"vers\":\"1.0.0\",\"pubtime\":\"2024-01-01T00:00:00Z\"}\n";
        let some: Withheld = ["1.0.0".to_string()].into_iter().collect();
        larder_adapter::testing::sweep(body, |bytes| {
            let _ = publish_times(bytes);
            let _ = offers(bytes);
            let _ = withhold(bytes, &some);
        });
    }
}
