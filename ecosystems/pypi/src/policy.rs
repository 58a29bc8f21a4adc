//! What `[policy]` needs of PyPI: per-file publish times (PEP 700 `upload-time`, in the JSON
//! simple page only), simple pages (JSON and HTML) without withheld files, and PEP 440 versions
//! and specifiers.
//!
//! A filtered JSON page loses the withheld entries of `files` (the remaining ones keep their
//! `upload-time`) and, from `versions`, the versions left without a file; an HTML page loses
//! the withheld anchors (and the `<br/>` after each). Everything else is copied as it was.

use crate::release;
use larder_adapter::json_spans::{self, Member};
use larder_adapter::policy::parse_rfc3339;
use larder_adapter::{Offer, PublishTimes, Withheld};
use std::cmp::Ordering;
use std::collections::HashSet;

/// Whether a page body is JSON (PEP 691) rather than HTML.
pub fn is_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// One file entry of a JSON page.
struct FileEntry {
    filename: String,
    upload_time: Option<i64>,
    span: std::ops::Range<usize>,
}

fn json_files(body: &[u8]) -> Result<(Vec<Member>, Vec<FileEntry>), String> {
    let top = json_spans::document(body)
        .and_then(|span| json_spans::members(body, span))
        .map_err(|e| format!("the simple page is {e}"))?;
    let mut files = Vec::new();
    if let Some(list) = top.iter().find(|m| m.key == "files") {
        for span in json_spans::elements(body, list.value.clone()).map_err(|e| e.to_string())? {
            let members = json_spans::members(body, span.clone()).map_err(|e| e.to_string())?;
            let text = |key: &str| -> Option<String> {
                let member = members.iter().find(|m| m.key == key)?;
                serde_json::from_slice(&body[member.value.clone()]).ok()
            };
            let Some(filename) = text("filename") else {
                return Err("a file entry has no filename".into());
            };
            files.push(FileEntry {
                upload_time: text("upload-time").as_deref().and_then(parse_rfc3339),
                filename,
                span,
            });
        }
    }
    Ok((top, files))
}

/// `upload-time` by file name, from a JSON page (an HTML page states none).
pub fn publish_times(body: &[u8]) -> PublishTimes {
    if !is_json(body) {
        return PublishTimes::new();
    }
    match json_files(body) {
        Ok((_, files)) => files
            .into_iter()
            .filter_map(|f| Some((f.filename, f.upload_time?)))
            .collect(),
        Err(_) => PublishTimes::new(),
    }
}

/// The file a page offers, as an offer keyed by file name.
fn offer(project: &str, filename: &str) -> Offer {
    let version = release::of(&format!("files/{filename}"))
        .map(|r| r.version)
        .unwrap_or_default();
    Offer {
        package: project.to_string(),
        version,
        key: filename.to_string(),
    }
}

/// The files a page (JSON or HTML) offers.
pub fn offers(project: &str, body: &[u8]) -> Result<Vec<Offer>, String> {
    if is_json(body) {
        let (_, files) = json_files(body)?;
        return Ok(files.iter().map(|f| offer(project, &f.filename)).collect());
    }
    let text = std::str::from_utf8(body).map_err(|_| "the simple page is not UTF-8".to_string())?;
    Ok(anchors(text)
        .into_iter()
        .filter_map(|a| a.filename.map(|f| offer(project, &f)))
        .collect())
}

/// The page without the files named in `withheld`.
pub fn withhold(body: &[u8], withheld: &Withheld) -> Result<Vec<u8>, String> {
    if is_json(body) {
        return withhold_json(body, withheld);
    }
    let text = std::str::from_utf8(body).map_err(|_| "the simple page is not UTF-8".to_string())?;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for anchor in anchors(text) {
        if anchor
            .filename
            .as_ref()
            .is_some_and(|f| withheld.contains(f))
        {
            out.push_str(&text[copied..anchor.span.start]);
            copied = anchor.span.end;
        }
    }
    out.push_str(&text[copied..]);
    Ok(out.into_bytes())
}

