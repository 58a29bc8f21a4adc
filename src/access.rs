//! Who may use this larder (`[access]`): client tokens and allowed networks, both off by
//! default. A shared mirror that holds private-registry credentials must not hand private
//! packages to anyone who can reach it. The HTTP layer asks [`Access::check`] before anything
//! else; this module knows nothing of HTTP frameworks.
//!
//! - `tokens` / `tokens_file`: accepted as `Authorization: Bearer <token>`, or as the password
//!   of `Authorization: Basic` with any user name (what pip, Go and apt send for credentials in
//!   a URL or auth file), or as the whole `user:password` of Basic.
//! - `allow_networks`: CIDRs (`10.0.0.0/8`, `fd00::/8`, a bare address) the TCP peer must be in.
//!   Behind a load balancer the peer is the balancer: filter there, or use tokens.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use std::net::IpAddr;
use toml::{Table, Value};

#[derive(Clone, Default)]
pub struct Access {
    tokens: Vec<String>,
    tokens_file: Option<String>,
    networks: Vec<Network>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("tokens", &format!("{} (***)", self.tokens.len()))
            .field("networks", &self.networks)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No valid token: 401 with `WWW-Authenticate`.
    Credentials,
    /// The client's address is outside `allow_networks`: 403.
    Network,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Access {
    pub fn from_section(mut table: Table) -> Result<Access> {
        let mut tokens = take_list(&mut table, "tokens")?;
        let tokens_file = crate::toml_keys::take_string(&mut table, "tokens_file")?;
        if let Some(path) = &tokens_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read [access] tokens_file {path}; one token per line")
            })?;
            tokens.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
            if tokens.is_empty() {
                bail!("[access] tokens_file {path} holds no token; one token per line");
            }
        }
        let networks = take_list(&mut table, "allow_networks")?
            .iter()
            .map(|raw| Network::parse(raw))
            .collect::<Result<Vec<_>>>()?;
        Ok(Access {
            tokens,
            tokens_file,
            networks,
        })
    }

    /// Whether anything is checked at all.
    pub fn is_open(&self) -> bool {
        self.tokens.is_empty() && self.networks.is_empty()
    }

    /// Decides for one request: `peer` is the TCP peer's address (unknown: refused when
    /// networks are configured), `authorization` the raw header.
    pub fn check(&self, peer: Option<IpAddr>, authorization: Option<&[u8]>) -> Result<(), Denied> {
        if !self.networks.is_empty() {
            let inside = peer.is_some_and(|ip| self.networks.iter().any(|n| n.contains(ip)));
            if !inside {
                return Err(Denied::Network);
            }
        }
        if self.tokens.is_empty() || authorization.is_some_and(|h| self.accepts(h)) {
            Ok(())
        } else {
            Err(Denied::Credentials)
        }
    }

    fn accepts(&self, header: &[u8]) -> bool {
        self.matching(header).is_some()
    }

    /// The name the served-log gives the token that `authorization` carries, if it is one of
    /// ours: `token-` and the first 8 hex digits of its sha256, which tell tokens apart without
    /// revealing them (`printf %s "$TOKEN" | sha256sum | cut -c1-8`).
    pub fn token_name(&self, authorization: Option<&[u8]>) -> Option<String> {
        use sha2::Digest as _;
        let token = self.matching(authorization?)?;
        let digest = sha2::Sha256::digest(token.as_bytes());
        Some(format!("token-{}", &hex::encode(digest)[..8]))
    }

    /// The configured token the header carries.
    fn matching(&self, header: &[u8]) -> Option<&str> {
        let header = std::str::from_utf8(header).ok()?;
        let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
        let value = value.trim();
        let known = |candidate: &str| {
            self.tokens
                .iter()
                .find(|t| same(t, candidate))
                .map(String::as_str)
        };
        if scheme.eq_ignore_ascii_case("bearer") {
            return known(value);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let password = decoded.split_once(':').map_or("", |(_, p)| p);
            return known(&decoded).or_else(|| match password.is_empty() {
                true => None,
                false => known(password),
            });
        }
        None
    }

    /// The `[access]` section as `larder config` prints it, tokens masked.
    pub fn to_toml(&self) -> String {
        if self.is_open() {
            return "\n[access]\ntokens = []   # open: no token asked, every network served\nallow_networks = []\n".into();
        }
        let mut out = String::from("\n[access]\n");
        if !self.tokens.is_empty() {
            out.push_str(&format!(
                "# {} token(s)\ntokens = \"***\"\n",
                self.tokens.len()
            ));
        }
        if let Some(path) = &self.tokens_file {
            out.push_str(&format!(
                "tokens_file = {}\n",
                crate::toml_keys::quote(path)
            ));
        }
        if !self.networks.is_empty() {
            let list: Vec<String> = self
                .networks
                .iter()
                .map(|n| format!("\"{}/{}\"", n.addr, n.prefix))
                .collect();
            out.push_str(&format!("allow_networks = [{}]\n", list.join(", ")));
        }
        out
    }
}

