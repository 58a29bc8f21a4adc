//! `larder export` / `larder import`: a store's content (blobs and pointers) as a tar archive,
//! to carry a cache between machines (a CI artifact, an air-gapped network).
//!
//! Layout inside the archive: `larder-export/blobs/sha256/<2 hex>/<64 hex>` first, then
//! `larder-export/pointers/<64 hex>.json` (the pointer records as the store keeps them). Both
//! commands work while larder serves the same data dir: export only reads (pointers are replaced
//! by atomic rename, blobs never change), import writes through the store's temp files and
//! atomic publish, and [`Store::put_pointer`] never replaces a newer pointer.
//!
//! Import is all or nothing for content: every blob is hashed as it is unpacked into a temp
//! file, and if any blob's bytes do not match its name, nothing is published.

use super::{LocalStore, Pointer, Store};
use anyhow::{bail, Context, Result};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const PREFIX: &str = "larder-export";
/// Pointer records are small; a larger entry is not one of ours.
const MAX_POINTER_BYTES: u64 = 1 << 20;

/// What an export or import moved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pointers: usize,
    pub blobs: usize,
    pub bytes: u64,
    /// Import: pointers left alone because the store's own record is newer.
    pub kept_newer: usize,
}

/// Writes every positive pointer confirmed at or after `since_ms` (all when `None`), and the
/// blobs they name, to `out` as a tar archive. Negative entries (remembered 404s) are left out:
/// they are short-lived memories of an absence, not content.
pub fn export(root: &Path, out: impl Write, since_ms: Option<u64>) -> Result<Summary> {
    let store = LocalStore::attach(root)?;
    let mut pointers = Vec::new();
    let pointer_root = root.join("pointers");
    for shard in read_dir_sorted(&pointer_root)? {
        for path in read_dir_sorted(&shard)? {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Ok(bytes) = fs::read(&path) else {
                continue; // replaced or removed meanwhile
            };
            let Ok(pointer) = serde_json::from_slice::<Pointer>(&bytes) else {
                tracing::warn!(path = %path.display(), "skipping an unreadable pointer record");
                continue;
            };
            if pointer.is_negative() || since_ms.is_some_and(|since| pointer.fetched_at_ms < since)
            {
                continue;
            }
            pointers.push((name.to_string(), pointer, bytes));
        }
    }
    let mut builder = tar::Builder::new(out);
    let mut summary = Summary::default();
    let mut written = BTreeSet::new();
    let mut kept = Vec::new();
    for (name, pointer, bytes) in pointers {
        let Some(sha) = pointer.sha256.clone() else {
            continue;
        };
        if !written.contains(&sha) {
            let Some(blob) = store.open_blob(&sha)? else {
                tracing::warn!(key = %pointer.key, "skipping a pointer whose blob is missing");
                continue;
            };
            let mut header = tar::Header::new_gnu();
            header.set_size(blob.len);
            header.set_mode(0o644);
            header.set_mtime(pointer.fetched_at_ms / 1000);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, blob_entry(&sha), blob.file)
                .context("writing the archive")?;
            summary.blobs += 1;
            summary.bytes += blob.len;
            written.insert(sha);
        }
        kept.push((name, pointer, bytes));
    }
    for (name, pointer, bytes) in kept {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(pointer.fetched_at_ms / 1000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(
                &mut header,
                format!("{PREFIX}/pointers/{name}"),
                bytes.as_slice(),
            )
            .context("writing the archive")?;
        summary.pointers += 1;
    }
    builder
        .into_inner()
        .context("finishing the archive")?
        .flush()?;
    Ok(summary)
}

/// Reads an archive written by [`export`] into the store at `root`. Every blob is verified
/// against its name before anything is published; a mismatch refuses the whole archive.
/// Pointers are written unless the store holds a newer one, and only when their blob is present.
pub fn import(root: &Path, input: impl Read) -> Result<Summary> {
    let store = LocalStore::attach(root)?;
    let mut staged: Vec<(PathBuf, String, u64)> = Vec::new();
    let result = unpack(&store, input, &mut staged);
    let pointers = match result {
        Ok(pointers) => pointers,
        Err(err) => {
            for (temp, _, _) in &staged {
                store.discard(temp);
            }
            return Err(err);
        }
    };
    let mut summary = Summary::default();
    let mut present = BTreeSet::new();
    for (temp, sha, len) in staged {
        store
            .publish(&temp, &sha)
            .with_context(|| format!("publishing blob {sha} into {}", root.display()))?;
        summary.blobs += 1;
        summary.bytes += len;
        present.insert(sha);
    }
    for pointer in pointers {
        let Some(sha) = &pointer.sha256 else { continue };
        if !present.contains(sha) && store.open_blob(sha)?.is_none() {
            tracing::warn!(key = %pointer.key, "skipping a pointer whose blob is in neither the archive nor the store");
            continue;
        }
        let newer = store
            .get_pointer(&pointer.key)?
            .is_some_and(|existing| existing.fetched_at_ms > pointer.fetched_at_ms);
        if newer {
            summary.kept_newer += 1;
            continue;
        }
        store.put_pointer(&pointer)?;
        summary.pointers += 1;
    }
    Ok(summary)
}

