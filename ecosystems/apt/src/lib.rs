//! larder's apt adapter: Debian and Ubuntu archives (and any apt repository) through larder,
//! configured either way apt users configure a cache.
//!
//! - Forward proxy: `Acquire::http::Proxy "http://larder:7878";`. apt sends absolute-form
//!   requests (`GET http://deb.debian.org/debian/dists/bookworm/InRelease`); the host names the
//!   remote and the whole path is the archive path.
//! - Mirror: `deb http://larder:7878/apt/deb.debian.org/debian bookworm main`. The first segment
//!   after `/apt/` names the remote.
//!
//! Both produce the key `<remote>/<archive path>`, so a file fetched one way is served the other.
//!
//! Freshness (see [`classify`]): Release files and by-name indexes are metadata
//! (`metadata_ttl`, default 30 s: long enough that the `apt-get update`s of parallel builds
//! share one upstream fetch, as apt-cacher-ng's 27 s `FreshIndexMaxAge` does, short enough that
//! a security upload shows within half a minute; revalidation is a conditional GET). by-hash
//! files, pdiff patches and `pool/**` are immutable. A by-name index is verified against the
//! SHA256 its suite's InRelease declares; a by-hash file against the digest in its own name.
//! InRelease and Packages indexes declare digests (`declared_digests`), so the engine serves no
//! cached index or pool file that the current ones contradict: no Hash Sum mismatch. A suite's
//! InRelease, Release and Release.gpg are one publication (`published_with`), refreshed and
//! swapped together; a cached one served past its `Valid-Until` is reported (`valid_until`).
//!
//! Architecture invariant: no I/O here (see `larder_adapter`).

#![forbid(unsafe_code)]

mod classify;
pub mod clients;
mod compression;
mod package_file;
pub mod packages;
pub mod path;
pub mod print_uris;
pub mod release;
pub mod remotes;

use classify::Kind;
use http::StatusCode;
use larder_adapter::{
    AdapterFactory, ClientRequest, Digest, Ecosystem, Freshness, Listing, Object, Reply, Route,
    Section, SettingsError, Verify,
};
use path::CleanPath;
use remotes::{Remote, Remotes};
use std::time::Duration;
use url::Url;

pub use classify::{classify, Kind as PathKind};

/// The adapter's name, URL prefix and config section.
pub const NAME: &str = "apt";

/// Registers the adapter: `[apt]` with `remotes` (name → base URL) and `default_remotes`.
pub fn factory() -> AdapterFactory {
    AdapterFactory {
        name: NAME,
        default_upstream: "http://deb.debian.org/",
        default_metadata_ttl: Duration::from_secs(30),
        default_negative_ttl: Duration::from_secs(30),
        extra_keys: &["remotes", "default_remotes"],
        build,
        clients: clients::settings,
        lockfiles: &print_uris::LOCKFILES,
    }
}

fn build(section: &Section) -> Result<Box<dyn Ecosystem>, SettingsError> {
    Ok(Box::new(Apt::new(section)?))
}

/// The apt adapter for one `[apt]` section.
#[derive(Clone, Debug)]
pub struct Apt {
    remotes: Remotes,
    metadata: Freshness,
}

