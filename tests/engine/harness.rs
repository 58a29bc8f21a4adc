//! An in-process larder serving a small test ecosystem (`/t/`), so the engine is proven on its
//! own, before any real protocol.
//!
//! Routes of the test ecosystem, all under the upstream's root:
//! - `/t/blob/<name>`: immutable; `?sha256=<hex>` (or `sha512=`) verifies against that digest, `?listed`
//!   against the `index` object, nothing else stores as fetched;
//! - `/t/meta/<name>`: mutable metadata with the configured TTLs;
//! - `/t/decl`: mutable, declares `<name> <sha256 hex>` digests for `blob/<name>` (reading it
//!   takes a second when its first line is `slow`);
//! - `/t/rewritten/<name>`: mutable, with `UPSTREAM` in the body rewritten to larder's base.
//!
//! For `[policy]`, `blob/<name>` is release `<name>` of package `<name>`, whose publish time
//! is the `times` object's line `<name> <unix seconds>` (`/times`, mutable).

use http::StatusCode;
use larder::config::Config;
use larder_adapter::{
    AdapterFactory, ClientRequest, Digest, Ecosystem, Freshness, Listing, Object, PrefixRewriter,
    Rewriter, Route, Section, SettingsError, Verify,
};
use std::net::SocketAddr;
use std::sync::LazyLock;
use std::time::Duration;
use url::Url;

struct TestEcosystem {
    section: Section,
}

impl TestEcosystem {
    fn object(&self, key: &str, path: &str, freshness: Freshness) -> Object {
        let upstream = self
            .section
            .upstream
            .join(path.trim_start_matches('/'))
            .expect("joinable");
        Object::new(key, upstream, freshness)
    }

    fn mutable(&self) -> Freshness {
        Freshness::Mutable {
            ttl: self.section.metadata_ttl,
            negative_ttl: self.section.negative_ttl,
        }
    }
}

impl Ecosystem for TestEcosystem {
    fn name(&self) -> &'static str {
        "t"
    }

    fn upstreams(&self) -> Vec<Url> {
        vec![self.section.upstream.clone()]
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        let path = request.path;
        if path.contains("..") || path.contains("%2e") || path.contains("%2E") {
            return Route::reply(StatusCode::BAD_REQUEST, "bad path");
        }
        if let Some(name) = path.strip_prefix("/blob/") {
            let object = self.object(&format!("blob/{name}"), path, Freshness::Immutable);
            let verify = match request.query {
                Some(q) if q.starts_with("sha256=") || q.starts_with("sha512=") => {
                    match Digest::from_labelled_hex(q) {
                        Some(digest) => Verify::Digest(digest),
                        None => return Route::reply(StatusCode::BAD_REQUEST, "bad digest"),
                    }
                }
                Some("listed") => {
                    Verify::Listed(Box::new(self.object("index", "/index", self.mutable())))
                }
                _ => Verify::None,
            };
            return Route::Fetch(object.verify(verify));
        }
        if path == "/panic" {
            panic!("the test ecosystem's deliberate bug");
        }
        if path == "/times" {
            return Route::Fetch(self.object("times", path, self.mutable()));
        }
        if path == "/decl" {
            return Route::Fetch(self.object("decl", path, self.mutable()).declares_digests());
        }
        if let Some(name) = path.strip_prefix("/meta/") {
            return Route::Fetch(
                self.object(&format!("meta/{name}"), path, self.mutable())
                    .content_type("application/json"),
            );
        }
        if let Some(name) = path.strip_prefix("/rewritten/") {
            return Route::Fetch(
                self.object(&format!("rewritten/{name}"), path, self.mutable())
                    .content_type("text/plain"),
            );
        }
        Route::reply(StatusCode::NOT_FOUND, "no such route in the test ecosystem")
    }

    fn find_digest(&self, _index: &Object, body: &[u8], artifact: &Object) -> Listing {
        let Ok(text) = std::str::from_utf8(body) else {
            return Listing::Unverifiable;
        };
        let name = artifact.key.trim_start_matches("blob/");
        for line in text.lines() {
            if let Some((listed, hex)) = line.split_once(' ') {
                if listed == name {
                    return Digest::from_labelled_hex(&format!("sha256={hex}"))
                        .map_or(Listing::Unverifiable, Listing::Found);
                }
            }
        }
        Listing::Absent
    }

    fn declared_digests(&self, _index: &Object, body: &[u8]) -> Vec<(String, Digest)> {
        let text = String::from_utf8_lossy(body);
        if text.starts_with("slow\n") {
            // A test device: an index that takes as long to read as Debian's main Packages.
            std::thread::sleep(Duration::from_secs(1));
        }
        text.lines()
            .filter_map(|line| {
                let (name, hex) = line.split_once(' ')?;
                Some((
                    format!("blob/{name}"),
                    Digest::from_labelled_hex(&format!("sha256={hex}"))?,
                ))
            })
            .collect()
    }

    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        let name = object.key.strip_prefix("blob/")?;
        Some(larder_adapter::Release::new(
            name,
            name,
            "generic",
            &[],
            name,
            &[],
        ))
    }

    fn times_source(&self, object: &Object) -> larder_adapter::TimesSource {
        match object.key.starts_with("blob/") {
            true => larder_adapter::TimesSource::Object(Box::new(self.object(
                "times",
                "/times",
                self.mutable(),
            ))),
            false => larder_adapter::TimesSource::Unknown,
        }
    }

    fn publish_times(&self, _source: &Object, body: &[u8]) -> larder_adapter::PublishTimes {
        String::from_utf8_lossy(body)
            .lines()
            .filter_map(|line| {
                let (name, at) = line.split_once(' ')?;
                Some((name.to_string(), at.trim().parse().ok()?))
            })
            .collect()
    }

    fn rewriter(&self, object: &Object, public_base: &str) -> Option<Box<dyn Rewriter>> {
        object.key.starts_with("rewritten/").then(|| {
            Box::new(PrefixRewriter::new(vec![(
                b"UPSTREAM".to_vec(),
                public_base.as_bytes().to_vec(),
            )])) as Box<dyn Rewriter>
        })
    }
}

