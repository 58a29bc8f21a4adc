//! The background scrubber: re-hashes every blob in turn, at a bounded rate, for the damage no
//! hit can see. Bytes that rot without a write (a bad sector, a flipped bit in a cache) keep the
//! file's identity, so a blob verified before looks verified still (`super::integrity`); the
//! scrubber finds it within a pass and quarantines it before a client is served from it.
//!
//! One thread (`larder-scrub`) per serving store, started [`START_DELAY`] after the store, then a
//! pass every [`PASS_INTERVAL`], reading at most [`RATE`] bytes per second. A blob it finds sound
//! is remembered as verified (its next hit is not hashed again); one it finds damaged goes to
//! `quarantine/` and its next hit is a miss.

use super::integrity::{Damage, Integrity, Stamp};
use super::scan;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Not at once: a starting larder (and a benchmark) gets the disk to itself for a while.
pub const START_DELAY: Duration = Duration::from_secs(300);
/// From the start of one pass to the start of the next.
pub const PASS_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// Bytes read per second at most: a 20 GiB store in about 21 minutes, a small share of a disk.
pub const RATE: u64 = 16 * 1024 * 1024;

/// What one pass found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub blobs: usize,
    pub bytes: u64,
    pub quarantined: usize,
}

/// Starts the scrubber for the store under `root`; it stops when the store (its `integrity`)
/// is dropped.
pub fn spawn(root: PathBuf, integrity: &Arc<Integrity>) -> io::Result<()> {
    let integrity = Arc::downgrade(integrity);
    std::thread::Builder::new()
        .name("larder-scrub".into())
        .spawn(move || {
            let mut next = Instant::now() + START_DELAY;
            loop {
                if !sleep_until(next, &integrity) {
                    return;
                }
                next = Instant::now() + PASS_INTERVAL;
                match pass(&root, &integrity, RATE) {
                    Ok(done) => tracing::info!(
                        blobs = done.blobs,
                        bytes = done.bytes,
                        quarantined = done.quarantined,
                        "scrubbed the store (every blob re-hashed)"
                    ),
                    Err(err) => tracing::warn!(error = %err, "the scrub of the store stopped; trying again at the next pass"),
                }
            }
        })?;
    Ok(())
}

/// Sleeps in steps until `at`; false once the store is gone.
fn sleep_until(at: Instant, integrity: &Weak<Integrity>) -> bool {
    while Instant::now() < at {
        if integrity.strong_count() == 0 {
            return false;
        }
        std::thread::sleep((at - Instant::now()).min(Duration::from_secs(1)));
    }
    integrity.strong_count() > 0
}

/// Re-hashes every blob under `root`, reading at most `rate` bytes per second.
pub fn pass(root: &Path, integrity: &Weak<Integrity>, rate: u64) -> io::Result<Pass> {
    let started = Instant::now();
    let mut done = Pass::default();
    let mut buf = vec![0; 1 << 20];
    for blob in scan::blobs(root)? {
        let Some(integrity) = integrity.upgrade() else {
            break;
        };
        let (stamp, actual) = match hash(&blob.path, &mut buf, |read| {
            // Ahead of the rate: wait until the bytes read so far are due.
            let due = Duration::from_secs_f64((done.bytes + read) as f64 / rate.max(1) as f64);
            if let Some(ahead) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(ahead);
            }
        }) {
            Ok(hashed) => hashed,
            // Evicted meanwhile: gone, not damaged.
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => {
                tracing::warn!(path = %blob.path.display(), error = %err, "the scrub could not read a blob");
                continue;
            }
        };
        done.blobs += 1;
        done.bytes += stamp.len;
        let Some(check) = integrity.check(&blob.sha256, stamp) else {
            continue; // not named by a sha256: `larder verify` reports it
        };
        if !check.matches(&actual) {
            check.quarantine("(found by the background scrub)", Damage::Digest);
            done.quarantined += 1;
        }
    }
    Ok(done)
}

/// The file's identity when opened and the sha256 of its bytes; `paced(bytes read so far in
/// this file)` is called after every read.
fn hash(path: &Path, buf: &mut [u8], mut paced: impl FnMut(u64)) -> io::Result<(Stamp, [u8; 32])> {
    let mut file = std::fs::File::open(path)?;
    let stamp = Stamp::of(&file.metadata()?);
    let mut hasher = Sha256::new();
    let mut read = 0;
    loop {
        match file.read(buf)? {
            0 => break,
            n => {
                hasher.update(&buf[..n]);
                read += n as u64;
                paced(read);
            }
        }
    }
    Ok((stamp, hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::put_blob;
    use crate::store::{LocalStore, Store};

    #[test]
    fn a_pass_quarantines_bytes_that_rotted_without_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let sound = put_blob(&store, "t/sound", &[1; 5000], 1);
        let rotten = put_blob(&store, "t/rotten", &[2; 5000], 1);

        // One flipped byte, the modification time put back: the file looks as published.
        let path = scan::blob_path(dir.path(), &rotten).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[2500] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        std::fs::File::open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let blob = store.open_blob(&rotten).unwrap().unwrap();
        assert!(
            !blob.check.unwrap().needs_hashing(),
            "a hit cannot see this damage: it looks verified"
        );

        let integrity = Arc::downgrade(store.integrity());
        let done = pass(dir.path(), &integrity, u64::MAX).unwrap();
        assert_eq!(
            done,
            Pass {
                blobs: 2,
                bytes: 10_000,
                quarantined: 1
            }
        );
        assert!(store.open_blob(&rotten).unwrap().is_none(), "quarantined");
        assert!(store.open_blob(&sound).unwrap().is_some());
        assert_eq!(
            pass(dir.path(), &integrity, u64::MAX).unwrap().quarantined,
            0
        );
    }

    #[test]
    fn a_pass_keeps_to_its_rate() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        for i in 0..4u8 {
            put_blob(&store, &format!("t/{i}"), &[i; 50_000], 1);
        }
        let started = Instant::now();
        let done = pass(dir.path(), &Arc::downgrade(store.integrity()), 400_000).unwrap();
        assert_eq!(done.bytes, 200_000);
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "{:?}",
            started.elapsed()
        );
    }
}
