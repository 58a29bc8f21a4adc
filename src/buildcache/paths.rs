//! Where each tool's entries live under `/cache/`, and the store key of each.
//!
//! - Bazel's HTTP remote cache, and `larder gocache`: `bazel/ac/<sha256>`, `bazel/cas/<sha256>`
//!   (`go/...` the same);
//! - Gradle's HttpBuildCache: `gradle/<key>`;
//! - ccache's HTTP remote storage: `ccache/<key>` in any of its layouts (`subdirs`, the default,
//!   is `ccache/<2 chars>/<rest>`);
//! - sccache's WebDAV backend: `sccache/<any path>`; a path ending in `/` is a collection.
//!
//! A named namespace prefixes all of them: `/cache/ns/<namespace>/<tool>/...`.

use crate::cache_config::{is_namespace, DEFAULT_NAMESPACE};

/// The tools `/cache/` speaks to, in the order of the metrics and the status page.
pub const TOOLS: [Tool; 5] = [
    Tool::Go,
    Tool::Bazel,
    Tool::Gradle,
    Tool::Ccache,
    Tool::Sccache,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tool {
    Go,
    Bazel,
    Gradle,
    Ccache,
    Sccache,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Go => "go",
            Tool::Bazel => "bazel",
            Tool::Gradle => "gradle",
            Tool::Ccache => "ccache",
            Tool::Sccache => "sccache",
        }
    }

    fn from_name(name: &str) -> Option<Tool> {
        TOOLS.into_iter().find(|tool| tool.name() == name)
    }
}

/// Whether an entry's key says what its bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Content-addressed: the key is the sha256 of the bytes, checked on every write.
    Blob,
    /// A key chosen by the client (an action's hash): nothing to check the bytes against.
    Action,
    /// A WebDAV collection (sccache's directories): nothing is stored for it.
    Collection,
}

/// One entry a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub tool: Tool,
    pub kind: Kind,
    /// The tool's own key (`cas/<sha256>`, `ab/cdef…`).
    pub key: String,
}

impl Target {
    /// The pointer key in the store: apart from every mirrored object's (`npm/…`, `go/…`).
    pub fn store_key(&self) -> String {
        format!("cache/{}/{}/{}", self.namespace, self.tool.name(), self.key)
    }

    /// For a blob, the sha256 its bytes must have.
    pub fn expected_sha256(&self) -> Option<&str> {
        match self.kind {
            Kind::Blob => self.key.rsplit('/').next(),
            _ => None,
        }
    }
}

/// Parses the path after `/cache/`; `Err` says what a valid path looks like.
pub fn parse(rest: &str) -> Result<Target, String> {
    let (namespace, rest) = match rest.strip_prefix("ns/") {
        Some(named) => {
            let (namespace, rest) = named.split_once('/').unwrap_or((named, ""));
            if !is_namespace(namespace) {
                return Err(format!(
                    "{namespace:?} is not a namespace name (letters, digits, '-', '_')"
                ));
            }
            (namespace, rest)
        }
        None => (DEFAULT_NAMESPACE, rest),
    };
    let (tool_name, key) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(tool) = Tool::from_name(tool_name) else {
        return Err(format!(
            "no build cache is served at /cache/{tool_name}/; tools: {}",
            TOOLS.map(|t| format!("/cache/{}/", t.name())).join(", ")
        ));
    };
    let kind = match tool {
        Tool::Go | Tool::Bazel => content_addressed(tool, key)?,
        Tool::Gradle => {
            if key.contains('/') || !is_key(key) {
                return Err("a Gradle cache key is one path segment: /cache/gradle/<key>".into());
            }
            Kind::Action
        }
        Tool::Ccache => {
            let segments: Vec<&str> = key.split('/').collect();
            if segments.len() > 3 || !segments.iter().all(|s| is_key(s)) {
                return Err(
                    "a ccache key is /cache/ccache/<key> in one of ccache's layouts".into(),
                );
            }
            Kind::Action
        }
        Tool::Sccache => {
            let path = key.trim_end_matches('/');
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            if segments.len() > 16 || !segments.iter().all(|s| is_key(s)) {
                return Err(
                    "an sccache path is at most 16 segments of letters, digits, '.', '-', '_'"
                        .into(),
                );
            }
            if key.is_empty() || key.ends_with('/') {
                return Ok(Target {
                    namespace: namespace.to_string(),
                    tool,
                    kind: Kind::Collection,
                    key: segments.join("/"),
                });
            }
            Kind::Action
        }
    };
    Ok(Target {
        namespace: namespace.to_string(),
        tool,
        kind,
        key: key.to_string(),
    })
}

fn content_addressed(tool: Tool, key: &str) -> Result<Kind, String> {
    let usage = || {
        format!(
            "use /cache/{0}/ac/<sha256> or /cache/{0}/cas/<sha256> (64 lowercase hex digits)",
            tool.name()
        )
    };
    let (space, digest) = key.split_once('/').ok_or_else(usage)?;
    let lower_hex = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match space {
        _ if !lower_hex => Err(usage()),
        "cas" => Ok(Kind::Blob),
        "ac" => Ok(Kind::Action),
        _ => Err(usage()),
    }
}

/// One segment of a tool's key: 1 to 256 letters, digits, `.`, `-`, `_` (never `.` or `..`).
fn is_key(segment: &str) -> bool {
    (1..=256).contains(&segment.len())
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn bazel_spaces_and_namespaces() {
        let cas = parse(&format!("bazel/cas/{SHA}")).unwrap();
        assert_eq!(cas.kind, Kind::Blob);
        assert_eq!(cas.expected_sha256(), Some(SHA));
        assert_eq!(cas.store_key(), format!("cache/default/bazel/cas/{SHA}"));
        let ac = parse(&format!("ns/ci/bazel/ac/{SHA}")).unwrap();
        assert_eq!((ac.kind, ac.namespace.as_str()), (Kind::Action, "ci"));
        assert_eq!(ac.expected_sha256(), None);
        assert!(parse(&format!("bazel/cas/{}", SHA.to_uppercase())).is_err());
        assert!(parse("bazel/cas/abc").is_err());
        assert!(parse(&format!("bazel/xyz/{SHA}")).is_err());
        assert!(parse(&format!("ns/a b/bazel/ac/{SHA}")).is_err());
    }

    #[test]
    fn tools_keys() {
        assert_eq!(parse("gradle/0a1b2c").unwrap().kind, Kind::Action);
        assert!(parse("gradle/a/b").is_err());
        assert_eq!(parse("ccache/ab/cdef0123").unwrap().key, "ab/cdef0123");
        assert!(parse("ccache/a/b/c/d").is_err());
        assert_eq!(parse("sccache/a/b/").unwrap().kind, Kind::Collection);
        assert_eq!(parse("sccache/").unwrap().kind, Kind::Collection);
        assert_eq!(parse("sccache/a/b/c1").unwrap().kind, Kind::Action);
        assert!(parse("sccache/a/../b").is_err());
        assert!(parse("maven/x").is_err());
    }
}
