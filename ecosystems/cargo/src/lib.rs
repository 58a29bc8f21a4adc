//! larder's Cargo adapter: sparse registries (`sparse+http://larder:7878/cargo/crates-io/`),
//! crates.io's index built in and private ones under `[cargo.registries]`.
//!
//! Architecture invariant: no I/O. This crate checks request paths, names the upstream
//! objects, says which never change, finds a crate's `cksum` in its index file, and rewrites
//! `config.json`'s `dl` so that downloads come through larder; the engine does the rest.
#![forbid(unsafe_code)]

mod clients;
mod config_json;
mod dl;
mod index;
pub mod lockfile;
mod name;
mod policy;
mod registries;
mod release;

use http::StatusCode;
use larder_adapter::{
    AdapterFactory, ClientRequest, Ecosystem, Freshness, Listing, Object, Reply, Rewriter, Route,
    Section, SettingsError, Verify,
};
use percent_encoding::percent_decode_str;
use registries::{Registries, Registry};
use std::time::Duration;
use url::Url;

pub use config_json::rewrite as rewrite_config;
pub use dl::full_template;
pub use name::index_path;
pub use registries::{CRATES_IO, CRATES_IO_INDEX};

/// The adapter's name: its URL prefix and config section.
pub const NAME: &str = "cargo";

const JSON: &str = "application/json";

/// Registers the adapter: `[cargo]` with `upstream` (crates.io's sparse index, or a mirror of
/// it), `metadata_ttl`, `negative_ttl`, and `registries` (`[cargo.registries]`: more sparse
/// registries by name).
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: CRATES_IO_INDEX,
        default_metadata_ttl: Duration::from_secs(60),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &["registries"],
        build: |section| Ok(Box::new(Cargo::new(section)?)),
        clients: clients::settings,
        lockfiles: &lockfile::LOCKFILES,
    }
}

/// The Cargo adapter, built from its `[cargo]` section.
pub struct Cargo {
    registries: Registries,
    metadata: Freshness,
}

impl Cargo {
    pub fn new(section: &Section) -> Result<Self, SettingsError> {
        Ok(Cargo {
            registries: Registries::from_section(section)?,
            metadata: Freshness::Mutable {
                ttl: section.metadata_ttl,
                negative_ttl: section.negative_ttl,
            },
        })
    }

    /// The index file of `crate_name` in `registry_name` (lower-cased name).
    fn index_object(&self, registry_name: &str, registry: &Registry, crate_name: &str) -> Object {
        let lower = crate_name.to_ascii_lowercase();
        let mut upstream = registry.index.clone();
        upstream.set_path(&format!(
            "{}{}",
            registry.index.path(),
            name::index_path(&lower)
        ));
        Object::new(
            format!("{registry_name}/index/{lower}"),
            upstream,
            self.metadata,
        )
    }

    fn route_download(&self, registry_name: &str, registry: &Registry, segments: &[&str]) -> Route {
        let download = match dl::parse(segments) {
            Ok(download) => download,
            Err(dl::Malformed(why)) => {
                return Route::reply(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "{why}: larder's crate downloads are the URLs its config.json's dl makes"
                    ),
                )
            }
        };
        let upstream = match Url::parse(&download.upstream_url()) {
            Ok(url) if registry.allows_download(&url) => url,
            _ => {
                return Route::reply(
                    StatusCode::FORBIDDEN,
                    format!(
                        "larder downloads {registry_name}'s crates only under {}; if the registry's config.json moved them, add `dl` to its entry in [cargo.registries]",
                        registry
                            .downloads
                            .iter()
                            .map(Url::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }
        };
        let index = self.index_object(registry_name, registry, &download.name);
        let key = format!(
            "{registry_name}/crate/{}/{}",
            download.name.to_ascii_lowercase(),
            download.version
        );
        Route::Fetch(
            Object::new(key, upstream, Freshness::Immutable)
                .verify(Verify::Listed(Box::new(index))),
        )
    }
}

impl Ecosystem for Cargo {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        release::of(&object.key)
    }

    fn name(&self) -> &'static str {
        "cargo"
    }

