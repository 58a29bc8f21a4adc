//! The bytes of a fill that the disk could not take (it filled up half-way): kept in memory, a
//! bounded window behind the newest byte, so the fill's clients still get the whole download,
//! verified, only uncached.
//!
//! The window does not slow the upstream down: a client that falls more than [`WINDOW`] behind
//! is cut off (it retries, and its retry passes through uncached), so memory stays bounded
//! whatever the artifact's size. Clients on the builder's own network read far faster than an
//! upstream sends.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many bytes behind the newest one a spilled fill keeps for its clients.
pub const WINDOW: usize = 8 * 1024 * 1024;

#[derive(Default)]
pub struct Spill {
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    /// Offset of the first byte held.
    start: u64,
    chunks: VecDeque<Bytes>,
    held: usize,
}

/// A client asked for bytes the window no longer holds.
#[derive(Debug)]
pub struct FellBehind {
    pub at: u64,
    pub oldest: u64,
}

impl std::fmt::Display for FellBehind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the disk filled up during this download and this client fell more than {} MiB behind (at byte {}, oldest held {}); retry: the retry is served uncached",
            WINDOW >> 20,
            self.at,
            self.oldest
        )
    }
}

impl Spill {
    /// Starts the window at `offset`, the first byte that is not in the temp file.
    pub fn begin(&self, offset: u64) {
        let mut window = self.lock();
        window.start = offset;
        window.chunks.clear();
        window.held = 0;
    }

    /// Appends the next bytes, forgetting the oldest beyond [`WINDOW`].
    pub fn push(&self, chunk: Bytes) {
        let mut window = self.lock();
        window.held += chunk.len();
        window.chunks.push_back(chunk);
        while window.held > WINDOW && window.chunks.len() > 1 {
            if let Some(oldest) = window.chunks.pop_front() {
                window.held -= oldest.len();
                window.start += oldest.len() as u64;
            }
        }
    }

    /// The held bytes from `pos` up to `limit` (exclusive), at most one chunk's worth.
    pub fn read(&self, pos: u64, limit: u64) -> Result<Bytes, FellBehind> {
        let window = self.lock();
        if pos < window.start {
            return Err(FellBehind {
                at: pos,
                oldest: window.start,
            });
        }
        let mut chunk_start = window.start;
        for chunk in &window.chunks {
            let chunk_end = chunk_start + chunk.len() as u64;
            if pos < chunk_end {
                let from = (pos - chunk_start) as usize;
                let to = (limit.min(chunk_end) - chunk_start) as usize;
                return Ok(chunk.slice(from..to.max(from)));
            }
            chunk_start = chunk_end;
        }
        Ok(Bytes::new())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // A panic while holding the lock leaves the window consistent (every update is a
        // single push or pop), so a poisoned lock is still usable.
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_follow_the_window_and_fail_behind_it() {
        let spill = Spill::default();
        spill.begin(100);
        spill.push(Bytes::from(vec![1u8; 10]));
        spill.push(Bytes::from(vec![2u8; 10]));
        assert_eq!(spill.read(100, 200).unwrap(), vec![1u8; 10]);
        assert_eq!(spill.read(105, 112).unwrap(), vec![1u8; 5]);
        assert_eq!(spill.read(110, 115).unwrap(), vec![2u8; 5]);
        assert_eq!(spill.read(120, 130).unwrap(), Bytes::new(), "nothing yet");
        let big = Bytes::from(vec![3u8; WINDOW]);
        spill.push(big);
        let behind = spill.read(100, 200).unwrap_err();
        assert_eq!(behind.oldest, 120, "the two small chunks were forgotten");
        assert_eq!(spill.read(120, 121).unwrap(), vec![3u8]);
    }
}
