//! How cargo is pointed at larder: `larder env`'s build-arg and the status page's text.
//!
//! cargo reads no source replacement from the environment, so `CARGO_LARDER_INDEX` is a
//! build-arg for the Dockerfile to turn into `--config source.larder.registry=...` flags
//! (`deploy/examples/cargo/`), not a variable cargo itself reads.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let index = format!("{}/{}/", base.mount(crate::NAME), crate::CRATES_IO);
    ClientSettings {
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
    fn the_index_is_crates_io_under_larders_cargo_mount() {
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
