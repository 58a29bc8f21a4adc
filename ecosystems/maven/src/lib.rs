//! larder's Maven adapter: Maven 2 layout repositories under `/maven/<remote>/...`, each
//! remote a name in `[maven.remotes]` (built in: `central`, Maven Central).
//!
//! Clients point a `<mirror>` in `settings.xml` at `http://HOST:7878/maven/central/`.
//!
//! What is what (see [`path::Kind`]):
//! - Release artifacts (`.jar`, `.pom`, `.module`, classifier files) never change: immutable,
//!   verified before they are stored against the `.sha1` sidecar published beside them
//!   (`Verify::Listed`, the sidecar being the "index"). An artifact whose sidecar is missing or
//!   unreadable is served but never stored.
//! - Their sidecars (`.sha1`, `.md5`, `.sha256`, `.sha512`, `.asc`) are immutable too. The
//!   `.sha1` served is the very copy the stored artifact was verified against, so the two
//!   always agree, with upstream down too.
//! - `maven-metadata.xml` at every level, and everything under a `-SNAPSHOT` version, change:
//!   revalidated after `metadata_ttl`. A metadata file and its `.sha1`/`.md5` are one
//!   publication (`published_with`): refreshed and swapped together, so the checksum served
//!   is always the one of the metadata served.
//! - A 404 for metadata is remembered for `negative_ttl`; one for an artifact is not
//!   remembered at all (the engine stores no negative record for an immutable object), so a
//!   version published upstream is served the first time a client asks for it.
//!
//! Architecture invariant: no I/O here (see `larder_adapter`).
#![forbid(unsafe_code)]

pub mod checksum;
pub mod clients;
pub mod coordinates;
pub mod path;
mod release;
pub mod remotes;

use http::StatusCode;
use larder_adapter::{
    AdapterFactory, Algorithm, ClientRequest, Digest, Ecosystem, Freshness, Listing, Object, Reply,
    Route, Section, SettingsError, Verify,
};
use path::{Kind, RepoPath, Sidecar};
use remotes::Remotes;
use std::time::Duration;
use url::Url;

const NAME: &str = "maven";

/// Registers the adapter: `[maven]` with `remotes` (name → base URL) and `default_remotes`.
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: remotes::CENTRAL.1,
        // Central's metadata changes when a version is released; five minutes bounds how long
        // a new release stays invisible to version ranges and `LATEST` without asking upstream
        // at every build step.
        default_metadata_ttl: Duration::from_secs(300),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &["remotes", "default_remotes"],
        build,
        clients: clients::settings,
        lockfiles: &coordinates::LOCKFILES,
    }
}

fn build(section: &Section) -> Result<Box<dyn Ecosystem>, SettingsError> {
    Ok(Box::new(Maven::new(section)?))
}

/// The Maven adapter for one `[maven]` section.
#[derive(Clone, Debug)]
pub struct Maven {
    remotes: Remotes,
    metadata: Freshness,
}

impl Maven {
    pub fn new(section: &Section) -> Result<Maven, SettingsError> {
        Ok(Maven {
            remotes: Remotes::from_section(section)?,
            metadata: Freshness::Mutable {
                ttl: section.metadata_ttl,
                negative_ttl: section.negative_ttl,
            },
        })
    }

    fn remote_list(&self) -> String {
        self.remotes.names().collect::<Vec<_>>().join(", ")
    }

    /// The object for `path` on the remote `name` (whose base URL is `base`).
    fn object(&self, name: &str, base: &Url, path: &RepoPath) -> Result<Object, Reply> {
        let relative = path.as_string();
        let key = format!("{name}/{relative}");
        let upstream = base.join(&relative).map_err(|err| {
            Reply::text(
                StatusCode::BAD_REQUEST,
                format!("cannot build an upstream URL for {key}: {err}"),
            )
        })?;
        let object = match path.kind() {
            Kind::Artifact { snapshot } => {
                let sidecar = path.sibling(&format!("{}.sha1", path.file_name()));
                let sidecar = self.object(name, base, &sidecar)?;
                Object::new(key, upstream, self.artifact_freshness(snapshot))
                    .verify(Verify::Listed(Box::new(sidecar)))
            }
            Kind::ArtifactSidecar { snapshot, .. } => {
                Object::new(key, upstream, self.artifact_freshness(snapshot))
                    .content_type(content_type(path.file_name()))
            }
            Kind::MetadataSidecar(_) => Object::new(key, upstream, self.metadata)
                .content_type(content_type(path.file_name())),
            Kind::Metadata | Kind::Other => Object::new(key, upstream, self.metadata),
        };
        Ok(object)
    }

    fn artifact_freshness(&self, snapshot: bool) -> Freshness {
        match snapshot {
            true => self.metadata,
            false => Freshness::Immutable,
        }
    }
}

/// The response headers repository managers send an artifact's checksums in.
const CHECKSUM_HEADERS: [(&str, Algorithm); 3] = [
    ("x-checksum-sha1", Algorithm::Sha1),
    ("x-checksum-sha256", Algorithm::Sha256),
    ("x-checksum-sha512", Algorithm::Sha512),
];

