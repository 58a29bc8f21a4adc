//! `deny_file`: OSV records (the OpenSSF malicious-packages repository's `MAL-` records, or any
//! OSV advisory) in their JSON form, re-read when they change.
//!
//! The path is one `.json` file holding a record or an array of records, or a directory whose
//! `*.json` files (searched recursively, as the malicious-packages repository lays them out)
//! hold one record each (or an array). Changes are found by polling: every [`POLL_EVERY`]
//! ([`POLL_MANY_EVERY`] for a directory of more than [`MANY_FILES`]) a thread of its own
//! compares the newest modification time, the number of files and their total size with the
//! last load's, and reloads when they differ. Polling rather than
//! inotify: no watcher thread or extra dependency, it works on bind mounts and network
//! filesystems (where inotify sees nothing), and a `git pull` or `cp` of the records is seen
//! within seconds. A file that cannot be read or parsed keeps the previous records in force
//! (logged as an error): a bad update never silently lifts the list.

use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// How often the records' files are checked for changes.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How often, for a directory of more than [`MANY_FILES`] (a whole malicious-packages
/// checkout: about 200 000 files, a `stat` each).
pub const POLL_MANY_EVERY: Duration = Duration::from_secs(60);
pub const MANY_FILES: usize = 10_000;

/// One affected package of one record.
#[derive(Clone, Debug)]
pub struct Affected {
    /// The record's id (`MAL-2024-1234`).
    pub id: String,
    pub versions: Vec<String>,
    /// Each an ordered list of events.
    pub ranges: Vec<Vec<Event>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
}

/// The records as loaded: by (OSV ecosystem, package name in the ecosystem's canonical form).
#[derive(Default, Debug)]
pub struct Records {
    pub by_package: HashMap<(String, String), Vec<Affected>>,
    pub count: usize,
    /// The OSV ecosystems any record names, so that an ecosystem without records skips them.
    pub ecosystems: std::collections::HashSet<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Record>),
    One(Box<Record>),
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    affected: Vec<RecordAffected>,
}

#[derive(Deserialize)]
struct RecordAffected {
    package: Option<RecordPackage>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ranges: Vec<RecordRange>,
}

