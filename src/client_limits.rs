//! What a client may send and hold (`[limits]`'s client keys): bounds on a request's head, its
//! body, the connections one address and everyone together may keep open, and how long a
//! connection may take to send a request head. `src/http/listen.rs` applies them; each refusal
//! is counted in `larder_client_refusals_total{limit}`.
//!
//! ```toml
//! [limits]
//! max_header_bytes = "64KiB"         # request line + headers; past it: 431
//! max_headers = 100                  # header fields; past it: 431
//! max_target_length = 8192           # bytes of the request-target; past it: 414
//! max_request_body = "16MiB"         # a forwarded request's body (npm audit); past it: 413
//! max_connections = 4096             # past it: 503 with Retry-After
//! max_connections_per_client = 512   # per peer address; past it: 503 with Retry-After
//! header_read_timeout = "30s"        # a request head, and an idle keep-alive connection (HTTP/1.1 and HTTP/2)
//! ```
//! Build-cache uploads under `/cache/` are bounded by `[cache] max_entry_size` instead.

use crate::toml_keys::{format_size, parse_size, take_string};
use anyhow::{bail, Result};
use std::time::Duration;
use toml::{Table, Value};

/// The `[limits]` keys read here (the others are the upstream client's).
pub const KEYS: &[&str] = &[
    "max_header_bytes",
    "max_headers",
    "max_target_length",
    "max_request_body",
    "max_connections",
    "max_connections_per_client",
    "header_read_timeout",
];

/// The keys among [`KEYS`] whose environment values are numbers.
pub const INTEGER_KEYS: &[&str] = &[
    "max_headers",
    "max_target_length",
    "max_connections",
    "max_connections_per_client",
];

/// The smallest head buffer the HTTP/1 parser accepts (hyper's minimum read buffer).
const MIN_HEADER_BYTES: u64 = 8 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// The request line and all header fields together, in bytes (HTTP/2: the header list).
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// The request-target as sent (path and query, or an absolute URI for a proxy request).
    pub max_target_length: usize,
    /// The body of a request larder forwards upstream.
    pub max_request_body: u64,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// From the moment a connection waits for a request until its head is complete. hyper
    /// starts this clock as soon as a keep-alive connection goes idle, so it also closes idle
    /// HTTP/1.1 connections.
    pub header_read_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_target_length: 8192,
            max_request_body: 16 << 20,
            max_connections: 4096,
            max_connections_per_client: 512,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

impl ClientLimits {
    /// Takes this struct's keys out of the `[limits]` table, leaving the upstream client's.
    pub fn take_from(table: &mut Table) -> Result<ClientLimits> {
        let d = ClientLimits::default();
        let max_header_bytes = match take_string(table, "max_header_bytes")? {
            Some(raw) => parse_size("[limits] max_header_bytes", &raw)?,
            None => d.max_header_bytes as u64,
        };
        if max_header_bytes < MIN_HEADER_BYTES {
            bail!(
                "[limits] max_header_bytes = {} is below the least larder can parse ({}); raise it",
                format_size(max_header_bytes),
                format_size(MIN_HEADER_BYTES)
            );
        }
        let max_request_body = match take_string(table, "max_request_body")? {
            Some(raw) => parse_size("[limits] max_request_body", &raw)?,
            None => d.max_request_body,
        };
        let header_read_timeout = match take_string(table, "header_read_timeout")? {
            Some(raw) => humantime::parse_duration(&raw).map_err(|err| {
                anyhow::anyhow!("[limits] header_read_timeout = {raw:?}: {err} (e.g. \"30s\")")
            })?,
            None => d.header_read_timeout,
        };
        if header_read_timeout.is_zero() {
            bail!("[limits] header_read_timeout must be more than 0s: without it a client that never finishes its request holds its connection forever");
        }
        Ok(ClientLimits {
            max_header_bytes: max_header_bytes as usize,
            max_headers: take_count(table, "max_headers", d.max_headers)?,
            max_target_length: take_count(table, "max_target_length", d.max_target_length)?,
            max_request_body,
            max_connections: take_count(table, "max_connections", d.max_connections)?,
            max_connections_per_client: take_count(
                table,
                "max_connections_per_client",
                d.max_connections_per_client,
            )?,
            header_read_timeout,
        })
    }

    /// The keys as `larder config` prints them (TOML lines, under `[limits]`).
    pub fn describe(&self) -> String {
        format!(
            "max_header_bytes = {:?}\nmax_headers = {}\nmax_target_length = {}\nmax_request_body = {:?}\nmax_connections = {}\nmax_connections_per_client = {}\nheader_read_timeout = {:?}\n",
            format_size(self.max_header_bytes as u64),
            self.max_headers,
            self.max_target_length,
            format_size(self.max_request_body),
            self.max_connections,
            self.max_connections_per_client,
            humantime::format_duration(self.header_read_timeout).to_string(),
        )
    }
}

/// A count that must be at least 1: a limit of 0 would refuse everything.
fn take_count(table: &mut Table, key: &str, default: usize) -> Result<usize> {
    match table.remove(key) {
        None => Ok(default),
        Some(Value::Integer(n)) if n >= 1 => Ok(n as usize),
        Some(other) => bail!("[limits] {key} must be a positive integer, got {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> Result<ClientLimits> {
        let mut table: Table = text.parse().unwrap();
        ClientLimits::take_from(&mut table)
    }

    #[test]
    fn defaults_hold_without_keys_and_keys_override_them() {
        assert_eq!(limits("").unwrap(), ClientLimits::default());
        let set = limits("max_header_bytes = \"16KiB\"\nmax_connections_per_client = 3\nheader_read_timeout = \"2s\"").unwrap();
        assert_eq!(set.max_header_bytes, 16 * 1024);
        assert_eq!(set.max_connections_per_client, 3);
        assert_eq!(set.header_read_timeout, Duration::from_secs(2));
    }

    #[test]
    fn unusable_values_are_refused_with_the_key_named() {
        let small = limits("max_header_bytes = \"1KiB\"")
            .unwrap_err()
            .to_string();
        assert!(small.contains("max_header_bytes"), "{small}");
        let zero = limits("max_connections = 0").unwrap_err().to_string();
        assert!(zero.contains("max_connections"), "{zero}");
        let never = limits("header_read_timeout = \"0s\"")
            .unwrap_err()
            .to_string();
        assert!(never.contains("header_read_timeout"), "{never}");
    }

    #[test]
    fn what_config_prints_reads_back_as_the_same_limits() {
        let set = limits("max_request_body = \"1MiB\"\nmax_headers = 7").unwrap();
        assert_eq!(limits(&set.describe()).unwrap(), set);
    }
}
