//! What `[policy]` needs of npm: publish times from the full packument's `time` (the
//! abbreviated one does not carry it), packuments without withheld versions, and npm's range
//! syntax.
//!
//! A filtered packument loses the withheld versions from `versions` and `time` (`created`,
//! `modified` and the remaining versions' times stay); a `dist-tags` entry that named a
//! withheld version names the newest remaining one by semver order, a release when the tag
//! named a release (so `latest` never moves to a prerelease), and is dropped when no version
//! qualifies. Everything else is copied byte for byte.

use larder_adapter::json_spans::{self, Malformed, Member};
use larder_adapter::policy::parse_rfc3339;
use larder_adapter::versions::{compare_semver, in_comparators, SemVer};
use larder_adapter::{Offer, PublishTimes, Withheld};
use std::collections::BTreeMap;

/// The package a packument key (`packument/<variant>/<name>`) names.
pub fn packument_package(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("packument/")?;
    rest.split_once('/').map(|(_, name)| name)
}

/// `time.<version>` of a full packument; `created` and `modified` are not versions.
pub fn publish_times(body: &[u8]) -> PublishTimes {
    let mut times = PublishTimes::new();
    let Ok(members) = json_spans::document(body).and_then(|span| json_spans::members(body, span))
    else {
        return times;
    };
    let Some(time) = members.iter().find(|m| m.key == "time") else {
        return times;
    };
    let Ok(entries) = json_spans::members(body, time.value.clone()) else {
        return times;
    };
    for entry in entries {
        if matches!(entry.key.as_str(), "created" | "modified") {
            continue;
        }
        let stamp: Option<String> = serde_json::from_slice(&body[entry.value]).ok();
        if let Some(seconds) = stamp.as_deref().and_then(parse_rfc3339) {
            times.insert(entry.key, seconds);
        }
    }
    times
}

/// The versions a packument offers.
pub fn offers(package: &str, body: &[u8]) -> Result<Vec<Offer>, String> {
    let top = top_members(body)?;
    let Some(versions) = top.iter().find(|m| m.key == "versions") else {
        return Ok(Vec::new());
    };
    let versions = json_spans::members(body, versions.value.clone()).map_err(|e| e.to_string())?;
    Ok(versions
        .into_iter()
        .map(|member| Offer {
            package: package.to_string(),
            version: member.key.clone(),
            key: member.key,
        })
        .collect())
}

/// The packument without the versions in `withheld`.
pub fn withhold(body: &[u8], withheld: &Withheld) -> Result<Vec<u8>, String> {
    let top = top_members(body)?;
    let remaining: Vec<String> = match top.iter().find(|m| m.key == "versions") {
        Some(versions) => json_spans::members(body, versions.value.clone())
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|m| m.key)
            .filter(|version| !withheld.contains(version))
            .collect(),
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(body.len());
    out.push(b'{');
    for (index, member) in top.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        match member.key.as_str() {
            "versions" | "time" => {
                let kept = json_spans::members(body, member.value.clone())
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|m| !withheld.contains(&m.key))
                    .map(|m| m.whole);
                out.extend_from_slice(&body[member.whole.start..member.value.start]);
                json_spans::join(body, b'{', kept, b'}', &mut out);
            }
            "dist-tags" => {
                out.extend_from_slice(&body[member.whole.start..member.value.start]);
                let tags = retag(&body[member.value.clone()], withheld, &remaining)?;
                out.extend_from_slice(&tags);
            }
            _ => out.extend_from_slice(&body[member.whole.clone()]),
        }
    }
    out.push(b'}');
    Ok(out)
}

fn top_members(body: &[u8]) -> Result<Vec<Member>, String> {
    json_spans::document(body)
        .and_then(|span| json_spans::members(body, span))
        .map_err(|e: Malformed| format!("the packument is {e}"))
}

/// `dist-tags` with every tag that named a withheld version moved to the newest remaining one.
fn retag(tags: &[u8], withheld: &Withheld, remaining: &[String]) -> Result<Vec<u8>, String> {
    let tags: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(tags).map_err(|e| format!("dist-tags is not an object: {e}"))?;
    let mut moved = serde_json::Map::new();
    for (tag, target) in tags {
        let Some(version) = target.as_str() else {
            moved.insert(tag, target);
            continue;
        };
        if !withheld.contains(version) {
            moved.insert(tag, target);
            continue;
        }
        let wanted_release = SemVer::parse(version).is_some_and(|v| !v.is_prerelease());
        let newest = remaining
            .iter()
            .filter_map(|v| SemVer::parse(v).map(|parsed| (parsed, v)))
            .filter(|(parsed, _)| !wanted_release || !parsed.is_prerelease())
            .max_by(|a, b| a.0.cmp(&b.0));
        if let Some((_, newest)) = newest {
            moved.insert(tag, serde_json::Value::String(newest.clone()));
        }
    }
    serde_json::to_vec(&moved).map_err(|e| e.to_string())
}

