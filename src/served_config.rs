//! `[served]`: the served-log's size on disk, counted against nothing else (not `max_size`).
//!
//! ```toml
//! [served]
//! max_file_size = "16MiB"   # a new file past this
//! files = 8                 # the oldest removed past this: 128 MiB at most by default
//! enabled = true
//! ```

use anyhow::{bail, Result};
use toml::{Table, Value};

/// The keys `[served]` takes.
pub const KEYS: &[&str] = &["enabled", "max_file_size", "files"];

const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;
/// At a few hundred bytes a record, 8 files of 16 MiB hold about 400 000 downloads.
const DEFAULT_FILES: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedSettings {
    pub enabled: bool,
    pub max_file_size: u64,
    pub files: usize,
}

impl Default for ServedSettings {
    fn default() -> Self {
        ServedSettings {
            enabled: true,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            files: DEFAULT_FILES,
        }
    }
}

impl ServedSettings {
    pub fn from_section(mut table: Table) -> Result<ServedSettings> {
        let defaults = ServedSettings::default();
        let enabled = crate::toml_keys::take_bool(&mut table, "enabled")?.unwrap_or(true);
        let max_file_size = match crate::toml_keys::take_string(&mut table, "max_file_size")? {
            Some(raw) => crate::toml_keys::parse_size("[served] max_file_size", &raw)?,
            None => defaults.max_file_size,
        };
        if max_file_size < 4096 {
            bail!("[served] max_file_size must be at least 4KiB (a file holds whole batches of records)");
        }
        let files = match table.remove("files") {
            None => defaults.files,
            Some(Value::Integer(n)) if (1..=10_000).contains(&n) => n as usize,
            Some(Value::String(s)) if s.trim().parse::<usize>().is_ok_and(|n| n >= 1) => {
                s.trim().parse().unwrap_or(defaults.files)
            }
            Some(other) => {
                bail!("[served] files must be a number of files from 1 to 10000, got {other}")
            }
        };
        Ok(ServedSettings {
            enabled,
            max_file_size,
            files,
        })
    }

    /// The section as `larder config` prints it.
    pub fn to_toml(&self) -> String {
        format!(
            "\n[served]\nenabled = {}\nmax_file_size = {:?}\nfiles = {}   # at most {} on disk\n",
            self.enabled,
            crate::toml_keys::format_size(self.max_file_size),
            self.files,
            crate::toml_keys::format_size(self.max_file_size * self.files as u64),
        )
    }
}
