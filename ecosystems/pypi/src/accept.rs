//! Content negotiation between the PEP 503 HTML and PEP 691 JSON simple pages.
//!
//! pip sends `application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1,
//! text/html; q=0.01` and uv `application/vnd.pypi.simple.v1+json,
//! application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01`. Each variant is cached under its
//! own key and fetched from upstream with that variant's `Accept`.

/// One representation of a simple page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// PEP 691 JSON.
    Json,
    /// PEP 503 HTML.
    Html,
}

impl Variant {
    /// The `Content-Type` clients get, `None` for the upstream's own.
    ///
    /// HTML is always labelled `text/html`: old pips know no other HTML type, and static indexes
    /// (object storage, plain web servers) often label their pages oddly. The JSON variant keeps
    /// the upstream's type: an index that speaks PEP 691 labels its JSON exactly
    /// (`application/vnd.pypi.simple.v1+json`, as PyPI does), and one that ignores the JSON
    /// `Accept` answers HTML as `text/html`, which pip then parses as HTML instead of failing on
    /// HTML labelled as JSON.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Variant::Json => None,
            Variant::Html => Some("text/html"),
        }
    }

    /// The `Accept` larder sends upstream for this variant.
    pub fn upstream_accept(self) -> &'static str {
        match self {
            Variant::Json => "application/vnd.pypi.simple.v1+json",
            Variant::Html => "application/vnd.pypi.simple.v1+html, text/html;q=0.9",
        }
    }

    /// The last segment of the cache key.
    pub fn key_suffix(self) -> &'static str {
        match self {
            Variant::Json => "json",
            Variant::Html => "html",
        }
    }

    /// The media types that select this variant exactly.
    fn media_types(self) -> &'static [&'static str] {
        match self {
            Variant::Json => &[
                "application/vnd.pypi.simple.v1+json",
                "application/vnd.pypi.simple.latest+json",
            ],
            Variant::Html => &[
                "application/vnd.pypi.simple.v1+html",
                "application/vnd.pypi.simple.latest+html",
                "text/html",
            ],
        }
    }
}

/// How well one `Accept` header wants one variant: the quality of the most specific range that
/// matches (RFC 9110 §12.5.1), and that specificity (2 exact, 1 `type/*`, 0 `*/*`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Preference {
    quality: f32,
    specificity: u8,
}

/// Picks the variant for a request's `Accept` header.
///
/// The highest quality wins; on a tie the variant named more specifically wins, and on a full tie
/// (`*/*`, no header, nothing acceptable) HTML, which every client understands, as PyPI does.
pub fn negotiate(accept: Option<&str>) -> Variant {
    let Some(accept) = accept else {
        return Variant::Html;
    };
    let json = preference(accept, Variant::Json);
    let html = preference(accept, Variant::Html);
    match (json, html) {
        (Some(json), Some(html)) => {
            let json_wins = json.quality > html.quality
                || (json.quality == html.quality && json.specificity > html.specificity);
            if json_wins && json.quality > 0.0 {
                Variant::Json
            } else {
                Variant::Html
            }
        }
        (Some(json), None) if json.quality > 0.0 => Variant::Json,
        _ => Variant::Html,
    }
}

fn preference(accept: &str, variant: Variant) -> Option<Preference> {
    variant
        .media_types()
        .iter()
        .filter_map(|media_type| preference_for(accept, media_type))
        .fold(None, |best: Option<Preference>, p| match best {
            Some(b) if b.quality >= p.quality => Some(b),
            _ => Some(p),
        })
}

/// The preference the header expresses for one concrete media type.
fn preference_for(accept: &str, media_type: &str) -> Option<Preference> {
    let (main, _) = media_type.split_once('/')?;
    let mut best: Option<Preference> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let Some(range_type) = parts.next().map(|t| t.trim().to_ascii_lowercase()) else {
            continue;
        };
        let specificity = if range_type == media_type {
            2
        } else if range_type.strip_suffix("/*") == Some(main) {
            1
        } else if range_type == "*/*" {
            0
        } else {
            continue;
        };
        let quality = parts
            .filter_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())?
            })
            .next()
            .filter(|q| q.is_finite())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        if best.is_none_or(|b| specificity > b.specificity) {
            best = Some(Preference {
                quality,
                specificity,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use Variant::{Html, Json};

    #[test]
    fn negotiation_matrix() {
        for (accept, want) in [
            // pip 22.2+ and uv.
            (
                Some("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"),
                Json,
            ),
            (
                Some("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"),
                Json,
            ),
            // Old pip.
            (Some("text/html"), Html),
            (None, Html),
            (Some(""), Html),
            (Some("*/*"), Html),
            (Some("application/vnd.pypi.simple.v1+html"), Html),
            (Some("application/vnd.pypi.simple.latest+json"), Json),
            (Some("application/vnd.pypi.simple.latest+html"), Html),
            // Quality values decide, in either order.
            (Some("application/vnd.pypi.simple.v1+json;q=0.5, text/html"), Html),
            (Some("text/html;q=0.2, application/vnd.pypi.simple.v1+json;q=0.3"), Json),
            (Some("application/vnd.pypi.simple.v1+json; q=0, text/html; q=0.1"), Html),
            (Some("application/vnd.pypi.simple.v1+json;q=0"), Html),
            // A specific range beats a wildcard of the same quality.
            (Some("application/vnd.pypi.simple.v1+json, */*"), Json),
            (Some("text/html, */*"), Html),
            (Some("application/*"), Html),
            (Some("application/*, text/html;q=0.5"), Html),
            (Some("APPLICATION/VND.PYPI.SIMPLE.V1+JSON"), Json),
            // The most specific range sets the quality, even when a wildcard is higher.
            (Some("application/vnd.pypi.simple.v1+json;q=0.1, */*;q=0.9"), Html),
            // Garbage never panics and falls back to HTML.
            (Some(";;;,,q=,=;q"), Html),
            (Some("application/vnd.pypi.simple.v1+json;q=NaN"), Json),
            (Some("image/png"), Html),
        ] {
            assert_eq!(negotiate(accept), want, "{accept:?}");
        }
    }
}
