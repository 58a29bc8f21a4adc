//! larder's PyPI adapter: PEP 503 (HTML) and PEP 691 (JSON) simple pages, and the wheels, sdists
//! and PEP 658 `.metadata` files they link to.
//!
//! Paths under `/pypi`:
//! - `/simple/` and `/simple/<project>/`: pages, mutable, one cache key per variant (JSON or
//!   HTML, negotiated on `Accept`), served with `Vary: Accept`. Non-normalized and slashless
//!   names are redirected to `/simple/<normalized>/`.
//! - `/files/<project>/<path>`: a file on the files host (`files_upstream` + `<path>`). Immutable,
//!   keyed by `<path>` alone so that a cached file is served even when its page is not, verified
//!   against the sha256 the project's JSON page declares.
//! - `/index/<project>/<path>`: a file the page links on the index's own host (private indexes),
//!   handled like the above.
//!
//! Architecture invariant: no I/O here (see `larder-adapter`).

#![forbid(unsafe_code)]

mod accept;
pub mod clients;
mod listing;
pub mod lockfile;
mod name;
mod path;
mod policy;
mod release;
mod rewrite;

pub use accept::{negotiate, Variant};
pub use name::normalize;

use http::header::{ACCEPT, VARY};
use http::{HeaderValue, Method, StatusCode};
use larder_adapter::{
    base_url, AdapterFactory, ClientRequest, Ecosystem, Freshness, Listing, Object, Offer,
    PublishTimes, Release, Rewriter, Route, Section, SettingsError, TimesSource, Verify, Withheld,
};
use std::time::Duration;
use url::Url;

/// The adapter's name, URL prefix and config section.
pub const NAME: &str = "pypi";
const DEFAULT_FILES_UPSTREAM: &str = "https://files.pythonhosted.org/";
const FILE_CONTENT_TYPE: &str = "application/octet-stream";

/// Registers the adapter with the binary.
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: "https://pypi.org/simple/",
        default_metadata_ttl: Duration::from_secs(10 * 60),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &["files_upstream"],
        build: |section| Ok(Box::new(PyPi::new(section)?)),
        clients: clients::settings,
        lockfiles: &lockfile::LOCKFILES,
    }
}

/// The PyPI protocol, configured for one upstream index and its files host.
#[derive(Debug)]
pub struct PyPi {
    /// The simple index, ending in `/` (`https://pypi.org/simple/`).
    upstream: Url,
    /// The files host base, ending in `/` (`https://files.pythonhosted.org/`).
    files_upstream: Url,
    /// The index's origin (`https://pypi.org/`), for links on the index's own host.
    index_origin: Url,
    page_freshness: Freshness,
}

impl PyPi {
    pub fn new(section: &Section) -> Result<Self, SettingsError> {
        let upstream = base_url("[pypi] upstream", section.upstream.clone())?;
        let files_upstream = base_url(
            "[pypi] files_upstream",
            section.extra_url("files_upstream", DEFAULT_FILES_UPSTREAM)?,
        )?;
        let mut index_origin = upstream.clone();
        index_origin.set_path("/");
        index_origin.set_query(None);
        Ok(PyPi {
            upstream,
            files_upstream,
            index_origin,
            page_freshness: Freshness::Mutable {
                ttl: section.metadata_ttl,
                negative_ttl: section.negative_ttl,
            },
        })
    }

    /// The cache object for one variant of a project's page (`project` normalized).
    fn page(&self, project: &str, variant: Variant) -> Option<Object> {
        let upstream = join_under(&self.upstream, &format!("{project}/"))?;
        Some(self.page_object(
            format!("simple/{project}/{}", variant.key_suffix()),
            upstream,
            variant,
        ))
    }

    fn page_object(&self, key: String, upstream: Url, variant: Variant) -> Object {
        let mut object = Object::new(key, upstream, self.page_freshness)
            .upstream_header(ACCEPT, HeaderValue::from_static(variant.upstream_accept()))
            .response_header(VARY, HeaderValue::from_static("Accept"))
            // PEP 503 pages are HTML, and an index that ignores the JSON `Accept` sends HTML too.
            .may_be_html();
        object.content_type = variant.content_type();
        object
    }

