//! How cargo is pointed at larder: `larder env`'s variable and the status page's text.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let index = format!("{}/{}/", base.mount(crate::NAME), crate::CRATES_IO);
    ClientSettings {
        // Not a variable cargo reads (source replacement comes only from config): the example
        // Dockerfile turns it into `--config source.larder.registry=...` flags.
        env: vec![EnvSetting {
            name: "CARGO_LARDER_INDEX",
            value: index.clone(),
        }],
        snippets: vec![Snippet {
            title: "cargo",
            text: format!(
                "# in $CARGO_HOME/config.toml (or .cargo/config.toml):\n[source.crates-io]\nreplace-with = \"larder\"\n\n[source.larder]\nregistry = \"sparse+{index}\""
            ),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_is_replaced_by_larders_sparse_index() {
        let url = url::Url::parse("http://m:1/").unwrap();
        let settings = settings(&ClientBase {
            url: &url,
            proxy_hosts: &[],
        });
        assert_eq!(settings.env[0].value, "http://m:1/cargo/crates-io/");
        assert!(settings.snippets[0]
            .text
            .contains("registry = \"sparse+http://m:1/cargo/crates-io/\""));
    }
}
