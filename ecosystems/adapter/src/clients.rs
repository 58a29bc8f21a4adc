//! How an ecosystem's clients are pointed at larder: the environment variables `larder env`
//! prints (and the example Dockerfiles declare as build-args), and the copy-paste snippets of
//! the status page. Each adapter states its own through [`AdapterFactory::clients`], so the
//! binary prints them without knowing any ecosystem.
//!
//! [`AdapterFactory::clients`]: crate::AdapterFactory::clients

use url::Url;

/// larder as a client reaches it, and what the mounted adapter proxies.
#[derive(Clone, Copy, Debug)]
pub struct ClientBase<'a> {
    /// larder's root URL (`http://mirror:7878/`, or with a path behind a reverse proxy).
    pub url: &'a Url,
    /// The hosts the adapter serves as a forward proxy (apt's remotes); empty when the caller
    /// has no built adapter at hand (`larder env` prints only environment variables).
    pub proxy_hosts: &'a [String],
}

impl ClientBase<'_> {
    /// The root without its trailing slash: `http://mirror:7878`.
    pub fn root(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// Where an adapter is mounted: `http://mirror:7878/npm`.
    pub fn mount(&self, name: &str) -> String {
        format!("{}/{name}", self.root())
    }

    /// The host alone (`mirror`), as `PIP_TRUSTED_HOST` takes it.
    pub fn host(&self) -> Option<&str> {
        self.url.host_str()
    }

    /// The host with the port the URL names (`mirror:7878`), as pip's `trusted-host` and
    /// `UV_INSECURE_HOST` match it.
    pub fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// Plain http: clients that insist on TLS must be told to trust the host.
    pub fn plain_http(&self) -> bool {
        self.url.scheme() == "http"
    }
}

/// Everything a user needs to point one ecosystem's clients at larder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// Environment variables the clients read, in the order `larder env` prints them. Their
    /// names are part of larder's interface: scripts and Dockerfiles declare them as build-args.
    pub env: Vec<EnvSetting>,
    /// Copy-paste text for the status page, one block per client or way of pointing it.
    pub snippets: Vec<Snippet>,
}

/// One environment variable and its value for larder at a [`ClientBase`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvSetting {
    pub name: &'static str,
    pub value: String,
}

/// One block of text to copy, under a title naming the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    pub title: &'static str,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_the_base_url() {
        let url = Url::parse("http://Mirror.lan:7878/").unwrap();
        let base = ClientBase {
            url: &url,
            proxy_hosts: &[],
        };
        assert_eq!(base.root(), "http://mirror.lan:7878");
        assert_eq!(base.mount("npm"), "http://mirror.lan:7878/npm");
        assert_eq!(base.host(), Some("mirror.lan"));
        assert_eq!(base.authority(), "mirror.lan:7878");
        assert!(base.plain_http());

        let url = Url::parse("https://larder.example.com/cache/").unwrap();
        let base = ClientBase {
            url: &url,
            proxy_hosts: &[],
        };
        assert_eq!(base.mount("go"), "https://larder.example.com/cache/go");
        assert_eq!(base.authority(), "larder.example.com");
        assert!(!base.plain_http());
    }
}
