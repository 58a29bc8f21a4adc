//! Who may write to the build cache.
//!
//! Reads follow `[access]` like every other route. A write (PUT, DELETE, MKCOL) is allowed when
//! the peer is in `[cache] write_networks` (loopback by default: a sidecar next to one builder),
//! or when it carries the token of the namespace it writes to (`[cache.write_tokens]`: an office
//! mirror, where CI holds the token of its namespace and laptops hold none, or their own).
//! Anything else gets 403 and changes nothing.

use crate::cache_config::CacheConfig;
use std::net::IpAddr;

/// Whether this request may write to `namespace`.
pub fn may_write(
    config: &CacheConfig,
    namespace: &str,
    peer: Option<IpAddr>,
    authorization: Option<&[u8]>,
) -> bool {
    let from_trusted_network = config
        .write_networks
        .as_ref()
        .is_some_and(|networks| networks.check(peer, None).is_ok());
    from_trusted_network || holds_token(config, namespace, authorization)
}

/// Whether `authorization` is the write token of `namespace` (Bearer, or a Basic password).
pub fn holds_token(config: &CacheConfig, namespace: &str, authorization: Option<&[u8]>) -> bool {
    authorization.is_some()
        && config
            .write_tokens
            .iter()
            .any(|(ns, tokens)| ns == namespace && tokens.check(None, authorization).is_ok())
}

/// Whether `authorization` is any namespace's write token (it then also passes `[access]`:
/// CI sends one credential, not two).
pub fn holds_any_token(config: &CacheConfig, authorization: Option<&[u8]>) -> bool {
    authorization.is_some()
        && config
            .write_tokens
            .iter()
            .any(|(_, tokens)| tokens.check(None, authorization).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> CacheConfig {
        CacheConfig::from_section(toml.parse().unwrap()).unwrap()
    }

    #[test]
    fn loopback_by_default_and_nobody_else() {
        let c = config("");
        assert!(may_write(
            &c,
            "default",
            Some("127.0.0.1".parse().unwrap()),
            None
        ));
        assert!(may_write(&c, "default", Some("::1".parse().unwrap()), None));
        assert!(!may_write(
            &c,
            "default",
            Some("10.1.1.1".parse().unwrap()),
            None
        ));
        assert!(!may_write(&c, "default", None, None));
    }

    #[test]
    fn a_token_writes_only_its_namespace() {
        let c = config(
            "[write_tokens]\nci = \"ci-token-0123456789\"\nlaptops = \"laptop-token-0123456789\"\n",
        );
        let office = Some("10.1.1.1".parse().unwrap());
        let ci = Some(&b"Bearer ci-token-0123456789"[..]);
        assert!(may_write(&c, "ci", office, ci));
        assert!(!may_write(&c, "laptops", office, ci));
        assert!(!may_write(&c, "ci", office, None));
        // With tokens and no write_networks, loopback needs a token too.
        assert!(!may_write(
            &c,
            "ci",
            Some("127.0.0.1".parse().unwrap()),
            None
        ));
        assert!(holds_any_token(&c, ci));
        assert!(!holds_any_token(&c, Some(b"Bearer nope")));
    }
}