fn withhold_json(body: &[u8], withheld: &Withheld) -> Result<Vec<u8>, String> {
    let (top, files) = json_files(body)?;
    let kept: Vec<&FileEntry> = files
        .iter()
        .filter(|f| !withheld.contains(&f.filename))
        .collect();
    let versions_left: HashSet<String> = kept
        .iter()
        .filter_map(|f| release::of(&format!("files/{}", f.filename)).map(|r| r.version))
        .collect();
    let versions_gone: HashSet<String> = files
        .iter()
        .filter(|f| withheld.contains(&f.filename))
        .filter_map(|f| release::of(&format!("files/{}", f.filename)).map(|r| r.version))
        .filter(|v| !versions_left.contains(v))
        .collect();
    let mut out = Vec::with_capacity(body.len());
    out.push(b'{');
    for (index, member) in top.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&body[member.whole.start..member.value.start]);
        match member.key.as_str() {
            "files" => json_spans::join(
                body,
                b'[',
                kept.iter().map(|f| f.span.clone()),
                b']',
                &mut out,
            ),
            "versions" => {
                let elements =
                    json_spans::elements(body, member.value.clone()).map_err(|e| e.to_string())?;
                let remaining = elements.into_iter().filter(|span| {
                    let version: Option<String> = serde_json::from_slice(&body[span.clone()]).ok();
                    version.is_none_or(|v| !versions_gone.contains(&v))
                });
                json_spans::join(body, b'[', remaining, b']', &mut out);
            }
            _ => out.extend_from_slice(&body[member.value.clone()]),
        }
    }
    out.push(b'}');
    Ok(out)
}

/// One `<a …>…</a>` of an HTML page: where it lies (with a `<br/>` right after it) and the
/// file its `href` names.
struct Anchor {
    span: std::ops::Range<usize>,
    filename: Option<String>,
}

fn anchors(text: &str) -> Vec<Anchor> {
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<a").map(|i| i + at) {
        let after = lower.as_bytes().get(start + 2).copied();
        if !after.is_some_and(|b| b.is_ascii_whitespace()) {
            at = start + 2;
            continue;
        }
        let Some(end) = lower[start..].find("</a>").map(|i| start + i + 4) else {
            break;
        };
        let tag_end = lower[start..end].find('>').map_or(end, |i| start + i);
        let filename = href(&text[start..tag_end]).and_then(|href| file_of(&href));
        let mut span_end = end;
        let rest = &lower[end..];
        let trimmed = rest.trim_start();
        for br in ["<br/>", "<br />", "<br>"] {
            if trimmed.starts_with(br) {
                span_end = end + (rest.len() - trimmed.len()) + br.len();
                break;
            }
        }
        found.push(Anchor {
            span: start..span_end,
            filename,
        });
        at = span_end;
    }
    found
}

/// The `href` attribute of an opening tag, HTML entities of URLs decoded.
fn href(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut search = 0;
    while let Some(i) = lower[search..].find("href").map(|i| i + search) {
        let before_ok = i > 0 && lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[i + 4..].trim_start();
        if before_ok && rest.starts_with('=') {
            let value_start = tag.len() - rest.len() + 1;
            let value = tag[value_start..].trim_start();
            let value = match value.chars().next() {
                Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or(""),
                _ => value
                    .split(|c: char| c.is_ascii_whitespace())
                    .next()
                    .unwrap_or(""),
            };
            return Some(value.replace("&amp;", "&").replace("&#38;", "&"));
        }
        search = i + 4;
    }
    None
}

/// The decoded last path segment of a link, without query or fragment.
fn file_of(href: &str) -> Option<String> {
    let path = href.split(['#', '?']).next()?;
    let last = path.rsplit('/').next()?;
    let decoded = percent_encoding::percent_decode_str(last)
        .decode_utf8()
        .ok()?;
    (!decoded.is_empty()).then(|| decoded.into_owned())
}

/// A PEP 440 version, as a sort key.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// (0: a dev release of the final, before every pre-release; 1: a pre-release; 2: none)
    pre: (u8, u8, u64),
    /// `None` sorts first: a release without `.post` comes before its post-releases.
    post: Option<u64>,
    /// `dev` sorts before the same version without it.
    dev: (u8, u64),
}

