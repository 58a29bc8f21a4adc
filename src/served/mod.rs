//! The served-log: a record of every artifact larder served, so that "what did build X
//! install?" has an answer afterwards (`larder served`, `/-/served`).
//!
//! One [`Record`] per artifact response whose body went out whole (metadata is not recorded).
//! The hit path only hands the record to a bounded channel ([`ServedLog::record`]): a dedicated
//! writer thread ([`writer`]) appends it to JSON-lines files under `<data_dir>/served/`,
//! rotated by size, a fixed number kept. A full channel drops the record and counts it
//! (`larder_served_log_dropped_total`): the log never slows or fails a download.
//!
//! - [`build_id`]: the `/b/<build-id>/` path prefix and the `X-Larder-Build` header.
//! - [`hook`]: the response body that records when its last byte is handed to the connection.
//! - [`read`]: the files read back, a torn last line skipped.
//! - [`export`]: CycloneDX, SPDX and CSV.
//!
//! Its `[served]` section is read by `crate::served_config`.
//! - [`command`]: `larder served`.

pub mod build_id;
pub mod command;
pub mod export;
pub mod hook;
pub mod read;
mod writer;

pub use crate::served_config::ServedSettings;
pub use build_id::BuildId;

use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Records the hit path may queue before the writer has caught up; past it, records are dropped
/// (and counted). A record is a few hundred bytes, so this is about 2 MB at most.
const QUEUE: usize = 8192;

/// The folder of the log's files, inside the data dir.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("served")
}

/// One artifact served: one line of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When the body completed, unix milliseconds.
    pub at_ms: u64,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub purl: String,
    /// Hex sha256 of the bytes served; empty when not known.
    pub sha256: String,
    /// Bytes sent.
    pub size: u64,
    /// The client's address (the TCP peer).
    pub client: String,
    /// Which `[access]` token authenticated the request (its fingerprint, never the token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How the cache answered: `hit`, `stale`, `miss`, `coalesced`, `bypass`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
}

/// The handle request handlers hold: cheap to clone, never blocks.
#[derive(Clone)]
pub struct ServedLog {
    queue: Option<SyncSender<writer::Message>>,
    counters: Arc<Counters>,
}

/// What the writer counts, for `/-/metrics` and the status page.
pub struct Counters {
    pub written: Counter,
    pub dropped: Counter,
    today: Mutex<Today>,
}

/// The status page's line: records written today (UTC) and the builds they named.
#[derive(Default)]
struct Today {
    day: u64,
    records: u64,
    builds: BTreeSet<String>,
}

/// Records written today (UTC), and how many distinct builds they named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TodaySummary {
    pub records: u64,
    pub builds: usize,
}

impl Counters {
    pub fn new(written: Counter, dropped: Counter) -> Counters {
        Counters {
            written,
            dropped,
            today: Mutex::default(),
        }
    }

    fn note_written(&self, record: &Record) {
        self.written.inc();
        let day = record.at_ms / 86_400_000;
        let Ok(mut today) = self.today.lock() else {
            return;
        };
        if today.day != day {
            *today = Today {
                day,
                ..Today::default()
            };
        }
        today.records += 1;
        if let Some(build) = &record.build {
            if !today.builds.contains(build) {
                today.builds.insert(build.clone());
            }
        }
    }

    pub fn today(&self) -> TodaySummary {
        let day = crate::store::now_ms() / 86_400_000;
        match self.today.lock() {
            Ok(today) if today.day == day => TodaySummary {
                records: today.records,
                builds: today.builds.len(),
            },
            _ => TodaySummary::default(),
        }
    }
}

impl ServedLog {
    /// Starts the writer thread over `<data_dir>/served/`.
    pub fn start(
        data_dir: &Path,
        settings: &ServedSettings,
        counters: Arc<Counters>,
    ) -> anyhow::Result<ServedLog> {
        if !settings.enabled {
            return Ok(ServedLog::disabled(counters));
        }
        let files = writer::Files::open(&dir(data_dir), settings.max_file_size, settings.files)?;
        let queue = writer::spawn(files, counters.clone(), QUEUE)?;
        Ok(ServedLog {
            queue: Some(queue),
            counters,
        })
    }

