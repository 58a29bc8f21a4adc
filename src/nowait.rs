//! Reads that never wait for a disk: `preadv2` with `RWF_NOWAIT` answers `EAGAIN` rather than
//! wait (and `EOPNOTSUPP` where the file system cannot tell). A hit whose bytes are in the page
//! cache is then read on the async worker that serves it, without the hand-off to tokio's
//! blocking pool that is most of its cost (benches/RESULTS.md); anything else is read on the
//! pool as before.

use std::os::fd::AsRawFd;

/// Bytes `offset..offset + len` of `file`, if they are all in the page cache (and the file has
/// them all).
pub fn read(file: &std::fs::File, offset: u64, len: u64) -> Option<Vec<u8>> {
    let len = usize::try_from(len).ok()?;
    // Not zeroed first: the kernel writes every byte that is kept (a hit's whole body, so the
    // memset would be a second pass over it).
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let filled = buf.len();
        let rest = &mut buf.spare_capacity_mut()[..len - filled];
        let iov = libc::iovec {
            iov_base: rest.as_mut_ptr().cast(),
            iov_len: rest.len(),
        };
        let at = libc::off_t::try_from(offset + filled as u64).ok()?;
        // SAFETY: `iov` points into `buf`'s spare capacity, which outlives the call; the fd
        // is open.
        let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, at, libc::RWF_NOWAIT) };
        if n <= 0 {
            return None;
        }
        // SAFETY: the kernel wrote `n` more bytes right after the initialized ones, and
        // n <= rest.len(), so the new length stays within the capacity.
        unsafe { buf.set_len(filled + n as usize) };
    }
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_the_asked_bytes_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // Just written, so in the page cache, where RWF_NOWAIT is supported at all.
        let Some(whole) = read(&file, 0, data.len() as u64) else {
            eprintln!("skipped: this file system does not read with RWF_NOWAIT");
            return;
        };
        assert!(whole == data);
        assert_eq!(read(&file, 1_000, 10).unwrap(), &data[1_000..1_010]);
        // Past the end: nothing, never a short read taken for the whole.
        assert_eq!(read(&file, data.len() as u64 - 5, 10), None);

        // Dropped from the page cache: nothing, or (if the kernel kept it) the right bytes.
        file.sync_all().unwrap();
        // SAFETY: a plain advisory call on an open fd.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        if let Some(again) = read(&file, 0, data.len() as u64) {
            assert!(again == data);
        }
    }
}