fn parse_pep440(text: &str) -> Option<Pep440> {
    let text = text.trim().to_ascii_lowercase();
    let text = text.strip_prefix('v').unwrap_or(&text);
    let text = text.split('+').next()?;
    let (epoch, rest) = match text.split_once('!') {
        Some((epoch, rest)) => (epoch.parse().ok()?, rest),
        None => (0, text),
    };
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (release_text, mut tail) = rest.split_at(digits_end);
    let release_text = release_text.trim_end_matches('.');
    if release_text.is_empty() {
        return None;
    }
    let mut release: Vec<u64> = release_text
        .split('.')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let (mut pre, mut post, mut dev) = (None, None, None);
    while !tail.is_empty() {
        let implicit_post =
            tail.starts_with('-') && tail[1..].starts_with(|c: char| c.is_ascii_digit());
        tail = tail.trim_start_matches(['.', '-', '_']);
        let letters = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (word, after) = tail.split_at(letters);
        let after = after.trim_start_matches(['.', '-', '_']);
        let number_end = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        let number: u64 = after[..number_end].parse().unwrap_or(0);
        tail = &after[number_end..];
        match word {
            "" if implicit_post => post = Some(number),
            "a" | "alpha" => pre = Some((0, number)),
            "b" | "beta" => pre = Some((1, number)),
            "rc" | "c" | "pre" | "preview" => pre = Some((2, number)),
            "post" | "rev" | "r" => post = Some(number),
            "dev" => dev = Some(number),
            _ => return None,
        }
    }
    let pre = match (pre, post, dev) {
        (Some((letter, n)), _, _) => (1, letter, n),
        (None, None, Some(_)) => (0, 0, 0),
        _ => (2, 0, 0),
    };
    Some(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev: dev.map_or((1, 0), |n| (0, n)),
    })
}

/// PEP 440 order of two versions.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(parse_pep440(a)?.cmp(&parse_pep440(b)?))
}

/// Whether `version` satisfies a PEP 440 specifier set (`>=2.0,<3`, `==1.4.*`, `~=1.4.2`,
/// `!=2.1.0`); `||` joins alternatives, as in larder's other ecosystems.
pub fn in_specifiers(version: &str, specifiers: &str) -> Result<bool, String> {
    let mut any = false;
    for alternative in specifiers.split("||") {
        let mut all = true;
        for spec in alternative
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            all &= one_specifier(version, spec)?;
        }
        any |= all;
    }
    Ok(any)
}

fn one_specifier(version: &str, spec: &str) -> Result<bool, String> {
    let operator_end = spec
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '!' | '~'))
        .unwrap_or(spec.len());
    let (operator, bound) = (spec[..operator_end].trim(), spec[operator_end..].trim());
    let order = |bound: &str| {
        compare(version, bound)
            .ok_or_else(|| format!("{version:?} or {bound:?} is not a PEP 440 version"))
    };
    if let Some(prefix) = bound.strip_suffix(".*") {
        let matches = prefix_match(version, prefix)?;
        return match operator {
            "==" => Ok(matches),
            "!=" => Ok(!matches),
            _ => Err(format!("{spec:?}: a .* suffix goes only with == or !=")),
        };
    }
    Ok(match operator {
        "==" | "===" | "" => order(bound)? == Ordering::Equal,
        "!=" => order(bound)? != Ordering::Equal,
        ">=" => order(bound)? != Ordering::Less,
        "<=" => order(bound)? != Ordering::Greater,
        ">" => order(bound)? == Ordering::Greater,
        "<" => order(bound)? == Ordering::Less,
        "~=" => {
            let parts: Vec<&str> = bound.split('.').collect();
            if parts.len() < 2 {
                return Err(format!("{spec:?}: ~= needs at least two release parts"));
            }
            order(bound)? != Ordering::Less
                && prefix_match(version, &parts[..parts.len() - 1].join("."))?
        }
        _ => return Err(format!("{spec:?} is not a PEP 440 specifier")),
    })
}