/// Unpacks blobs into verified temp files (listed in `staged` as they are made) and collects the
/// pointers. Any error leaves the caller to discard what was staged.
fn unpack(
    store: &LocalStore,
    input: impl Read,
    staged: &mut Vec<(PathBuf, String, u64)>,
) -> Result<Vec<Pointer>> {
    let mut archive = tar::Archive::new(input);
    let mut pointers = Vec::new();
    let mut mismatched = Vec::new();
    for entry in archive.entries().context("not a tar archive")? {
        let mut entry = entry.context("reading the archive (truncated or not a tar file?)")?;
        if !matches!(entry.header().entry_type(), tar::EntryType::Regular) {
            continue;
        }
        let path = entry.path().context("an entry with an unreadable name")?;
        let name = path.to_string_lossy().into_owned();
        if let Some(sha) = name.strip_prefix(&format!("{PREFIX}/blobs/sha256/")) {
            let sha = match sha.split_once('/') {
                Some((shard, sha)) if is_sha256(sha) && sha.starts_with(shard) => sha.to_string(),
                _ => bail!("{name}: not a blob name (blobs/sha256/<2 hex>/<64 hex>); is this a larder export?"),
            };
            let mut temp = store
                .create_temp()
                .context("creating a temp file for a blob")?;
            staged.push((temp.path.clone(), sha.clone(), 0));
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut len = 0u64;
            loop {
                let n = entry
                    .read(&mut buf)
                    .with_context(|| format!("reading {name}"))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                temp.file
                    .write_all(&buf[..n])
                    .context("writing a blob into the store (disk full?)")?;
                len += n as u64;
            }
            if let Some(last) = staged.last_mut() {
                last.2 = len;
            }
            let actual = hex::encode(hasher.finalize());
            if actual != sha {
                mismatched.push(format!("blob {sha} has sha256 {actual}"));
            }
        } else if name.starts_with(&format!("{PREFIX}/pointers/")) && name.ends_with(".json") {
            if entry.header().size().unwrap_or(u64::MAX) > MAX_POINTER_BYTES {
                bail!("{name}: too large for a pointer record");
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            let pointer: Pointer = serde_json::from_slice(&bytes)
                .with_context(|| format!("{name}: not a pointer record"))?;
            if let Some(sha) = &pointer.sha256 {
                if !is_sha256(sha) {
                    bail!("{name}: pointer for {:?} names no valid blob", pointer.key);
                }
            }
            pointers.push(pointer);
        } else {
            bail!("unexpected entry {name:?}: not a larder export (made by `larder export`)");
        }
    }
    if !mismatched.is_empty() {
        bail!(
            "refusing the archive, nothing imported: {} blob(s) do not match their names (tampered or corrupted): {}",
            mismatched.len(),
            mismatched.join("; ")
        );
    }
    Ok(pointers)
}

fn blob_entry(sha: &str) -> String {
    format!("{PREFIX}/blobs/sha256/{}/{sha}", &sha[..2])
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read_dir_sorted(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        paths.push(entry?.path());
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::put_blob;

    #[test]
    fn round_trip_since_and_newer_pointers_kept() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let from = LocalStore::open(a.path()).unwrap();
        put_blob(&from, "k/old", b"old bytes", 1_000);
        let new_sha = put_blob(&from, "k/new", b"new bytes", 5_000);
        put_blob(&from, "k/kept", b"archive's copy", 2_000);

        let mut all = Vec::new();
        let summary = export(a.path(), &mut all, None).unwrap();
        assert_eq!((summary.pointers, summary.blobs), (3, 3));
        let mut recent = Vec::new();
        assert_eq!(
            export(a.path(), &mut recent, Some(4_000)).unwrap().pointers,
            1
        );

        let to = LocalStore::open(b.path()).unwrap();
        put_blob(&to, "k/kept", b"a newer local copy", 9_000);
        let summary = import(b.path(), recent.as_slice()).unwrap();
        assert_eq!((summary.pointers, summary.blobs), (1, 1));
        assert!(to.get_pointer("k/old").unwrap().is_none());
        let summary = import(b.path(), all.as_slice()).unwrap();
        assert_eq!(summary.kept_newer, 1);
        assert_eq!(
            to.get_pointer("k/new").unwrap().unwrap().sha256,
            Some(new_sha)
        );
        assert_eq!(
            to.get_pointer("k/kept").unwrap().unwrap().fetched_at_ms,
            9_000
        );
        assert!(to.get_pointer("k/old").is_ok_and(|p| p.is_some()));
    }

    #[test]
    fn a_tampered_blob_refuses_everything_and_names_the_blob() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let from = LocalStore::open(a.path()).unwrap();
        put_blob(&from, "k/one", b"first blob", 1);
        let bad = put_blob(&from, "k/two", b"second blob", 2);
        let mut archive = Vec::new();
        export(a.path(), &mut archive, None).unwrap();
        let at = archive
            .windows(b"second blob".len())
            .position(|w| w == b"second blob")
            .unwrap();
        archive[at] = b'S';
        let err = import(b.path(), archive.as_slice())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&bad) && err.contains("nothing imported"),
            "{err}"
        );
        let to = LocalStore::open(b.path()).unwrap();
        assert!(to.get_pointer("k/one").unwrap().is_none());
        assert_eq!(fs::read_dir(b.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(
            fs::read_dir(b.path().join("blobs/sha256")).unwrap().count(),
            0
        );
        assert!(import(b.path(), &b"not a tar at all, just text"[..]).is_err());
    }
}
