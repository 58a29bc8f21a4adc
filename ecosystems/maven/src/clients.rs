//! How Maven is pointed at larder: `larder env`'s build-arg and the status page's text.
//!
//! Maven reads no repository from the environment, so `MAVEN_MIRROR` is a build-arg for the
//! Dockerfile to write into a settings.xml `<mirror>` (`deploy/examples/maven/`), not a
//! variable Maven itself reads.

use larder_adapter::{ClientBase, ClientSettings, EnvSetting, Snippet};

pub fn settings(base: &ClientBase<'_>) -> ClientSettings {
    let central = format!("{}/{}/", base.mount(crate::NAME), crate::remotes::CENTRAL.0);
    ClientSettings {
        env: vec![EnvSetting {
            name: "MAVEN_MIRROR",
            value: central.clone(),
        }],
        snippets: vec![Snippet {
            title: "Maven (~/.m2/settings.xml)",
            text: format!(
                "<settings><mirrors><mirror>\n  <id>larder</id><mirrorOf>central</mirrorOf>\n  <url>{central}</url>\n</mirror></mirrors></settings>"
            ),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_is_central_under_larders_maven_mount() {
        let url = url::Url::parse("http://m:1/").unwrap();
        let settings = settings(&ClientBase {
            url: &url,
            proxy_hosts: &[],
        });
        assert_eq!(settings.env[0].value, "http://m:1/maven/central/");
        assert!(settings.snippets[0]
            .text
            .contains("<url>http://m:1/maven/central/</url>"));
    }
}
