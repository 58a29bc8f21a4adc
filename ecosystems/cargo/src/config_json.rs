//! The registry's `config.json`, rewritten so that cargo downloads crates through larder.

use larder_adapter::Rewriter;

/// A `config.json` is a few hundred bytes; anything past this is not one, and is passed on as
/// it came (cargo will refuse it with its own message).
const MAX_CONFIG_LEN: usize = 64 * 1024;

/// Rewrites `config.json`'s `dl` to larder's download route for the registry at
/// `registry_base` (`http://host:7878/cargo/crates-io`). `api` is kept: publishing, `cargo
/// search` and `cargo owner` talk to the registry itself, never through larder.
pub fn rewrite(body: &[u8], registry_base: &str) -> Option<Vec<u8>> {
    if body.len() > MAX_CONFIG_LEN {
        return None;
    }
    let mut config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).ok()?;
    let upstream_dl = config.get("dl")?.as_str()?;
    let dl = crate::dl::larder_dl(registry_base, upstream_dl);
    config.insert("dl".to_string(), serde_json::Value::String(dl));
    serde_json::to_vec(&config).ok()
}

/// A [`Rewriter`] for `config.json`: holds the whole (small) body, then rewrites it. A body
/// that is not a registry configuration is passed on verbatim.
pub struct ConfigRewriter {
    registry_base: String,
    state: State,
}

enum State {
    Holding(Vec<u8>),
    /// The body outgrew any `config.json`: what was held has been emitted, the rest follows.
    PassThrough,
}

impl ConfigRewriter {
    pub fn new(registry_base: String) -> Self {
        ConfigRewriter {
            registry_base,
            state: State::Holding(Vec::new()),
        }
    }
}

impl Rewriter for ConfigRewriter {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        match &mut self.state {
            State::PassThrough => out.extend_from_slice(input),
            State::Holding(body) => {
                body.extend_from_slice(input);
                if body.len() > MAX_CONFIG_LEN {
                    out.append(body);
                    self.state = State::PassThrough;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let State::Holding(body) = std::mem::replace(&mut self.state, State::PassThrough) else {
            return;
        };
        match rewrite(&body, &self.registry_base) {
            Some(rewritten) => out.extend_from_slice(&rewritten),
            None => out.extend_from_slice(&body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:7878/cargo/crates-io";

    fn run(rewriter: &mut ConfigRewriter, body: &[u8], chunk: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for piece in body.chunks(chunk.max(1)) {
            rewriter.push(piece, &mut out);
        }
        rewriter.finish(&mut out);
        out
    }

    #[test]
    fn dl_goes_through_larder_and_api_is_kept() {
        let body = br#"{"dl":"https://static.crates.io/crates","api":"https://crates.io"}"#;
        let out = run(&mut ConfigRewriter::new(BASE.into()), body, 7);
        let config: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(config["api"], "https://crates.io");
        let dl = config["dl"].as_str().unwrap();
        assert!(dl.starts_with(&format!("{BASE}/dl/")), "{dl}");
        assert!(dl.ends_with("/{crate}/{version}/{sha256-checksum}"), "{dl}");
    }

    #[test]
    fn other_keys_are_kept() {
        let body = br#"{"dl":"https://r/{crate}","auth-required":true}"#;
        let out = rewrite(body, BASE).unwrap();
        let config: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(config["auth-required"], true);
    }

    #[test]
    fn anything_else_passes_verbatim() {
        for body in [
            &b"<html>not json</html>"[..],
            br#"{"api":"https://crates.io"}"#,
            br#"{"dl":5}"#,
            br#"[1,2]"#,
        ] {
            assert_eq!(run(&mut ConfigRewriter::new(BASE.into()), body, 3), body);
        }
        let huge = vec![b' '; MAX_CONFIG_LEN * 2 + 5];
        assert_eq!(
            run(&mut ConfigRewriter::new(BASE.into()), &huge, 4096),
            huge
        );
    }
}