#[derive(Deserialize)]
struct RecordPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct RecordRange {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The deny file, re-read when it changes.
pub struct DenyFile {
    path: PathBuf,
    canonical: Canonical,
    records: RwLock<Arc<Records>>,
    /// What the files looked like at the last look.
    checked: Mutex<Option<Stamp>>,
}

/// A package name in its ecosystem's canonical form, by OSV ecosystem name (PyPI's
/// `Foo_Bar` is `foo-bar`), so that a lookup is one hash probe.
pub type Canonical = Box<dyn Fn(&str, &str) -> String + Send + Sync>;

/// What a change of the files changes: the newest modification time and how many there are.
type Stamp = (SystemTime, usize, u64);

impl DenyFile {
    /// Loads the records; an unreadable path at start-up is an error (a typo must not start a
    /// larder that denies nothing).
    pub fn open(path: &Path, canonical: Canonical) -> anyhow::Result<DenyFile> {
        let stamp = stamp(path).map_err(|err| {
            anyhow::anyhow!(
                "[policy] deny_file {}: {err}; point it at an OSV JSON file or a directory of them",
                path.display()
            )
        })?;
        let records = load(path, &canonical)
            .map_err(|err| anyhow::anyhow!("[policy] deny_file {}: {err}", path.display()))?;
        tracing::info!(path = %path.display(), records = records.count, "deny file loaded");
        Ok(DenyFile {
            path: path.to_path_buf(),
            canonical,
            records: RwLock::new(Arc::new(records)),
            checked: Mutex::new(Some(stamp)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The records in force.
    pub fn current(&self) -> Arc<Records> {
        self.records
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Checks the files every [`POLL_EVERY`] on a thread of its own (a `stat` per file, off
    /// the request path), for as long as `this` is in use.
    pub fn watch(this: &Arc<DenyFile>) {
        let weak = Arc::downgrade(this);
        let spawned = std::thread::Builder::new()
            .name("larder-deny-file".into())
            .spawn(move || {
                let mut pause = POLL_EVERY;
                loop {
                    std::thread::sleep(pause);
                    let Some(deny_file) = weak.upgrade() else {
                        return;
                    };
                    let files = deny_file.reload_if_changed();
                    pause = match files > MANY_FILES {
                        true => POLL_MANY_EVERY,
                        false => POLL_EVERY,
                    };
                }
            });
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot start the deny file's watcher; changes to it need a restart");
        }
    }

    /// Reloads the records if the files changed since the last look; says how many files
    /// there are.
    pub fn reload_if_changed(&self) -> usize {
        let now = stamp(&self.path).ok();
        let files = now.map_or(0, |(_, files, _)| files);
        {
            let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
            if now == *checked {
                return files;
            }
            *checked = now;
        }
        match load(&self.path, &self.canonical) {
            Ok(records) => {
                tracing::info!(path = %self.path.display(), records = records.count, "deny file reloaded");
                *self.records.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(records);
            }
            Err(err) => tracing::error!(
                path = %self.path.display(), %err,
                "deny file changed but cannot be read; the previous records stay in force"
            ),
        }
        files
    }
}

fn json_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        std::fs::metadata(path)?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let files = json_files(path)?;
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut bytes = 0;
    for file in &files {
        let meta = std::fs::metadata(file)?;
        newest = newest.max(meta.modified()?);
        bytes += meta.len();
    }
    Ok((newest, files.len(), bytes))
}

fn load(path: &Path, canonical: &Canonical) -> Result<Records, String> {
    let mut records = Records::default();
    for file in json_files(path).map_err(|e| e.to_string())? {
        let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let parsed: OneOrMany = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "{} is not an OSV record or an array of them: {e}",
                file.display()
            )
        })?;
        let list = match parsed {
            OneOrMany::Many(list) => list,
            OneOrMany::One(one) => vec![*one],
        };
        for record in list {
            if record.withdrawn.is_some() {
                continue;
            }
            records.count += 1;
            for affected in record.affected {
                let Some(package) = affected.package else {
                    continue;
                };
                records.ecosystems.insert(package.ecosystem.clone());
                let ranges = affected
                    .ranges
                    .into_iter()
                    .filter(|range| range.kind != "GIT")
                    .map(|range| range.events.into_iter().filter_map(event).collect())
                    .collect();
                records
                    .by_package
                    .entry((
                        package.ecosystem.clone(),
                        canonical(&package.ecosystem, &package.name),
                    ))
                    .or_default()
                    .push(Affected {
                        id: record.id.clone(),
                        versions: affected.versions,
                        ranges,
                    });
            }
        }
    }
    Ok(records)
}

fn event(map: serde_json::Map<String, serde_json::Value>) -> Option<Event> {
    let (kind, value) = map.into_iter().next()?;
    let value = value.as_str()?.to_string();
    match kind.as_str() {
        "introduced" => Some(Event::Introduced(value)),
        "fixed" => Some(Event::Fixed(value)),
        "last_affected" => Some(Event::LastAffected(value)),
        _ => None,
    }
}

impl Affected {
    /// Whether `version` is affected: listed, or inside a range (from an `introduced` to the
    /// next `fixed` or through the next `last_affected`; `introduced: "0"` is the first
    /// version). A bound the ecosystem cannot order counts as affected: fail closed.
    pub fn includes(
        &self,
        version: &str,
        compare: &dyn Fn(&str, &str) -> Option<std::cmp::Ordering>,
    ) -> bool {
        use std::cmp::Ordering::*;
        if self.versions.iter().any(|v| v == version) {
            return true;
        }
        for events in &self.ranges {
            let mut inside = false;
            for event in events {
                match event {
                    Event::Introduced(bound)
                        if bound == "0" || compare(version, bound) != Some(Less) =>
                    {
                        inside = true;
                    }
                    Event::Fixed(bound) if inside => {
                        if compare(version, bound).is_some_and(|o| o != Less) {
                            inside = false;
                        } else {
                            return true;
                        }
                    }
                    Event::LastAffected(bound) if inside => {
                        if compare(version, bound).is_some_and(|o| o == Greater) {
                            inside = false;
                        } else {
                            return true;
                        }
                    }
                    _ => {}
                }
            }
            if inside {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(a: &str, b: &str) -> Option<std::cmp::Ordering> {
        larder_adapter::versions::compare_semver(a, b)
    }

    #[test]
    fn ranges_cover_from_introduced_to_fixed() {
        let affected = Affected {
            id: "MAL-1".into(),
            versions: vec!["0.0.1".into()],
            ranges: vec![vec![
                Event::Introduced("1.0.0".into()),
                Event::Fixed("1.2.0".into()),
                Event::Introduced("2.0.0".into()),
                Event::LastAffected("2.1.0".into()),
            ]],
        };
        let hit = |v: &str| affected.includes(v, &compare);
        assert!(hit("0.0.1") && hit("1.0.0") && hit("1.1.9") && hit("2.1.0"));
        assert!(!hit("0.9.0") && !hit("1.2.0") && !hit("1.5.0") && !hit("2.1.1"));
        let everything = Affected {
            id: "MAL-2".into(),
            versions: vec![],
            ranges: vec![vec![Event::Introduced("0".into())]],
        };
        assert!(everything.includes("9.9.9", &compare));
    }

    #[test]
    fn a_directory_of_records_and_an_array_file_load_alike() {
        let dir = tempfile::tempdir().unwrap();
        let one = r#"{"id":"MAL-2024-1","affected":[{"package":{"ecosystem":"npm","name":"evil"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#;
        std::fs::create_dir_all(dir.path().join("npm/evil")).unwrap();
        std::fs::write(dir.path().join("npm/evil/MAL-2024-1.json"), one).unwrap();
        std::fs::write(dir.path().join("README.md"), "not a record").unwrap();
        let same: Canonical = Box::new(|_, name| name.to_string());
        let records = load(dir.path(), &same).unwrap();
        assert_eq!(records.count, 1);
        assert!(records
            .by_package
            .contains_key(&("npm".to_string(), "evil".to_string())));
        let file = dir.path().join("all.json");
        std::fs::write(
            &file,
            format!("[{one}, {}]", one.replace("MAL-2024-1", "MAL-2024-2")),
        )
        .unwrap();
        assert_eq!(load(&file, &same).unwrap().count, 2);
        std::fs::write(&file, "{broken").unwrap();
        assert!(load(&file, &same).is_err());
    }
}
