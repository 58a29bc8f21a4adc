//! How each package manager is pointed at larder, as copy-paste text for the status page.
//!
//! Like the README, this names the clients of each mounted adapter (by the adapter's name); the
//! engine never reads it. An adapter this file does not know gets no snippet, only its row.

/// One block of text to copy.
pub struct Snippet {
    pub title: &'static str,
    pub text: String,
}

/// The snippets for one mounted ecosystem. `base` is larder's URL as the client reached it
/// (`http://mirror:7878`); `proxy_hosts` are the hosts it proxies (apt's remotes).
pub fn for_ecosystem(name: &str, base: &str, proxy_hosts: &[String]) -> Vec<Snippet> {
    let host = host_of(base);
    let plain_http = base.starts_with("http://");
    match name {
        "npm" => vec![
            Snippet {
                title: "npm",
                text: format!(
                    "npm config set registry {base}/npm/\n# or in .npmrc:\nregistry={base}/npm/"
                ),
            },
            Snippet {
                title: "pnpm",
                text: format!("pnpm config set registry {base}/npm/"),
            },
        ],
        "pypi" => {
            let trusted = if plain_http {
                format!("\npip config set global.trusted-host {host}")
            } else {
                String::new()
            };
            let insecure = if plain_http {
                format!("\nexport UV_INSECURE_HOST={host}")
            } else {
                String::new()
            };
            vec![
                Snippet {
                    title: "pip",
                    text: format!("pip config set global.index-url {base}/pypi/simple/{trusted}"),
                },
                Snippet {
                    title: "uv",
                    text: format!("export UV_DEFAULT_INDEX={base}/pypi/simple/{insecure}"),
                },
            ]
        }
        "go" => vec![Snippet {
            title: "go",
            text: format!("go env -w GOPROXY={base}/go"),
        }],
        "apt" => {
            let mirror = proxy_hosts
                .iter()
                .find(|h| h.as_str() == "deb.debian.org")
                .or(proxy_hosts.first())
                .map_or("deb.debian.org", String::as_str);
            vec![
                Snippet {
                    title: "apt (proxy)",
                    text: format!(
                        "echo 'Acquire::http::Proxy \"{base}\";' > /etc/apt/apt.conf.d/99larder"
                    ),
                },
                Snippet {
                    title: "apt (mirror)",
                    text: format!(
                        "# in sources.list: http://{mirror}/ becomes {base}/apt/{mirror}/\ndeb {base}/apt/{mirror}/debian bookworm main"
                    ),
                },
            ]
        }
        _ => Vec::new(),
    }
}

/// The `--build-arg`s for the README's Dockerfile snippets, for the mounted ecosystems.
pub fn build_args(names: &[&str], base: &str) -> Option<Snippet> {
    let host = host_of(base);
    let mut args = Vec::new();
    for name in names {
        match *name {
            "npm" => args.push(format!("--build-arg NPM_CONFIG_REGISTRY={base}/npm/")),
            "pypi" => {
                args.push(format!("--build-arg PIP_INDEX_URL={base}/pypi/simple/"));
                if base.starts_with("http://") {
                    args.push(format!("--build-arg PIP_TRUSTED_HOST={host}"));
                }
            }
            "go" => args.push(format!("--build-arg GOPROXY={base}/go")),
            "apt" => args.push(format!("--build-arg APT_PROXY={base}")),
            _ => {}
        }
    }
    if args.is_empty() {
        return None;
    }
    let mut text = String::from("docker build --network host \\\n");
    for arg in args {
        text.push_str("  ");
        text.push_str(&arg);
        text.push_str(" \\\n");
    }
    text.push_str("  .");
    Some(Snippet {
        title: "Dockerfile build-args (see the README for the ARG lines)",
        text,
    })
}

/// `mirror:7878` from `http://mirror:7878` (the host pip and uv must trust over plain http).
fn host_of(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_use_the_url_the_page_was_reached_at() {
        let npm = for_ecosystem("npm", "http://mirror.lan:7878", &[]);
        assert!(npm[0]
            .text
            .contains("npm config set registry http://mirror.lan:7878/npm/"));
        let pypi = for_ecosystem("pypi", "http://mirror.lan:7878", &[]);
        assert!(pypi[0].text.contains("trusted-host mirror.lan:7878"));
        let https = for_ecosystem("pypi", "https://mirror.lan", &[]);
        assert!(!https[0].text.contains("trusted-host"));
        let apt = for_ecosystem("apt", "http://m:1", &["deb.debian.org".into()]);
        assert!(apt[1]
            .text
            .contains("deb http://m:1/apt/deb.debian.org/debian bookworm main"));
        assert!(for_ecosystem("fifth", "http://m:1", &[]).is_empty());
        let args = build_args(&["go", "npm"], "http://m:1").expect("some");
        assert!(args.text.contains("--build-arg GOPROXY=http://m:1/go"));
        assert!(args
            .text
            .contains("--build-arg NPM_CONFIG_REGISTRY=http://m:1/npm/"));
    }
}
