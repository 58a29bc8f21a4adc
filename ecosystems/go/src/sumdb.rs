//! The checksum database, proxied (`<proxy>/sumdb/<name>/...`).
//!
//! Before it contacts a checksum database, the go command asks each GOPROXY entry for
//! `sumdb/<name>/supported`; on 200 it sends every lookup and tile request for that database to
//! the proxy, so builds that can reach only larder still verify their downloads.

use crate::escape::{self, Malformed};

/// One request below `sumdb/<name>/`.
#[derive(Debug, PartialEq, Eq)]
pub enum SumdbRequest {
    /// `supported`: answered locally.
    Supported,
    /// `lookup/<module>@<version>`: the go.sum lines plus the signed tree head at lookup time.
    Lookup,
    /// `tile/H/L/K` (full, never changes) or `tile/H/L/K.p/W` (partial, grows into a full one).
    Tile { partial: bool },
    /// `latest`: the signed tree head.
    Latest,
}

/// Parses the percent-decoded path below `sumdb/<name>/`. `Ok(None)`: not a checksum database
/// endpoint (404).
pub fn parse(rest: &str) -> Result<Option<SumdbRequest>, Malformed> {
    match rest {
        "supported" => return Ok(Some(SumdbRequest::Supported)),
        "latest" => return Ok(Some(SumdbRequest::Latest)),
        _ => {}
    }
    if let Some(target) = rest.strip_prefix("lookup/") {
        // Module paths cannot contain '@'; versions can, so split at the first one.
        let Some((module, version)) = target.split_once('@') else {
            return Err(Malformed(format!(
                "malformed checksum database lookup {target:?}: expected <module>@<version>"
            )));
        };
        escape::module_path(module)?;
        escape::version(version)?;
        return Ok(Some(SumdbRequest::Lookup));
    }
    if let Some(tile) = rest.strip_prefix("tile/") {
        return parse_tile(tile).map(|partial| Some(SumdbRequest::Tile { partial })).ok_or_else(|| {
            Malformed(format!(
                "malformed checksum database tile path \"tile/{}\": expected tile/H/L/K[.p/W] as in golang.org/x/mod/sumdb/tlog",
                tile.chars().take(120).collect::<String>()
            ))
        });
    }
    Ok(None)
}

/// Checks `H/L/K[.p/W]` the way `tlog.ParseTilePath` does, and says whether it is partial.
///
/// H is the tile height (1..=30), L a level number or `data`, K the tile index written in
/// groups of three digits with all but the last group prefixed by `x` (`x001/x234/067`), and
/// W the width of a partial tile (1..2^H).
fn parse_tile(tile: &str) -> Option<bool> {
    let mut parts: Vec<&str> = tile.split('/').collect();
    // At most seven groups of three digits (an index below 10^21) plus a partial width.
    if parts.len() < 3 || parts.len() > 10 {
        return None;
    }
    let height = small_number(parts[0])?;
    if !(1..=30).contains(&height) {
        return None;
    }
    if parts[1] != "data" {
        small_number(parts[1])?;
    }
    let mut partial = false;
    let last_group = parts.len() - 2;
    if let Some(group) = parts[last_group].strip_suffix(".p") {
        if parts.len() < 4 {
            return None;
        }
        let width = small_number(parts[last_group + 1])?;
        if width == 0 || width >= 1u64 << height {
            return None;
        }
        parts[last_group] = group;
        parts.pop();
        partial = true;
    }
    let groups = &parts[2..];
    let (last, leading) = groups.split_last()?;
    let three_digits = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit());
    let leading_ok = leading
        .iter()
        .all(|g| g.strip_prefix('x').is_some_and(three_digits));
    (leading_ok && three_digits(last)).then_some(partial)
}

/// A decimal number without sign or leading zeros, small enough not to overflow.
fn small_number(s: &str) -> Option<u64> {
    let canonical = !s.is_empty() && s.len() <= 9 && (s == "0" || !s.starts_with('0'));
    if canonical && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_classified() {
        assert_eq!(parse("supported"), Ok(Some(SumdbRequest::Supported)));
        assert_eq!(parse("latest"), Ok(Some(SumdbRequest::Latest)));
        assert_eq!(
            parse("lookup/github.com/!burnt!sushi/toml@v1.2.0"),
            Ok(Some(SumdbRequest::Lookup))
        );
        assert_eq!(
            parse("lookup/example.com/m@v2.0.0+incompatible"),
            Ok(Some(SumdbRequest::Lookup))
        );
        assert_eq!(
            parse("tile/8/0/000"),
            Ok(Some(SumdbRequest::Tile { partial: false }))
        );
        assert_eq!(
            parse("tile/8/1/x001/x234/067"),
            Ok(Some(SumdbRequest::Tile { partial: false }))
        );
        assert_eq!(
            parse("tile/8/data/x123/456"),
            Ok(Some(SumdbRequest::Tile { partial: false }))
        );
        assert_eq!(
            parse("tile/8/0/x001/234.p/17"),
            Ok(Some(SumdbRequest::Tile { partial: true }))
        );
        assert_eq!(
            parse("tile/8/data/000.p/255"),
            Ok(Some(SumdbRequest::Tile { partial: true }))
        );
    }

    #[test]
    fn other_paths_are_not_routed() {
        for rest in [
            "",
            "supported/",
            "lookup",
            "tiles/8/0/000",
            "latest/x",
            "../sum.golang.org/latest",
        ] {
            assert_eq!(parse(rest), Ok(None), "{rest:?}");
        }
    }

    #[test]
    fn malformed_lookups_and_tiles_are_errors() {
        for rest in [
            "lookup/example.com/m",
            "lookup/Example.com/m@v1.0.0",
            "lookup/example.com/m@",
            "lookup/example.com/../m@v1.0.0",
            "tile/8/0",
            "tile/0/0/000",
            "tile/31/0/000",
            "tile/08/0/000",
            "tile/8/0/00",
            "tile/8/0/0000",
            "tile/8/0/001/002",
            "tile/8/0/x001",
            "tile/8/0/000.p/0",
            "tile/8/0/000.p/256",
            "tile/8/0/000.p/",
            "tile/8/0/000.p",
            "tile/8/-1/000",
            "tile/8/0/x001/x001/x001/x001/x001/x001/x001/x001/x001/001",
            "tile/99999999999999999999/0/000",
        ] {
            assert!(parse(rest).is_err(), "{rest:?} accepted");
        }
    }
}
