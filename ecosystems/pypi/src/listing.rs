//! Finding the digest a simple page declares for one file, in either of its two forms: PEP 691
//! JSON (`hashes.sha256`, `core-metadata`) or PEP 503 HTML (`#sha256=` fragments,
//! `data-core-metadata`). Both are accepted whatever was asked for, because a private index may
//! ignore the JSON `Accept`.

use html5gum::{Token, Tokenizer};
use larder_adapter::{Algorithm, Digest, Listing};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Hash names larder can check, strongest first among those PyPI publishes (sha256 is the one
/// PEP 503 recommends and every real index sends).
const USABLE: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha512, Algorithm::Sha1];

/// The suffix PEP 658 appends to a file's URL for its core metadata.
const METADATA_SUFFIX: &str = ".metadata";

/// What one page entry declares.
#[derive(Debug, Default)]
struct Entry {
    /// Decoded last segment of the link, and for JSON also the `filename` field.
    names: Vec<String>,
    digest: Option<Digest>,
    metadata: Metadata,
}

/// A file's PEP 658 core-metadata declaration.
#[derive(Debug, Default)]
enum Metadata {
    #[default]
    NotDeclared,
    /// Present, but with no hash larder can check (`true`, or only unknown algorithms).
    WithoutDigest,
    WithDigest(Digest),
}

/// The digest `body` declares for the file named `wanted` (decoded), or for its core metadata
/// when `wanted` is `<file>.metadata` and the page lists `<file>`.
pub fn find(body: &[u8], wanted: &str) -> Listing {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let base = wanted.strip_suffix(METADATA_SUFFIX);
    // Only entries that can answer are built (digests parsed): a big project's page has
    // thousands of files and is read once per download.
    let relevant = |name: &str| name == wanted || Some(name) == base;
    let entries = if looks_like_json(body) {
        match json_entries(body, relevant) {
            Some(entries) => entries,
            None => return Listing::Unverifiable,
        }
    } else {
        html_entries(body, relevant)
    };
    let named = |name: &str| entries.iter().find(|e| e.names.iter().any(|n| n == name));
    if let Some(entry) = named(wanted) {
        return entry
            .digest
            .clone()
            .map_or(Listing::Unverifiable, Listing::Found);
    }
    if let Some(entry) = wanted.strip_suffix(METADATA_SUFFIX).and_then(named) {
        return match &entry.metadata {
            Metadata::WithDigest(digest) => Listing::Found(digest.clone()),
            // A listed file whose page does not vouch for its metadata: refetching the page will
            // not change that, so report it as uncheckable rather than missing.
            Metadata::WithoutDigest | Metadata::NotDeclared => Listing::Unverifiable,
        };
    }
    Listing::Absent
}

fn looks_like_json(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

#[derive(Deserialize)]
struct JsonPage<'a> {
    #[serde(default, borrow)]
    files: Vec<JsonFile<'a>>,
}

#[derive(Deserialize)]
struct JsonFile<'a> {
    #[serde(default, borrow)]
    filename: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(default)]
    hashes: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "core-metadata", default)]
    core_metadata: Option<serde_json::Value>,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: Option<serde_json::Value>,
}

fn json_entries(body: &[u8], relevant: impl Fn(&str) -> bool) -> Option<Vec<Entry>> {
    let page: JsonPage = serde_json::from_slice(body).ok()?;
    Some(
        page.files
            .into_iter()
            .filter_map(|file| {
                let from_url = file.url.as_deref().and_then(url_file_name);
                let names: Vec<&str> = from_url
                    .as_deref()
                    .into_iter()
                    .chain(file.filename.as_deref())
                    .collect();
                if !names.iter().any(|n| relevant(n)) {
                    return None;
                }
                Some(Entry {
                    names: names.into_iter().map(str::to_owned).collect(),
                    digest: digest_from_map(&file.hashes),
                    metadata: json_metadata(file.core_metadata.or(file.dist_info_metadata)),
                })
            })
            .collect(),
    )
}

