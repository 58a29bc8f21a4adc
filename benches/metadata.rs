//! Metadata throughput on large generated documents, through the adapters' public interface as
//! the engine drives them: the streaming link rewrite (fed in the engine's 256 KiB read chunks),
//! the time until its first output byte, and the digest lookups that gate verification.
//!
//! `cargo bench --bench metadata` (part of `benches/run`). The documents are generated here,
//! shaped like the real ones: a ~40 MB npm packument, PyPI simple pages (HTML and JSON) with
//! 10,000 files, and an apt `Packages` index of 60,000 stanzas (~40 MB).

use base64::Engine as _;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::{HeaderMap, HeaderValue, Method};
use larder_adapter::{AdapterFactory, ClientRequest, Ecosystem, Listing, Object, Route, Section};
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt::Write as _;
use std::time::Duration;
use url::Url;

/// A document to rewrite: its name, the adapter and object it is routed to, the base URL.
type Input<'a> = (&'a str, &'a dyn Ecosystem, &'a Object, &'a str, &'a [u8]);

/// The engine's read size (`src/body.rs`): a rewriter sees the document in pieces this big.
const CHUNK: usize = 256 * 1024;
const PUBLIC_BASE_NPM: &str = "http://larder.internal:7878/npm";
const PUBLIC_BASE_PYPI: &str = "http://larder.internal:7878/pypi";

fn adapter(
    factory: AdapterFactory,
    upstream: &str,
    extra: serde_json::Value,
) -> Box<dyn Ecosystem> {
    let section = Section {
        upstream: Url::parse(upstream).expect("upstream URL"),
        metadata_ttl: factory.default_metadata_ttl,
        negative_ttl: factory.default_negative_ttl,
        extra: match extra {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
    };
    (factory.build)(&section).expect("adapter")
}

fn fetch(adapter: &dyn Ecosystem, proxy_host: Option<&str>, path: &str, accept: &str) -> Object {
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_str(accept).expect("accept"));
    let request = ClientRequest {
        method: &Method::GET,
        proxy_host,
        path,
        query: None,
        headers: &headers,
    };
    match adapter.route(&request) {
        Route::Fetch(object) => object,
        other => panic!("{path}: expected a fetch, got {other:?}"),
    }
}

