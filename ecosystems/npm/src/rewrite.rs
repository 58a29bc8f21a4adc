//! Pointing `dist.tarball` links in packuments back at larder.
//!
//! Only links under the configured upstream are rewritten, and only in the `"tarball"` key's
//! position (compact `"tarball":"` and pretty-printed `"tarball": "`), so a URL that merely
//! appears in a readme is left alone. Tarball links on other hosts (a private registry's CDN,
//! JSON-escaped `https:\/\/` spellings) are left as they are: the client fetches them directly,
//! and larder never contacts a host the upstream's documents name unless the engine allows it.
//! A packument whose links point elsewhere therefore still installs, just without the cache.

use larder_adapter::PrefixRewriter;
use url::Url;

/// A rewriter replacing `upstream` (with its trailing slash) by `public_base` + `/` in tarball
/// links. When the upstream is `https`, the `http` spelling of the same base is rewritten too:
/// some old packuments still carry it, and larder fetches over the configured scheme anyway.
pub fn tarball_links(upstream: &Url, public_base: &str) -> PrefixRewriter {
    let replacement = json_escape(&format!("{}/", public_base.trim_end_matches('/')));
    let upstream = upstream.as_str();
    let mut bases = vec![upstream.to_string()];
    if let Some(rest) = upstream.strip_prefix("https://") {
        bases.push(format!("http://{rest}"));
    }
    let mut pairs = Vec::new();
    for base in &bases {
        for separator in [":", ": "] {
            let from = format!("\"tarball\"{separator}\"{base}");
            let to = format!("\"tarball\"{separator}\"{replacement}");
            pairs.push((from.into_bytes(), to.into_bytes()));
        }
    }
    PrefixRewriter::new(pairs)
}

/// Escapes what JSON requires inside a string. The public base comes from configuration or from
/// the client's `Host`, so it is treated as untrusted text.
fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ch if u32::from(ch) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(ch))),
            ch => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use larder_adapter::Rewriter;

    fn upstream() -> Url {
        Url::parse("https://registry.npmjs.org/").unwrap()
    }

    #[test]
    fn both_json_spellings_and_the_http_variant_are_rewritten() {
        let doc = br#"{"a":{"tarball":"https://registry.npmjs.org/a/-/a-1.tgz"},"b":{"tarball": "http://registry.npmjs.org/b/-/b-1.tgz"},"readme":"see https://registry.npmjs.org/a"}"#;
        let out = tarball_links(&upstream(), "http://127.0.0.1:7878/npm").rewrite_all(doc);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"tarball":"http://127.0.0.1:7878/npm/a/-/a-1.tgz"},"b":{"tarball": "http://127.0.0.1:7878/npm/b/-/b-1.tgz"},"readme":"see https://registry.npmjs.org/a"}"#
        );
    }

    #[test]
    fn other_hosts_are_left_alone() {
        let doc = br#"{"tarball":"https://cdn.example/a/-/a-1.tgz","x":{"tarball":"https:\/\/registry.npmjs.org\/a"}}"#;
        let out = tarball_links(&upstream(), "http://me/npm").rewrite_all(doc);
        assert_eq!(&out[..], &doc[..]);
    }

    #[test]
    fn upstream_with_a_path_and_a_hostile_public_base() {
        let upstream = Url::parse("http://10.0.0.1:4873/private/").unwrap();
        let doc = br#"{"tarball":"http://10.0.0.1:4873/private/a/-/a-1.tgz"}"#;
        let out = tarball_links(&upstream, "http://x\"y\\/npm/").rewrite_all(doc);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"tarball":"http://x\"y\\/npm/a/-/a-1.tgz"}"#
        );
    }

    #[test]
    fn streaming_in_small_chunks_gives_the_same_bytes() {
        let doc = include_bytes!("../tests/data/abbreviated-scoped.json");
        let whole = tarball_links(&upstream(), "http://me/npm").rewrite_all(doc);
        let mut rewriter = tarball_links(&upstream(), "http://me/npm");
        let mut out = Vec::new();
        for chunk in doc.chunks(7) {
            rewriter.push(chunk, &mut out);
        }
        rewriter.finish(&mut out);
        assert_eq!(out, whole);
    }
}