    /// A log that records nothing (`[served] enabled = false`).
    pub fn disabled(counters: Arc<Counters>) -> ServedLog {
        ServedLog {
            queue: None,
            counters,
        }
    }

    pub fn enabled(&self) -> bool {
        self.queue.is_some()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queues a record for the writer; when the queue is full (the disk is slower than the
    /// downloads), the record is dropped and counted rather than waited for.
    pub fn record(&self, record: Record) {
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.try_send(writer::Message::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.inc();
            }
        }
    }

    /// Waits (at most `within`) until every record queued so far is written, so an export
    /// includes the downloads that just finished. Returns whether it was.
    pub async fn flush(&self, within: std::time::Duration) -> bool {
        let Some(queue) = self.queue.clone() else {
            return true;
        };
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        // `send` waits for room in the queue: on the blocking pool, never on a worker.
        let sent = tokio::task::spawn_blocking(move || {
            queue.send(writer::Message::Flush(done_tx)).is_ok()
        });
        let waited = async { matches!(sent.await, Ok(true)) && done_rx.await.is_ok() };
        tokio::time::timeout(within, waited).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn record(n: u64) -> Record {
        Record {
            at_ms: crate::store::now_ms(),
            ecosystem: "npm".into(),
            package: format!("package-{n}"),
            version: "1.0.0".into(),
            purl: format!("pkg:npm/package-{n}@1.0.0"),
            sha256: "ab".repeat(32),
            size: n,
            client: "127.0.0.1".into(),
            token: None,
            outcome: "hit".into(),
            build: Some("ci-1".into()),
        }
    }

    /// A writer stuck in a write (a disk that does not answer) is a queue nobody drains: the
    /// hit path's `record` must return at once and count what does not fit.
    #[test]
    fn a_stuck_writer_never_blocks_the_hit_path() {
        let (queue, _stuck_writer) = std::sync::mpsc::sync_channel(QUEUE);
        let counters = Arc::new(Counters::new(Counter::default(), Counter::default()));
        let log = ServedLog {
            queue: Some(queue),
            counters,
        };
        let started = Instant::now();
        let attempts = QUEUE as u64 + 5000;
        for n in 0..attempts {
            log.record(record(n));
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "{attempts} records took {took:?} with the writer stuck"
        );
        assert_eq!(log.counters().dropped.get(), 5000);
    }

    #[test]
    fn the_files_stay_within_their_bound() {
        let dir = tempfile::tempdir().unwrap();
        let settings = ServedSettings {
            enabled: true,
            max_file_size: 8192,
            files: 3,
        };
        let counters = Arc::new(Counters::new(Counter::default(), Counter::default()));
        let log = ServedLog::start(dir.path(), &settings, counters).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for n in 0..2000 {
            log.record(record(n));
            if n % 100 == 0 {
                assert!(runtime.block_on(log.flush(Duration::from_secs(5))));
            }
        }
        assert!(runtime.block_on(log.flush(Duration::from_secs(5))));
        let files = writer::list(&super::dir(dir.path())).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        let total: u64 = files
            .iter()
            .map(|(_, path)| std::fs::metadata(path).unwrap().len())
            .sum();
        // A file takes whole batches (of at most `writer::BATCH` records), so one may go past.
        assert!(total <= 3 * (8192 + 256 * 400), "{total} bytes on disk");
        assert!(files[0].0 > 1, "the oldest files were removed: {files:?}");
        let read = read::read(&super::dir(dir.path()), &read::Filter::default()).unwrap();
        assert_eq!(read.skipped, 0);
        assert_eq!(
            read.records.last().unwrap().size,
            1999,
            "the newest are kept"
        );
        assert_eq!(log.counters().written.get(), 2000);
        assert_eq!(log.counters().today().records, 2000);
        assert_eq!(log.counters().today().builds, 1);
    }
}
