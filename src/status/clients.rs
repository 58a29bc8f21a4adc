//! How each package manager is pointed at larder, as copy-paste text for the status page.
//!
//! The text is each adapter's ([`larder_adapter::AdapterFactory::clients`]); this adds the
//! Dockerfile's `ARG` lines and the `--build-arg`s for them, from the same environment
//! variables `larder env` prints (the names `deploy/examples/` declare).

use crate::env_command::{self, Format};
use larder_adapter::{AdapterFactory, ClientBase, ClientSettings, EnvSetting, Snippet};
use url::Url;

/// One mounted ecosystem's settings for larder at `base` (`http://mirror:7878`, as the client
/// reached it); `proxy_hosts` are the hosts its adapter proxies (apt's remotes).
pub fn of(factory: &AdapterFactory, base: &Url, proxy_hosts: &[String]) -> ClientSettings {
    (factory.clients)(&ClientBase {
        url: base,
        proxy_hosts,
    })
}

/// The Dockerfile's `ARG` lines and the `docker build` command line for `env`.
pub fn build_args(env: &[EnvSetting]) -> Vec<Snippet> {
    if env.is_empty() {
        return Vec::new();
    }
    let args = env_command::render(env, Format::BuildArgs)
        .trim_end()
        .replace(" --build-arg", " \\\n  --build-arg");
    vec![
        Snippet {
            title: "Dockerfile",
            text: env_command::render(env, Format::Dockerfile)
                .trim_end()
                .to_string(),
        },
        Snippet {
            title: "docker build (or larder env)",
            text: format!("docker build --network host \\\n  {args} \\\n  ."),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_are_larder_envs_list_on_one_command_line() {
        let base = Url::parse("http://m:1").unwrap();
        let env: Vec<EnvSetting> = crate::adapters::all()
            .iter()
            .flat_map(|factory| of(factory, &base, &[]).env)
            .collect();
        let args = build_args(&env);
        assert!(args[0].text.contains("ARG GOPROXY"));
        assert!(args[1].text.contains("--build-arg GOPROXY=http://m:1/go"));
        assert!(args[1]
            .text
            .contains("--build-arg NPM_CONFIG_REGISTRY=http://m:1/npm/"));
        assert!(build_args(&[]).is_empty());
    }
}
