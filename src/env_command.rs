//! `larder env`: the settings a user pastes to point builds at larder.
//!
//! One list of client settings ([`settings`]: each adapter's environment variables, from its
//! factory; the build-arg names the example Dockerfiles in `deploy/examples/` declare), printed
//! in four shapes ([`Format`]). The URL is the one given, else the configured `public_url`,
//! else the listen address; when that URL names this machine's loopback, [`reach_note`] says
//! how a build container can reach it.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use larder_adapter::{AdapterFactory, ClientBase, EnvSetting};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::Url;

/// What `larder env` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `--build-arg NAME=VALUE` flags on one line, for `docker build $(larder env) .`.
    BuildArgs,
    /// `export NAME=VALUE` lines for a CI job or a shell.
    Env,
    /// `ARG NAME` lines for a Dockerfile (no defaults: builds without larder still work).
    Dockerfile,
    /// The `args` block of a `docker buildx bake` target.
    Bake,
}

/// The base URL `larder env` describes: `--url`, else `public_url`, else the listen address
/// (an unspecified address such as 0.0.0.0 becomes loopback: it is reachable there).
pub fn base_url(url: Option<&str>, config: &Config) -> Result<Url> {
    let url = match url {
        Some(raw) => Url::parse(raw.trim_end_matches('/'))
            .with_context(|| format!("--url {raw:?} is not a URL like http://mirror:7878"))?,
        None => match &config.public_url {
            Some(url) => url.clone(),
            None => listen_url(config.listen)?,
        },
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("{url} is not an http(s) URL with a host, like http://mirror:7878");
    }
    Ok(url)
}

/// `base` with a build's prefix (`http://mirror:7878/b/ci-42/`): every client setting made from
/// it tags that build's requests. (apt's proxy mode keeps only the host: apt sends proxy
/// requests in absolute form, so a build id reaches larder only through its mirror URLs.)
pub fn for_build(base: &Url, id: &crate::served::BuildId) -> Url {
    let mut url = base.clone();
    let path = format!("{}{}/", base.path().trim_end_matches('/'), id.prefix());
    url.set_path(&path);
    url
}

fn listen_url(listen: SocketAddr) -> Result<Url> {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!("http://{}", SocketAddr::new(ip, listen.port()));
    Url::parse(&url).with_context(|| format!("listen address {listen} makes no URL"))
}

/// The environment variables of `factories`' clients for larder at `base`, in the factories'
/// order (the binary's adapter list: the order the README lists the ecosystems).
pub fn settings<'a>(
    factories: impl IntoIterator<Item = &'a AdapterFactory>,
    base: &Url,
) -> Vec<EnvSetting> {
    let base = ClientBase {
        url: base,
        proxy_hosts: &[],
    };
    let root = base.root().to_string();
    let mut out: Vec<EnvSetting> = factories
        .into_iter()
        .flat_map(|factory| (factory.clients)(&base).env)
        .collect();
    out.extend(build_cache_settings(&root));
    out
}

/// The build-cache settings (`/cache/`), after the registry ones: each tool's own variable
/// where it has one. Gradle and Bazel read none, so `GRADLE_BUILD_CACHE_URL` is for a
/// `settings.gradle` to read and `BAZEL_REMOTE_CACHE` for `--remote_cache=`. `LARDER_URL`
/// lets a RUN step fetch the helper binary (`$LARDER_URL/-/bin/larder`).
fn build_cache_settings(root: &str) -> Vec<EnvSetting> {
    vec![
        EnvSetting {
            name: "LARDER_URL",
            value: root.to_string(),
        },
        EnvSetting {
            name: "GOCACHEPROG",
            value: format!("larder gocache --url {root}"),
        },
        EnvSetting {
            name: "CCACHE_REMOTE_STORAGE",
            value: format!("{root}/cache/ccache"),
        },
        EnvSetting {
            name: "SCCACHE_WEBDAV_ENDPOINT",
            value: format!("{root}/cache/sccache"),
        },
        EnvSetting {
            name: "GRADLE_BUILD_CACHE_URL",
            value: format!("{root}/cache/gradle/"),
        },
        EnvSetting {
            name: "BAZEL_REMOTE_CACHE",
            value: format!("{root}/cache/bazel"),
        },
    ]
}

