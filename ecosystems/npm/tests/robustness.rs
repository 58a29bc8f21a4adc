//! The fuzz targets' properties, checked on a fixed set of generated inputs in the default suite
//! (the real fuzzing runs with `cargo fuzz`, see `fuzz/`): nothing panics on malformed input,
//! whatever classifies as a package names no traversal, and rewriting is chunking-independent.

use larder_adapter::Rewriter;
use larder_npm::accept::Variant;
use larder_npm::path::{classify, Target};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    /// Glues together fragments that matter to the parsers.
    fn text(&mut self, fragments: &[&str], max: u64) -> String {
        let count = self.next() % max;
        (0..count).map(|_| self.pick(fragments)).collect()
    }
}

const PATH_BITS: &[&str] = &[
    "/",
    "-",
    "@",
    "%2f",
    "%2F",
    "%2e",
    ".",
    "..",
    "a",
    "Z",
    "_",
    "~",
    "%",
    "%zz",
    "%ff",
    "%00",
    ".tgz",
    "%252f",
    "\\",
    "é",
    "?",
    "#",
    "node_modules",
    "dist-tags",
    "package",
    "npm",
    "v1",
    "security",
    "ping",
    "1.0.0",
    "+",
];

#[test]
fn classified_paths_never_name_traversal() {
    let mut gen = Gen(0x9e37_79b9_7f4a_7c15);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let path = format!("/{}", gen.text(PATH_BITS, 12));
        let Ok(target) = classify(&path) else {
            continue;
        };
        let (name, extra) = match &target {
            Target::Packument(name) | Target::DistTags(name) => (name, String::new()),
            Target::Manifest { name, version } => (name, version.clone()),
            Target::Tarball { name, file } => (name, file.clone()),
            Target::Ping | Target::Keys | Target::Audit { .. } => continue,
        };
        accepted += 1;
        let rendered = format!("{name}/{extra}");
        assert!(
            !rendered
                .split('/')
                .any(|segment| segment == ".." || segment == "." || segment.starts_with('.')),
            "{path} → {rendered}"
        );
        assert!(
            !rendered.contains('%') && !rendered.contains('\\'),
            "{path} → {rendered}"
        );
    }
    assert!(
        accepted > 500,
        "the generator must reach valid paths too ({accepted})"
    );
}

#[test]
fn accept_negotiation_takes_anything() {
    let bits = &[
        "application/vnd.npm.install-v1+json",
        "application/json",
        ";",
        ",",
        "q=",
        "0",
        "1",
        ".5",
        "*/*",
        " ",
        "nan",
        "inf",
        "-1",
    ];
    let mut gen = Gen(42);
    for _ in 0..20_000 {
        let _ = Variant::negotiate(Some(&gen.text(bits, 10)));
    }
}

#[test]
fn digest_lookup_takes_anything() {
    let bits = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"versions\"",
        "\"dist\"",
        "\"tarball\"",
        "\"a-1.0.0.tgz\"",
        "\"integrity\"",
        "\"shasum\"",
        "\"sha512-AAAA\"",
        "\"x/a-1.0.0.tgz\"",
        "null",
        "1",
        "\"\\u0000\"",
        "\"\\",
        "\u{fffd}",
    ];
    let mut gen = Gen(7);
    for _ in 0..20_000 {
        let body = gen.text(bits, 24);
        let _ = larder_npm::listing::find(body.as_bytes(), "a-1.0.0.tgz");
    }
}

#[test]
fn rewriting_is_independent_of_chunking() {
    let upstream = url::Url::parse("https://registry.npmjs.org/").unwrap();
    let bits = &[
        "\"tarball\":\"https://registry.npmjs.org/",
        "\"tarball\": \"",
        "https://registry.npmjs.org/",
        "\"",
        "a",
        ":",
        " ",
        "http://registry.npmjs.org/",
    ];
    let mut gen = Gen(1234);
    for _ in 0..500 {
        let body = gen.text(bits, 16);
        let whole = larder_npm::rewrite::tarball_links(&upstream, "http://me/npm")
            .rewrite_all(body.as_bytes());
        let chunk = (gen.next() % 9 + 1) as usize;
        let mut rewriter = larder_npm::rewrite::tarball_links(&upstream, "http://me/npm");
        let mut out = Vec::new();
        for piece in body.as_bytes().chunks(chunk) {
            rewriter.push(piece, &mut out);
        }
        rewriter.finish(&mut out);
        assert_eq!(out, whole, "{body:?} in chunks of {chunk}");
    }
}
