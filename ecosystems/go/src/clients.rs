//! How the go command is pointed at larder: `larder env`'s variable and the status page's text.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let proxy = base.mount(crate::NAME);
    ClientSettings {
        env: vec![EnvSetting {
            name: "GOPROXY",
            value: proxy.clone(),
        }],
        snippets: vec![Snippet {
            title: "go",
            text: format!("go env -w GOPROXY={proxy}"),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goproxy_is_larders_go_prefix_without_a_trailing_slash() {
        let url = url::Url::parse("http://m:1/").unwrap();
        let settings = settings(&ClientBase {
            url: &url,
            proxy_hosts: &[],
        });
        assert_eq!(settings.env[0].value, "http://m:1/go");
        assert_eq!(settings.snippets[0].text, "go env -w GOPROXY=http://m:1/go");
    }
}
