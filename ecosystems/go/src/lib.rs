//! larder's Go modules adapter: a GOPROXY (`GOPROXY=http://larder:7878/go`) and the checksum
//! database through it (`/go/sumdb/<name>/...`).
//!
//! Architecture invariant: no I/O. This crate decodes and checks request paths, names the
//! upstream object, and says which objects never change; the engine fetches, stores and serves.
//! Module bytes are never checked here: the proxy protocol declares no digest, and the go
//! command checks every `.mod` and `.zip` against `go.sum` and the checksum database itself.

#![forbid(unsafe_code)]

pub mod clients;
mod escape;
pub mod lockfile;
mod policy;
mod proxy;
mod release;
mod semver;
mod sumdb;

use http::StatusCode;
use larder_adapter::{
    base_url, AdapterFactory, ClientRequest, Ecosystem, Freshness, Listing, Object, Offer,
    PublishTimes, Route, Section, SettingsError, TimesSource, Withheld,
};
use proxy::{Endpoint, ProxyRequest};
use std::time::Duration;
use sumdb::SumdbRequest;
use url::Url;

pub use semver::is_canonical;

/// The adapter's name, URL prefix and config section.
pub const NAME: &str = "go";
const DEFAULT_UPSTREAM: &str = "https://proxy.golang.org/";
const DEFAULT_SUMDB_UPSTREAM: &str = "https://sum.golang.org/";

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";
const ZIP: &str = "application/zip";

/// Registers the adapter: `[go]` with `upstream`, `metadata_ttl`, `negative_ttl`, and
/// `sumdb_upstream` (the checksum database larder proxies, or `"off"` to proxy none, so that
/// clients contact theirs directly) and `sumdb_name` (the name clients use for it in `GOSUMDB`;
/// defaults to `sumdb_upstream`'s host name).
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: DEFAULT_UPSTREAM,
        default_metadata_ttl: Duration::from_secs(60),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &["sumdb_upstream", "sumdb_name"],
        build: |section| Ok(Box::new(Go::new(section)?)),
        clients: clients::settings,
        lockfiles: &lockfile::LOCKFILES,
    }
}

/// The Go adapter, built from its `[go]` section.
pub struct Go {
    upstream: Url,
    sumdb: Option<SumDb>,
    metadata: Freshness,
}

/// The checksum database proxied under `/sumdb/<name>/`.
struct SumDb {
    upstream: Url,
    name: String,
}

impl Go {
    pub fn new(section: &Section) -> Result<Self, SettingsError> {
        let upstream = base_url("[go] upstream", section.upstream.clone())?;
        let sumdb = match section.extra.get("sumdb_upstream").and_then(|v| v.as_str()) {
            Some("off") => None,
            _ => Some(SumDb::new(section)?),
        };
        Ok(Go {
            upstream,
            sumdb,
            metadata: Freshness::Mutable {
                ttl: section.metadata_ttl,
                negative_ttl: section.negative_ttl,
            },
        })
    }

    fn route_proxy(&self, request: ProxyRequest) -> Route {
        let (freshness, content_type) = match &request.endpoint {
            Endpoint::List => (self.metadata, TEXT),
            Endpoint::Latest => (self.metadata, JSON),
            Endpoint::Info(v) => (self.version_freshness(&v.decoded), JSON),
            Endpoint::Mod(v) => (self.version_freshness(&v.decoded), TEXT),
            // Toolchain zips (`golang.org/toolchain/@v/v0.0.1-go1.21.0.linux-amd64.zip`) are
            // ordinary module zips: canonical, immutable, streamed by the engine.
            Endpoint::Zip(v) => (self.version_freshness(&v.decoded), ZIP),
        };
        let key = format!("proxy/{}", request.escaped_path());
        fetch(
            key,
            &self.upstream,
            &request.url_path(),
            freshness,
            Some(content_type),
        )
    }

