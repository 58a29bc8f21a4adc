//! Lockfiles, as `larder warm` reads them: which files an adapter recognizes, and what each asks
//! larder for. The adapter parses (pure: bytes in, [`Fetch`]es out, malformed input an error and
//! never a panic); the binary reads the files, learns what only I/O can tell about the target
//! machine ([`Target`]), and sends the requests to larder.

use std::fmt;
use url::Url;

/// One lockfile format an adapter reads.
#[derive(Clone, Copy)]
pub struct Lockfile {
    /// How messages name the format: `package-lock.json`, `requirements*.txt`, `the output of
    /// \`apt-get install --print-uris\``.
    pub kind: &'static str,
    /// Whether a file is in this format, from its name (lower-cased, without its directory;
    /// `-` for standard input) and its content. The strongest [`Match`] over all adapters wins;
    /// on a tie, the adapter registered first.
    pub recognize: fn(name: &str, bytes: &[u8]) -> Option<Match>,
    /// What the file asks for. `larder` is larder's base URL as warm reaches it, for lockfiles
    /// that name larder itself (apt pointed at larder as a mirror).
    pub parse: fn(bytes: &[u8], larder: &Url) -> Result<Vec<Fetch>, LockfileError>,
    /// What warm must learn about the target machine before [`Fetch::Pick`] can choose.
    pub needs: &'static [Probe],
}

impl fmt::Debug for Lockfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lockfile")
            .field("kind", &self.kind)
            .finish()
    }
}

/// How surely a file is in a format, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    /// The format's own file name (`package-lock.json`, `go.sum`).
    Name,
    /// Its content, for output that has no conventional name (`apt-get --print-uris`).
    Content,
    /// A name pattern (`*.txt`), or a generic name with telling content (`*.json` holding
    /// `lockfileVersion`).
    Pattern,
}

/// One thing a lockfile asks larder for. Paths are relative to the adapter's mount point
/// (`react/-/react-18.2.0.tgz` for `/npm/react/-/react-18.2.0.tgz`).
pub enum Fetch {
    /// GET `<larder>/<adapter>/<path>`, with these request headers.
    Get {
        path: String,
        headers: Vec<(&'static str, String)>,
    },
    /// GET an absolute URI: directly when it is under larder's base URL, else through larder
    /// as a forward proxy.
    Proxy { uri: String },
    /// GET the index page `<larder>/<adapter>/<path>`, then every URL `pick` chooses from its
    /// body for the target (URLs relative to the page): the file a resolver would pick for
    /// this platform.
    Pick {
        /// What the user reads in progress and failures (`requests==2.31.0`).
        label: String,
        path: String,
        headers: Vec<(&'static str, String)>,
        pick: Box<Picker>,
    },
    /// Something the lockfile names that larder cannot fetch, and what to do about it.
    Refused { label: String, why: String },
    /// `fetch`, only for a target `applies` accepts: a package for other platforms (npm's
    /// optional `os`/`cpu`/`libc` dependencies) is skipped unless warm prepares every platform.
    When {
        applies: Box<Condition>,
        fetch: Box<Fetch>,
    },
}

/// Whether a [`Fetch::When`] is for the target.
pub type Condition = dyn Fn(&Target) -> bool + Send + Sync;

/// Chooses, from an index page's body and the target, the URLs to fetch.
pub type Picker = dyn Fn(&[u8], &Target) -> Result<Vec<String>, LockfileError> + Send + Sync;

impl fmt::Debug for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fetch::Get { path, headers } => f
                .debug_struct("Get")
                .field("path", path)
                .field("headers", headers)
                .finish(),
            Fetch::Proxy { uri } => f.debug_struct("Proxy").field("uri", uri).finish(),
            Fetch::Pick { label, path, .. } => f
                .debug_struct("Pick")
                .field("label", label)
                .field("path", path)
                .finish_non_exhaustive(),
            Fetch::Refused { label, why } => f
                .debug_struct("Refused")
                .field("label", label)
                .field("why", why)
                .finish(),
            Fetch::When { fetch, .. } => f
                .debug_struct("When")
                .field("fetch", fetch)
                .finish_non_exhaustive(),
        }
    }
}