impl Apt {
    pub fn new(section: &Section) -> Result<Apt, SettingsError> {
        Ok(Apt {
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

    /// The object for `path` (decoded, validated) on remote `name`.
    fn object(&self, name: &str, remote: &Remote, path: &CleanPath) -> Result<Object, Reply> {
        let base = &remote.url;
        let encoded = path.encoded();
        let key = format!("{name}/{encoded}");
        let upstream = Url::parse(&format!("{base}{encoded}")).map_err(|err| {
            Reply::text(
                StatusCode::BAD_REQUEST,
                format!("cannot build an upstream URL for {key}: {err}"),
            )
        })?;
        let kind = classify(path.segments());
        let declares = declares_digests(path.segments(), &kind);
        let object = match kind {
            Kind::ReleaseFile | Kind::OtherDists | Kind::Other => {
                Object::new(key, upstream, self.metadata)
            }
            Kind::Index { release_dir, .. } => {
                // Verified against the suite's InRelease, which the client fetched (and larder
                // refreshed) just before; in a repository without one, against its Release,
                // published with it as one set (`published_with`).
                let mut release = path.segments()[..release_dir].to_vec();
                release.push("InRelease".to_string());
                let release = self.object(name, remote, &CleanPath::from_segments(release))?;
                Object::new(key, upstream, self.metadata).verify(Verify::Listed(Box::new(release)))
            }
            Kind::ByHash(digest) => {
                Object::new(key, upstream, Freshness::Immutable).verify(Verify::Digest(digest))
            }
            Kind::WeakByHash(algorithm) => {
                return Err(Reply::text(
                    StatusCode::NOT_FOUND,
                    format!(
                    "larder serves by-hash files only by SHA256 or SHA512 (asked: {algorithm:?}); \
                         apt asks for those when the Release file lists them"
                ),
                ))
            }
            Kind::Patch | Kind::Pool => Object::new(key, upstream, Freshness::Immutable),
        };
        Ok(if declares {
            object.declares_digests()
        } else {
            object
        })
    }
}

impl Ecosystem for Apt {
    fn release(&self, object: &Object) -> Option<larder_adapter::Release> {
        package_file::of(&object.key)
    }

    fn osv_ecosystem(&self) -> Option<&'static str> {
        Some("Debian")
    }

    /// A `deny` names packages (and versions) only; `.deb` downloads are refused, indexes are
    /// served as signed.
    fn age_rules(&self) -> larder_adapter::AgeRules {
        larder_adapter::AgeRules::DoNotApply(
            "an apt archive is a signed snapshot: InRelease names every index by hash, so no \
             package can be left out of an index without breaking the signature, and a stable \
             suite's packages are published together with the dependencies they need; pin a \
             snapshot (snapshot.debian.org) for reproducibility instead",
        )
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn extra_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let remotes: serde_json::Map<String, serde_json::Value> = self
            .remotes
            .names()
            .filter_map(|name| {
                let remote = self.remotes.get(name)?;
                Some((name.to_string(), remote.url.as_str().into()))
            })
            .collect();
        let mut settings = serde_json::Map::new();
        settings.insert("remotes".into(), remotes.into());
        settings
    }

    fn upstreams(&self) -> Vec<Url> {
        self.remotes.urls()
    }

    fn proxy_hosts(&self) -> Vec<String> {
        self.remotes.proxy_hosts()
    }

    fn route(&self, request: &ClientRequest<'_>) -> Route {
        if !request.is_read() {
            return Route::reply(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "the apt archive is read-only: {} is not allowed",
                    request.method
                ),
            );
        }
        let path = match CleanPath::parse(request.path) {
            Ok(path) => path,
            Err(err) => return Route::reply(StatusCode::BAD_REQUEST, err.to_string()),
        };
        let (name, archive_path) = match request.proxy_host {
            Some(host) => (proxy_remote_name(host), path),
            None => match path.split_first() {
                Some((name, rest)) => (name.to_ascii_lowercase(), rest),
                None => {
                    return Route::reply(
                        StatusCode::NOT_FOUND,
                        format!(
                            "use /apt/<remote>/<archive path>, e.g. `deb http://HOST/apt/deb.debian.org/debian bookworm main`; remotes: {}",
                            self.remote_list()
                        ),
                    )
                }
            },
        };
        let Some(remote) = self.remotes.get(&name) else {
            let (status, how) = match request.proxy_host {
                Some(_) => (StatusCode::FORBIDDEN, "larder is not an open proxy"),
                None => (StatusCode::NOT_FOUND, "no such remote"),
            };
            return Route::reply(
                status,
                format!(
                    "{name:?} is not a configured apt remote ({how}); add it under [apt.remotes] \
                     as {name:?} = \"http://{name}/\". Configured: {}",
                    self.remote_list()
                ),
            );
        };
        if archive_path.segments().is_empty() {
            return Route::reply(
                StatusCode::NOT_FOUND,
                format!("{name} is an apt remote; ask for a file in it, e.g. /apt/{name}/debian/dists/bookworm/InRelease"),
            );
        }
        match self.object(&name, remote, &archive_path) {
            Ok(object) => Route::Fetch(object),
            Err(reply) => Route::Reply(reply),
        }
    }

    fn proxy_refusal_hint(&self) -> Option<&'static str> {
        Some("add it under [apt.remotes] as \"host:port\" = \"http://host:port/\" (a non-80 port is part of the name)")
    }

    /// InRelease declares its indexes' SHA256 (keys below its directory); a Packages index,
    /// by name or by hash, gz or xz, declares its pool files' (keys below the archive root).
    /// The engine then serves no cached index or pool file that the current ones contradict:
    /// a by-name index always matches the InRelease served now, and a rebuilt pool file is
    /// fetched again.
    fn declared_digests(&self, index: &Object, index_body: &[u8]) -> Vec<(String, Digest)> {
        if let Some(dir) = index.key.strip_suffix("/InRelease") {
            let dir = &index.key[..=dir.len()];
            return release::entries(index_body)
                .into_iter()
                .filter_map(|(path, digest)| Some((child_key(dir, &path)?, digest)))
                .collect();
        }
        let Some(root) = packages_root(&index.key) else {
            return Vec::new();
        };
        let Some(body) = compression::decompress(index_body, compression::MAX_DECOMPRESSED) else {
            return Vec::new();
        };
        packages::entries(&body)
            .into_iter()
            .filter_map(|(filename, digest)| Some((child_key(root, &filename)?, digest)))
            .collect()
    }

