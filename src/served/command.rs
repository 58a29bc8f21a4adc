//! `larder served`: the served-log of a data dir, read offline (a running larder may be writing
//! it meanwhile), exported to standard output.

use super::export::{self, Format};
use super::read::{self, Filter};
use anyhow::Result;
use std::io::Write;
use std::path::Path;

/// What the command was asked for.
pub struct Request<'a> {
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub build: Option<&'a str>,
    pub format: Format,
}

/// Writes the export to `out`; says on stderr what it skipped and when nothing matched.
pub fn run(data_dir: &Path, request: &Request<'_>, out: &mut impl Write) -> Result<()> {
    let filter = Filter {
        since_ms: request
            .since
            .map(|raw| read::parse_time("--since", raw))
            .transpose()?,
        until_ms: request
            .until
            .map(|raw| read::parse_time("--until", raw))
            .transpose()?,
        build: request
            .build
            .map(|raw| super::BuildId::parse(raw).map(|id| id.to_string()))
            .transpose()
            .map_err(|why| anyhow::anyhow!("--build: {why}"))?,
    };
    let dir = super::dir(data_dir);
    let read = read::read(&dir, &filter)?;
    if read.skipped > 0 {
        eprintln!(
            "larder: skipped {} torn or unreadable line(s) in {} (a write cut short by a kill)",
            read.skipped,
            dir.display()
        );
    }
    if read.records.is_empty() {
        eprintln!(
            "larder: no record in {} matches; the export is empty",
            dir.display()
        );
    }
    let scope = export::Scope {
        build: filter.build.clone(),
        since_ms: filter.since_ms,
        until_ms: filter.until_ms,
        now_ms: crate::store::now_ms(),
    };
    let components = export::components(&read.records);
    out.write_all(export::render(request.format, &components, &scope).as_bytes())?;
    Ok(())
}