/// Something only I/O can tell about the target machine, which a format [`Lockfile::needs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The wheel tags its Python accepts ([`Target::python`]).
    Python,
    /// Its operating system, CPU and C library ([`Target::platform`]).
    Platform,
}

/// The machine a warm run prepares builds for, as far as the lockfiles' formats need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// Set when a format needs [`Probe::Python`].
    pub python: Option<PythonTarget>,
    /// When a format needs [`Probe::Platform`]: the one platform to prepare for, or `None` for
    /// every platform (an office mirror serving many kinds of machine).
    pub platform: Option<Platform>,
}

/// An operating system and CPU, in Node.js's names (`process.platform`, `process.arch`), which
/// npm's `os`/`cpu`/`libc` fields use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `darwin`, `win32`, …
    pub os: String,
    /// `x64`, `arm64`, `ia32`, …
    pub cpu: String,
    /// `glibc` or `musl` on Linux; `None` when unknown (then no package is skipped for it).
    pub libc: Option<String>,
}

/// Which wheels the target's Python installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PythonTarget {
    /// Its interpreter's supported tags, best first, as `packaging.tags.sys_tags()` prints
    /// them (`cp312-cp312-manylinux_2_17_x86_64`).
    Tags(Vec<String>),
    /// A CPython version and wheel platforms (`manylinux_2_17_x86_64`), when given as flags or
    /// when the interpreter could not list its tags.
    Version {
        major: u32,
        minor: u32,
        platforms: Vec<String>,
    },
}

/// Why a lockfile (or an index page a [`Fetch::Pick`] read) could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LockfileError(pub String);

/// The formats, named for a message: `a, b, or c`.
pub fn describe(lockfiles: &[&Lockfile]) -> String {
    let kinds: Vec<&str> = lockfiles.iter().map(|l| l.kind).collect();
    match kinds.split_last() {
        None => String::new(),
        Some((only, [])) => only.to_string(),
        Some((last, rest)) => format!("{}, or {last}", rest.join(", ")),
    }
}

/// The format of a file among `lockfiles`: the strongest match, the first on a tie.
pub fn recognize<'a>(lockfiles: &[&'a Lockfile], name: &str, bytes: &[u8]) -> Option<&'a Lockfile> {
    let mut best: Option<(Match, &'a Lockfile)> = None;
    for &lockfile in lockfiles {
        if let Some(found) = (lockfile.recognize)(name, bytes) {
            if best.is_none_or(|(strongest, _)| found < strongest) {
                best = Some((found, lockfile));
            }
        }
    }
    best.map(|(_, lockfile)| lockfile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_txt(name: &str, _: &[u8]) -> Option<Match> {
        name.ends_with(".txt").then_some(Match::Pattern)
    }

    fn by_quote(_: &str, bytes: &[u8]) -> Option<Match> {
        bytes.starts_with(b"'").then_some(Match::Content)
    }

    fn nothing(_: &[u8], _: &Url) -> Result<Vec<Fetch>, LockfileError> {
        Ok(Vec::new())
    }

    const TXT: Lockfile = Lockfile {
        kind: "requirements*.txt",
        recognize: by_txt,
        parse: nothing,
        needs: &[],
    };
    const QUOTED: Lockfile = Lockfile {
        kind: "quoted lines",
        recognize: by_quote,
        parse: nothing,
        needs: &[],
    };

    #[test]
    fn the_strongest_match_wins_whatever_the_order() {
        let both = [&TXT, &QUOTED];
        let found = recognize(&both, "uris.txt", b"'http://a/b.deb'");
        assert_eq!(found.map(|l| l.kind), Some("quoted lines"));
        let found = recognize(&both, "dev.txt", b"x==1");
        assert_eq!(found.map(|l| l.kind), Some("requirements*.txt"));
        assert!(recognize(&both, "Cargo.lock", b"").is_none());
    }

    #[test]
    fn formats_are_listed_as_a_sentence() {
        assert_eq!(describe(&[&TXT]), "requirements*.txt");
        assert_eq!(
            describe(&[&TXT, &QUOTED, &TXT]),
            "requirements*.txt, quoted lines, or requirements*.txt"
        );
    }
}
