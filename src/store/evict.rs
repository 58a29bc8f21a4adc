//! Choosing and removing blobs to bring a local store under a size: one plan, used by the
//! eviction pass of a running larder ([`super::lru`]) and by `larder gc`.
//!
//! The policy, in order:
//! 1. blobs no pointer refers to (a metadata version that was superseded) go first: nothing can
//!    ever serve them. A blob younger than [`Policy::grace_ms`] is not counted as such, because a
//!    fill publishes the blob an instant before it writes the pointer;
//! 2. then the least recently used, by the blob file's modification time, which is the store's
//!    record of last use (set when written, and refreshed from the in-memory access log of a
//!    running larder, see [`super::lru`]).
//!
//! Artifacts and metadata compete on the same terms: one list, ordered by last use only, whatever
//! the object's kind or size. A metadata blob that is revalidated (304) is opened, so it counts as
//! used, like an artifact that is served.
//!
//! A blob some reader of this process has open is never chosen ([`open_blobs`]), and its size
//! does not count toward the target while it is open (like a fill in flight): a long download
//! of a big blob does not push out everything used after it. Removal is an
//! unlink: a reader in another process (a larder serving while `larder gc` runs) keeps reading its
//! open file to the end, because on Linux an unlinked file lives until its last descriptor closes.
//! The pointers that refer to a removed blob are removed with it, each re-read first, so a pointer
//! rewritten meanwhile to a blob that exists again is kept.

use super::scan::{self, BlobEntry};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// What to keep.
pub struct Policy {
    /// Bring what the data directory takes on disk (`du`: blobs, pointer records, temp files
    /// of fills in flight, everything) down to this, by removing blobs (`None`: remove only
    /// what nothing can serve).
    pub target: Option<u64>,
    pub now_ms: u64,
    /// A blob younger than this is never counted as unreferenced.
    pub grace_ms: u64,
    /// Blobs that must stay (open by a reader): by hex sha256.
    pub in_use: HashSet<String>,
}

/// Why a blob is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Unreferenced,
    LeastRecentlyUsed,
}

#[derive(Clone, Debug)]
pub struct Victim {
    pub blob: BlobEntry,
    pub reason: Reason,
    /// The pointer records that refer to it: file and object key.
    pub pointers: Vec<(PathBuf, String)>,
}

/// The blobs and pointers to remove.
#[derive(Debug, Default)]
pub struct Plan {
    pub victims: Vec<Victim>,
    /// Pointers whose blob does not exist: file and object key.
    pub dangling: Vec<(PathBuf, String)>,
    /// The blobs' total size when the plan was made.
    pub total_before: u64,
    /// What the data directory took on disk when the plan was made, and how much of that was
    /// not blobs (pointer records, temp files, directories).
    pub disk_before: u64,
    pub overhead: u64,
    pub blob_count: usize,
    /// Blobs left alone because they are open (a later pass sees them again).
    pub kept_in_use: usize,
}

impl Plan {
    pub fn freed(&self) -> u64 {
        self.victims.iter().map(|v| v.blob.size).sum()
    }

    pub fn total_after(&self) -> u64 {
        self.total_before - self.freed()
    }

    /// What the data directory takes on disk once the plan is applied.
    pub fn disk_after(&self) -> u64 {
        let freed: u64 = self.victims.iter().map(|v| v.blob.on_disk).sum();
        self.disk_before.saturating_sub(freed)
    }
}

/// What applying a plan removed (things that vanished meanwhile are not counted).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub blobs: usize,
    pub bytes: u64,
    pub pointers: usize,
}

