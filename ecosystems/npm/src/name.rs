//! npm package names: parsing the forms clients send and validating them before anything is
//! forwarded upstream.
//!
//! The rules follow `validate-npm-package-name` for names that may exist on the registry
//! (`validForOldPackages`): uppercase letters are accepted because old packages such as
//! `JSONStream` have them. Every accepted character is URL-safe and none is `/` or `%`, so a
//! valid name can be put into a cache key or an upstream URL as it is: traversal (`..`, encoded
//! slashes) is impossible by construction.

use std::fmt;

/// The longest name the registry accepts, scope included.
pub const MAX_LEN: usize = 214;

/// A validated package name, plain (`react`) or scoped (`@types/node`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageName {
    scope: Option<String>,
    name: String,
}

/// Why a name was refused; the message is meant for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidName(pub String);

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PackageName {
    /// A plain name, or the scope and name segments of a scoped one (`scope` with its `@`).
    pub fn parse(scope: Option<&str>, name: &str) -> Result<Self, InvalidName> {
        let full_len = scope.map_or(0, |s| s.len() + 1) + name.len();
        if full_len > MAX_LEN {
            return Err(InvalidName(format!(
                "package name is {full_len} characters long; npm allows at most {MAX_LEN}"
            )));
        }
        let scope = match scope {
            None => {
                if name.starts_with('_') {
                    return Err(invalid(name, "names cannot start with an underscore"));
                }
                if name.starts_with('@') {
                    return Err(invalid(name, "a scoped name needs the form @scope/name"));
                }
                if matches!(
                    name.to_ascii_lowercase().as_str(),
                    "node_modules" | "favicon.ico"
                ) {
                    return Err(invalid(name, "this name is reserved"));
                }
                None
            }
            Some(scope) => {
                let bare = scope
                    .strip_prefix('@')
                    .ok_or_else(|| invalid(scope, "a scope starts with @"))?;
                check_part(bare).map_err(|why| invalid(scope, why))?;
                Some(bare.to_string())
            }
        };
        check_part(name).map_err(|why| invalid(name, why))?;
        Ok(PackageName {
            scope,
            name: name.to_string(),
        })
    }

    /// The scope without its `@`, for scoped names.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The name without its scope (`node` for `@types/node`).
    pub fn bare(&self) -> &str {
        &self.name
    }

    /// The form upstream registries want in a packument URL: `@scope%2fname` or `name`.
    pub fn url_encoded(&self) -> String {
        match &self.scope {
            Some(scope) => format!("@{scope}%2f{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for PackageName {
    /// `@scope/name` or `name`: the form in cache keys, tarball paths and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "@{scope}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Checks one segment: a scope without its `@`, or a name.
fn check_part(part: &str) -> Result<(), &'static str> {
    if part.is_empty() {
        return Err("names cannot be empty");
    }
    if part.starts_with('.') {
        return Err("names cannot start with a dot");
    }
    if !part.bytes().all(is_name_byte) {
        return Err("names may only contain letters, digits and - . _ ~ ! * ' ( )");
    }
    Ok(())
}

/// The characters `encodeURIComponent` leaves alone: what npm allows in a name.
pub(crate) fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!*'()".contains(&byte)
}

fn invalid(what: &str, why: &str) -> InvalidName {
    // The offending text is echoed back shortened and escaped: it came from the client.
    let shown: String = what
        .chars()
        .take(64)
        .flat_map(char::escape_default)
        .collect();
    InvalidName(format!("invalid npm package name \"{shown}\": {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_scoped_names_render_in_every_form() {
        let plain = PackageName::parse(None, "react").unwrap();
        assert_eq!(plain.to_string(), "react");
        assert_eq!(plain.url_encoded(), "react");
        let scoped = PackageName::parse(Some("@types"), "node").unwrap();
        assert_eq!(scoped.to_string(), "@types/node");
        assert_eq!(scoped.url_encoded(), "@types%2fnode");
        assert_eq!(scoped.scope(), Some("types"));
        assert_eq!(scoped.bare(), "node");
    }

    #[test]
    fn legacy_names_are_accepted() {
        for name in [
            "JSONStream",
            "lodash.get",
            "a-b_c",
            "(hello)",
            "x!",
            "left-pad",
            "7",
        ] {
            assert!(PackageName::parse(None, name).is_ok(), "{name}");
        }
        assert!(PackageName::parse(Some("@babel"), "_private").is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        for name in [
            "",
            ".",
            "..",
            ".hidden",
            "_under",
            "a b",
            "a/b",
            "a%2fb",
            "a\\b",
            "é",
            "node_modules",
            "@scope",
        ] {
            assert!(PackageName::parse(None, name).is_err(), "{name:?}");
        }
        for (scope, name) in [
            ("scope", "x"),
            ("@", "x"),
            ("@..", "x"),
            ("@s", ".."),
            ("@s", ""),
            ("@s c", "x"),
        ] {
            assert!(
                PackageName::parse(Some(scope), name).is_err(),
                "{scope}/{name}"
            );
        }
    }

    #[test]
    fn length_limit_counts_the_scope() {
        assert!(PackageName::parse(None, &"a".repeat(MAX_LEN)).is_ok());
        assert!(PackageName::parse(None, &"a".repeat(MAX_LEN + 1)).is_err());
        let name = "b".repeat(MAX_LEN - 3);
        assert!(
            PackageName::parse(Some("@s"), &name).is_ok(),
            "@s/ + name = 214"
        );
        assert!(PackageName::parse(Some("@ss"), &name).is_err());
    }

    #[test]
    fn error_messages_escape_client_input() {
        let err = PackageName::parse(None, "a\nb\"c").unwrap_err();
        assert!(err.0.contains(r#"a\nb\"c"#), "{err}");
        assert!(!err.0.contains('\n'));
    }
}
