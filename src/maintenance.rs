//! `larder gc` and `larder verify`: the store's lifecycle from the command line. Both work on a
//! store while a larder serves from it (see [`crate::store::evict`] and
//! [`crate::store::verify`] for why that is safe), and neither opens it the way `serve` does
//! (which would sweep `tmp/`, where a running larder keeps its fills).

use crate::store::evict::{self, Policy, Reason};
use crate::store::{now_ms, scan, verify as check};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// A blob that no pointer refers to is left alone this long after it was written: a running
/// larder publishes a blob an instant before it writes its pointer.
const UNREFERENCED_GRACE: Duration = Duration::from_secs(60);

/// Removes what nothing can serve (blobs no pointer refers to, pointers whose blob is gone) and,
/// with `max_size`, the least recently used blobs until the rest fit. Prints one line per
/// removal and a summary to `out`.
pub fn gc(root: &Path, max_size: Option<u64>, dry_run: bool, out: &mut dyn Write) -> Result<()> {
    let started = Instant::now();
    let policy = Policy {
        target: max_size,
        now_ms: now_ms(),
        grace_ms: UNREFERENCED_GRACE.as_millis() as u64,
        // Another process's open files cannot be seen; removal is an unlink, so its readers
        // still get every byte.
        in_use: Default::default(),
    };
    let plan = evict::plan(root, &policy)?;
    let verb = if dry_run { "would remove" } else { "remove" };
    for victim in &plan.victims {
        let why = match victim.reason {
            Reason::Unreferenced => "no pointer refers to it".to_string(),
            Reason::LeastRecentlyUsed => format!(
                "last used {}",
                humantime::format_rfc3339_seconds(
                    UNIX_EPOCH + Duration::from_millis(victim.blob.used_ms)
                )
            ),
        };
        let keys: Vec<&str> = victim.pointers.iter().map(|(_, k)| k.as_str()).collect();
        writeln!(
            out,
            "{verb} blob {} ({}, {why}){}{}",
            victim.blob.sha256,
            human(victim.blob.size),
            if keys.is_empty() { "" } else { " for " },
            keys.join(", ")
        )?;
    }
    for (_, key) in &plan.dangling {
        writeln!(out, "{verb} pointer for {key}: its blob is gone")?;
    }
    let pointers =
        plan.dangling.len() + plan.victims.iter().map(|v| v.pointers.len()).sum::<usize>();
    let limit = match max_size {
        Some(max) => format!("max_size {}", human(max)),
        None => "no max_size: only what nothing can serve is removed".into(),
    };
    if dry_run {
        writeln!(
            out,
            "gc --dry-run: would free {} in {} blobs and {pointers} pointers; {} blobs ({}) would remain, the data dir taking {} on disk ({limit}); nothing was changed",
            human(plan.freed()),
            plan.victims.len(),
            plan.blob_count - plan.victims.len(),
            human(plan.total_after()),
            human(plan.disk_after()),
        )?;
        return Ok(());
    }
    let removed = evict::apply(root, &plan)?;
    writeln!(
        out,
        "gc: freed {} in {} blobs and {} pointers in {:.1} s; the blobs now take {}, the data dir {} on disk ({limit})",
        human(removed.bytes),
        removed.blobs,
        removed.pointers,
        started.elapsed().as_secs_f64(),
        human(plan.total_before - removed.bytes),
        human(scan::disk_usage(root)?),
    )?;
    Ok(())
}

/// Re-hashes every blob and checks every pointer; prints each damage to `out`. Returns an error
/// (a non-zero exit) when damage is left unrepaired.
pub fn verify(root: &Path, repair: bool, out: &mut dyn Write) -> Result<()> {
    let started = Instant::now();
    let (count, bytes) = check::size(root)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "verify {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .context("progress bar template")?,
        );
        let report = check::verify(root, repair, threads, &|n| bar.inc(n));
        bar.finish_and_clear();
        report
    } else {
        let done = AtomicU64::new(0);
        let tenths = AtomicU64::new(0);
        eprintln!("verify: {count} blobs, {}", human(bytes));
        check::verify(root, repair, threads, &|n| {
            let done = done.fetch_add(n, Ordering::Relaxed) + n;
            let now = (done * 10).checked_div(bytes).unwrap_or(10);
            if tenths.fetch_max(now, Ordering::Relaxed) < now {
                eprintln!(
                    "verify: {}% ({} of {})",
                    now * 10,
                    human(done),
                    human(bytes)
                );
            }
        })
    }
    .with_context(|| format!("verify {}", root.display()))?;
    for damage in &report.damage {
        writeln!(out, "{damage}")?;
    }
    let found = report.damage.len();
    writeln!(
        out,
        "verify: {} blobs ({}) and {} pointers checked in {:.1} s; {found} damaged{}",
        report.blobs,
        human(report.bytes),
        report.pointers,
        started.elapsed().as_secs_f64(),
        match (found, repair) {
            (0, _) => String::new(),
            (_, true) => format!(
                ", {} repaired (removed; the next request refetches)",
                report.repaired
            ),
            (_, false) => String::new(),
        }
    )?;
    if repair && report.repaired < found {
        bail!(
            "{} damaged objects could not be repaired (changed while verify ran?); run `larder verify --repair` again",
            found - report.repaired
        );
    }
    if !repair && found > 0 {
        bail!("{found} damaged objects found; run `larder verify --repair` to remove them so the next request refetches them");
    }
    Ok(())
}

/// Checks that `root` is a store before anything reads it.
pub fn check_store(root: &Path) -> Result<()> {
    scan::blobs_dir(root)?;
    Ok(())
}

/// `70.0 KiB`, `1.5 GiB`, `512 B`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
