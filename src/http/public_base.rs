//! larder's own base URL, for links rewritten into metadata.
//!
//! `public_url` wins when configured. Otherwise the `Host` the client used (and with
//! `trust_forwarded`, `X-Forwarded-Proto`/`-Host` from a reverse proxy). A header that is not a
//! plain host[:port] is ignored, so a client cannot inject text into other clients' documents.

use super::App;
use http::HeaderMap;

pub fn for_request(app: &App, headers: &HeaderMap, name: &str) -> String {
    if let Some(url) = &app.public_url {
        return format!("{}/{name}", url.as_str().trim_end_matches('/'));
    }
    let get = |key: &str| {
        headers
            .get(key)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim())
    };
    let mut scheme = "http";
    let mut host = get("host");
    if app.trust_forwarded {
        if let Some(proto) = get("x-forwarded-proto").filter(|p| *p == "https" || *p == "http") {
            scheme = proto;
        }
        if let Some(forwarded) = get("x-forwarded-host") {
            host = Some(forwarded);
        }
    }
    let host = host.filter(|h| is_plain_host(h)).unwrap_or("localhost");
    format!("{scheme}://{host}/{name}")
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::is_plain_host;

    #[test]
    fn only_plain_hosts_are_used() {
        assert!(is_plain_host("mirror.internal:7878"));
        assert!(is_plain_host("[::1]:7878"));
        assert!(!is_plain_host("evil.example/\"><script>"));
        assert!(!is_plain_host("a b"));
    }
}