    fn route_page(&self, segment: &str, slash: bool, request: &ClientRequest<'_>) -> Route {
        let Some(spelled) = name::parse(segment) else {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                format!("{segment:?} is not a valid project name (PEP 508: letters, digits, '-', '_', '.')"),
            );
        };
        let project = normalize(&spelled);
        if !slash || segment != project {
            return Route::Redirect {
                location: format!("/simple/{project}/"),
            };
        }
        let variant = negotiate(request.header("accept"));
        match self.page(&project, variant) {
            Some(object) => Route::Fetch(object),
            None => internal_url_error(&project),
        }
    }

    fn route_root(&self, request: &ClientRequest<'_>) -> Route {
        let variant = negotiate(request.header("accept"));
        Route::Fetch(self.page_object(
            format!("simple/{}", variant.key_suffix()),
            self.upstream.clone(),
            variant,
        ))
    }

    /// `/simple/<project>/<file>`: the file beside the project's page on the index.
    fn route_beside_page(&self, segment: &str, file: &str) -> Route {
        let Some(file) = path::parse_relative(file) else {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                format!("{file:?} is not a file path larder forwards (empty, '..' or odd bytes)"),
            );
        };
        let Some(project) = name::parse(segment).map(|n| normalize(&n)) else {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                format!("{segment:?} is not a valid project name"),
            );
        };
        let beside = format!("{}{project}/{file}", self.upstream.path());
        self.route_file(FileHost::Index, &format!("{project}{beside}"))
    }

    /// `/files/<project>/<path>` and `/index/<project>/<path>`.
    fn route_file(&self, kind: FileHost, rest: &str) -> Route {
        let (segment, relative) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(project) = name::parse(segment).map(|n| normalize(&n)) else {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                format!("{segment:?} is not a valid project name"),
            );
        };
        let Some(relative) = path::parse_relative(relative) else {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                format!(
                    "{relative:?} is not a file path larder forwards (empty, '..' or odd bytes)"
                ),
            );
        };
        let (base, key_prefix) = match kind {
            FileHost::Files => (&self.files_upstream, "files"),
            FileHost::Index => (&self.index_origin, "index"),
        };
        let (Some(upstream), Some(page)) = (
            join_under(base, relative),
            self.page(&project, Variant::Json),
        ) else {
            return internal_url_error(relative);
        };
        Route::Fetch(
            Object::new(
                format!("{key_prefix}/{relative}"),
                upstream,
                Freshness::Immutable,
            )
            .verify(Verify::Listed(Box::new(page)))
            .content_type(FILE_CONTENT_TYPE),
        )
    }
}

#[derive(Clone, Copy)]
enum FileHost {
    Files,
    Index,
}

