//! Reading typed values out of a TOML table of settings, with errors that name the key.

use anyhow::{bail, Result};
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
