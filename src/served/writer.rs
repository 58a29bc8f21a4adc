//! The one thread that writes the served-log: JSON lines appended to numbered files
//! (`served-0000000001.jsonl`, …), a new file past `max_file_size`, the oldest removed past
//! `files`. Nothing is ever renamed, so a reader listing the folder while it is written sees
//! each file once.
//!
//! Each batch of lines goes out in one `write` (whole lines: a process killed mid-write leaves
//! at most a torn last line, which [`super::read`] skips), and each start opens a new file, so
//! nothing is ever appended to a torn line.

use super::{Counters, Record};
use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

/// Records written per `write` at most: a burst drains in a few calls.
const BATCH: usize = 256;

/// How long the writer lets records gather after the first of a batch. A sender wakes the
/// writer only when it is blocked waiting; asleep here, it is not woken at all. Without the
/// pause, every hit woke this thread (a futex wake and two context switches per request: a
/// fifth of larder's CPU time under `wrk`) to write a single line. The queue holds far more
/// than arrives in this time at any rate larder serves.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

pub enum Message {
    Record(Box<Record>),
    /// Answered once every record queued before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The log's folder, and the file being appended to.
pub struct Files {
    dir: PathBuf,
    max_file_size: u64,
    keep: usize,
    current: File,
    current_len: u64,
    current_seq: u64,
}

/// The sequence number of a log file's name, if it is one.
pub fn sequence(name: &str) -> Option<u64> {
    name.strip_prefix("served-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

/// The log's files in `dir`, oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        if let Some(seq) = entry.file_name().to_str().and_then(sequence) {
            files.push((seq, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

impl Files {
    /// Opens a new file after the ones `dir` holds, and removes the oldest past `keep`.
    pub fn open(dir: &Path, max_file_size: u64, keep: usize) -> Result<Files> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create the served-log folder {}; check data_dir's permissions",
                dir.display()
            )
        })?;
        let next = list(dir)?.last().map_or(1, |(seq, _)| seq + 1);
        let (current, path) = create(dir, next)?;
        let files = Files {
            dir: dir.to_path_buf(),
            max_file_size,
            keep: keep.max(1),
            current,
            current_len: 0,
            current_seq: next,
        };
        files.prune();
        tracing::debug!(file = %path.display(), "served-log opened");
        Ok(files)
    }

    /// Appends whole lines, moving to a new file first when these would take the current one
    /// past its size (a file always takes at least one batch).
    pub fn append(&mut self, lines: &[u8]) -> std::io::Result<()> {
        if self.current_len > 0 && self.current_len + lines.len() as u64 > self.max_file_size {
            let (file, _) =
                create(&self.dir, self.current_seq + 1).map_err(std::io::Error::other)?;
            self.current = file;
            self.current_seq += 1;
            self.current_len = 0;
            self.prune();
        }
        self.current.write_all(lines)?;
        self.current_len += lines.len() as u64;
        Ok(())
    }

    /// Removes the oldest files past `keep`.
    fn prune(&self) {
        let Ok(files) = list(&self.dir) else {
            return;
        };
        let excess = files.len().saturating_sub(self.keep);
        for (_, path) in files.into_iter().take(excess) {
            if let Err(err) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %err, "could not remove an old served-log file");
            }
        }
    }
}

fn create(dir: &Path, seq: u64) -> Result<(File, PathBuf)> {
    let path = dir.join(format!("served-{seq:010}.jsonl"));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot create served-log file {}; check data_dir's permissions and free space",
                path.display()
            )
        })?;
    Ok((file, path))
}

/// Starts the writer thread; the sender is the log's queue.
pub fn spawn(files: Files, counters: Arc<Counters>, queue: usize) -> Result<SyncSender<Message>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(queue);
    std::thread::Builder::new()
        .name("larder-served-log".into())
        .spawn(move || run(files, &counters, rx))
        .context("cannot start the served-log writer thread")?;
    Ok(tx)
}

fn run(mut files: Files, counters: &Counters, rx: Receiver<Message>) {
    let mut warned = false;
    while let Ok(first) = rx.recv() {
        if matches!(first, Message::Record(_)) {
            std::thread::sleep(GATHER);
        }
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => batch.push(*record),
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            write_batch(&mut files, counters, &batch, &mut warned);
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn write_batch(files: &mut Files, counters: &Counters, batch: &[Record], warned: &mut bool) {
    let mut lines = Vec::with_capacity(batch.len() * 320);
    for record in batch {
        // A record of strings and numbers always serializes.
        if serde_json::to_writer(&mut lines, record).is_ok() {
            lines.push(b'\n');
        }
    }
    match files.append(&lines) {
        Ok(()) => {
            *warned = false;
            batch
                .iter()
                .for_each(|record| counters.note_written(record));
        }
        Err(err) => {
            counters.dropped.inc_by(batch.len() as u64);
            if !*warned {
                tracing::warn!(error = %err, dir = %files.dir.display(), "could not write the served-log; records are dropped (larder_served_log_dropped_total) until a write succeeds");
                *warned = true;
            }
        }
    }
}