impl Ecosystem for PyPi {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        release::of(&object.key)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn extra_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut settings = serde_json::Map::new();
        settings.insert("files_upstream".into(), self.files_upstream.as_str().into());
        settings
    }

    fn upstreams(&self) -> Vec<Url> {
        let mut all = vec![
            self.upstream.clone(),
            self.files_upstream.clone(),
            self.index_origin.clone(),
        ];
        all.dedup();
        all
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        if request.method != Method::GET && request.method != Method::HEAD {
            return Route::reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "the PyPI mirror serves GET and HEAD only",
            );
        }
        let path = request.path.strip_prefix('/').unwrap_or(request.path);
        let (first, rest) = path
            .split_once('/')
            .map_or((path, None), |(a, b)| (a, Some(b)));
        match (first, rest) {
            ("simple", None) => Route::Redirect { location: "/simple/".to_owned() },
            ("simple", Some("")) => self.route_root(request),
            ("simple", Some(rest)) => match rest.split_once('/') {
                None => self.route_page(rest, false, request),
                Some((segment, "")) => self.route_page(segment, true, request),
                // A file linked relative to its page (`x.whl` on `/simple/<project>/`).
                Some((segment, file)) => self.route_beside_page(segment, file),
            },
            ("files", Some(rest)) => self.route_file(FileHost::Files, rest),
            ("index", Some(rest)) => self.route_file(FileHost::Index, rest),
            _ => Route::reply(
                StatusCode::NOT_FOUND,
                "not a PyPI path: use /pypi/simple/ as the index URL (PIP_INDEX_URL, UV_DEFAULT_INDEX)",
            ),
        }
    }

    fn find_digest(&self, _index: &Object, index_body: &[u8], artifact: &Object) -> Listing {
        match path::file_name(artifact.upstream.path()) {
            Some(wanted) => listing::find(index_body, &wanted),
            None => Listing::Unverifiable,
        }
    }

    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("PyPI")
    }

    fn canonical_package(&self, name: &str) -> String {
        normalize(name)
    }

    fn compare_versions(&self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
        policy::compare(a, b)
    }

    fn version_in_range(&self, version: &str, range: &str) -> Result<bool, String> {
        policy::in_specifiers(version, range)
    }

    fn lists_releases(&self, object: &Object) -> bool {
        project_page(&object.key).is_some()
    }

    /// PEP 700 `upload-time` is in the JSON page only: it judges the HTML page and the files.
    fn times_source(&self, object: &Object) -> TimesSource {
        let project = match project_page(&object.key) {
            Some((_, "json")) => return TimesSource::Itself,
            Some((project, _)) => Some(project.to_string()),
            None => release::of(&object.key).map(|release| release.package),
        };
        match project.and_then(|project| self.page(&project, Variant::Json)) {
            Some(page) => TimesSource::Object(Box::new(page)),
            None => TimesSource::Unknown,
        }
    }

    fn publish_times(&self, _source: &Object, body: &[u8]) -> PublishTimes {
        policy::publish_times(body)
    }

    /// Times are per file: a wheel uploaded today to an old release is today's.
    fn time_key(&self, artifact: &Object, release: &Release) -> String {
        path::file_name(artifact.upstream.path()).unwrap_or_else(|| release.version.clone())
    }

    fn offers(&self, object: &Object, body: &[u8]) -> Option<Result<Vec<Offer>, String>> {
        let (project, _) = project_page(&object.key)?;
        Some(policy::offers(project, body))
    }

    fn withhold(
        &self,
        _object: &Object,
        body: &[u8],
        withheld: &Withheld,
    ) -> Result<Vec<u8>, String> {
        policy::withhold(body, withheld)
    }

    fn rewriter(&self, object: &Object, public_base: &str) -> Option<Box<dyn Rewriter>> {
        let mut parts = object.key.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("simple"), Some(project), Some(_variant), None) => {
                Some(Box::new(rewrite::project_page(
                    project,
                    public_base,
                    object.upstream.path(),
                    &self.files_upstream,
                    &self.index_origin,
                )))
            }
            (Some("simple"), Some(_variant), None, None) => {
                Some(Box::new(rewrite::root_page(public_base, &self.upstream)))
            }
            _ => None,
        }
    }
}

/// The project and variant of a project page's key (`simple/<project>/<json|html>`).
fn project_page(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("simple"), Some(project), Some(variant), None) => Some((project, variant)),
        _ => None,
    }
}

/// A configured URL as a base to join under: http(s), with a host, ending in `/`.
/// Joins a validated relative path under `base`, and refuses any result outside it (a `:` in the
/// first segment would otherwise make `Url::join` read it as a scheme).
fn join_under(base: &Url, relative: &str) -> Option<Url> {
    let joined = base.join(relative).ok()?;
    joined.as_str().starts_with(base.as_str()).then_some(joined)
}

fn internal_url_error(what: &str) -> Route {
    Route::reply(
        StatusCode::BAD_REQUEST,
        format!("{what:?} does not form a URL under the configured upstream"),
    )
}

#[cfg(test)]
mod tests;
