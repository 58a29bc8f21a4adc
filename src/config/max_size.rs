//! `max_size` when the configuration sets none: a quarter of the filesystem that holds
//! `data_dir`, so that an unattended cache cannot fill its disk. A share of the filesystem's
//! size, not of its free space: the limit stays the same from one start to the next however
//! full the cache (or anything else) has made the disk.

use anyhow::{Context, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The default is the filesystem's size divided by this.
const SHARE_DIVISOR: u64 = 4;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Where the effective `max_size` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Set in the file, the environment or a flag.
    Configured,
    /// `max_size = "unlimited"`: the store grows until the disk is full.
    Unlimited,
    /// Not set: [`default_for`] of a filesystem of this many bytes.
    Default { filesystem: u64 },
}

impl Origin {
    /// How `larder config` and the status page explain a default.
    pub fn note(self) -> Option<String> {
        match self {
            Origin::Default { filesystem } => Some(format!(
                "default: a quarter of the {} filesystem holding data_dir",
                bytesize::ByteSize(filesystem).to_string_as(true)
            )),
            Origin::Configured | Origin::Unlimited => None,
        }
    }
}

/// The default limit for a filesystem of `filesystem` bytes: a quarter, rounded down to a whole
/// GiB (to a MiB on a filesystem under 4 GiB).
pub fn default_for(filesystem: u64) -> u64 {
    let share = filesystem / SHARE_DIVISOR;
    let unit = if share >= GIB { GIB } else { MIB };
    (share / unit * unit).max(MIB)
}

/// The size of the filesystem that holds `data_dir` (or, before it exists, its nearest existing
/// ancestor).
pub fn filesystem_size(data_dir: &Path) -> Result<u64> {
    let existing = data_dir
        .ancestors()
        .find(|dir| !dir.as_os_str().is_empty() && dir.exists())
        .unwrap_or(Path::new("."));
    let path = CString::new(existing.as_os_str().as_bytes())
        .with_context(|| format!("data_dir {} holds a NUL byte", data_dir.display()))?;
    // SAFETY: `statvfs` writes only into `stat`, a plain C struct for which all zeroes is a
    // valid value; `path` is a NUL-terminated string that outlives the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| {
            format!(
                "cannot measure the filesystem of {} for the default max_size; set max_size (\"20GiB\", or \"unlimited\")",
                existing.display()
            )
        });
    }
    let (blocks, block_size): (u64, u64) = (stat.f_blocks, stat.f_frsize);
    Ok(blocks.saturating_mul(block_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_rounded_down_to_a_whole_unit() {
        assert_eq!(default_for(252 * GIB + 7), 63 * GIB);
        assert_eq!(default_for(100 * GIB), 25 * GIB);
        assert_eq!(default_for(2 * GIB), 512 * MIB);
        assert_eq!(default_for(3 * MIB), MIB);
    }

    #[test]
    fn a_data_dir_not_made_yet_is_measured_where_it_will_be() {
        let dir = tempfile::tempdir().unwrap();
        let size = filesystem_size(&dir.path().join("not/yet/there")).unwrap();
        assert!(size > 0);
        assert_eq!(size, filesystem_size(dir.path()).unwrap());
    }
}
