//! Reading typed values out of a TOML table of settings, with errors that name the key, and
//! writing them back as TOML (`larder config`).

use anyhow::{anyhow, bail, Result};
use toml::{Table, Value};

pub fn take_string(table: &mut Table, key: &str) -> Result<Option<String>> {
    match table.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => bail!("`{key}` must be a string, got {other}"),
    }
}

pub fn take_bool(table: &mut Table, key: &str) -> Result<Option<bool>> {
    match table.remove(key) {
        None => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(b)),
        Some(other) => bail!("`{key}` must be true or false, got {other}"),
    }
}

/// Parses a size like `"20GiB"`, `"500MB"` or a plain number of bytes.
pub fn parse_size(key: &str, raw: &str) -> Result<u64> {
    raw.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|_| {
            anyhow!("`{key}` = {raw:?} is not a size like \"20GiB\", \"500MB\" or \"1048576\"")
        })
}

/// A size as the config takes it back, exactly: `"20GiB"`, `"1536KiB"`, `"1000"`.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes != 0 && bytes % (1 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// `text` as a TOML string. Rust's `{:?}` is not one: it writes `\u{35b}` where TOML wants
/// `\u035B`, so a path or name with such a character would print a config that does not load.
pub fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A list of strings as a TOML array.
pub fn quote_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| quote(item.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}
