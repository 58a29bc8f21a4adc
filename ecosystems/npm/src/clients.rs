//! How npm and pnpm are pointed at larder: `larder env`'s variable and the status page's text.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let registry = format!("{}/", base.mount(crate::NAME));
    ClientSettings {
        env: vec![EnvSetting {
            name: "NPM_CONFIG_REGISTRY",
            value: registry.clone(),
        }],
        snippets: vec![
            Snippet {
                title: "npm",
                text: format!(
                    "npm config set registry {registry}\n# or in .npmrc:\nregistry={registry}"
                ),
            },
            Snippet {
                title: "pnpm",
                text: format!("pnpm config set registry {registry}"),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_larders_npm_prefix() {
        let url = url::Url::parse("http://mirror.lan:7878").unwrap();
        let settings = settings(&ClientBase {
            url: &url,
            proxy_hosts: &[],
        });
        assert_eq!(
            settings.env,
            [EnvSetting {
                name: "NPM_CONFIG_REGISTRY",
                value: "http://mirror.lan:7878/npm/".into()
            }]
        );
        assert!(settings.snippets[0]
            .text
            .contains("npm config set registry http://mirror.lan:7878/npm/"));
    }
}