    /// `.info`, `.mod` and `.zip` of a canonical version never change; of anything else (a branch
    /// name, `v1`, a commit prefix) they are a query whose answer moves.
    fn version_freshness(&self, version: &str) -> Freshness {
        if semver::is_canonical(version) {
            Freshness::Immutable
        } else {
            self.metadata
        }
    }

    fn route_sumdb(&self, name: &str, rest: &str) -> Route {
        let Some(sumdb) = &self.sumdb else {
            return Route::reply(
                StatusCode::NOT_FOUND,
                "larder proxies no checksum database ([go] sumdb_upstream = \"off\"); the go command contacts it directly",
            );
        };
        if name != sumdb.name {
            return Route::reply(
                StatusCode::NOT_FOUND,
                format!(
                    "larder proxies the checksum database {:?}, not {name:?}; set [go] sumdb_name and sumdb_upstream to proxy another one",
                    sumdb.name
                ),
            );
        }
        let (freshness, content_type) = match sumdb::parse(rest) {
            Err(malformed) => return Route::reply(StatusCode::BAD_REQUEST, malformed.to_string()),
            Ok(None) => return not_found(&format!("sumdb/{name}/{rest}")),
            Ok(Some(SumdbRequest::Supported)) => return Route::reply(StatusCode::OK, ""),
            // Hash tiles are binary, data tiles text: the upstream's type is kept.
            Ok(Some(SumdbRequest::Tile { partial: false })) => (Freshness::Immutable, None),
            Ok(Some(SumdbRequest::Tile { partial: true })) => (self.metadata, None),
            Ok(Some(SumdbRequest::Lookup | SumdbRequest::Latest)) => (self.metadata, Some(TEXT)),
        };
        let key = format!("sumdb/{name}/{rest}");
        fetch(
            key,
            &sumdb.upstream,
            &escape::for_url(rest),
            freshness,
            content_type,
        )
    }
}

impl SumDb {
    fn new(section: &Section) -> Result<Self, SettingsError> {
        let upstream = base_url(
            "[go] sumdb_upstream",
            section.extra_url("sumdb_upstream", DEFAULT_SUMDB_UPSTREAM)?,
        )?;
        let name = match section.extra.get("sumdb_name") {
            None => upstream.host_str().unwrap_or_default().to_owned(),
            Some(value) => match value.as_str() {
                Some(name) => name.to_owned(),
                None => {
                    return Err(SettingsError(format!(
                        "[go] sumdb_name must be a string such as \"sum.golang.org\", got {value}"
                    )))
                }
            },
        };
        // The go command splits GOSUMDB on '+' and whitespace, and the name becomes a path
        // element: anything else could never match a client's request.
        let name_ok = !name.is_empty()
            && name.len() <= 255
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'+' && b != b'/' && b != b'%');
        if !name_ok {
            return Err(SettingsError(format!(
                "[go] sumdb_name {name:?} cannot be a checksum database name (non-empty, printable ASCII, no '+', '/' or '%'); set it to the name used in GOSUMDB"
            )));
        }
        Ok(SumDb { upstream, name })
    }
}