/// Looks at the store under `root` and decides what to remove. Reads only.
pub fn plan(root: &Path, policy: &Policy) -> io::Result<Plan> {
    let mut blobs = scan::blobs(root)?;
    let pointers = scan::pointers(root)?;
    let present: HashSet<&str> = blobs.iter().map(|b| b.sha256.as_str()).collect();
    let mut referrers: HashMap<String, Vec<(PathBuf, String)>> = HashMap::new();
    let mut dangling = Vec::new();
    for entry in pointers {
        let Some(pointer) = entry.pointer else {
            continue; // damaged records are `larder verify`'s business
        };
        let Some(sha) = pointer.sha256 else {
            continue; // a negative entry refers to no blob
        };
        if present.contains(sha.as_str()) {
            referrers
                .entry(sha)
                .or_default()
                .push((entry.path, pointer.key));
        } else {
            dangling.push((entry.path, pointer.key));
        }
    }

    let total_before: u64 = blobs.iter().map(|b| b.size).sum();
    let blobs_on_disk: u64 = blobs.iter().map(|b| b.on_disk).sum();
    let disk_before = scan::disk_usage(root)?.max(blobs_on_disk);
    let overhead = disk_before - blobs_on_disk;
    // The target is for the whole directory: the blobs get what the rest leaves.
    let blob_target = policy.target.map(|target| target.saturating_sub(overhead));
    let blob_count = blobs.len();
    let mut ranked: Vec<(bool, BlobEntry)> = blobs
        .drain(..)
        .map(|b| {
            let unreferenced = !referrers.contains_key(&b.sha256)
                && policy.now_ms.saturating_sub(b.used_ms) > policy.grace_ms;
            (unreferenced, b)
        })
        .collect();
    // Unreferenced first, then oldest use first; the name breaks ties so plans are repeatable.
    ranked
        .sort_by(|(ua, a), (ub, b)| (!ua, a.used_ms, &a.sha256).cmp(&(!ub, b.used_ms, &b.sha256)));

    // An open blob cannot be removed now; like a fill in flight, it comes on top of the target
    // until it is closed, rather than pushing out the blobs used after it.
    let (open, ranked): (Vec<_>, Vec<_>) = ranked
        .into_iter()
        .partition(|(_, blob)| policy.in_use.contains(&blob.sha256));
    let kept_in_use = open.len();
    let mut total = blobs_on_disk - open.iter().map(|(_, b)| b.on_disk).sum::<u64>();
    let mut victims = Vec::new();
    for (unreferenced, blob) in ranked {
        let reason = if unreferenced {
            Reason::Unreferenced
        } else if blob_target.is_some_and(|target| total > target) {
            Reason::LeastRecentlyUsed
        } else {
            break;
        };
        total -= blob.on_disk;
        let pointers = referrers.remove(&blob.sha256).unwrap_or_default();
        victims.push(Victim {
            blob,
            reason,
            pointers,
        });
    }
    Ok(Plan {
        victims,
        dangling,
        total_before,
        disk_before,
        overhead,
        blob_count,
        kept_in_use,
    })
}

/// Removes what the plan names: each blob, then the pointers that still refer to it; then the
/// pointers that still point nowhere.
pub fn apply(root: &Path, plan: &Plan) -> io::Result<Removed> {
    apply_until(root, plan, &AtomicBool::new(false))
}

/// [`apply`], ending early once `stopping` is set, but never between a blob and its pointers: a
/// process that stops after this returns leaves no record naming a blob it removed.
pub fn apply_until(root: &Path, plan: &Plan, stopping: &AtomicBool) -> io::Result<Removed> {
    let mut removed = Removed::default();
    for victim in &plan.victims {
        if stopping.load(Ordering::Relaxed) {
            return Ok(removed);
        }
        match fs::remove_file(&victim.blob.path) {
            Ok(()) => {
                removed.blobs += 1;
                removed.bytes += victim.blob.size;
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("cannot remove {}: {err}", victim.blob.path.display()),
                ))
            }
        }
        for (path, _) in &victim.pointers {
            if remove_pointer_if_dangling(root, path, &victim.blob.sha256)? {
                removed.pointers += 1;
            }
        }
    }
    for (path, _) in &plan.dangling {
        if remove_pointer_if_dangling(root, path, "")? {
            removed.pointers += 1;
        }
    }
    Ok(removed)
}

