//! Link rewriting for simple pages, so that every file a client installs comes through larder.
//!
//! Only URL prefixes in link positions are replaced (`href="…"`, `href='…'`, JSON `"url":"…"` and
//! `"url": "…"`); everything else, hash fragments, `data-*` attributes and JSON keys included,
//! passes byte for byte. The JSON page therefore never gains a key (a `dist-info-metadata` key
//! would crash pip ≥ 22.3).
//!
//! Where a link goes:
//! - under `files_upstream` (PyPI's files host) → `{public_base}/files/<project>/<rest>`;
//! - absolute, under the index's own origin → `{public_base}/index/<project>/<path>`;
//! - root-relative (`/packages/…`) and `../`/`./`-relative (`../../packages/…`, as pypiserver
//!   writes them) → the same `{public_base}/index/<project>/<path>`, resolved against the
//!   page's upstream path;
//! - plain relative (`x.whl`): left as they are; the client resolves them against larder's page
//!   URL, `/simple/<project>/x.whl`, which larder routes to the same file upstream;
//! - protocol-relative (`//host/…`) or on another host: left as they are.
//!
//! Both HTML and JSON patterns are applied to either variant, because a private index may answer
//! the JSON `Accept` with HTML.

use larder_adapter::PrefixRewriter;
use url::Url;

/// Where links may sit, in HTML and JSON, as the bytes that precede the URL.
const LINK_CONTEXTS: [&str; 4] = ["href=\"", "href='", "\"url\":\"", "\"url\": \""];

/// The rewriter for one project's page (either variant). `page_path` is the page's path on the
/// index (`/simple/<project>/`), against which `../` links are resolved.
pub fn project_page(
    project: &str,
    public_base: &str,
    page_path: &str,
    files_upstream: &Url,
    index_origin: &Url,
) -> PrefixRewriter {
    let files = format!("{public_base}/files/{project}/");
    let index = format!("{public_base}/index/{project}/");
    let mut prefixes = vec![
        (files_upstream.as_str().to_owned(), files),
        (index_origin.as_str().to_owned(), index.clone()),
        ("/".to_owned(), index.clone()),
        // Longer than "/", so leftmost-longest keeps protocol-relative links out of the line above.
        ("//".to_owned(), "//".to_owned()),
    ];
    // `../` and `./` links (pypiserver writes `../../packages/<file>`), resolved here because a
    // client would resolve them against larder's page URL, whose depth differs from upstream's.
    // More `../` than the page has directories stay at the root, as in a browser.
    let dirs: Vec<&str> = page_path.split('/').filter(|s| !s.is_empty()).collect();
    let under = |kept: &[&str]| match kept {
        [] => index.clone(),
        kept => format!("{index}{}/", kept.join("/")),
    };
    for up in 1..=dirs.len() + 8 {
        prefixes.push((
            "../".repeat(up),
            under(&dirs[..dirs.len().saturating_sub(up)]),
        ));
    }
    prefixes.push(("./".to_owned(), under(&dirs)));
    dedup_by_prefix(&mut prefixes);
    in_link_contexts(&prefixes)
}

/// The rewriter for the root list (`/simple/`), whose links are root-relative paths under the
/// upstream's own path (`/simple/<project>/` on PyPI).
pub fn root_page(public_base: &str, upstream: &Url) -> PrefixRewriter {
    let prefixes = vec![
        (upstream.path().to_owned(), format!("{public_base}/simple/")),
        (
            upstream.as_str().to_owned(),
            format!("{public_base}/simple/"),
        ),
    ];
    in_link_contexts(&prefixes)
}

/// When the files host and the index share a base, the first (files) mapping wins.
fn dedup_by_prefix(prefixes: &mut Vec<(String, String)>) {
    let mut seen = Vec::new();
    prefixes.retain(|(from, _)| {
        let new = !seen.contains(from);
        seen.push(from.clone());
        new
    });
}