    fn upstreams(&self) -> Vec<Url> {
        self.registries.urls()
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        let decoded: Result<Vec<String>, _> = request
            .path
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                percent_decode_str(segment)
                    .decode_utf8()
                    .map(|s| s.into_owned())
            })
            .collect();
        let Ok(decoded) = decoded else {
            return Route::reply(StatusCode::BAD_REQUEST, "the path is not UTF-8");
        };
        if decoded.iter().any(|segment| segment.contains('/')) {
            return Route::reply(
                StatusCode::BAD_REQUEST,
                "a path segment holds an encoded '/'",
            );
        }
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let Some((&registry_name, rest)) = segments.split_first() else {
            return not_found(request.path);
        };
        let Some(registry) = self.registries.get(registry_name) else {
            return Route::reply(
                StatusCode::NOT_FOUND,
                format!(
                    "larder serves no Cargo registry named {:?} (it serves {}); add it under [cargo.registries]",
                    truncate(registry_name),
                    self.registries.names().collect::<Vec<_>>().join(", ")
                ),
            );
        };
        if rest.first() == Some(&"api") {
            return refuse_api(registry_name);
        }
        if !request.is_read() {
            return Route::reply(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "a sparse registry is read-only: only GET and HEAD are served, not {}",
                    request.method
                ),
            );
        }
        match rest {
            ["config.json"] => {
                let upstream = match registry.index.join("config.json") {
                    Ok(url) => url,
                    Err(_) => return not_found(request.path),
                };
                Route::Fetch(
                    Object::new(
                        format!("{registry_name}/config.json"),
                        upstream,
                        self.metadata,
                    )
                    .content_type(JSON),
                )
            }
            ["dl", download @ ..] => self.route_download(registry_name, registry, download),
            _ => match name::from_index_path(&rest.join("/")) {
                Some(crate_name) => {
                    Route::Fetch(self.index_object(registry_name, registry, crate_name))
                }
                None => not_found(request.path),
            },
        }
    }

    fn find_digest(&self, _index: &Object, index_body: &[u8], artifact: &Object) -> Listing {
        match artifact.key.rsplit_once('/') {
            Some((_, version)) => index::find_cksum(index_body, version),
            None => Listing::Unverifiable,
        }
    }

    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("crates.io")
    }

    fn compare_versions(&self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
        larder_adapter::versions::compare_semver(a, b)
    }

    fn lists_releases(&self, object: &Object) -> bool {
        object.key.contains("/index/")
    }

    /// An index file states its versions' `pubtime`; a crate's is its index file's.
    fn times_source(&self, object: &Object) -> larder_adapter::TimesSource {
        match &object.verify {
            _ if object.key.contains("/index/") => larder_adapter::TimesSource::Itself,
            Verify::Listed(index) => larder_adapter::TimesSource::Object(index.clone()),
            _ => larder_adapter::TimesSource::Unknown,
        }
    }

    fn publish_times(&self, _source: &Object, body: &[u8]) -> larder_adapter::PublishTimes {
        policy::publish_times(body)
    }

    fn offers(
        &self,
        object: &Object,
        body: &[u8],
    ) -> Option<Result<Vec<larder_adapter::Offer>, String>> {
        object.key.contains("/index/").then(|| policy::offers(body))
    }

    fn withhold(
        &self,
        _object: &Object,
        body: &[u8],
        withheld: &larder_adapter::Withheld,
    ) -> Result<Vec<u8>, String> {
        policy::withhold(body, withheld)
    }

    fn rewriter(&self, object: &Object, public_base: &str) -> Option<Box<dyn Rewriter>> {
        let registry_name = object.key.strip_suffix("/config.json")?;
        Some(Box::new(config_json::ConfigRewriter::new(format!(
            "{public_base}/{registry_name}"
        ))))
    }
}

/// cargo shows an API error's `detail` to its user; larder is a read-only mirror.
fn refuse_api(registry_name: &str) -> Route {
    let detail = format!(
        "larder is a read-only mirror of {registry_name}: publish, yank, owner and search go to the registry itself (its config.json's api, which larder passes on unchanged), e.g. `cargo publish --registry <name>` with the registry's own index in your cargo config"
    );
    let body = serde_json::json!({ "errors": [{ "detail": detail }] }).to_string();
    Route::Reply(Reply {
        status: StatusCode::METHOD_NOT_ALLOWED,
        content_type: JSON,
        body: body.into(),
    })
}

fn not_found(path: &str) -> Route {
    Route::reply(
        StatusCode::NOT_FOUND,
        format!(
            "{:?} is not a sparse registry path: larder's /cargo/<registry>/ serves config.json, index files (1/a, 2/ab, 3/a/abc, ab/cd/abcd) and the crate downloads its config.json names",
            truncate(path)
        ),
    )
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests;