/// npm's range syntax (node-semver): `^1.2.3`, `~1.2.3`, `1.2.x`, `1.x`, `*`, hyphen ranges
/// `1.0.0 - 1.4.0`, comparators and `||`, reduced to comparators. Prereleases are matched by
/// version order alone (node-semver's rule that a range includes prereleases only of its own
/// `major.minor.patch` is for resolving, not for deny lists, where matching more is safer).
pub fn in_range(version: &str, range: &str) -> Result<bool, String> {
    let mut any = false;
    for alternative in range.split("||") {
        let reduced = reduce(alternative.trim())?;
        any |= in_comparators(version, &reduced, &compare_semver)?;
    }
    Ok(any)
}

fn reduce(alternative: &str) -> Result<String, String> {
    if let Some((low, high)) = alternative.split_once(" - ") {
        return Ok(format!(">={} <={}", low.trim(), high.trim()));
    }
    let mut out = Vec::new();
    for part in alternative.split_whitespace() {
        out.push(reduce_one(part)?);
    }
    match out.is_empty() {
        true => Ok(">=0.0.0-0".into()),
        false => Ok(out.join(" ")),
    }
}

fn reduce_one(part: &str) -> Result<String, String> {
    let bad = || format!("{part:?} is not an npm version range");
    if matches!(part, "*" | "x" | "X" | "latest") {
        return Ok(">=0.0.0-0".into());
    }
    let (operator, rest) = match part.find(|c: char| c.is_ascii_digit()) {
        Some(at) => part.split_at(at),
        None => return Err(bad()),
    };
    let numbers: Vec<&str> = rest
        .split(['-', '+'])
        .next()
        .unwrap_or(rest)
        .split('.')
        .collect();
    let wild = |n: &&str| matches!(*n, "x" | "X" | "*");
    let given: Vec<u64> = numbers
        .iter()
        .take_while(|n| !wild(n))
        .map(|n| n.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let full = given.len() == 3 && numbers.len() == 3;
    let lower = |given: &[u64]| {
        let mut v = given.to_vec();
        v.resize(3, 0);
        format!("{}.{}.{}", v[0], v[1], v[2])
    };
    let bump = |index: usize| {
        let mut v = given.clone();
        v.truncate(index + 1);
        v[index] += 1;
        v.resize(3, 0);
        format!("{}.{}.{}-0", v[0], v[1], v[2])
    };
    match operator.trim() {
        "^" => {
            let first_nonzero = given
                .iter()
                .position(|&n| n != 0)
                .unwrap_or(given.len().max(1) - 1);
            let index = first_nonzero.min(given.len().saturating_sub(1));
            if given.is_empty() {
                return Ok(">=0.0.0-0".into());
            }
            Ok(format!(
                ">={} <{}",
                if full {
                    rest.to_string()
                } else {
                    lower(&given)
                },
                bump(index)
            ))
        }
        "~" | "~>" => {
            if given.is_empty() {
                return Ok(">=0.0.0-0".into());
            }
            let index = if given.len() >= 2 { 1 } else { 0 };
            Ok(format!(
                ">={} <{}",
                if full {
                    rest.to_string()
                } else {
                    lower(&given)
                },
                bump(index)
            ))
        }
        "" | "=" | "v" if !full => {
            if given.is_empty() {
                return Ok(">=0.0.0-0".into());
            }
            Ok(format!(">={} <{}", lower(&given), bump(given.len() - 1)))
        }
        op @ (">" | ">=" | "<" | "<=" | "=" | "" | "v") => {
            let op = if op == "v" { "" } else { op };
            Ok(format!(
                "{op}{}",
                if full {
                    rest.to_string()
                } else {
                    lower(&given)
                }
            ))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"name":"p","dist-tags":{"latest":"2.0.0","next":"3.0.0-rc.1","old":"1.0.0"},"versions":{"1.0.0":{"dist":{"tarball":"x"}},"1.1.0":{"v":"}"},"2.0.0":{},"3.0.0-rc.1":{}},"time":{"created":"2020-01-01T00:00:00.000Z","1.0.0":"2020-01-01T00:00:00.000Z","1.1.0":"2021-01-01T00:00:00.000Z","2.0.0":"2026-12-01T00:00:00.000Z","3.0.0-rc.1":"2026-12-02T00:00:00.000Z","modified":"2026-12-02T00:00:00.000Z"},"readme":"r"}"#;

    fn withheld(versions: &[&str]) -> Withheld {
        versions.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn times_are_read_from_the_time_map_without_created_and_modified() {
        let times = publish_times(DOC.as_bytes());
        assert_eq!(times.len(), 4);
        assert_eq!(times["1.1.0"], 1_609_459_200);
    }

    #[test]
    fn withheld_versions_leave_versions_time_and_their_tags() {
        let out = withhold(DOC.as_bytes(), &withheld(&["2.0.0", "3.0.0-rc.1"])).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
        assert_eq!(versions, ["1.0.0", "1.1.0"]);
        assert_eq!(doc["versions"]["1.1.0"]["v"], "}");
        assert_eq!(doc["dist-tags"]["latest"], "1.1.0");
        assert_eq!(doc["dist-tags"]["next"], "1.1.0");
        assert_eq!(doc["dist-tags"]["old"], "1.0.0");
        assert!(doc["time"].get("2.0.0").is_none());
        assert_eq!(doc["time"]["created"], "2020-01-01T00:00:00.000Z");
        assert_eq!(doc["readme"], "r");
        let offered: Vec<String> = offers("p", DOC.as_bytes())
            .unwrap()
            .into_iter()
            .map(|o| o.version)
            .collect();
        assert_eq!(offered, ["1.0.0", "1.1.0", "2.0.0", "3.0.0-rc.1"]);
    }

    #[test]
    fn latest_stays_on_a_release_and_disappears_when_nothing_remains() {
        let doc = r#"{"dist-tags":{"latest":"2.0.0"},"versions":{"1.0.0-beta":{},"2.0.0":{}}}"#;
        let out = withhold(doc.as_bytes(), &withheld(&["2.0.0"])).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(parsed["dist-tags"].get("latest").is_none(), "{parsed}");
        assert_eq!(parsed["versions"].as_object().unwrap().len(), 1);
        assert!(withhold(b"{\"versions\":", &withheld(&[])).is_err());
    }

    #[test]
    fn npm_ranges() {
        let yes = |v: &str, r: &str| in_range(v, r).unwrap();
        assert!(yes("1.4.9", "^1.2.3") && !yes("2.0.0", "^1.2.3") && !yes("1.2.2", "^1.2.3"));
        assert!(yes("0.2.9", "^0.2.3") && !yes("0.3.0", "^0.2.3"));
        assert!(yes("1.2.9", "~1.2.3") && !yes("1.3.0", "~1.2.3"));
        assert!(yes("1.2.7", "1.2.x") && !yes("1.3.0", "1.2.x") && yes("1.9.0", "1"));
        assert!(yes("5.0.0", "*") && yes("1.2.3", "1.2.3") && !yes("1.2.4", "=1.2.3"));
        assert!(yes("1.3.0", "1.0.0 - 1.4.0") && yes("3.1.0", "<1 || >=3"));
        assert!(in_range("1.0.0", "^banana").is_err());
    }

    #[test]
    fn malformed_packuments_are_errors_never_panics_and_nothing_withheld_changes_nothing() {
        let some = withheld(&["1.1.0"]);
        larder_adapter::testing::sweep(DOC.as_bytes(), |bytes| {
            let _ = publish_times(bytes);
            let _ = offers("p", bytes);
            let _ = withhold(bytes, &some);
        });
        let same = withhold(DOC.as_bytes(), &withheld(&[])).unwrap();
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_slice(&same).unwrap(),
            serde_json::from_str(DOC).unwrap(),
        );
        assert_eq!(a, b);
    }

    /// `cargo test -p larder-npm --release -- --ignored --nocapture measure_filtering`: the
    /// cost of reading times from, listing and filtering a packument the size of typescript's.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn measure_filtering() {
        let mut versions = Vec::new();
        let mut times = Vec::new();
        let pad = "x".repeat(2000);
        for i in 0..5000 {
            versions.push(format!(r#""1.0.{i}":{{"name":"p","version":"1.0.{i}","description":"{pad}","dist":{{"tarball":"t"}}}}"#));
            times.push(format!(r#""1.0.{i}":"2020-01-01T00:00:00.000Z""#));
        }
        let doc = format!(
            r#"{{"name":"p","dist-tags":{{"latest":"1.0.4999"}},"versions":{{{}}},"time":{{{}}}}}"#,
            versions.join(","),
            times.join(",")
        );
        let started = std::time::Instant::now();
        let parsed = publish_times(doc.as_bytes());
        let read = started.elapsed();
        let offered = offers("p", doc.as_bytes()).unwrap();
        let listed = started.elapsed() - read;
        let out = withhold(doc.as_bytes(), &withheld(&["1.0.4999", "1.0.4998"])).unwrap();
        let written = started.elapsed() - read - listed;
        assert_eq!((parsed.len(), offered.len()), (5000, 5000));
        println!(
            "{} MB packument, 5000 versions: times {read:?}, offers {listed:?}, withhold {written:?} ({} MB out)",
            doc.len() >> 20,
            out.len() >> 20
        );
    }
}
