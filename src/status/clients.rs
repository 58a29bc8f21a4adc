//! How each package manager is pointed at larder, as copy-paste text for the status page.
//!
//! Like the README, this names the clients of each mounted adapter (by the adapter's name); the
//! engine never reads it. An adapter this file does not know gets no snippet, only its row.
//! The build-args come from `larder env`'s list ([`crate::env_command`]).

use crate::env_command::{self, Format};

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
        "cargo" => vec![Snippet {
            title: "cargo",
            text: format!(
                "# in $CARGO_HOME/config.toml (or .cargo/config.toml):\n[source.crates-io]\nreplace-with = \"larder\"\n\n[source.larder]\nregistry = \"sparse+{base}/cargo/crates-io/\""
            ),
        }],
        "maven" => vec![Snippet {
            title: "Maven (~/.m2/settings.xml)",
            text: format!(
                "<settings><mirrors><mirror>\n  <id>larder</id><mirrorOf>central</mirrorOf>\n  <url>{base}/maven/central/</url>\n</mirror></mirrors></settings>"
            ),
        }],
        _ => Vec::new(),
    }
}

/// The Dockerfile's `ARG` lines and the `--build-arg`s for them: the same list `larder env`
/// prints (the names `deploy/examples/` declare).
pub fn build_args(base: &str) -> Vec<Snippet> {
    let Ok(url) = url::Url::parse(base) else {
        return Vec::new();
    };
    let settings = env_command::settings(&url);
    let args = env_command::render(&settings, Format::BuildArgs)
        .trim_end()
        .replace(" --build-arg", " \\\n  --build-arg");
    vec![
        Snippet {
            title: "Dockerfile",
            text: env_command::render(&settings, Format::Dockerfile)
                .trim_end()
                .to_string(),
        },
        Snippet {
            title: "docker build (or larder env)",
            text: format!("docker build --network host \\\n  {args} \\\n  ."),
        },
    ]
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
        let cargo = for_ecosystem("cargo", "http://m:1", &[]);
        assert!(cargo[0]
            .text
            .contains("registry = \"sparse+http://m:1/cargo/crates-io/\""));
        let maven = for_ecosystem("maven", "http://m:1", &[]);
        assert!(maven[0]
            .text
            .contains("<url>http://m:1/maven/central/</url>"));
        assert!(for_ecosystem("seventh", "http://m:1", &[]).is_empty());
        let args = build_args("http://m:1");
        assert!(args[0].text.contains("ARG GOPROXY"));
        assert!(args[1].text.contains("--build-arg GOPROXY=http://m:1/go"));
        assert!(args[1]
            .text
            .contains("--build-arg NPM_CONFIG_REGISTRY=http://m:1/npm/"));
    }
}
