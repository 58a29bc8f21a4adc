//! Version order and ranges shared by the ecosystems that use Semantic Versioning (npm, Go,
//! Cargo), and the comparator syntax (`>=1.2.0 <2`, alternatives joined by `||`) that every
//! ecosystem's own range syntax is reduced to.

use std::cmp::Ordering;

/// A parsed `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, with an optional leading `v` or `=`.
/// Missing minor or patch parts read as 0 (`1.2` is `1.2.0`), for ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemVer {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: Vec<String>,
}

impl SemVer {
    pub fn parse(text: &str) -> Option<SemVer> {
        let text = text.trim();
        let text = text.strip_prefix(['v', '=']).unwrap_or(text);
        let text = text.split('+').next().unwrap_or(text);
        let (core, prerelease) = match text.split_once('-') {
            Some((core, pre)) => (core, pre.split('.').map(str::to_string).collect()),
            None => (text, Vec::new()),
        };
        let mut numbers = core.split('.');
        let mut next = || -> Option<u64> {
            match numbers.next() {
                None => Some(0),
                Some(part) if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) => {
                    part.parse().ok()
                }
                Some(_) => None,
            }
        };
        let (major, minor, patch) = (next()?, next()?, next()?);
        if numbers.next().is_some() || core.is_empty() {
            return None;
        }
        Some(SemVer {
            major,
            minor,
            patch,
            prerelease,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.prerelease.is_empty()
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.is_prerelease(), other.is_prerelease()) {
                (false, false) => Ordering::Equal,
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (true, true) => compare_identifiers(&self.prerelease, &other.prerelease),
            })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// SemVer 2.0 §11: numeric identifiers compare numerically and sort before alphanumeric ones.
fn compare_identifiers(left: &[String], right: &[String]) -> Ordering {
    for (a, b) in left.iter().zip(right) {
        let order = match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) => a.cmp(&b),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => a.cmp(b),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    left.len().cmp(&right.len())
}

/// Semantic Versioning order of two versions; `None` if either is not one.
pub fn compare_semver(a: &str, b: &str) -> Option<Ordering> {
    Some(SemVer::parse(a)?.cmp(&SemVer::parse(b)?))
}

/// Whether `version` is in `range`, written as comparators: alternatives joined by `||`, each a
/// list of `>=`, `>`, `<=`, `<`, `=`/`==`, `!=` comparators (or a bare version: equality)
/// separated by spaces or commas, all of which must hold. `compare` is the ecosystem's version
/// order. An error names what could not be read.
pub fn in_comparators(
    version: &str,
    range: &str,
    compare: &dyn Fn(&str, &str) -> Option<Ordering>,
) -> Result<bool, String> {
    let mut any = false;
    for alternative in range.split("||") {
        let mut all = true;
        let mut comparators = 0;
        for comparator in alternative
            .split([' ', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            comparators += 1;
            let (operator, bound) = split_operator(comparator);
            if bound.is_empty() {
                return Err(format!(
                    "{comparator:?} in range {range:?} names no version"
                ));
            }
            let order = compare(version, bound).ok_or_else(|| {
                format!("{version:?} or {bound:?} (in range {range:?}) is not a version this ecosystem can order")
            })?;
            let holds = match operator {
                ">=" => order != Ordering::Less,
                ">" => order == Ordering::Greater,
                "<=" => order != Ordering::Greater,
                "<" => order == Ordering::Less,
                "!=" => order != Ordering::Equal,
                _ => order == Ordering::Equal,
            };
            all &= holds;
        }
        if comparators == 0 {
            return Err(format!("range {range:?} has an empty alternative"));
        }
        any |= all;
    }
    Ok(any)
}

fn split_operator(comparator: &str) -> (&str, &str) {
    for operator in [">=", "<=", "==", "!=", ">", "<", "="] {
        if let Some(bound) = comparator.strip_prefix(operator) {
            return (operator, bound.trim());
        }
    }
    ("=", comparator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_orders_prereleases_before_their_release() {
        let mut versions = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
            "0.9.9",
            "v1.10.0",
        ];
        versions.sort_by(|a, b| compare_semver(a, b).unwrap());
        assert_eq!(
            versions,
            [
                "0.9.9",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "v1.10.0"
            ]
        );
        assert_eq!(
            compare_semver("1.2.3+build", "1.2.3"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_semver("1.x", "1.0.0"), None);
    }

    #[test]
    fn comparators_and_alternatives() {
        let check = |v: &str, r: &str| in_comparators(v, r, &compare_semver).unwrap();
        assert!(check("1.5.0", ">=1.0.0 <2.0.0"));
        assert!(!check("2.0.0", ">=1.0.0 <2.0.0"));
        assert!(check("3.0.1", "<1 || =3.0.1"));
        assert!(check("1.2.3", "1.2.3"));
        assert!(!check("1.2.4", "1.2.3"));
        assert!(in_comparators("1.0.0", ">=", &compare_semver).is_err());
        assert!(in_comparators("1.0.0", ">=x", &compare_semver).is_err());
    }
}
