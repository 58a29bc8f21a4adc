//! The GOPROXY protocol's five endpoints: which one a request names, for which module and
//! version.

use crate::escape::{self, Malformed, Version};

/// One GOPROXY endpoint.
pub enum Endpoint {
    /// `$module/@v/list`: the known versions, one a line.
    List,
    /// `$module/@latest`: `.info` of the latest version.
    Latest,
    /// `$module/@v/$version.info`: JSON `{"Version": …, "Time": …}`.
    Info(Version),
    /// `$module/@v/$version.mod`: the version's go.mod.
    Mod(Version),
    /// `$module/@v/$version.zip`: the module zip.
    Zip(Version),
}

pub struct ProxyRequest {
    /// The module path in its checked, escaped form.
    pub module: String,
    pub endpoint: Endpoint,
}

impl ProxyRequest {
    /// The path below the proxy's base, in escaped form: the cache identity and the upstream
    /// location at once (`github.com/!burnt!sushi/toml/@v/v1.2.0.zip`).
    pub fn escaped_path(&self) -> String {
        let module = &self.module;
        match &self.endpoint {
            Endpoint::List => format!("{module}/@v/list"),
            Endpoint::Latest => format!("{module}/@latest"),
            Endpoint::Info(v) => format!("{module}/@v/{}.info", v.escaped),
            Endpoint::Mod(v) => format!("{module}/@v/{}.mod", v.escaped),
            Endpoint::Zip(v) => format!("{module}/@v/{}.zip", v.escaped),
        }
    }

    /// The same path, percent-encoded for an upstream URL.
    pub fn url_path(&self) -> String {
        escape::for_url(&self.escaped_path())
    }
}

/// Parses a percent-decoded request path (`/github.com/!burnt!sushi/toml/@v/list`).
///
/// `Ok(None)`: the path has none of the protocol's shapes (the engine answers 404, so a client
/// with `GOPROXY=larder,direct` moves on). `Err`: it has one, but the module path or version in
/// it is malformed (400, never forwarded).
pub fn parse(path: &str) -> Result<Option<ProxyRequest>, Malformed> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if let Some(module) = path.strip_suffix("/@latest") {
        escape::module_path(module)?;
        return Ok(Some(ProxyRequest {
            module: module.to_owned(),
            endpoint: Endpoint::Latest,
        }));
    }
    // Module paths cannot contain '@', so the first "/@v/" is the separator; anything odd before
    // it fails the module path check.
    let Some((module, file)) = path.split_once("/@v/") else {
        return Ok(None);
    };
    if file == "list" {
        escape::module_path(module)?;
        return Ok(Some(ProxyRequest {
            module: module.to_owned(),
            endpoint: Endpoint::List,
        }));
    }
    let Some((version, extension)) = file.rsplit_once('.') else {
        return Ok(None);
    };
    let make: fn(Version) -> Endpoint = match extension {
        "info" => Endpoint::Info,
        "mod" => Endpoint::Mod,
        "zip" => Endpoint::Zip,
        _ => return Ok(None),
    };
    escape::module_path(module)?;
    let endpoint = make(escape::version(version)?);
    Ok(Some(ProxyRequest {
        module: module.to_owned(),
        endpoint,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(path: &str) -> ProxyRequest {
        parse(path)
            .unwrap_or_else(|err| panic!("{path}: {err}"))
            .unwrap_or_else(|| panic!("{path}: no route"))
    }

    #[test]
    fn every_endpoint_parses_and_keeps_its_escaped_form() {
        for path in [
            "/github.com/!burnt!sushi/toml/@v/list",
            "/github.com/!burnt!sushi/toml/@latest",
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.info",
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.mod",
            "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip",
            "/golang.org/toolchain/@v/v0.0.1-go1.21.0.linux-amd64.zip",
            "/example.com/m/@v/v1.0.0-!r!c1.info",
        ] {
            let request = parsed(path);
            assert_eq!(format!("/{}", request.escaped_path()), path);
        }
        let request = parsed("/github.com/!burnt!sushi/toml/@v/master.info");
        assert_eq!(
            escape::module_path(&request.module).unwrap(),
            "github.com/BurntSushi/toml"
        );
        assert!(matches!(request.endpoint, Endpoint::Info(ref v) if v.decoded == "master"));
    }

    #[test]
    fn paths_outside_the_protocol_are_not_routed() {
        for path in [
            "/",
            "",
            "/@latest",
            "/@v/list",
            "/example.com/m",
            "/example.com/m/@v/",
            "/example.com/m/@v/v1.0.0.tar",
            "/example.com/m/@v/lists",
        ] {
            assert!(matches!(parse(path), Ok(None)), "{path:?} routed");
        }
    }

    #[test]
    fn malformed_modules_and_versions_are_errors() {
        for path in [
            "/github.com/BurntSushi/toml/@v/list",
            "/example.com/../etc/@v/list",
            "/example.com//m/@latest",
            "/example.com/m/@v/.zip",
            "/example.com/m/@v/v1.0.0/x.zip",
            "/example.com/m/@v/V1.0.0.mod",
            "/example.com/m/@v/v1.0.0!.info",
            "/example.com/m@v1/@v/list",
        ] {
            assert!(parse(path).is_err(), "{path:?} accepted");
        }
    }
}
