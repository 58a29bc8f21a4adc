//! Which packument document a client wants: the full one or the abbreviated ("corgi") one.

/// The media type of abbreviated packuments.
pub const CORGI: &str = "application/vnd.npm.install-v1+json";
/// What npm and pnpm send when they want the abbreviated document.
pub const CORGI_ACCEPT: &str =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
pub const JSON: &str = "application/json";

/// The two packument documents a registry serves for one name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Full,
    Abbreviated,
}

impl Variant {
    /// Picks the variant for a request's `Accept` header.
    ///
    /// Abbreviated when the client lists the corgi type with a non-zero quality that is at
    /// least the quality it gives `application/json`; full otherwise (no header, `*/*`,
    /// `application/json`). Unparseable qualities count as 1, as most servers treat them.
    pub fn negotiate(accept: Option<&str>) -> Variant {
        let Some(accept) = accept else {
            return Variant::Full;
        };
        let mut corgi: Option<f32> = None;
        let mut json: Option<f32> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|param| param.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
                .and_then(|(_, value)| value.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .unwrap_or(1.0);
            if media.eq_ignore_ascii_case(CORGI) {
                corgi = Some(corgi.map_or(quality, |q| q.max(quality)));
            } else if media.eq_ignore_ascii_case(JSON) {
                json = Some(json.map_or(quality, |q| q.max(quality)));
            }
        }
        match corgi {
            Some(c) if c > 0.0 && c >= json.unwrap_or(0.0) => Variant::Abbreviated,
            _ => Variant::Full,
        }
    }

    /// The path segment in cache keys.
    pub fn key_part(self) -> &'static str {
        match self {
            Variant::Full => "full",
            Variant::Abbreviated => "abbrev",
        }
    }

    /// The `Accept` header larder sends upstream for this variant.
    pub fn upstream_accept(self) -> &'static str {
        match self {
            Variant::Full => JSON,
            Variant::Abbreviated => CORGI_ACCEPT,
        }
    }

    /// The `Content-Type` larder answers with.
    pub fn content_type(self) -> &'static str {
        match self {
            Variant::Full => JSON,
            Variant::Abbreviated => CORGI,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_real_clients_send() {
        // npm 11 `npm ci` / `npm install` with a lockfile, pnpm, yarn: corgi.
        assert_eq!(Variant::negotiate(Some(CORGI_ACCEPT)), Variant::Abbreviated);
        // npm 11 `npm install` without a lockfile, `npm view`: full.
        assert_eq!(Variant::negotiate(Some("application/json")), Variant::Full);
        assert_eq!(Variant::negotiate(None), Variant::Full);
        assert_eq!(Variant::negotiate(Some("*/*")), Variant::Full);
    }

    #[test]
    fn qualities_decide() {
        assert_eq!(
            Variant::negotiate(Some("application/vnd.npm.install-v1+json")),
            Variant::Abbreviated
        );
        assert_eq!(
            Variant::negotiate(Some("APPLICATION/VND.NPM.INSTALL-V1+JSON;Q=0.5")),
            Variant::Abbreviated
        );
        assert_eq!(
            Variant::negotiate(Some("application/vnd.npm.install-v1+json;q=0")),
            Variant::Full
        );
        assert_eq!(
            Variant::negotiate(Some(
                "application/json, application/vnd.npm.install-v1+json;q=0.1"
            )),
            Variant::Full
        );
        assert_eq!(
            Variant::negotiate(Some(
                "application/json;q=0.9, application/vnd.npm.install-v1+json"
            )),
            Variant::Abbreviated
        );
        assert_eq!(
            Variant::negotiate(Some("application/vnd.npm.install-v1+json;q=nan")),
            Variant::Abbreviated
        );
    }

    #[test]
    fn garbage_does_not_panic() {
        for accept in [
            "",
            ",,,",
            ";;;",
            "q=1",
            ";q=",
            "application/vnd.npm.install-v1+json;q",
            "\u{0}",
        ] {
            let _ = Variant::negotiate(Some(accept));
        }
    }
}
