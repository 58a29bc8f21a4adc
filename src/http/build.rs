//! The build a request belongs to: the `/b/<build-id>/` path prefix (stripped here, so every
//! route below sees the path without it) or the `X-Larder-Build` header.

use crate::respond;
use crate::served::build_id::{self, BuildId};
use axum::extract::Request;
use http::StatusCode;

/// A request's build, kept in its extensions.
#[derive(Clone, Debug)]
pub struct BuildTag {
    pub id: BuildId,
    /// Whether it came as the path prefix: links in rewritten metadata must keep it then.
    pub in_path: bool,
}

impl BuildTag {
    /// What goes before an adapter's mount in larder's own links: `b/<id>/`, or nothing.
    pub fn mount_prefix(tag: Option<&BuildTag>) -> String {
        match tag {
            Some(tag) if tag.in_path => format!("b/{}/", tag.id),
            _ => String::new(),
        }
    }
}

/// Strips the prefix from the request's URI and records the build in its extensions; the 400
/// for an invalid id. Proxy requests (absolute form) carry only the header.
pub fn tag(request: &mut Request, proxied: bool) -> Result<(), Box<respond::Response>> {
    let invalid =
        |why: String| Box::new(respond::text(StatusCode::BAD_REQUEST, format!("{why}\n")));
    let prefixed = match proxied {
        true => None,
        false => build_id::strip_prefix(request.uri().path()),
    };
    let tag = match prefixed {
        Some(Err(why)) => return Err(invalid(why)),
        Some(Ok((id, rest))) => {
            let rest = match request.uri().query() {
                Some(query) => format!("{rest}?{query}"),
                None => rest.to_string(),
            };
            let uri = rest.parse::<http::Uri>().map_err(|err| {
                invalid(format!(
                    "the path after the build prefix is not valid: {err}"
                ))
            })?;
            *request.uri_mut() = uri;
            Some(BuildTag { id, in_path: true })
        }
        None => match request.headers().get(build_id::HEADER) {
            None => None,
            Some(value) => {
                let raw = value.to_str().unwrap_or("\u{fffd}");
                let id = BuildId::parse(raw.trim())
                    .map_err(|why| invalid(format!("{}: {why}", build_id::HEADER)))?;
                Some(BuildTag { id, in_path: false })
            }
        },
    };
    if let Some(tag) = tag {
        request.extensions_mut().insert(tag);
    }
    Ok(())
}
