//! `allow` and `deny` entries: `name`, `@scope` or `@scope/*` (a glob: `*` matches anything,
//! `/` too), `name@1.2.3` (one version), `name@<range>` (a range in the ecosystem's own
//! syntax: `left-pad@^1.3.0`, `requests@>=2.31,<2.32`, `golang.org/x/text@<v0.3.8`).

use larder_adapter::Ecosystem;

/// One parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// As configured, for messages.
    pub text: String,
    package: String,
    versions: Versions,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Versions {
    All,
    Exact(String),
    Range(String),
}

impl Entry {
    /// Reads an entry, with its package name in the ecosystem's canonical form.
    pub fn parse(text: &str, eco: &dyn Ecosystem) -> Entry {
        // A scope's `@` is part of the name; the version follows the next one.
        let split_at = match text.strip_prefix('@') {
            Some(rest) => rest.find('@').map(|at| at + 1),
            None => text.find('@'),
        };
        let (name, spec) = match split_at {
            Some(at) => (&text[..at], text[at + 1..].trim()),
            None => (text, ""),
        };
        let versions = if spec.is_empty() || spec == "*" {
            Versions::All
        } else if is_exact(spec) {
            Versions::Exact(spec.to_string())
        } else {
            Versions::Range(spec.to_string())
        };
        let name = name.trim();
        // A bare npm scope (`@evil`) names every package in it.
        let package = match name.starts_with('@') && !name.contains('/') {
            true => format!("{name}/*"),
            false => eco.canonical_package(name),
        };
        Entry {
            text: text.to_string(),
            package,
            versions,
        }
    }

    /// Whether the entry names this release (`package` already canonical). A range the
    /// ecosystem cannot read names nothing for an allow entry and everything for a deny
    /// entry: a rule that cannot be checked fails closed.
    pub fn matches(&self, eco: &dyn Ecosystem, package: &str, version: &str, deny: bool) -> bool {
        if !glob(&self.package, package) {
            return false;
        }
        match &self.versions {
            Versions::All => true,
            Versions::Exact(exact) => {
                exact == version
                    || eco.compare_versions(exact, version) == Some(std::cmp::Ordering::Equal)
            }
            Versions::Range(range) => match eco.version_in_range(version, range) {
                Ok(inside) => inside,
                Err(why) => {
                    tracing::warn!(entry = %self.text, %why, "a policy range cannot be read");
                    deny
                }
            },
        }
    }

    /// Whether the entry names a whole package (every version), so that metadata naming only
    /// the package can be refused outright.
    pub fn names_every_version(&self) -> bool {
        self.versions == Versions::All
    }
}

fn is_exact(spec: &str) -> bool {
    !spec.contains(['<', '>', '=', '^', '~', '*', '|', ' ', ',', '!', 'x', 'X'])
        || spec.starts_with('v')
            && !spec[1..].contains(['<', '>', '=', '^', '~', '*', '|', ' ', ',', '!'])
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or_default();
    for part in parts {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("@myorg/*", "@myorg/tool"));
        assert!(!glob("@myorg/*", "@other/tool"));
        assert!(glob("*-plugin-*", "eslint-plugin-x"));
        assert!(glob("left-pad", "left-pad") && !glob("left-pad", "left-pad2"));
        assert!(glob("a*a", "aa") && !glob("a*a", "a"));
    }

    /// An ecosystem with SemVer order and the default comparator ranges.
    struct Semver;

    impl Ecosystem for Semver {
        fn name(&self) -> &'static str {
            "s"
        }
        fn upstreams(&self) -> Vec<url::Url> {
            Vec::new()
        }
        fn route(&self, _: &larder_adapter::ClientRequest<'_>) -> larder_adapter::Route {
            larder_adapter::Route::reply(http::StatusCode::NOT_FOUND, "")
        }
        fn find_digest(
            &self,
            _: &larder_adapter::Object,
            _: &[u8],
            _: &larder_adapter::Object,
        ) -> larder_adapter::Listing {
            larder_adapter::Listing::Unverifiable
        }
        fn compare_versions(&self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
            larder_adapter::versions::compare_semver(a, b)
        }
    }

    #[test]
    fn entries_name_scopes_globs_versions_and_ranges() {
        let matches = |entry: &str, package: &str, version: &str| {
            Entry::parse(entry, &Semver).matches(&Semver, package, version, true)
        };
        assert!(
            matches("@evil", "@evil/tool", "1.0.0") && !matches("@evil", "@good/tool", "1.0.0")
        );
        assert!(matches("@evil/tool@1.0.0", "@evil/tool", "1.0.0"));
        assert!(!matches("@evil/tool@1.0.0", "@evil/tool", "1.0.1"));
        assert!(
            matches("x@>=1.0.0 <2.0.0", "x", "1.5.0") && !matches("x@>=1.0.0 <2.0.0", "x", "2.0.0")
        );
        assert!(
            matches("x@v1.2.0", "x", "1.2.0"),
            "exact versions compare by the ecosystem's order"
        );
        assert!(matches("*-plugin", "eslint-plugin", "0.1.0"));
        // A range the ecosystem cannot read: a deny entry matches, an allow entry does not.
        let unreadable = Entry::parse("x@>=banana", &Semver);
        assert!(unreadable.matches(&Semver, "x", "1.0.0", true));
        assert!(!unreadable.matches(&Semver, "x", "1.0.0", false));
    }

    #[test]
    fn exact_versions_are_told_from_ranges() {
        assert!(is_exact("1.2.3") && is_exact("v0.14.0") && is_exact("1:2.36-9"));
        assert!(!is_exact("^1.2.3") && !is_exact(">=2.0,<3") && !is_exact("1.x"));
    }
}