/// Whether `version`'s release starts with `prefix`'s (`1.4` for `==1.4.*`).
fn prefix_match(version: &str, prefix: &str) -> Result<bool, String> {
    let parse =
        |text: &str| parse_pep440(text).ok_or_else(|| format!("{text:?} is not a PEP 440 version"));
    let (version, prefix) = (parse(version)?, parse(prefix)?);
    let mut release = version.release.clone();
    release.resize(release.len().max(prefix.release.len()), 0);
    let mut wanted = prefix.release.clone();
    wanted.resize(wanted.len().max(1), 0);
    Ok(version.epoch == prefix.epoch && release.starts_with(&wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"meta":{"api-version":"1.1"},"name":"demo","versions":["1.0","2.0"],"files":[{"filename":"demo-1.0.tar.gz","url":"u1","hashes":{},"upload-time":"2020-01-01T00:00:00.000000Z"},{"filename":"demo-2.0-py3-none-any.whl","url":"u2","hashes":{},"upload-time":"2026-12-01T00:00:00Z"},{"filename":"demo-2.0.tar.gz","url":"u3","hashes":{}}]}"#;
    const HTML: &str = "<!DOCTYPE html><html><body><h1>Links for demo</h1>\n<a href=\"../../files/demo-1.0.tar.gz#sha256=aa\">demo-1.0.tar.gz</a><br/>\n<A HREF='https://x/demo-2.0-py3-none-any.whl#sha256=bb' data-requires-python=\"&gt;=3.8\">demo-2.0-py3-none-any.whl</A><br />\n</body></html>";

    fn set(items: &[&str]) -> Withheld {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn json_pages_state_upload_times_per_file() {
        let times = publish_times(JSON.as_bytes());
        assert_eq!(times.len(), 2);
        assert_eq!(times["demo-1.0.tar.gz"], 1_577_836_800);
        let offered = offers("demo", JSON.as_bytes()).unwrap();
        assert_eq!(offered[1].version, "2.0");
        assert_eq!(offered[1].key, "demo-2.0-py3-none-any.whl");
    }

    #[test]
    fn json_pages_lose_withheld_files_and_versions_left_empty() {
        let out = withhold(
            JSON.as_bytes(),
            &set(&["demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"]),
        )
        .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["versions"], serde_json::json!(["1.0"]));
        assert_eq!(doc["files"].as_array().unwrap().len(), 1);
        assert_eq!(
            doc["files"][0]["upload-time"],
            "2020-01-01T00:00:00.000000Z"
        );
        let one = withhold(JSON.as_bytes(), &set(&["demo-2.0.tar.gz"])).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&one).unwrap();
        assert_eq!(doc["versions"], serde_json::json!(["1.0", "2.0"]));
    }

    #[test]
    fn html_pages_lose_withheld_anchors() {
        let offered = offers("demo", HTML.as_bytes()).unwrap();
        let keys: Vec<&str> = offered.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["demo-1.0.tar.gz", "demo-2.0-py3-none-any.whl"]);
        let out = String::from_utf8(
            withhold(HTML.as_bytes(), &set(&["demo-2.0-py3-none-any.whl"])).unwrap(),
        )
        .unwrap();
        assert!(
            out.contains("demo-1.0.tar.gz</a><br/>") && !out.contains("demo-2.0"),
            "{out}"
        );
        assert!(out.ends_with("\n</body></html>"));
    }

    #[test]
    fn pep440_order_and_specifiers() {
        let mut versions = [
            "1.0",
            "1.0.post1",
            "1.0a1",
            "1.0.dev1",
            "1.0rc1",
            "0.9",
            "1.0a1.dev1",
            "1!0.1",
        ];
        versions.sort_by(|a, b| compare(a, b).unwrap());
        assert_eq!(
            versions,
            [
                "0.9",
                "1.0.dev1",
                "1.0a1.dev1",
                "1.0a1",
                "1.0rc1",
                "1.0",
                "1.0.post1",
                "1!0.1"
            ]
        );
        assert_eq!(compare("1.0", "1.0.0"), Some(Ordering::Equal));
        let yes = |v: &str, s: &str| in_specifiers(v, s).unwrap();
        assert!(yes("2.31.0", ">=2.31,<2.32") && !yes("2.32.0", ">=2.31,<2.32"));
        assert!(yes("1.4.7", "==1.4.*") && !yes("1.5.0", "==1.4.*"));
        assert!(yes("1.4.5", "~=1.4.2") && !yes("1.5.0", "~=1.4.2") && !yes("1.4.1", "~=1.4.2"));
        assert!(yes("2.0", "2.0") && yes("2.1", "!=2.0"));
        assert!(in_specifiers("1.0", ">=banana").is_err());
    }

    #[test]
    fn malformed_pages_are_errors_never_panics() {
        let some = set(&["demo-2.0.tar.gz", "demo-1.0.tar.gz"]);
        for page in [JSON, HTML] {
            larder_adapter::testing::sweep(page.as_bytes(), |bytes| {
                let _ = publish_times(bytes);
                let _ = offers("demo", bytes);
                let _ = withhold(bytes, &some);
            });
        }
        for version in ["", "1!", "1.0rc", "1.0.post", "v", "1..2", "1.0-", "1.0+"] {
            let _ = compare(version, "1.0");
            let _ = in_specifiers(version, "~=1.0");
        }
    }
}