/// Compares without stopping at the first differing byte.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A list from TOML (`["a", "b"]`) or from the environment (`a,b`).
fn take_list(table: &mut Table, key: &str) -> Result<Vec<String>> {
    match table.remove(key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(anyhow!("[access] {key} must list strings, got {other}")),
            })
            .collect(),
        Some(other) => bail!("[access] {key} must be a list of strings, got {other}"),
    }
}

impl Network {
    fn parse(raw: &str) -> Result<Network> {
        let bad = || {
            anyhow!("[access] allow_networks: {raw:?} is not a network like 10.0.0.0/8 or fd00::/8")
        };
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(toml: &str) -> Access {
        Access::from_section(toml.parse().unwrap()).unwrap()
    }

    fn basic(userpass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(userpass)
        )
    }

    #[test]
    fn open_by_default() {
        let open = access("");
        assert!(open.is_open());
        assert_eq!(open.check(None, None), Ok(()));
    }

    /// The fuzzer's input (fuzz/seeds/access/whitespace-and-binary-user), shortened: a Basic
    /// header behind CRs and no-break spaces, whose user name is control bytes, passes on its
    /// password alone; the same header with another password does not.
    #[test]
    fn a_basic_header_padded_with_odd_whitespace_passes_only_on_its_password() {
        let a = access("tokens = [\"fuzz-access-token-0123456789\"]");
        let padded = "\r\r\u{a0} \u{a0}\r\u{c}Basic bRRRRRRRRRRRRRRRRRU6ZnV6ei1hY2Nlc3MtdG9rZW4tMDEyMzQ1Njc4OQ==";
        assert_eq!(a.check(None, Some(padded.as_bytes())), Ok(()));
        let wrong = format!(
            "\r\r\u{a0} \u{a0}\r\u{c}{}",
            basic("m\u{14}QE\u{14}:fuzz-access-token-012345678")
        );
        assert_eq!(
            a.check(None, Some(wrong.as_bytes())),
            Err(Denied::Credentials)
        );
    }

    #[test]
    fn tokens_as_bearer_or_basic_password() {
        let a = access("tokens = [\"s3cret\"]");
        let ip = Some("10.1.2.3".parse().unwrap());
        assert_eq!(a.check(ip, None), Err(Denied::Credentials));
        assert_eq!(a.check(ip, Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(a.check(ip, Some(b"Bearer s3cre")), Err(Denied::Credentials));
        assert_eq!(a.check(ip, Some(basic("ci:s3cret").as_bytes())), Ok(()));
        assert_eq!(
            a.check(ip, Some(basic("s3cret:").as_bytes())),
            Err(Denied::Credentials)
        );
        assert_eq!(
            a.check(ip, Some(basic("ci:nope").as_bytes())),
            Err(Denied::Credentials)
        );
        assert!(!a.to_toml().contains("s3cret"));
        let name = a.token_name(Some(basic("ci:s3cret").as_bytes())).unwrap();
        assert_eq!(
            a.token_name(Some(b"Bearer s3cret")).as_deref(),
            Some(name.as_str())
        );
        assert!(name.starts_with("token-") && !name.contains("s3cret"));
        assert_eq!(a.token_name(Some(b"Bearer nope")), None);
        assert!(!format!("{a:?}").contains("s3cret"));
    }

    #[test]
    fn networks_by_cidr() {
        let a = access("allow_networks = \"10.0.0.0/8, ::1\"");
        assert_eq!(a.check(Some("10.200.0.1".parse().unwrap()), None), Ok(()));
        assert_eq!(
            a.check(Some("11.0.0.1".parse().unwrap()), None),
            Err(Denied::Network)
        );
        assert_eq!(a.check(Some("::1".parse().unwrap()), None), Ok(()));
        assert_eq!(
            a.check(Some("::ffff:10.0.0.9".parse().unwrap()), None),
            Ok(())
        );
        assert_eq!(a.check(None, None), Err(Denied::Network));
        assert!(
            Access::from_section("allow_networks = [\"10.0.0.0/33\"]".parse().unwrap()).is_err()
        );
        let all = access("allow_networks = [\"0.0.0.0/0\"]");
        assert_eq!(all.check(Some("8.8.8.8".parse().unwrap()), None), Ok(()));
    }
}