fn digest_from_map(hashes: &BTreeMap<String, serde_json::Value>) -> Option<Digest> {
    USABLE.iter().find_map(|algorithm| {
        let hex = hashes.get(algorithm.name())?.as_str()?;
        Digest::from_hex(*algorithm, hex)
    })
}

fn json_metadata(value: Option<serde_json::Value>) -> Metadata {
    match value {
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => {
            Metadata::NotDeclared
        }
        Some(serde_json::Value::Object(map)) => {
            let hashes: BTreeMap<_, _> = map.into_iter().collect();
            digest_from_map(&hashes).map_or(Metadata::WithoutDigest, Metadata::WithDigest)
        }
        Some(_) => Metadata::WithoutDigest,
    }
}

fn html_entries(body: &[u8], relevant: impl Fn(&str) -> bool) -> Vec<Entry> {
    let mut entries = Vec::new();
    // The tokenizer recovers from every error, as browsers do; errors arrive as tokens and are
    // skipped like everything that is not an anchor.
    for token in Tokenizer::new(body).flatten() {
        let Token::StartTag(tag) = token else {
            continue;
        };
        if !tag.name.eq_ignore_ascii_case(b"a") {
            continue;
        }
        let attr = |name: &[u8]| tag.attributes.get(name).map(|v| String::from_utf8_lossy(v));
        let Some(href) = attr(b"href") else { continue };
        let Some(name) = url_file_name(&href).filter(|name| relevant(name)) else {
            continue;
        };
        let digest = href
            .split_once('#')
            .and_then(|(_, fragment)| Digest::from_labelled_hex(fragment))
            .filter(|digest| USABLE.contains(&digest.algorithm));
        let metadata = attr(b"data-core-metadata")
            .or_else(|| attr(b"data-dist-info-metadata"))
            .map_or(Metadata::NotDeclared, |value| html_metadata(&value));
        entries.push(Entry {
            names: vec![name.into_owned()],
            digest,
            metadata,
        });
    }
    entries
}

fn html_metadata(value: &str) -> Metadata {
    if value.eq_ignore_ascii_case("false") {
        return Metadata::NotDeclared;
    }
    Digest::from_labelled_hex(value)
        .filter(|digest| USABLE.contains(&digest.algorithm))
        .map_or(Metadata::WithoutDigest, Metadata::WithDigest)
}

