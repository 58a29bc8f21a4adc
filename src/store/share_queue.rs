//! What a replica stored while it could not share it (the bucket unreachable, or an upload
//! that failed): one small file per object key under `<data_dir>/share-queue/`, so that the
//! queue survives a restart. When the bucket answers again, [`super::tiered`] shares every
//! queued object (the newest local record of its key, newest-wins in the bucket as always) and
//! removes its entry.

use super::Pointer;
use sha2::{Digest as _, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct ShareQueue {
    dir: PathBuf,
    /// Entries in `dir` (kept in memory: `/-/metrics` reads it on every scrape).
    len: AtomicUsize,
}

impl ShareQueue {
    /// Opens (creating) the queue in `dir`, counting what an earlier run left in it.
    pub fn open(dir: &Path) -> io::Result<ShareQueue> {
        std::fs::create_dir_all(dir).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "cannot create the share queue {}: {err}; check the data dir's permissions",
                    dir.display()
                ),
            )
        })?;
        let queue = ShareQueue {
            dir: dir.to_path_buf(),
            len: AtomicUsize::new(0),
        };
        let len = queue.entries()?.len();
        queue.len.store(len, Ordering::Relaxed);
        Ok(queue)
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(key.as_bytes()));
        self.dir.join(format!("{name}.json"))
    }

    /// Queues `pointer` (replacing an older entry for its key). Blocks on the disk.
    pub fn push(&self, pointer: &Pointer) -> io::Result<()> {
        let path = self.entry_path(&pointer.key);
        let existed = path.exists();
        let temp = path.with_extension("tmp");
        std::fs::write(
            &temp,
            serde_json::to_vec(pointer).map_err(io::Error::other)?,
        )?;
        std::fs::rename(&temp, &path)?;
        if !existed {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The queued records (unreadable entries are dropped: they would never share).
    pub fn entries(&self) -> io::Result<Vec<(PathBuf, Pointer)>> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().map_or(true, |ext| ext != "json") {
                continue;
            }
            let read = std::fs::read(&path).map(|bytes| serde_json::from_slice::<Pointer>(&bytes));
            match read {
                Ok(Ok(pointer)) => entries.push((path, pointer)),
                Ok(Err(_)) => {
                    tracing::warn!(path = %path.display(), "dropping an unreadable share-queue entry");
                    let _ = std::fs::remove_file(&path);
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(entries)
    }

    /// Removes an entry once its object is shared, unless it was queued again meanwhile with a
    /// newer record (that one is shared on the next pass).
    pub fn done(&self, path: &Path, shared: &Pointer) {
        let current = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Pointer>(&bytes).ok());
        if current.is_some_and(|current| current.fetched_at_ms > shared.fetched_at_ms) {
            return;
        }
        if std::fs::remove_file(path).is_ok() {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_survives_reopening_and_keeps_one_entry_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let queue = ShareQueue::open(dir.path()).unwrap();
        let older = Pointer {
            fetched_at_ms: 1,
            ..Pointer::stored("go/a", &"a".repeat(64), 3)
        };
        let newer = Pointer {
            fetched_at_ms: 2,
            ..older.clone()
        };
        queue.push(&older).unwrap();
        queue.push(&newer).unwrap();
        queue
            .push(&Pointer::stored("go/b", &"b".repeat(64), 3))
            .unwrap();
        assert_eq!(queue.len(), 2);

        let reopened = ShareQueue::open(dir.path()).unwrap();
        assert_eq!(
            reopened.len(),
            2,
            "what an earlier run queued is still there"
        );
        let entries = reopened.entries().unwrap();
        let (path, a) = entries.iter().find(|(_, p)| p.key == "go/a").unwrap();
        assert_eq!(a.fetched_at_ms, 2, "the newest record of a key");
        // Done with an older record than the one queued: kept for the next pass.
        reopened.done(path, &older);
        assert_eq!(reopened.len(), 2);
        reopened.done(path, a);
        assert_eq!(reopened.len(), 1);
    }
}