fn hex(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

fn sri(seed: &str) -> String {
    let digest = Sha512::digest(seed.as_bytes());
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// A full packument of at least `size` bytes: one package with many versions, each carrying the
/// fields the registry sends (the tarball link is what gets rewritten).
fn npm_packument(name: &str, size: usize) -> (Vec<u8>, String) {
    let mut versions = String::new();
    let mut times = String::new();
    let mut last = String::new();
    let mut i = 0;
    while versions.len() < size {
        let version = format!("1.{}.{}", i / 100, i % 100);
        let _ = write!(
            versions,
            r#"{}"{version}":{{"name":"{name}","version":"{version}","description":"A package with a long history, generated for larder's benchmarks","main":"index.js","scripts":{{"test":"node test.js"}},"repository":{{"type":"git","url":"git+https://example.org/{name}.git"}},"license":"MIT","dependencies":{{"left-pad":"^1.3.0","lodash":"^4.17.21","semver":"^7.5.{}"}},"_id":"{name}@{version}","_nodeVersion":"20.11.0","_npmVersion":"10.2.4","dist":{{"integrity":"{}","shasum":"{}","tarball":"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz","fileCount":12,"unpackedSize":{},"signatures":[{{"keyid":"SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA","sig":"MEUCIQDx{}"}}]}},"maintainers":[{{"name":"someone","email":"someone@example.org"}}],"_npmUser":{{"name":"someone","email":"someone@example.org"}},"directories":{{}},"_hasShrinkwrap":false}}"#,
            if i == 0 { "" } else { "," },
            i % 10,
            sri(&version),
            &hex(&version)[..40],
            10_000 + i,
            &hex(&format!("sig{version}"))[..40],
        );
        let _ = write!(
            times,
            r#","{version}":"2024-01-01T00:00:{:02}.000Z""#,
            i % 60
        );
        last = version;
        i += 1;
    }
    let doc = format!(
        r#"{{"_id":"{name}","name":"{name}","dist-tags":{{"latest":"{last}"}},"versions":{{{versions}}},"time":{{"created":"2020-01-01T00:00:00.000Z"{times}}},"readme":"","license":"MIT"}}"#
    );
    (doc.into_bytes(), last)
}

/// A PEP 503 page and its PEP 691 twin with `files` distributions.
fn pypi_pages(project: &str, files: usize) -> (Vec<u8>, Vec<u8>, String) {
    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.1\">\n    <title>Links for {project}</title>\n  </head>\n  <body>\n    <h1>Links for {project}</h1>\n"
    );
    let mut json = format!(
        r#"{{"meta":{{"api-version":"1.1","_last-serial":1}},"name":"{project}","versions":[],"files":["#
    );
    let mut last = String::new();
    for i in 0..files {
        let file = if i % 2 == 0 {
            format!("{project}-1.{}.{}.tar.gz", i / 200, i % 100)
        } else {
            format!(
                "{project}-1.{}.{}-cp312-cp312-manylinux_2_17_x86_64.whl",
                i / 200,
                i % 100
            )
        };
        let blake = hex(&file);
        let path = format!(
            "packages/{}/{}/{}/{file}",
            &blake[..2],
            &blake[2..4],
            &blake[4..]
        );
        let sha = hex(&path);
        let _ = writeln!(
            html,
            r#"    <a href="https://files.pythonhosted.org/{path}#sha256={sha}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={sha}" data-core-metadata="sha256={sha}">{file}</a><br />"#
        );
        let _ = write!(
            json,
            r#"{}{{"core-metadata":{{"sha256":"{sha}"}},"data-dist-info-metadata":{{"sha256":"{sha}"}},"filename":"{file}","hashes":{{"sha256":"{sha}"}},"requires-python":">=3.8","size":{},"upload-time":"2024-05-01T10:00:01.123456Z","url":"https://files.pythonhosted.org/{path}","yanked":false}}"#,
            if i == 0 { "" } else { "," },
            100_000 + i
        );
        last = path;
    }
    html.push_str("  </body>\n</html>\n");
    json.push_str("]}");
    (html.into_bytes(), json.into_bytes(), last)
}

/// A `Packages` index with `stanzas` binary packages, as in a Debian `main` component.
fn packages_index(stanzas: usize) -> Vec<u8> {
    let mut text = String::new();
    for i in 0..stanzas {
        let name = format!("package{i}");
        let _ = write!(
            text,
            "Package: {name}\nVersion: 1.{}.{}-1\nInstalled-Size: {}\nMaintainer: Debian Benchmarks <bench@example.org>\nArchitecture: amd64\nDepends: libc6 (>= 2.34), libssl3 (>= 3.0.0), zlib1g (>= 1:1.2.0)\nDescription: generated package number {i} for larder's benchmarks\nHomepage: https://example.org/{name}\nDescription-md5: {}\nTag: devel::library, implemented-in::c, role::shared-lib\nSection: libs\nPriority: optional\nFilename: pool/main/p/{name}/{name}_1.{}.{}-1_amd64.deb\nSize: {}\nMD5sum: {}\nSHA256: {}\n\n",
            i / 100,
            i % 100,
            100 + i % 5000,
            &hex(&format!("d{i}"))[..32],
            i / 100,
            i % 100,
            20_000 + i,
            &hex(&format!("m{i}"))[..32],
            hex(&format!("s{i}")),
        );
    }
    text.into_bytes()
}

/// The whole document through the adapter's rewriter, as the engine streams it.
fn rewrite_all(adapter: &dyn Ecosystem, object: &Object, base: &str, doc: &[u8]) -> usize {
    let mut rewriter = adapter.rewriter(object, base).expect("a rewriter");
    let mut total = 0;
    for chunk in doc.chunks(CHUNK) {
        let mut out = Vec::new();
        rewriter.push(chunk, &mut out);
        total += black_box(out).len();
    }
    let mut out = Vec::new();
    rewriter.finish(&mut out);
    total + out.len()
}

/// Work done before the first rewritten byte can be sent.
fn first_byte(adapter: &dyn Ecosystem, object: &Object, base: &str, doc: &[u8]) -> usize {
    let mut rewriter = adapter.rewriter(object, base).expect("a rewriter");
    let mut out = Vec::new();
    for chunk in doc.chunks(CHUNK) {
        rewriter.push(chunk, &mut out);
        if !out.is_empty() {
            return out.len();
        }
    }
    rewriter.finish(&mut out);
    out.len()
}

fn metadata(c: &mut Criterion) {
    let npm = adapter(
        larder_npm::factory(),
        "https://registry.npmjs.org/",
        serde_json::json!({}),
    );
    let pypi = adapter(
        larder_pypi::factory(),
        "https://pypi.org/simple/",
        serde_json::json!({}),
    );
    let apt = adapter(
        larder_apt::factory(),
        "http://deb.debian.org/",
        serde_json::json!({}),
    );

    let (packument, last_version) = npm_packument("bench-huge", 40_000_000);
    let full = fetch(&*npm, None, "/bench-huge", "application/json");
    let abbreviated = fetch(
        &*npm,
        None,
        "/bench-huge",
        "application/vnd.npm.install-v1+json",
    );
    let tarball = fetch(
        &*npm,
        None,
        &format!("/bench-huge/-/bench-huge-{last_version}.tgz"),
        "*/*",
    );
    let (html, json, last_file) = pypi_pages("bench-huge", 10_000);
    let html_page = fetch(&*pypi, None, "/simple/bench-huge/", "text/html");
    let json_page = fetch(
        &*pypi,
        None,
        "/simple/bench-huge/",
        "application/vnd.pypi.simple.v1+json",
    );
    let file = fetch(
        &*pypi,
        None,
        &format!("/files/bench-huge/{last_file}"),
        "*/*",
    );
    let packages = packages_index(60_000);
    let index = fetch(
        &*apt,
        None,
        "/deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages",
        "*/*",
    );
    assert_eq!(
        apt.declared_digests(&index, &packages).len(),
        60_000,
        "every stanza of the generated index declares its pool file"
    );

    assert!(matches!(
        npm.find_digest(&abbreviated, &packument, &tarball),
        Listing::Found(_)
    ));
    assert!(matches!(
        pypi.find_digest(&json_page, &json, &file),
        Listing::Found(_)
    ));

    let inputs: [Input; 3] = [
        ("npm packument", &*npm, &full, PUBLIC_BASE_NPM, &packument),
        (
            "pypi page html",
            &*pypi,
            &html_page,
            PUBLIC_BASE_PYPI,
            &html,
        ),
        (
            "pypi page json",
            &*pypi,
            &json_page,
            PUBLIC_BASE_PYPI,
            &json,
        ),
    ];
    let mut group = c.benchmark_group("rewrite");
    group.sample_size(10);
    for (name, adapter, object, base, doc) in inputs {
        assert!(rewrite_all(adapter, object, base, doc) > doc.len() / 2);
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| rewrite_all(adapter, object, base, doc))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("first byte");
    for (name, adapter, object, base, doc) in inputs {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| first_byte(adapter, object, base, doc))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("digest lookup");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(packument.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("npm packument"), |b| {
        b.iter(|| npm.find_digest(&abbreviated, &packument, &tarball))
    });
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("pypi page json"), |b| {
        b.iter(|| pypi.find_digest(&json_page, &json, &file))
    });
    group.throughput(Throughput::Bytes(packages.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("apt Packages"), |b| {
        b.iter(|| apt.declared_digests(&index, &packages))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = metadata
}
criterion_main!(benches);