impl Ecosystem for Go {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        release::of(&object.key)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn extra_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut settings = serde_json::Map::new();
        match &self.sumdb {
            Some(sumdb) => {
                settings.insert("sumdb_upstream".into(), sumdb.upstream.as_str().into());
                settings.insert("sumdb_name".into(), sumdb.name.clone().into());
            }
            None => {
                settings.insert("sumdb_upstream".into(), "off".into());
            }
        }
        settings
    }

    fn upstreams(&self) -> Vec<Url> {
        let sumdb = self.sumdb.as_ref().map(|sumdb| sumdb.upstream.clone());
        std::iter::once(self.upstream.clone())
            .chain(sumdb)
            .collect()
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        if !request.is_read() {
            return Route::reply(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "a GOPROXY is read-only: only GET and HEAD are served, not {}",
                    request.method
                ),
            );
        }
        let path = match escape::percent_decode(request.path) {
            Ok(path) => path,
            Err(malformed) => return Route::reply(StatusCode::BAD_REQUEST, malformed.to_string()),
        };
        // No module path starts with "sumdb/": a module path's first element contains a dot.
        if let Some(below) = path.strip_prefix("/sumdb/") {
            let (name, rest) = below.split_once('/').unwrap_or((below, ""));
            return self.route_sumdb(name, rest);
        }
        match proxy::parse(&path) {
            Ok(Some(request)) => self.route_proxy(request),
            Ok(None) => not_found(&path),
            Err(malformed) => Route::reply(StatusCode::BAD_REQUEST, malformed.to_string()),
        }
    }

    fn find_digest(&self, _index: &Object, _index_body: &[u8], _artifact: &Object) -> Listing {
        // Never asked: every Go object is routed with `Verify::None`.
        Listing::Unverifiable
    }

    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("Go")
    }

    fn compare_versions(&self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
        larder_adapter::versions::compare_semver(a, b)
    }

    fn lists_releases(&self, object: &Object) -> bool {
        policy::listing(&object.key).is_some()
    }

    /// `@latest` states its own time; `@v/list` none, so each version's `.info` is asked; a
    /// zip's time is its version's `.info`.
    fn times_source(&self, object: &Object) -> TimesSource {
        match policy::listing(&object.key) {
            Some((_, policy::Listing::Latest)) => return TimesSource::Itself,
            Some((_, policy::Listing::List)) => return TimesSource::PerVersion,
            None => {}
        }
        let info =
            policy::zip_parts(&object.key).and_then(|(module, version)| self.info(module, version));
        match info {
            Some(info) => TimesSource::Object(Box::new(info)),
            None => TimesSource::Unknown,
        }
    }

    fn version_times(&self, object: &Object, version: &str) -> Option<Object> {
        let (module, _) = policy::listing(&object.key)?;
        self.info(module, &policy::escape_version(version))
    }

    fn publish_times(&self, _source: &Object, body: &[u8]) -> PublishTimes {
        policy::publish_times(body)
    }

    fn offers(&self, object: &Object, body: &[u8]) -> Option<Result<Vec<Offer>, String>> {
        let (module, listing) = policy::listing(&object.key)?;
        Some(policy::offers(module, listing, body))
    }

    fn withhold(
        &self,
        object: &Object,
        body: &[u8],
        withheld: &Withheld,
    ) -> Result<Vec<u8>, String> {
        match policy::listing(&object.key) {
            Some((_, listing)) => policy::withhold(listing, body, withheld),
            None => Err("not a version listing".into()),
        }
    }
}

impl Go {
    /// The `.info` object of an escaped module path and escaped version.
    fn info(&self, module: &str, escaped_version: &str) -> Option<Object> {
        let version = escape::version(escaped_version).ok()?;
        let request = ProxyRequest {
            module: module.to_string(),
            endpoint: Endpoint::Info(version),
        };
        match self.route_proxy(request) {
            Route::Fetch(object) => Some(object),
            _ => None,
        }
    }
}

fn not_found(path: &str) -> Route {
    let shown: String = path.chars().take(200).collect();
    Route::reply(
        StatusCode::NOT_FOUND,
        format!(
            "{shown:?} is not a GOPROXY path: larder's /go/ serves <module>/@v/list, <module>/@v/<version>.info|.mod|.zip, <module>/@latest and sumdb/<name>/..."
        ),
    )
}

/// Makes sure a configured base URL is http(s) and ends with '/', so that joining keeps its path.
/// A cached object at `base` + an already checked and percent-encoded relative path.
fn fetch(
    key: String,
    base: &Url,
    encoded: &str,
    freshness: Freshness,
    content_type: Option<&'static str>,
) -> Route {
    match Url::parse(&format!("{base}{encoded}")) {
        Ok(upstream) => {
            let mut object = Object::new(key, upstream, freshness);
            object.content_type = content_type;
            Route::Fetch(object)
        }
        // Unreachable for checked paths (they contain no character a URL parser interprets);
        // answered as an internal error rather than forwarded somewhere unexpected.
        Err(err) => Route::reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "larder built an invalid upstream URL from {encoded:?}: {err}; please report this"
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
