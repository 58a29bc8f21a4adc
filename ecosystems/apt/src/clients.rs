//! How apt is pointed at larder, as a forward proxy or as a mirror: `larder env`'s variable
//! (the proxy, which the example Dockerfiles write into an apt.conf snippet for one RUN step)
//! and the status page's text.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

/// The remote a mirror line is shown for: Debian's archive when it is served, else the first.
const EXAMPLE_REMOTE: &str = "deb.debian.org";

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let root = base.root();
    let mirror = base
        .proxy_hosts
        .iter()
        .find(|h| h.as_str() == EXAMPLE_REMOTE)
        .or(base.proxy_hosts.first())
        .map_or(EXAMPLE_REMOTE, String::as_str);
    let mount = base.mount(crate::NAME);
    ClientSettings {
        env: vec![EnvSetting {
            name: "APT_PROXY",
            value: root.to_string(),
        }],
        snippets: vec![
            Snippet {
                title: "apt (proxy)",
                text: format!(
                    "echo 'Acquire::http::Proxy \"{root}\";' > /etc/apt/apt.conf.d/99larder"
                ),
            },
            Snippet {
                title: "apt (mirror)",
                text: format!(
                    "# in sources.list: http://{mirror}/ becomes {mount}/{mirror}/\ndeb {mount}/{mirror}/debian bookworm main"
                ),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_is_larders_root_and_the_mirror_line_names_a_served_remote() {
        let url = url::Url::parse("http://m:1/").unwrap();
        let remotes = [
            "archive.ubuntu.com".to_string(),
            "deb.debian.org".to_string(),
        ];
        let debian = settings(&ClientBase {
            url: &url,
            proxy_hosts: &remotes,
        });
        assert_eq!(debian.env[0].value, "http://m:1");
        assert!(debian.snippets[1]
            .text
            .contains("deb http://m:1/apt/deb.debian.org/debian bookworm main"));

        let own = ["mirror.lan".to_string()];
        let own = settings(&ClientBase {
            url: &url,
            proxy_hosts: &own,
        });
        assert!(own.snippets[1]
            .text
            .contains("deb http://m:1/apt/mirror.lan/debian bookworm main"));
    }
}
