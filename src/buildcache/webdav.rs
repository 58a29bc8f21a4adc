//! The little of WebDAV that sccache's client (opendal) needs around its GET and PUT: before a
//! write it asks `PROPFIND` (Depth 0) of each parent collection and sends `MKCOL` for the ones
//! missing. Collections are not stored: every collection path exists, so a PROPFIND on one is a
//! 207 naming a collection and MKCOL is a 201 that changes nothing. A PROPFIND on an entry is a
//! 207 with its length, or 404.

use crate::respond::{self, Body, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `PROPFIND` on a collection: it exists. (opendal requires a `getlastmodified`.)
pub fn collection(href: &str) -> Response {
    multistatus(&format!(
        "<D:response><D:href>{}</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:getlastmodified>{}</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>",
        escape(href),
        httpdate::fmt_http_date(SystemTime::now())
    ))
}

/// `PROPFIND` on a stored entry, stored at `stored_at_ms` (unix milliseconds).
pub fn entry(href: &str, size: u64, sha256: &str, stored_at_ms: u64) -> Response {
    let stored_at = UNIX_EPOCH + Duration::from_millis(stored_at_ms);
    multistatus(&format!(
        "<D:response><D:href>{}</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>{size}</D:getcontentlength><D:getetag>\"{sha256}\"</D:getetag><D:getcontenttype>application/octet-stream</D:getcontenttype><D:getlastmodified>{}</D:getlastmodified></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>",
        escape(href),
        httpdate::fmt_http_date(stored_at)
    ))
}

/// `MKCOL`: collections need no storage.
pub fn created() -> Response {
    respond::build(StatusCode::CREATED, HeaderMap::new(), Body::Empty)
}

fn multistatus(responses: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">{responses}</D:multistatus>\n"
    );
    respond::build(StatusCode::MULTI_STATUS, headers, Body::Full(body.into()))
}

/// Paths here are letters, digits, `.`, `-`, `_` and `/` (see `paths`), but an href is XML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
