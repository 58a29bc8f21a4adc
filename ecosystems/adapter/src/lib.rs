//! The vocabulary shared by larder's engine and its ecosystem adapters.
//!
//! An adapter (one crate per ecosystem under `ecosystems/`) implements [`Ecosystem`]: it turns a
//! client's request into a [`Route`], says which upstream URL holds the object, whether the object
//! can change, how to verify its bytes, and how to rewrite a metadata body so that its links point
//! back at larder.
//!
//! Architecture invariant: nothing in this crate or in an adapter performs I/O. No sockets, no
//! files, no clocks, no runtime. The engine (`src/` of the `larder` crate) does all of that and
//! never matches on an ecosystem's name, so a new ecosystem is a new crate plus one line in
//! the binary's adapter list.

#![forbid(unsafe_code)]

pub mod clients;
pub mod digest;
pub mod json_spans;
pub mod lockfile;
pub mod object;
pub mod policy;
pub mod release;
pub mod remotes;
pub mod request;
pub mod rewrite;
pub mod settings;
pub mod testing;
pub mod versions;

pub use clients::{ClientBase, ClientSettings, EnvSetting, Snippet};
pub use digest::{Algorithm, Digest};
pub use lockfile::{
    Fetch, Lockfile, LockfileError, Match, Picker, Platform, Probe, PythonTarget, Target,
};
pub use object::{Forward, Freshness, Listing, Object, Reply, Route, Verify};
pub use policy::{AgeRules, Offer, PublishTimes, TimesSource, Withheld};
pub use release::Release;
pub use request::ClientRequest;
pub use rewrite::{PrefixRewriter, Rewriter};
pub use settings::{base_url, parse_base_url, AdapterFactory, Section, SettingsError};

use std::cmp::Ordering;
use url::Url;

