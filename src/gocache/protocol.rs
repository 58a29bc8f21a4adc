//! The go command's cache-program protocol (`GOCACHEPROG`), as JSON lines on stdin and stdout.
//!
//! The helper first sends `{"ID":0,"KnownCommands":[...]}`. Each request carries `ID`,
//! `Command` (`get`, `put`, `close`), `ActionID`, `OutputID` (named `ObjectID` before Go 1.24)
//! and `BodySize`; byte fields are base64, as Go encodes `[]byte`. A `put` with a body is
//! followed by one line holding the body as a base64 JSON string. Responses may come in any
//! order, matched by `ID`; a hit and a put answer the `DiskPath` of a local file.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Request {
    #[serde(rename = "ID")]
    pub id: i64,
    #[serde(rename = "Command")]
    pub command: String,
    #[serde(rename = "ActionID", default)]
    pub action_id: Option<String>,
    /// Go 1.24 and later; Go 1.21-1.23 send the same field as `ObjectID`.
    #[serde(rename = "OutputID", alias = "ObjectID", default)]
    pub output_id: Option<String>,
    #[serde(rename = "BodySize", default)]
    pub body_size: i64,
}

#[derive(Debug, Default, Serialize)]
pub struct Response {
    #[serde(rename = "ID")]
    pub id: i64,
    #[serde(rename = "Err", skip_serializing_if = "String::is_empty")]
    pub err: String,
    #[serde(rename = "KnownCommands", skip_serializing_if = "Vec::is_empty")]
    pub known_commands: Vec<&'static str>,
    #[serde(rename = "Miss", skip_serializing_if = "std::ops::Not::not")]
    pub miss: bool,
    #[serde(rename = "OutputID", skip_serializing_if = "Option::is_none")]
    pub output_id: Option<String>,
    #[serde(rename = "Size", skip_serializing_if = "is_zero")]
    pub size: u64,
    /// RFC 3339, as Go reads a `time.Time`.
    #[serde(rename = "Time", skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(rename = "DiskPath", skip_serializing_if = "Option::is_none")]
    pub disk_path: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Response {
    /// The first message: what this helper can do.
    pub fn capabilities() -> Response {
        Response {
            known_commands: vec!["get", "put", "close"],
            ..Response::default()
        }
    }

    pub fn miss(id: i64) -> Response {
        Response {
            id,
            miss: true,
            ..Response::default()
        }
    }

    pub fn error(id: i64, err: String) -> Response {
        Response {
            id,
            err,
            ..Response::default()
        }
    }

    /// One JSON line.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                "{{\"ID\":{},\"Err\":\"could not encode a response\"}}",
                self.id
            )
        });
        line.push('\n');
        line
    }
}

/// Hex of a base64 `[]byte` field (Go's IDs are sha256 sums: 32 bytes).
pub fn id_hex(field: Option<&str>) -> Result<String, String> {
    let raw = field.ok_or("the request has no ID field")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|err| format!("an ID is not base64: {err}"))?;
    if bytes.len() != 32 {
        return Err(format!("an ID is {} bytes, not 32", bytes.len()));
    }
    Ok(hex::encode(bytes))
}

/// The base64 field for a hex ID.
pub fn id_base64(hex_id: &str) -> Option<String> {
    let bytes = hex::decode(hex_id).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A put's body line: a JSON string of base64.
pub fn decode_body(line: &str) -> Result<Vec<u8>, String> {
    let quoted = line.trim();
    let inner = quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or("a put's body line is not a JSON string")?;
    base64::engine::general_purpose::STANDARD
        .decode(inner)
        .map_err(|err| format!("a put's body is not base64: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_names_of_the_output_field() {
        let old: Request = serde_json::from_str(
            r#"{"ID":3,"Command":"put","ActionID":"AAEC","ObjectID":"AwQF","BodySize":5}"#,
        )
        .unwrap();
        let new: Request = serde_json::from_str(
            r#"{"ID":3,"Command":"put","ActionID":"AAEC","OutputID":"AwQF","BodySize":5}"#,
        )
        .unwrap();
        assert_eq!(old, new);
        assert_eq!(old.output_id.as_deref(), Some("AwQF"));
        let close: Request = serde_json::from_str(r#"{"ID":9,"Command":"close"}"#).unwrap();
        assert_eq!((close.body_size, close.action_id), (0, None));
    }

    #[test]
    fn writes_go_shaped_responses() {
        assert_eq!(
            Response::capabilities().to_line(),
            "{\"ID\":0,\"KnownCommands\":[\"get\",\"put\",\"close\"]}\n"
        );
        assert_eq!(Response::miss(4).to_line(), "{\"ID\":4,\"Miss\":true}\n");
    }

    #[test]
    fn ids_and_bodies() {
        let id = [7u8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(id);
        let hex_id = id_hex(Some(&b64)).unwrap();
        assert_eq!(hex_id, hex::encode(id));
        assert_eq!(id_base64(&hex_id).unwrap(), b64);
        assert!(id_hex(Some("AAEC")).is_err());
        assert_eq!(decode_body("\"aGVsbG8=\"\n").unwrap(), b"hello");
        assert!(decode_body("aGVsbG8=").is_err());
    }
}