/// Removes a pointer record if it (still) refers to a blob that does not exist. `sha256` is the
/// blob it referred to when planned, or empty for "whichever it names".
pub fn remove_pointer_if_dangling(root: &Path, path: &Path, sha256: &str) -> io::Result<bool> {
    let pointer = match scan::read_pointer(path) {
        Ok(Some(pointer)) => pointer,
        Ok(None) => return Ok(false),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let Some(current) = pointer.sha256 else {
        return Ok(false);
    };
    if !sha256.is_empty() && current != sha256 {
        return Ok(false);
    }
    if scan::blob_path(root, &current).is_some_and(|blob| blob.exists()) {
        return Ok(false);
    }
    remove_file_if_present(path)
}

pub fn remove_file_if_present(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!("cannot remove {}: {err}", path.display()),
        )),
    }
}

/// The blobs this process has open right now, from `/proc/self/fd`: a response streaming a blob,
/// or a fill's clients still reading the temp file that became the blob (a descriptor follows
/// its file through the rename). Linux only; elsewhere nothing is known to be open, and readers
/// are still safe because removal is an unlink.
pub fn open_blobs() -> HashSet<String> {
    let Ok(entries) = fs::read_dir("/proc/self/fd") else {
        return HashSet::new();
    };
    entries
        .flatten()
        .filter_map(|entry| fs::read_link(entry.path()).ok())
        .filter(|target| {
            target
                .parent()
                .and_then(Path::parent)
                .is_some_and(|p| p.ends_with("blobs/sha256"))
        })
        .filter_map(|target| {
            let name = target.file_name()?.to_str()?;
            scan::is_sha256_hex(name).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LocalStore, Pointer, Store};
    use sha2::{Digest as _, Sha256};
    use std::io::Write;
    use std::time::{Duration, SystemTime};

    /// Publishes `bytes` under `key`, last used `age` ago.
    fn put(store: &LocalStore, key: Option<&str>, bytes: &[u8], age: Duration) -> String {
        let mut temp = store.create_temp().unwrap();
        temp.file.write_all(bytes).unwrap();
        temp.file.set_modified(SystemTime::now() - age).unwrap();
        let sha = hex::encode(Sha256::digest(bytes));
        store.publish(&temp.path, &sha).unwrap();
        if let Some(key) = key {
            store
                .put_pointer(&Pointer {
                    fetched_at_ms: 1,
                    ..Pointer::stored(key, &sha, bytes.len() as u64)
                })
                .unwrap();
        }
        sha
    }

    /// What a blob takes on disk.
    fn blob_blocks(root: &Path, sha: &str) -> u64 {
        scan::on_disk(&fs::metadata(scan::blob_path(root, sha).unwrap()).unwrap())
    }

    fn policy(target: Option<u64>) -> Policy {
        Policy {
            target,
            now_ms: crate::store::now_ms(),
            grace_ms: 60_000,
            in_use: HashSet::new(),
        }
    }

    #[test]
    fn a_stopping_pass_removes_no_further_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let old = put(&store, Some("t/old"), &[1; 100], Duration::from_secs(300));
        let plan = plan(dir.path(), &policy(Some(0))).unwrap();
        assert_eq!(plan.victims.len(), 1);
        let removed = apply_until(dir.path(), &plan, &AtomicBool::new(true)).unwrap();
        assert_eq!(removed, Removed::default());
        assert!(store.open_blob(&old).unwrap().is_some());
        assert!(store.get_pointer("t/old").unwrap().is_some());
    }

    #[test]
    fn least_recently_used_go_first_and_take_their_pointers() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let old = put(&store, Some("t/old"), &[1; 100], Duration::from_secs(300));
        let mid = put(&store, Some("t/mid"), &[2; 100], Duration::from_secs(200));
        let new = put(&store, Some("t/new"), &[3; 100], Duration::from_secs(100));
        // The target is for the whole directory on disk: room for all but two blobs' blocks.
        let blocks = blob_blocks(dir.path(), &old);
        let du = scan::disk_usage(dir.path()).unwrap();
        let plan = plan(dir.path(), &policy(Some(du - 2 * blocks))).unwrap();
        let chosen: Vec<_> = plan.victims.iter().map(|v| v.blob.sha256.clone()).collect();
        assert_eq!(chosen, [old.clone(), mid.clone()]);
        assert_eq!(plan.total_after(), 100);
        let removed = apply(dir.path(), &plan).unwrap();
        assert_eq!(
            (removed.blobs, removed.bytes, removed.pointers),
            (2, 200, 2)
        );
        assert!(store.get_pointer("t/old").unwrap().is_none());
        assert!(store.open_blob(&old).unwrap().is_none());
        assert!(store.open_blob(&new).unwrap().is_some());
        assert!(store.get_pointer("t/new").unwrap().is_some());
    }

    #[test]
    fn unreferenced_blobs_go_before_recently_used_ones_but_not_fresh_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let used = put(&store, Some("t/used"), &[1; 100], Duration::from_secs(600));
        let orphan = put(&store, None, &[2; 100], Duration::from_secs(120));
        let just_published = put(&store, None, &[3; 100], Duration::from_secs(1));
        let plan = plan(dir.path(), &policy(None)).unwrap();
        let chosen: Vec<_> = plan
            .victims
            .iter()
            .map(|v| (v.blob.sha256.clone(), v.reason))
            .collect();
        assert_eq!(chosen, [(orphan, Reason::Unreferenced)]);
        let _ = (used, just_published);
    }

    #[test]
    fn an_open_blob_is_kept_and_a_reader_of_an_unlinked_one_reads_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let open = put(&store, Some("t/open"), &[7; 5000], Duration::from_secs(900));
        let other = put(&store, Some("t/other"), &[8; 100], Duration::from_secs(800));
        let reader = store.open_blob(&open).unwrap().unwrap();
        let in_use = open_blobs();
        assert!(in_use.contains(&open), "{in_use:?}");
        let plan = plan(
            dir.path(),
            &Policy {
                in_use,
                ..policy(Some(0))
            },
        )
        .unwrap();
        let chosen: Vec<_> = plan.victims.iter().map(|v| v.blob.sha256.clone()).collect();
        assert_eq!(chosen, std::slice::from_ref(&other));
        assert_eq!(plan.kept_in_use, 1);
        // The open blob alone is over the target and the oldest: it waits, and the newer one is
        // not evicted in its place.
        let du = scan::disk_usage(dir.path()).unwrap();
        let target = du - blob_blocks(dir.path(), &open);
        let plan = super::plan(
            dir.path(),
            &Policy {
                in_use: open_blobs(),
                ..policy(Some(target))
            },
        )
        .unwrap();
        assert!(plan.victims.is_empty(), "{:?}", plan.victims);
        assert_eq!(plan.kept_in_use, 1);

        // Without the protection (another process evicting), the reader still gets every byte.
        let plan = super::plan(dir.path(), &policy(Some(0))).unwrap();
        apply(dir.path(), &plan).unwrap();
        assert!(store.open_blob(&open).unwrap().is_none());
        let mut bytes = Vec::new();
        use std::io::Read;
        (&reader.file).read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, vec![7; 5000]);
    }

    #[test]
    fn dangling_pointers_are_planned_and_a_repointed_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let sha = put(&store, Some("t/a"), &[1; 10], Duration::from_secs(10));
        fs::remove_file(scan::blob_path(dir.path(), &sha).unwrap()).unwrap();
        let plan = plan(dir.path(), &policy(None)).unwrap();
        assert_eq!(plan.dangling.len(), 1);
        // Refilled between the plan and its application: the pointer now has its blob again.
        put(&store, Some("t/a"), &[1; 10], Duration::from_secs(0));
        assert_eq!(apply(dir.path(), &plan).unwrap().pointers, 0);
        assert!(store.get_pointer("t/a").unwrap().is_some());
    }
}
