//! larder's npm adapter.
//!
//! Architecture invariant: like every adapter, this crate does no I/O. It knows the npm registry
//! protocol: which paths name packuments (mutable, full or abbreviated), manifests and dist-tags
//! (mutable), and tarballs (immutable, verified against the lockfile integrity the client sends
//! or against the abbreviated packument); how to rewrite `dist.tarball` links; and which
//! endpoints are answered locally or passed through.
//!
//! Module map: [`path`] classifies request paths, [`name`] validates package names, [`accept`]
//! negotiates full vs abbreviated packuments, [`listing`] finds a tarball's digest in a
//! packument, [`rewrite`] points tarball links at larder.

#![forbid(unsafe_code)]

pub mod accept;
pub mod clients;
pub mod listing;
pub mod lockfile;
pub mod name;
pub mod path;
pub mod platform;
pub mod policy;
mod release;
pub mod rewrite;

use accept::Variant;
use bytes::Bytes;
use http::header::{ACCEPT, VARY};
use http::{HeaderValue, Method, StatusCode};
use larder_adapter::{
    AdapterFactory, ClientRequest, Digest, Ecosystem, Forward, Freshness, Listing, Object, Offer,
    PublishTimes, Reply, Rewriter, Route, Section, SettingsError, TimesSource, Verify, Withheld,
};
use name::PackageName;
use path::{Refusal, Target};
use std::time::Duration;
use url::Url;

pub const NAME: &str = "npm";
pub const DEFAULT_UPSTREAM: &str = "https://registry.npmjs.org/";
/// The public registry's own `max-age` for packuments.
pub const DEFAULT_METADATA_TTL: Duration = Duration::from_secs(5 * 60);
pub const DEFAULT_NEGATIVE_TTL: Duration = Duration::from_secs(60);
/// How long `npm audit`'s calls may wait for upstream before the empty answer is sent: audit is
/// advisory, and a build must not stall on it.
pub const AUDIT_TIMEOUT: Duration = Duration::from_secs(5);
/// The request header in which npm (pacote) sends the lockfile's integrity for a tarball.
pub const INTEGRITY_HEADER: &str = "pacote-integrity";

const OCTET_STREAM: &str = "application/octet-stream";

/// How the binary registers the npm adapter.
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: DEFAULT_UPSTREAM,
        default_metadata_ttl: DEFAULT_METADATA_TTL,
        default_negative_ttl: DEFAULT_NEGATIVE_TTL,
        extra_keys: &[],
        build,
        clients: clients::settings,
        lockfiles: &lockfile::LOCKFILES,
    }
}

fn build(section: &Section) -> Result<Box<dyn Ecosystem>, SettingsError> {
    Ok(Box::new(Npm::new(section)?))
}

/// The npm adapter for one configured upstream registry.
#[derive(Clone, Debug)]
pub struct Npm {
    /// Always ends with `/`, so object URLs are `{upstream}{path}`.
    upstream: Url,
    freshness: Freshness,
}

impl Npm {
    pub fn new(section: &Section) -> Result<Self, SettingsError> {
        let upstream = larder_adapter::base_url("[npm] upstream", section.upstream.clone())?;
        Ok(Npm {
            upstream,
            freshness: Freshness::Mutable {
                ttl: section.metadata_ttl,
                negative_ttl: section.negative_ttl,
            },
        })
    }

    /// `{upstream}{rest}`.
    fn upstream_url(&self, rest: &str) -> Url {
        // Invariant: `upstream` is an http(s) base URL (checked in `new`) and `rest` is built
        // only from fixed strings and validated names, versions and file names, whose characters
        // are all URL-safe and include no `:`, `?`, `#` or `%` other than the fixed `%2f`. Joining
        // such a relative path onto such a base cannot fail.
        self.upstream
            .join(rest)
            .expect("validated relative path joins onto an http(s) base")
    }

    fn packument(&self, name: &PackageName, variant: Variant) -> Object {
        Object::new(
            format!("packument/{}/{name}", variant.key_part()),
            self.upstream_url(&name.url_encoded()),
            self.freshness,
        )
        .upstream_header(ACCEPT, HeaderValue::from_static(variant.upstream_accept()))
        .content_type(variant.content_type())
        .response_header(VARY, HeaderValue::from_static("Accept"))
    }

    fn manifest(&self, name: &PackageName, version: &str) -> Object {
        Object::new(
            format!("manifest/{name}/{version}"),
            self.upstream_url(&format!("{}/{version}", name.url_encoded())),
            self.freshness,
        )
        .upstream_header(ACCEPT, HeaderValue::from_static(accept::JSON))
        .content_type(accept::JSON)
    }

    fn tarball(&self, name: &PackageName, file: &str, integrity: Option<Digest>) -> Object {
        // The lockfile's integrity is what npm itself checks the bytes against; with it, `npm ci`
        // needs no packument at all. Without it (pnpm, `npm install` of a new package), the
        // abbreviated packument declares the digest.
        let verify = match integrity {
            Some(digest) => Verify::Digest(digest),
            None => Verify::Listed(Box::new(self.packument(name, Variant::Abbreviated))),
        };
        Object::new(
            format!("tarball/{name}/{file}"),
            self.upstream_url(&format!("{name}/-/{file}")),
            Freshness::Immutable,
        )
        .verify(verify)
        .content_type(OCTET_STREAM)
    }