/// The file name a link points at: its path's last segment, without query or fragment,
/// percent-decoded (borrowed when there is nothing to decode).
fn url_file_name(url: &str) -> Option<Cow<'_, str>> {
    let end = url.find(['#', '?']).unwrap_or(url.len());
    let last = url[..end].rsplit('/').next().filter(|s| !s.is_empty())?;
    percent_decode_str(last).decode_utf8().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_A: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const SHA_M: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    fn found(hex: &str) -> Listing {
        Listing::Found(Digest::from_hex(Algorithm::Sha256, hex).unwrap())
    }

    #[test]
    fn html_fragment_and_core_metadata() {
        let page = format!(
            r#"<!DOCTYPE html><html><body>
            <a href="https://f/packages/x/demo-1.0-py3-none-any.whl#sha256={SHA_A}" data-requires-python="&gt;=3.8" data-core-metadata="sha256={SHA_M}">demo-1.0-py3-none-any.whl</a><br/>
            <a href="https://f/packages/x/demo-0.9.tar.gz">demo-0.9.tar.gz</a>
            <a href="https://f/packages/x/demo-0.8.tar.gz#md5=00112233445566778899aabbccddeeff" data-dist-info-metadata="true">demo-0.8.tar.gz</a>
            </body></html>"#
        );
        let page = page.as_bytes();
        assert_eq!(find(page, "demo-1.0-py3-none-any.whl"), found(SHA_A));
        assert_eq!(
            find(page, "demo-1.0-py3-none-any.whl.metadata"),
            found(SHA_M)
        );
        assert_eq!(find(page, "demo-0.9.tar.gz"), Listing::Unverifiable);
        assert_eq!(
            find(page, "demo-0.8.tar.gz"),
            Listing::Unverifiable,
            "md5 is not checked"
        );
        assert_eq!(
            find(page, "demo-0.8.tar.gz.metadata"),
            Listing::Unverifiable
        );
        assert_eq!(
            find(page, "demo-0.9.tar.gz.metadata"),
            Listing::Unverifiable
        );
        assert_eq!(find(page, "demo-2.0.tar.gz"), Listing::Absent);
        assert_eq!(find(page, "demo-2.0.tar.gz.metadata"), Listing::Absent);
    }

    #[test]
    fn html_matches_decoded_names_and_entities() {
        let page =
            format!(r#"<A HREF='../../p/torch-2.1.0%2Bcpu.whl?x=1&amp;y=2#SHA256={SHA_A}'>t</A>"#);
        assert_eq!(find(page.as_bytes(), "torch-2.1.0+cpu.whl"), found(SHA_A));
    }

    #[test]
    fn json_hashes_and_core_metadata() {
        let page = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"demo","versions":["1.0"],"files":[
            {{"filename":"demo-1.0-py3-none-any.whl","url":"https://f/packages/x/demo-1.0-py3-none-any.whl","hashes":{{"sha256":"{SHA_A}"}},"core-metadata":{{"sha256":"{SHA_M}"}},"yanked":false}},
            {{"filename":"demo-0.9.tar.gz","url":"https://f/packages/x/demo-0.9.tar.gz","hashes":{{}},"core-metadata":true}},
            {{"filename":"demo-0.8.tar.gz","url":"https://f/packages/x/demo-0.8.tar.gz","hashes":{{"sha256":"nothex"}},"dist-info-metadata":{{"sha256":"{SHA_M}"}}}}
            ]}}"#
        );
        let page = page.as_bytes();
        assert_eq!(find(page, "demo-1.0-py3-none-any.whl"), found(SHA_A));
        assert_eq!(
            find(page, "demo-1.0-py3-none-any.whl.metadata"),
            found(SHA_M)
        );
        assert_eq!(find(page, "demo-0.9.tar.gz"), Listing::Unverifiable);
        assert_eq!(
            find(page, "demo-0.9.tar.gz.metadata"),
            Listing::Unverifiable
        );
        assert_eq!(find(page, "demo-0.8.tar.gz"), Listing::Unverifiable);
        assert_eq!(find(page, "demo-0.8.tar.gz.metadata"), found(SHA_M));
        assert_eq!(find(page, "other-1.0.tar.gz"), Listing::Absent);
    }

    #[test]
    fn malformed_bodies_never_panic() {
        assert_eq!(find(b"{not json", "a.whl"), Listing::Unverifiable);
        assert_eq!(find(br#"{"files": 3}"#, "a.whl"), Listing::Unverifiable);
        assert_eq!(
            find(br#"{"files": [{"hashes": 3}]}"#, "a.whl"),
            Listing::Unverifiable
        );
        assert_eq!(
            find(br#"{"files": [{"url": 3}]}"#, "a.whl"),
            Listing::Unverifiable
        );
        assert_eq!(find(b"", "a.whl"), Listing::Absent);
        assert_eq!(find(b"<a href=", "a.whl"), Listing::Absent);
        assert_eq!(
            find(b"<a href=\"#sha256=\xff\xfe\">", "a.whl"),
            Listing::Absent
        );
        assert_eq!(
            find(b"\xEF\xBB\xBF  {\"files\":[]}", "a.whl"),
            Listing::Absent
        );
        assert_eq!(
            find(b"<<<a a a a href=a.whl#sha256=zz>", "a.whl"),
            Listing::Unverifiable
        );
    }
}