/// Checksums are text; the rest keeps the upstream's `Content-Type`.
fn content_type(file_name: &str) -> &'static str {
    match file_name.ends_with(".asc") {
        true => "application/pgp-signature",
        false => "text/plain; charset=utf-8",
    }
}

impl Ecosystem for Maven {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        release::of(&object.key)
    }

    /// `maven-metadata.xml` has no per-version time (only `lastUpdated`, for the whole
    /// artifact), so no publish time is known: an age rule refuses Maven artifacts (fails
    /// closed) unless `allow`ed, or turned off with `[policy.maven] min_age = "0s"`.
    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("Maven")
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn extra_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let remotes: serde_json::Map<String, serde_json::Value> = self
            .remotes
            .names()
            .filter_map(|name| Some((name.to_string(), self.remotes.get(name)?.as_str().into())))
            .collect();
        let mut settings = serde_json::Map::new();
        settings.insert("remotes".into(), remotes.into());
        settings
    }

    fn upstreams(&self) -> Vec<Url> {
        self.remotes.urls()
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        if !request.is_read() {
            return Route::reply(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "larder's Maven repositories are read-only: {} is not allowed (deploy to the upstream repository itself)",
                    request.method
                ),
            );
        }
        let path = request.path.trim_start_matches('/');
        let Some((name, rest)) = path.split_once('/') else {
            return Route::reply(
                StatusCode::NOT_FOUND,
                format!(
                    "use /maven/<remote>/<repository path>, e.g. a settings.xml <mirror> with \
                     <url>http://HOST/maven/central/</url>; remotes: {}",
                    self.remote_list()
                ),
            );
        };
        let Some(base) = self.remotes.get(name) else {
            return Route::reply(
                StatusCode::NOT_FOUND,
                format!(
                    "{name:?} is not a configured Maven remote; add it under [maven.remotes] as \
                     {name:?} = \"https://repository.example/maven2/\". Configured: {}",
                    self.remote_list()
                ),
            );
        };
        let name = name.to_ascii_lowercase();
        let path = match RepoPath::parse(rest) {
            Ok(path) => path,
            Err(err) => {
                let status = match err {
                    path::PathError::Directory => StatusCode::NOT_FOUND,
                    path::PathError::BadSegment(_) => StatusCode::BAD_REQUEST,
                };
                return Route::reply(status, format!("/maven/{name}/{rest}: {err}"));
            }
        };
        match self.object(&name, base, &path) {
            Ok(object) => Route::Fetch(object),
            Err(reply) => Route::Reply(reply),
        }
    }

    /// The index of an artifact is its checksum sidecar: one hex digest.
    fn find_digest(&self, index: &Object, index_body: &[u8], _artifact: &Object) -> Listing {
        let algorithm = Sidecar::ALL
            .iter()
            .find_map(|(ext, sidecar)| match sidecar {
                Sidecar::Checksum(algorithm) if index.key.ends_with(ext) => Some(*algorithm),
                _ => None,
            });
        match algorithm.and_then(|algorithm| checksum::parse(algorithm, index_body)) {
            Some(digest) => Listing::Found(digest),
            None => Listing::Unverifiable,
        }
    }

    /// Maven Central, Nexus and Artifactory send an artifact's checksums as `x-checksum-sha1`
    /// (`-sha256`, `-sha512`) headers: bytes that contradict them are refused too. Metadata's
    /// are not read: a proxy that regenerates metadata may keep a stale header, and the
    /// metadata is refreshed with its sidecars as one set instead.
    fn response_digests(&self, object: &Object, headers: &http::HeaderMap) -> Vec<Digest> {
        let Some((_, relative)) = object.key.split_once('/') else {
            return Vec::new();
        };
        let is_artifact = RepoPath::parse(relative)
            .is_ok_and(|path| matches!(path.kind(), Kind::Artifact { .. }));
        if !is_artifact {
            return Vec::new();
        }
        CHECKSUM_HEADERS
            .iter()
            .filter_map(|(name, algorithm)| {
                let value = headers.get(*name)?.to_str().ok()?;
                checksum::parse(*algorithm, value.as_bytes())
            })
            .collect()
    }

    /// A metadata file and the checksums Maven asks for beside it (`.sha1`, then `.md5`) are
    /// one publication: a client never gets one generation's metadata with another's checksum.
    fn published_with(&self, object: &Object) -> Vec<Object> {
        let Some((name, relative)) = object.key.split_once('/') else {
            return Vec::new();
        };
        let (Some(base), Ok(path)) = (self.remotes.get(name), RepoPath::parse(relative)) else {
            return Vec::new();
        };
        let metadata = match path.kind() {
            Kind::Metadata => path.clone(),
            Kind::MetadataSidecar(Sidecar::Checksum(Algorithm::Sha1) | Sidecar::Md5) => {
                let file = path.file_name();
                path.sibling(&file[..file.rfind('.').unwrap_or(file.len())])
            }
            _ => return Vec::new(),
        };
        let file = metadata.file_name().to_string();
        [file.clone(), format!("{file}.sha1"), format!("{file}.md5")]
            .iter()
            .map(|member| metadata.sibling(member))
            .filter(|member| *member != path)
            .filter_map(|member| self.object(name, base, &member).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests;