    fn json_object(&self, key: String, rest: &str) -> Object {
        Object::new(key, self.upstream_url(rest), self.freshness)
            .upstream_header(ACCEPT, HeaderValue::from_static(accept::JSON))
            .content_type(accept::JSON)
    }
}

impl Ecosystem for Npm {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        release::of(&object.key)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn upstreams(&self) -> Vec<Url> {
        vec![self.upstream.clone()]
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        let target = match path::classify(request.path) {
            Ok(target) => target,
            Err(Refusal::BadRequest(message)) => {
                return Route::reply(StatusCode::BAD_REQUEST, message)
            }
            Err(Refusal::NotFound(message)) => return Route::reply(StatusCode::NOT_FOUND, message),
        };
        match target {
            Target::Audit { .. } if request.method != Method::POST => {
                method_not_allowed("the npm audit endpoints take POST only")
            }
            Target::Audit { rest } => Route::Forward(Forward {
                upstream: self.upstream_url(rest),
                timeout: AUDIT_TIMEOUT,
                // npm reads `{}` as "no advisories" and carries on; a build never fails on it.
                fallback: Some(json_reply("{}")),
            }),
            _ if !request.is_read() => method_not_allowed(
                "larder is a read-only mirror: publish, tag and deprecate against the upstream registry directly",
            ),
            Target::Packument(name) => {
                Route::Fetch(self.packument(&name, Variant::negotiate(request.header("accept"))))
            }
            Target::Manifest { name, version } => Route::Fetch(self.manifest(&name, &version)),
            Target::Tarball { name, file } => {
                let integrity = request.header(INTEGRITY_HEADER).and_then(Digest::from_sri);
                Route::Fetch(self.tarball(&name, &file, integrity))
            }
            Target::Ping => Route::Reply(json_reply("{}")),
            Target::DistTags(name) => Route::Fetch(self.json_object(
                format!("dist-tags/{name}"),
                &format!("-/package/{}/dist-tags", name.url_encoded()),
            )),
            Target::Keys => Route::Fetch(self.json_object("keys".into(), "-/npm/v1/keys")),
        }
    }

    fn find_digest(&self, index: &Object, index_body: &[u8], artifact: &Object) -> Listing {
        if !index.key.starts_with("packument/") {
            return Listing::Unverifiable;
        }
        match artifact
            .key
            .strip_prefix("tarball/")
            .and_then(|rest| rest.rsplit('/').next())
        {
            Some(file) => listing::find(index_body, file),
            None => Listing::Unverifiable,
        }
    }

    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("npm")
    }

    fn compare_versions(&self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
        larder_adapter::versions::compare_semver(a, b)
    }

    fn version_in_range(&self, version: &str, range: &str) -> Result<bool, String> {
        policy::in_range(version, range)
    }

    /// The full packument states every version's time (the abbreviated one none), for both
    /// packuments and tarballs.
    fn times_source(&self, object: &Object) -> TimesSource {
        if object.key.starts_with("packument/full/") {
            return TimesSource::Itself;
        }
        let name = match policy::packument_package(&object.key) {
            Some(name) => Some(name.to_string()),
            None => release::of(&object.key).map(|release| release.package),
        };
        match name.as_deref().and_then(parse_name) {
            Some(name) => TimesSource::Object(Box::new(self.packument(&name, Variant::Full))),
            None => TimesSource::Unknown,
        }
    }

    fn publish_times(&self, source: &Object, body: &[u8]) -> PublishTimes {
        match source.key.starts_with("packument/full/") {
            true => policy::publish_times(body),
            false => PublishTimes::new(),
        }
    }

    fn lists_releases(&self, object: &Object) -> bool {
        object.key.starts_with("packument/")
    }

    /// npm shows a registry error's JSON `error` after the status (`403 Forbidden - GET … -
    /// <error>`), and nothing of a text body.
    fn refusal(&self, message: &str) -> Reply {
        let body = serde_json::json!({ "error": message.trim_end() }).to_string();
        Reply {
            status: StatusCode::FORBIDDEN,
            content_type: "application/json",
            body: Bytes::from(body),
        }
    }

    fn offers(&self, object: &Object, body: &[u8]) -> Option<Result<Vec<Offer>, String>> {
        let package = policy::packument_package(&object.key)?;
        Some(policy::offers(package, body))
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
        let has_links = object.key.starts_with("packument/") || object.key.starts_with("manifest/");
        has_links.then(|| {
            Box::new(rewrite::tarball_links(&self.upstream, public_base)) as Box<dyn Rewriter>
        })
    }
}

/// `@scope/name` or `name`, as cache keys spell it.
fn parse_name(name: &str) -> Option<PackageName> {
    match name.split_once('/') {
        Some((scope, bare)) => PackageName::parse(Some(scope), bare).ok(),
        None => PackageName::parse(None, name).ok(),
    }
}

fn json_reply(body: &'static str) -> Reply {
    Reply {
        status: StatusCode::OK,
        content_type: "application/json",
        body: Bytes::from_static(body.as_bytes()),
    }
}

fn method_not_allowed(message: &str) -> Route {
    Route::reply(StatusCode::METHOD_NOT_ALLOWED, message)
}
