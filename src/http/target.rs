//! Where a request is aimed: at larder itself, or (a forward-proxy request) at another host.
//!
//! On HTTP/1.x a request names another host only in absolute form (apt's `GET
//! http://deb.debian.org/debian/...` through `Acquire::http::Proxy`); larder's own requests
//! name it in `Host`. HTTP/2 carries an authority with every request (the `:authority`
//! pseudo-header, in the URI), and that authority is the server's own: an h2 request is never
//! a forward-proxy request, and its authority stands for `Host`.

use axum::extract::Request;
use http::uri::Authority;
use http::{header, HeaderValue, Version};

/// The host a forward-proxy request names; `None` for a request to larder itself.
pub fn proxy_authority(request: &Request) -> Option<&Authority> {
    match request.version() {
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11 => request.uri().authority(),
        _ => None,
    }
}

/// Gives an HTTP/2 request without a `Host` header its authority as one, so that links
/// rewritten into metadata point at the host the client used, as on HTTP/1.1.
pub fn host_from_authority(request: &mut Request) {
    if proxy_authority(request).is_some() || request.headers().contains_key(header::HOST) {
        return;
    }
    let host = request
        .uri()
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok());
    if let Some(host) = host {
        request.headers_mut().insert(header::HOST, host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(version: Version, uri: &str) -> Request {
        let mut request = Request::new(Body::empty());
        *request.version_mut() = version;
        *request.uri_mut() = uri.parse().unwrap();
        request
    }

    #[test]
    fn only_http1_absolute_form_is_a_proxy_request() {
        let apt = request(Version::HTTP_11, "http://deb.debian.org/debian/dists/x");
        assert_eq!(
            proxy_authority(&apt).map(Authority::as_str),
            Some("deb.debian.org")
        );
        let own = request(Version::HTTP_11, "/npm/lodash");
        assert_eq!(proxy_authority(&own), None);
        let h2 = request(Version::HTTP_2, "http://127.0.0.1:7878/npm/lodash");
        assert_eq!(proxy_authority(&h2), None);
    }

    #[test]
    fn an_h2_authority_becomes_the_host() {
        let mut h2 = request(Version::HTTP_2, "http://mirror:7878/npm/lodash");
        host_from_authority(&mut h2);
        assert_eq!(h2.headers()[header::HOST], "mirror:7878");

        let mut apt = request(Version::HTTP_11, "http://deb.debian.org/debian/");
        host_from_authority(&mut apt);
        assert!(!apt.headers().contains_key(header::HOST));
    }
}
