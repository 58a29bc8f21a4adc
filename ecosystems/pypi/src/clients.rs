//! How pip and uv are pointed at larder: `larder env`'s variables and the status page's text.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let index = format!("{}/simple/", base.mount(crate::NAME));
    let mut env = vec![EnvSetting {
        name: "PIP_INDEX_URL",
        value: index.clone(),
    }];
    // pip and uv refuse an http index unless its host is trusted.
    let (mut trusted, mut insecure) = (String::new(), String::new());
    if base.plain_http() {
        if let Some(host) = base.host() {
            env.push(EnvSetting {
                name: "PIP_TRUSTED_HOST",
                value: host.to_string(),
            });
        }
        trusted = format!("\npip config set global.trusted-host {}", base.authority());
        insecure = format!("\nexport UV_INSECURE_HOST={}", base.authority());
    }
    env.push(EnvSetting {
        name: "UV_DEFAULT_INDEX",
        value: index.clone(),
    });
    ClientSettings {
        env,
        snippets: vec![
            Snippet {
                title: "pip",
                text: format!("pip config set global.index-url {index}{trusted}"),
            },
            Snippet {
                title: "uv",
                text: format!("export UV_DEFAULT_INDEX={index}{insecure}"),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> ClientSettings {
        let url = url::Url::parse(raw).unwrap();
        settings(&ClientBase {
            url: &url,
            proxy_hosts: &[],
        })
    }

    #[test]
    fn plain_http_needs_a_trusted_host_and_https_does_not() {
        let http = at("http://mirror.lan:7878/");
        let names: Vec<&str> = http.env.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["PIP_INDEX_URL", "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX"]
        );
        assert_eq!(http.env[1].value, "mirror.lan");
        assert!(http.snippets[0]
            .text
            .contains("trusted-host mirror.lan:7878"));
        assert!(http.snippets[1]
            .text
            .contains("UV_INSECURE_HOST=mirror.lan:7878"));

        let https = at("https://mirror.lan/");
        let names: Vec<&str> = https.env.iter().map(|s| s.name).collect();
        assert_eq!(names, ["PIP_INDEX_URL", "UV_DEFAULT_INDEX"]);
        assert!(!https.snippets[0].text.contains("trusted-host"));
    }
}
