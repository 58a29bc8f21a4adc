//! A client's request, as an adapter sees it.

use http::{HeaderMap, Method};

/// The parts of a request an adapter may route on.
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    pub method: &'a Method,
    /// In forward-proxy mode, the host of the absolute-form request (`deb.debian.org`).
    pub proxy_host: Option<&'a str>,
    /// The path after the adapter's prefix, still percent-encoded, starting with `/`
    /// (`/@scope%2fname` for `GET /npm/@scope%2fname`). In proxy mode, the whole path.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

impl<'a> ClientRequest<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// True for `GET` and `HEAD`, the only methods served from the cache.
    pub fn is_read(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}