/// The settings in `format`, ready to paste.
pub fn render(settings: &[EnvSetting], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::BuildArgs => {
            // `docker build $(larder env)` splits on spaces whatever the quotes: a value with
            // one (GOCACHEPROG) cannot be a flag there; a RUN step builds it from LARDER_URL.
            let flags: Vec<String> = settings
                .iter()
                .filter(|s| !s.value.contains(' '))
                .map(|s| format!("--build-arg {}={}", s.name, shell_quote(&s.value)))
                .collect();
            out.push_str(&flags.join(" "));
            out.push('\n');
        }
        Format::Env => {
            for s in settings {
                out.push_str(&format!("export {}={}\n", s.name, shell_quote(&s.value)));
            }
        }
        Format::Dockerfile => {
            out.push_str("# Registry locations from larder (`larder env`); unset, the build uses the public registries.\n");
            for s in settings {
                out.push_str(&format!("ARG {}\n", s.name));
            }
        }
        Format::Bake => {
            out.push_str("args = {\n");
            let width = settings.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for s in settings {
                out.push_str(&format!(
                    "  {:width$} = \"{}\"\n",
                    s.name,
                    s.value.replace('\\', "\\\\").replace('"', "\\\"")
                ));
            }
            out.push_str("}\n");
        }
    }
    out
}