    /// A suite's InRelease, Release and Release.gpg are one publication: apt checks
    /// Release.gpg against Release, and verifies by-name indexes against whichever of
    /// InRelease and Release the repository has (InRelease first). Listed in that order.
    fn published_with(&self, object: &Object) -> Vec<Object> {
        let Some((name, path)) = object.key.split_once('/') else {
            return Vec::new();
        };
        let (Some(remote), Ok(path)) = (self.remotes.get(name), CleanPath::parse(path)) else {
            return Vec::new();
        };
        let segments = path.segments();
        if classify(segments) != Kind::ReleaseFile {
            return Vec::new();
        }
        let (file, dir) = segments.split_last().expect("a release file has a name");
        RELEASE_SET
            .iter()
            .filter(|sibling| **sibling != file.as_str())
            .filter_map(|sibling| {
                let mut segments = dir.to_vec();
                segments.push(sibling.to_string());
                self.object(name, remote, &CleanPath::from_segments(segments))
                    .ok()
            })
            .collect()
    }

    /// InRelease's and Release's `Valid-Until`: apt refuses a Release file past it ("is
    /// expired"), so the engine reports serving one from the cache.
    fn valid_until(&self, object: &Object, body_start: &[u8]) -> Option<i64> {
        let name = object.key.rsplit('/').next()?;
        matches!(name, "InRelease" | "Release")
            .then(|| release::valid_until_unix(body_start))
            .flatten()
    }

    fn find_digest(&self, index: &Object, index_body: &[u8], artifact: &Object) -> Listing {
        // `<remote>/<dir>/InRelease` (what `Apt::object` names; a Release reads the same)
        // lists the indexes below `<remote>/<dir>/` by their path relative to it.
        let dir = index
            .key
            .strip_suffix("/Release")
            .or_else(|| index.key.strip_suffix("/InRelease"));
        let Some(dir) = dir else {
            return Listing::Unverifiable;
        };
        let entry = match relative_path(&index.key[..=dir.len()], &artifact.key) {
            Some(relative) => release::lookup(index_body, &relative),
            None => return Listing::Unverifiable,
        };
        match entry {
            release::Entry::Digest(digest) => Listing::Found(digest),
            release::Entry::WeakOnly => Listing::Unverifiable,
            release::Entry::Absent => Listing::Absent,
        }
    }
}

/// A suite's release files, in the order indexes are looked up in them.
const RELEASE_SET: [&str; 3] = ["InRelease", "Release", "Release.gpg"];

/// `key` below the directory `dir` (which ends with '/'), decoded: how indexes name files.
fn relative_path(dir: &str, key: &str) -> Option<String> {
    let relative = key.strip_prefix(dir)?;
    Some(CleanPath::parse(relative).ok()?.segments().join("/"))
}

/// The archive root (`<remote>/<root>/`, with its slash) that a Packages index's `Filename:`
/// fields are relative to: the part before `dists/`, or for a flat repository the directory
/// holding the index (by name or by hash).
fn packages_root(key: &str) -> Option<&str> {
    if let Some(at) = key.find("/dists/") {
        return Some(&key[..=at]);
    }
    let dir = &key[..=key.rfind('/')?];
    let by_hash = dir.rfind("/by-hash/").map(|at| &key[..=at]);
    Some(by_hash.unwrap_or(dir))
}

/// The key of `relative` (as an index writes it) below `dir` (a key prefix ending with '/').
fn child_key(dir: &str, relative: &str) -> Option<String> {
    let path = CleanPath::parse(relative).ok()?;
    (!path.segments().is_empty()).then(|| format!("{dir}{}", path.encoded()))
}

/// Which objects the engine should read declarations from: InRelease, and Packages indexes
/// (by name, or by hash inside a `binary-<arch>/` directory or a flat repository).
fn declares_digests(segments: &[String], kind: &Kind) -> bool {
    let name = segments.last().map(String::as_str).unwrap_or_default();
    match kind {
        Kind::ReleaseFile => name == "InRelease",
        Kind::Index { listed_as, .. } => {
            name.starts_with("Packages") && !listed_as.contains(".diff/")
        }
        Kind::ByHash(_) => {
            let flat = !segments.iter().any(|segment| segment == "dists");
            let dir = segments
                .len()
                .checked_sub(4)
                .and_then(|at| segments.get(at));
            flat || dir.is_some_and(|dir| dir.starts_with("binary-"))
        }
        _ => false,
    }
}

/// The remote a proxy request names: its host, with the port only when it is not the default.
fn proxy_remote_name(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.strip_suffix(":80") {
        Some(bare) => bare.to_string(),
        None => host,
    }
}

#[cfg(test)]
mod tests;