/// One package ecosystem's protocol, as the engine sees it.
pub trait Ecosystem: Send + Sync + 'static {
    /// The adapter's name: its URL prefix (`/npm/...`) and its config section (`[npm]`).
    fn name(&self) -> &'static str;

    /// Every upstream base URL this adapter may build object URLs under. The engine refuses to
    /// contact any other host, so a client can never make larder fetch from a host it chose.
    fn upstreams(&self) -> Vec<Url>;

    /// Hosts this adapter serves in forward-proxy mode, where the client sends absolute-form
    /// requests (`GET http://deb.debian.org/debian/...`), matched case-insensitively. Empty for
    /// most ecosystems.
    fn proxy_hosts(&self) -> Vec<String> {
        Vec::new()
    }

    /// What to do with one request. `request.path` is the part after the adapter's prefix.
    fn route(&self, request: &ClientRequest<'_>) -> Route;

    /// Which package release `object` (as this adapter routed it) is, for the artifacts a
    /// client installs: npm tarballs, PyPI distribution files, Go module zips, `.deb` files,
    /// crates, Maven artifacts. `None` for metadata and anything else.
    fn release(&self, _object: &Object) -> Option<Release> {
        None
    }

    /// Finds the digest that `index` (an object named by [`Verify::Listed`]) declares for
    /// `artifact`. Called with the index's whole body; must not panic on malformed input.
    fn find_digest(&self, index: &Object, index_body: &[u8], artifact: &Object) -> Listing;

    /// The digests an index declares for other objects, as (object key, digest) pairs. Called
    /// once each time an object built with [`Object::declares_digests`] is stored. A cached
    /// object whose bytes contradict the latest declaration is fetched again instead of served:
    /// a third-party apt repository that rebuilds `pool/…/x_1.0_all.deb` under the same name
    /// is seen as soon as its new Packages index is.
    fn declared_digests(&self, _index: &Object, _index_body: &[u8]) -> Vec<(String, Digest)> {
        Vec::new()
    }

    /// The objects upstream publishes together with `object`, as one set that must stay
    /// consistent: apt's InRelease, Release and Release.gpg of a suite (a Release served with
    /// another generation's Release.gpg fails its signature check). The engine refreshes the
    /// whole set whenever a member is due, publishes it only once every member was fetched, and
    /// serves the previous set, whole, when one fails. A [`Verify::Listed`] index that does not
    /// exist upstream is looked up in these, in order: a repository with a Release but no
    /// InRelease. Empty for most objects.
    fn published_with(&self, _object: &Object) -> Vec<Object> {
        Vec::new()
    }

    /// When a copy of this metadata stops being acceptable to clients, as its body states
    /// (apt's `Valid-Until`), in seconds since the Unix epoch. The engine asks only when it
    /// serves a copy that upstream could not confirm (stale, or `--offline`), with the body's
    /// first 64 KiB, and reports a copy past that time in its log and the response, since the
    /// client will refuse it. Must not panic on malformed input.
    fn valid_until(&self, _object: &Object, _body_start: &[u8]) -> Option<i64> {
        None
    }

    /// What to tell a client whose forward-proxy request names a host no adapter serves
    /// (`add the host under [apt.remotes]`).
    fn proxy_refusal_hint(&self) -> Option<&'static str> {
        None
    }

    /// The digests upstream's response declares for its own body in its headers (Maven
    /// Central's `x-checksum-sha1`). The engine refuses bytes that contradict any of them, on
    /// top of whatever `Verify` says: a response that disagrees with itself is a broken transfer
    /// or a broken mirror. Must not panic on malformed values. Empty for most ecosystems.
    fn response_digests(&self, _object: &Object, _headers: &http::HeaderMap) -> Vec<Digest> {
        Vec::new()
    }

    /// The adapter's own keys (its factory's `extra_keys`) with the values in effect, defaults
    /// included, for `larder config` to show. Keys it leaves out are shown as configured.
    fn extra_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }

    /// A streaming rewrite for a metadata body, given larder's public base URL for this adapter
    /// (`http://host:7878/npm`, without a trailing slash). `None` serves the body verbatim.
    fn rewriter(&self, _object: &Object, _public_base: &str) -> Option<Box<dyn Rewriter>> {
        None
    }

    // Supply-chain policy (`[policy]`: release age, deny lists): see [`policy`]. The defaults
    // describe an ecosystem that states no publish times, so an age rule fails closed there.

    /// The ecosystem's name in OSV records (`affected[].package.ecosystem`: `npm`, `PyPI`,
    /// `Go`, `crates.io`, `Maven`, `Debian`), so that a `deny_file`'s records reach it. `None`:
    /// no record applies.
    fn osv_ecosystem(&self) -> Option<&'static str> {
        None
    }

    /// A package name as the ecosystem compares names (PyPI: normalized per PEP 503), applied to
    /// the names in rules and records before they are matched against a [`Release`].
    fn canonical_package(&self, name: &str) -> String {
        name.to_string()
    }

    /// The ecosystem's version order; `None` when either is not a version it can order.
    fn compare_versions(&self, _a: &str, _b: &str) -> Option<Ordering> {
        None
    }

    /// Whether `version` is in `range`, written in the ecosystem's own syntax (npm's `^1.2.0`,
    /// PEP 440's `>=1.0,<2`). The default reads comparators (`>=1.0.0 <2.0.0 || =3.1.0`, see
    /// [`versions::in_comparators`]) by [`Ecosystem::compare_versions`].
    fn version_in_range(&self, version: &str, range: &str) -> Result<bool, String> {
        versions::in_comparators(version, range, &|a, b| self.compare_versions(a, b))
    }

    /// Whether release-age rules apply to this ecosystem at all.
    fn age_rules(&self) -> AgeRules {
        AgeRules::Apply
    }

    /// Where the publish times that judge `object` are stated: an artifact's own release
    /// ([`Ecosystem::release`]) or the offers of a metadata document ([`Ecosystem::offers`]).
    fn times_source(&self, _object: &Object) -> TimesSource {
        TimesSource::Unknown
    }

    /// For [`TimesSource::PerVersion`]: the object stating `version`'s publish time.
    fn version_times(&self, _object: &Object, _version: &str) -> Option<Object> {
        None
    }

    /// The publish times `body` (of an object a [`TimesSource`] named) states, keyed as
    /// [`Offer::key`]. A malformed body states none. Must not panic on malformed input.
    fn publish_times(&self, _source: &Object, _body: &[u8]) -> PublishTimes {
        PublishTimes::new()
    }

    /// The key of `artifact`'s publish time in [`Ecosystem::publish_times`]: its version by
    /// default, its file name where times are per file (PyPI).
    fn time_key(&self, _artifact: &Object, release: &Release) -> String {
        release.version.clone()
    }

    /// Whether `object` is a metadata document that offers releases ([`Ecosystem::offers`]),
    /// asked before its body is read: only these are filtered.
    fn lists_releases(&self, _object: &Object) -> bool {
        false
    }

    /// The body of a policy refusal (a 403), in the form the ecosystem's clients show: plain
    /// text by default (the go command prints it as `server response:`), npm's JSON `error`.
    fn refusal(&self, message: &str) -> Reply {
        Reply::text(http::StatusCode::FORBIDDEN, message)
    }

    /// The releases a metadata document offers, which a policy may withhold: `None` for
    /// objects that offer none (or that larder does not filter), `Err` for a document that
    /// cannot be read (the engine then refuses to serve it rather than serve it unfiltered).
    fn offers(&self, _object: &Object, _body: &[u8]) -> Option<Result<Vec<Offer>, String>> {
        None
    }

    /// `body` written again without the offers whose keys are in `withheld` (everything else as
    /// upstream sent it). `Err` when the document cannot be written without them (Go's
    /// `@latest` names one version: withheld, nothing remains), and the engine refuses it.
    fn withhold(
        &self,
        _object: &Object,
        _body: &[u8],
        _withheld: &Withheld,
    ) -> Result<Vec<u8>, String> {
        Err("this ecosystem's documents cannot be filtered".into())
    }
}