fn in_link_contexts(prefixes: &[(String, String)]) -> PrefixRewriter {
    let mut pairs = Vec::new();
    for context in LINK_CONTEXTS {
        for (from, to) in prefixes {
            pairs.push((
                format!("{context}{from}").into_bytes(),
                format!("{context}{to}").into_bytes(),
            ));
        }
    }
    PrefixRewriter::new(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use larder_adapter::Rewriter;

    fn rewrite(rw: PrefixRewriter, input: &str) -> String {
        String::from_utf8(rw.rewrite_all(input.as_bytes())).unwrap()
    }

    fn demo() -> PrefixRewriter {
        project_page(
            "demo",
            "http://l/pypi",
            "/simple/demo/",
            &Url::parse("https://files.example/").unwrap(),
            &Url::parse("https://index.example/").unwrap(),
        )
    }

    #[test]
    fn maps_every_link_kind() {
        for (input, want) in [
            (
                r#"<a href="https://files.example/packages/a/b/c/d-1.whl#sha256=ab">"#,
                r#"<a href="http://l/pypi/files/demo/packages/a/b/c/d-1.whl#sha256=ab">"#,
            ),
            (
                r#"<a href='https://files.example/x'>"#,
                r#"<a href='http://l/pypi/files/demo/x'>"#,
            ),
            (
                r#"{"url":"https://files.example/x"}"#,
                r#"{"url":"http://l/pypi/files/demo/x"}"#,
            ),
            (
                r#"{"url": "https://files.example/x"}"#,
                r#"{"url": "http://l/pypi/files/demo/x"}"#,
            ),
            (
                r#"<a href="https://index.example/p/x">"#,
                r#"<a href="http://l/pypi/index/demo/p/x">"#,
            ),
            (
                r#"<a href="/p/x">"#,
                r#"<a href="http://l/pypi/index/demo/p/x">"#,
            ),
            (
                r#"{"url":"/p/x"}"#,
                r#"{"url":"http://l/pypi/index/demo/p/x"}"#,
            ),
            // Left alone: protocol-relative, other hosts, page-relative, non-link text.
            (
                r#"<a href="//cdn.example/x">"#,
                r#"<a href="//cdn.example/x">"#,
            ),
            (
                r#"<a href="https://other.example/x">"#,
                r#"<a href="https://other.example/x">"#,
            ),
            (
                r#"<a href="../../packages/x.whl">"#,
                r#"<a href="http://l/pypi/index/demo/packages/x.whl">"#,
            ),
            (
                r#"<a href="../x.whl">"#,
                r#"<a href="http://l/pypi/index/demo/simple/x.whl">"#,
            ),
            (
                r#"<a href="../../../../x.whl">"#,
                r#"<a href="http://l/pypi/index/demo/x.whl">"#,
            ),
            (
                r#"<a href="./x.whl">"#,
                r#"<a href="http://l/pypi/index/demo/simple/demo/x.whl">"#,
            ),
            (r#"<a href="x.whl">"#, r#"<a href="x.whl">"#),
            ("see https://files.example/x", "see https://files.example/x"),
        ] {
            assert_eq!(rewrite(demo(), input), want, "{input}");
        }
    }

    #[test]
    fn files_host_under_the_index_origin_maps_to_files() {
        let rw = project_page(
            "demo",
            "http://l/pypi",
            "/simple/demo/",
            &Url::parse("https://idx.example/packages/").unwrap(),
            &Url::parse("https://idx.example/").unwrap(),
        );
        assert_eq!(
            rewrite(
                rw,
                r#"<a href="https://idx.example/packages/x.whl"><a href="https://idx.example/simple/x">"#
            ),
            r#"<a href="http://l/pypi/files/demo/x.whl"><a href="http://l/pypi/index/demo/simple/x">"#
        );
    }

    #[test]
    fn root_list_links_point_at_larder() {
        let rw = root_page(
            "http://l/pypi",
            &Url::parse("https://pypi.example/simple/").unwrap(),
        );
        assert_eq!(
            rewrite(
                rw,
                r#"<a href="/simple/demo/">demo</a><a href="zope-interface/">z</a>"#
            ),
            r#"<a href="http://l/pypi/simple/demo/">demo</a><a href="zope-interface/">z</a>"#
        );
    }

    #[test]
    fn chunking_does_not_change_output() {
        let input = r#"<a href="https://files.example/x">x</a><a href="/y">"#;
        let want = rewrite(demo(), input);
        for size in 1..input.len() {
            let mut rw = demo();
            let mut out = Vec::new();
            for chunk in input.as_bytes().chunks(size) {
                rw.push(chunk, &mut out);
            }
            rw.finish(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want, "chunk size {size}");
        }
    }
}