fn build(section: &Section) -> Result<Box<dyn Ecosystem>, SettingsError> {
    Ok(Box::new(TestEcosystem {
        section: section.clone(),
    }))
}

static FACTORIES: LazyLock<Vec<AdapterFactory>> = LazyLock::new(|| {
    vec![AdapterFactory {
        name: "t",
        default_upstream: "http://127.0.0.1:9/",
        default_metadata_ttl: Duration::from_secs(300),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &[],
        build,
        clients: |_| larder_adapter::ClientSettings::default(),
        lockfiles: &[],
    }]
});

/// A larder running in this process on its own runtime; stops when dropped.
pub struct TestLarder {
    pub url: String,
    app: std::sync::Arc<larder::http::App>,
    pub data_dir: std::path::PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
    _temp: Option<tempfile::TempDir>,
}

impl TestLarder {
    /// `extra` is appended to a config with `[t] upstream = <upstream>`.
    pub fn start(upstream: &str, extra: &str) -> TestLarder {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut larder = TestLarder::start_in(temp.path(), upstream, extra);
        larder._temp = Some(temp);
        larder
    }

    /// Starts on `data_dir`. Safe to call from inside a tokio test: the server gets a runtime of
    /// its own, built on a plain thread.
    pub fn start_in(data_dir: &std::path::Path, upstream: &str, extra: &str) -> TestLarder {
        let (data_dir, upstream, extra) = (
            data_dir.to_path_buf(),
            upstream.to_string(),
            extra.to_string(),
        );
        std::thread::spawn(move || TestLarder::start_on_this_thread(&data_dir, &upstream, &extra))
            .join()
            .expect("larder starts")
    }

    fn start_on_this_thread(data_dir: &std::path::Path, upstream: &str, extra: &str) -> TestLarder {
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra}\n[t]\nupstream = \"{upstream}/\"\n",
            data_dir.display().to_string()
        );
        let table: toml::Table = merge_sections(&text).parse().expect("test config is TOML");

        let config = Config::from_table(table, &FACTORIES).expect("test config is valid");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let running = runtime
            .block_on(larder::server::start(&config, std::future::pending()))
            .expect("larder starts");
        let addr: SocketAddr = running.addr;
        TestLarder {
            url: format!("http://{addr}/t"),
            app: running.app.clone(),
            data_dir: data_dir.to_path_buf(),
            runtime: Some(runtime),
            _temp: None,
        }
    }

    /// The engine's clock: a test moves it past a TTL instead of sleeping.
    pub fn clock(&self) -> &larder::engine::Clock {
        &self.app.engine.clock
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}/{}", self.url, path.trim_start_matches('/'))
    }

    /// `larder_client_connections`, read in the process: asking over HTTP would add a
    /// connection of its own, still counted for a moment after its answer.
    pub fn open_connections(&self) -> i64 {
        self.app.metrics.clients.open.get()
    }

    /// Blob files published in the store.
    pub fn blob_count(&self) -> usize {
        crate::support::count_files(&self.data_dir.join("blobs"))
    }

    pub fn temp_count(&self) -> usize {
        crate::support::count_files(&self.data_dir.join("tmp"))
    }
}

impl Drop for TestLarder {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lets a test put `[t]` keys in `extra` too: a second `[t]` header would be invalid TOML.
fn merge_sections(text: &str) -> String {
    let mut head = String::new();
    let mut t_keys = String::new();
    let mut in_t = false;
    let mut t_header_seen = false;
    for line in text.lines() {
        if line.trim() == "[t]" {
            in_t = true;
            t_header_seen = true;
            continue;
        }
        if line.trim().starts_with('[') {
            in_t = false;
        }
        if in_t {
            t_keys.push_str(line);
            t_keys.push('\n');
        } else {
            head.push_str(line);
            head.push('\n');
        }
    }
    if t_header_seen {
        head.push_str("[t]\n");
        head.push_str(&t_keys);
    }
    head
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Deterministic incompressible-looking bytes.
pub fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut state = 0x9e3779b97f4a7c15u64 ^ seed as u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