/// When `base` names this machine's loopback, how a build container can reach larder: a RUN
/// step's 127.0.0.1 is the container's own unless the build shares the host's network.
pub fn reach_note(base: &Url, listen: SocketAddr) -> Option<String> {
    if !is_loopback(base) {
        return None;
    }
    let port = base.port_or_known_default().unwrap_or(listen.port());
    let mut note = format!(
        "{base} is this machine's loopback: a build reaches it only on the host's network \
         (`docker build --network host`, `buildah bud --network host`)."
    );
    if listen.ip().is_loopback() {
        note.push_str(&format!(
            " To build on the default bridge network instead, listen on a non-loopback address \
             (`larder serve --listen 0.0.0.0:{port}`), build with \
             `--add-host=host.docker.internal:host-gateway`, and print the settings with \
             `larder env --url http://host.docker.internal:{port}`."
        ));
    } else {
        note.push_str(&format!(
            " On the default bridge network, build with `--add-host=host.docker.internal:host-gateway` \
             and print the settings with `larder env --url http://host.docker.internal:{port}`."
        ));
    }
    Some(note)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// Single-quotes `value` for a POSIX shell when it holds anything beyond URL-safe characters.
fn shell_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~/:@%+=,".contains(c));
    if plain && !value.is_empty() {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, public_url: Option<&str>) -> Config {
        let mut table = toml::Table::new();
        table.insert("listen".into(), toml::Value::String(listen.into()));
        table.insert("data_dir".into(), toml::Value::String("/tmp/larder".into()));
        if let Some(url) = public_url {
            table.insert("public_url".into(), toml::Value::String(url.into()));
        }
        Config::from_table(table, crate::adapters::all()).expect("config")
    }

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    /// What `larder env` prints with this binary's ecosystems.
    fn settings(base: &Url) -> Vec<EnvSetting> {
        super::settings(crate::adapters::all(), base)
    }

    #[test]
    fn a_build_id_goes_before_every_mount_and_behind_a_proxy_path() {
        let id = crate::served::BuildId::parse("ci-42").unwrap();
        for (base, want) in [
            ("http://mirror:7878", "http://mirror:7878/b/ci-42/npm/"),
            (
                "https://proxy.internal/larder",
                "https://proxy.internal/larder/b/ci-42/npm/",
            ),
        ] {
            let settings = settings(&for_build(&url(base), &id));
            let npm = settings
                .iter()
                .find(|s| s.name == "NPM_CONFIG_REGISTRY")
                .unwrap();
            assert_eq!(npm.value, want);
            let pip = settings.iter().find(|s| s.name == "PIP_INDEX_URL").unwrap();
            assert!(pip.value.contains("/b/ci-42/pypi/simple/"), "{}", pip.value);
        }
    }

    #[test]
    fn build_args_are_one_line_for_command_substitution_in_docker_build() {
        let base = base_url(None, &config("127.0.0.1:7878", None)).unwrap();
        assert_eq!(
            render(&settings(&base), Format::BuildArgs),
            "--build-arg NPM_CONFIG_REGISTRY=http://127.0.0.1:7878/npm/ \
             --build-arg PIP_INDEX_URL=http://127.0.0.1:7878/pypi/simple/ \
             --build-arg PIP_TRUSTED_HOST=127.0.0.1 \
             --build-arg UV_DEFAULT_INDEX=http://127.0.0.1:7878/pypi/simple/ \
             --build-arg GOPROXY=http://127.0.0.1:7878/go \
             --build-arg APT_PROXY=http://127.0.0.1:7878 \
             --build-arg CARGO_LARDER_INDEX=http://127.0.0.1:7878/cargo/crates-io/ \
             --build-arg MAVEN_MIRROR=http://127.0.0.1:7878/maven/central/ \
             --build-arg LARDER_URL=http://127.0.0.1:7878 \
             --build-arg CCACHE_REMOTE_STORAGE=http://127.0.0.1:7878/cache/ccache \
             --build-arg SCCACHE_WEBDAV_ENDPOINT=http://127.0.0.1:7878/cache/sccache \
             --build-arg GRADLE_BUILD_CACHE_URL=http://127.0.0.1:7878/cache/gradle/ \
             --build-arg BAZEL_REMOTE_CACHE=http://127.0.0.1:7878/cache/bazel\n"
        );
    }

    #[test]
    fn env_format_is_shell_exports_and_dockerfile_format_is_args_without_defaults() {
        let base = url("http://mirror.internal:7878");
        assert_eq!(
            render(&settings(&base), Format::Env),
            "export NPM_CONFIG_REGISTRY=http://mirror.internal:7878/npm/\n\
             export PIP_INDEX_URL=http://mirror.internal:7878/pypi/simple/\n\
             export PIP_TRUSTED_HOST=mirror.internal\n\
             export UV_DEFAULT_INDEX=http://mirror.internal:7878/pypi/simple/\n\
             export GOPROXY=http://mirror.internal:7878/go\n\
             export APT_PROXY=http://mirror.internal:7878\n\
             export CARGO_LARDER_INDEX=http://mirror.internal:7878/cargo/crates-io/\n\
             export MAVEN_MIRROR=http://mirror.internal:7878/maven/central/\n\
             export LARDER_URL=http://mirror.internal:7878\n\
             export GOCACHEPROG='larder gocache --url http://mirror.internal:7878'\n\
             export CCACHE_REMOTE_STORAGE=http://mirror.internal:7878/cache/ccache\n\
             export SCCACHE_WEBDAV_ENDPOINT=http://mirror.internal:7878/cache/sccache\n\
             export GRADLE_BUILD_CACHE_URL=http://mirror.internal:7878/cache/gradle/\n\
             export BAZEL_REMOTE_CACHE=http://mirror.internal:7878/cache/bazel\n"
        );
        let dockerfile = render(&settings(&base), Format::Dockerfile);
        let args: Vec<&str> = dockerfile.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            args,
            [
                "ARG NPM_CONFIG_REGISTRY",
                "ARG PIP_INDEX_URL",
                "ARG PIP_TRUSTED_HOST",
                "ARG UV_DEFAULT_INDEX",
                "ARG GOPROXY",
                "ARG APT_PROXY",
                "ARG CARGO_LARDER_INDEX",
                "ARG MAVEN_MIRROR",
                "ARG LARDER_URL",
                "ARG GOCACHEPROG",
                "ARG CCACHE_REMOTE_STORAGE",
                "ARG SCCACHE_WEBDAV_ENDPOINT",
                "ARG GRADLE_BUILD_CACHE_URL",
                "ARG BAZEL_REMOTE_CACHE"
            ]
        );
        assert!(!dockerfile.contains("mirror.internal"), "{dockerfile}");
    }

    #[test]
    fn bake_format_is_an_hcl_args_block() {
        let base = url("https://larder.example.com");
        assert_eq!(
            render(&settings(&base), Format::Bake),
            "args = {\n  \
             NPM_CONFIG_REGISTRY     = \"https://larder.example.com/npm/\"\n  \
             PIP_INDEX_URL           = \"https://larder.example.com/pypi/simple/\"\n  \
             UV_DEFAULT_INDEX        = \"https://larder.example.com/pypi/simple/\"\n  \
             GOPROXY                 = \"https://larder.example.com/go\"\n  \
             APT_PROXY               = \"https://larder.example.com\"\n  \
             CARGO_LARDER_INDEX      = \"https://larder.example.com/cargo/crates-io/\"\n  \
             MAVEN_MIRROR            = \"https://larder.example.com/maven/central/\"\n  \
             LARDER_URL              = \"https://larder.example.com\"\n  \
             GOCACHEPROG             = \"larder gocache --url https://larder.example.com\"\n  \
             CCACHE_REMOTE_STORAGE   = \"https://larder.example.com/cache/ccache\"\n  \
             SCCACHE_WEBDAV_ENDPOINT = \"https://larder.example.com/cache/sccache\"\n  \
             GRADLE_BUILD_CACHE_URL  = \"https://larder.example.com/cache/gradle/\"\n  \
             BAZEL_REMOTE_CACHE      = \"https://larder.example.com/cache/bazel\"\n\
             }\n"
        );
    }

    #[test]
    fn https_needs_no_trusted_host() {
        let names: Vec<&str> = settings(&url("https://larder.example.com"))
            .iter()
            .map(|s| s.name)
            .collect();
        assert!(!names.contains(&"PIP_TRUSTED_HOST"), "{names:?}");
    }

    #[test]
    fn url_comes_from_the_flag_then_public_url_then_the_listen_address() {
        let with_public = config("0.0.0.0:7878", Some("http://mirror.internal:7878/"));
        assert_eq!(
            base_url(Some("http://other:9000/"), &with_public)
                .unwrap()
                .as_str(),
            "http://other:9000/"
        );
        assert_eq!(
            base_url(None, &with_public).unwrap().as_str(),
            "http://mirror.internal:7878/"
        );
        assert_eq!(
            base_url(None, &config("0.0.0.0:9999", None))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9999/"
        );
        assert_eq!(
            base_url(None, &config("[::]:7878", None)).unwrap().as_str(),
            "http://[::1]:7878/"
        );
        let err = base_url(Some("mirror:7878"), &with_public).unwrap_err();
        assert!(format!("{err:#}").contains("http(s) URL"), "{err:#}");
    }

    #[test]
    fn a_loopback_url_says_how_a_build_container_reaches_it() {
        let loopback_listen: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        let note = reach_note(&url("http://127.0.0.1:7878"), loopback_listen).unwrap();
        assert!(note.contains("--network host"), "{note}");
        assert!(note.contains("--listen 0.0.0.0:7878"), "{note}");
        assert!(note.contains("host-gateway"), "{note}");

        let open_listen: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        let note = reach_note(&url("http://localhost:7878"), open_listen).unwrap();
        assert!(note.contains("--network host"), "{note}");
        assert!(
            note.contains("larder env --url http://host.docker.internal:7878"),
            "{note}"
        );
        assert!(!note.contains("--listen"), "{note}");

        assert!(reach_note(&url("http://[::1]:7878"), open_listen).is_some());
        assert_eq!(
            reach_note(&url("http://mirror.internal:7878"), loopback_listen),
            None
        );
        assert_eq!(reach_note(&url("http://10.1.2.3:7878"), open_listen), None);
    }

    #[test]
    fn odd_values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("http://a:1/npm/"), "http://a:1/npm/");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
