//! The served-log as an SBOM or a table: CycloneDX 1.5 JSON, SPDX 2.3 JSON, or CSV. Records of
//! the same artifact (ecosystem, purl and sha256) become one component, with how often and
//! when it was served.

use super::Record;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

/// What `larder served --format` and `/-/served?format=` produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Cyclonedx,
    Spdx,
    Csv,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Format> {
        match raw {
            "cyclonedx" => Some(Format::Cyclonedx),
            "spdx" => Some(Format::Spdx),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Cyclonedx => "application/vnd.cyclonedx+json; version=1.5",
            Format::Spdx => "application/spdx+json",
            Format::Csv => "text/csv; charset=utf-8; header=present",
        }
    }
}

/// One artifact, however often it was served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub purl: String,
    pub sha256: String,
    pub size: u64,
    pub count: u64,
    pub first_ms: u64,
    pub last_ms: u64,
    pub builds: BTreeSet<String>,
}

/// The records grouped by artifact, ordered by ecosystem, purl and digest.
pub fn components(records: &[Record]) -> Vec<Component> {
    let mut by_artifact: BTreeMap<(String, String, String), Component> = BTreeMap::new();
    for record in records {
        let key = (
            record.ecosystem.clone(),
            record.purl.clone(),
            record.sha256.clone(),
        );
        let component = by_artifact.entry(key).or_insert_with(|| Component {
            ecosystem: record.ecosystem.clone(),
            package: record.package.clone(),
            version: record.version.clone(),
            purl: record.purl.clone(),
            sha256: record.sha256.clone(),
            size: record.size,
            count: 0,
            first_ms: record.at_ms,
            last_ms: record.at_ms,
            builds: BTreeSet::new(),
        });
        component.count += 1;
        component.size = component.size.max(record.size);
        component.first_ms = component.first_ms.min(record.at_ms);
        component.last_ms = component.last_ms.max(record.at_ms);
        if let Some(build) = &record.build {
            component.builds.insert(build.clone());
        }
    }
    by_artifact.into_values().collect()
}

/// What the export covers, for its metadata.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub build: Option<String>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    /// When the export was made, unix milliseconds.
    pub now_ms: u64,
}

pub fn render(format: Format, components: &[Component], scope: &Scope) -> String {
    match format {
        Format::Cyclonedx => pretty(&cyclonedx(components, scope)),
        Format::Spdx => pretty(&spdx(components, scope)),
        Format::Csv => csv(components),
    }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn time(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// A UUID (version 4 layout) derived from the export's content, so the same export of the same
/// records names itself the same.
fn uuid(components: &[Component], scope: &Scope) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{scope:?}"));
    for c in components {
        hasher.update(format!("{}\n{}\n{}\n", c.purl, c.sha256, c.count));
    }
    let mut bytes: [u8; 16] = hasher.finalize()[..16].try_into().unwrap_or([0; 16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn scope_properties(scope: &Scope) -> Vec<Value> {
    let mut properties = Vec::new();
    if let Some(build) = &scope.build {
        properties.push(json!({"name": "larder:build", "value": build}));
    }
    if let Some(since) = scope.since_ms {
        properties.push(json!({"name": "larder:since", "value": time(since)}));
    }
    if let Some(until) = scope.until_ms {
        properties.push(json!({"name": "larder:until", "value": time(until)}));
    }
    properties
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// CycloneDX 1.5 JSON: one `library` component per artifact, with its purl and SHA-256; the
/// build id (and the time range) in `metadata.properties`.
pub fn cyclonedx(components: &[Component], scope: &Scope) -> Value {
    let entries: Vec<Value> = components
        .iter()
        .map(|c| {
            let mut properties = vec![
                json!({"name": "larder:ecosystem", "value": c.ecosystem}),
                json!({"name": "larder:served_count", "value": c.count.to_string()}),
                json!({"name": "larder:first_served", "value": time(c.first_ms)}),
                json!({"name": "larder:last_served", "value": time(c.last_ms)}),
            ];
            properties.extend(
                c.builds
                    .iter()
                    .map(|b| json!({"name": "larder:build", "value": b})),
            );
            let mut component = json!({
                "type": "library",
                "bom-ref": format!("{}#{}", c.purl, &c.sha256[..c.sha256.len().min(16)]),
                "name": c.package,
                "version": c.version,
                "purl": c.purl,
                "properties": properties,
            });
            if is_sha256(&c.sha256) {
                component["hashes"] = json!([{"alg": "SHA-256", "content": c.sha256}]);
            }
            component
        })
        .collect();
    let mut metadata = json!({
        "timestamp": time(scope.now_ms),
        "tools": {"components": [{
            "type": "application",
            "name": "larder",
            "version": env!("CARGO_PKG_VERSION"),
        }]},
    });
    let properties = scope_properties(scope);
    if !properties.is_empty() {
        metadata["properties"] = Value::Array(properties);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", uuid(components, scope)),
        "version": 1,
        "metadata": metadata,
        "components": entries,
    })
}

/// SPDX 2.3 JSON: one package per artifact (purl as a package-manager reference, SHA256
/// checksum), each described by the document.
pub fn spdx(components: &[Component], scope: &Scope) -> Value {
    let id = |index: usize| format!("SPDXRef-Package-{}", index + 1);
    let packages: Vec<Value> = components
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let mut package = json!({
                "SPDXID": id(index),
                "name": c.package,
                "versionInfo": c.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "externalRefs": [{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": c.purl,
                }],
                "comment": format!(
                    "served by larder ({}) {} time(s), first {}, last {}",
                    c.ecosystem, c.count, time(c.first_ms), time(c.last_ms)
                ),
            });
            if is_sha256(&c.sha256) {
                package["checksums"] = json!([{"algorithm": "SHA256", "checksumValue": c.sha256}]);
            }
            package
        })
        .collect();
    let relationships: Vec<Value> = (0..components.len())
        .map(|index| {
            json!({
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": id(index),
            })
        })
        .collect();
    let name = match &scope.build {
        Some(build) => format!("larder-served-build-{build}"),
        None => "larder-served".to_string(),
    };
    let mut comment = "What larder served".to_string();
    for property in scope_properties(scope) {
        comment.push_str(&format!(
            "; {} {}",
            property["name"].as_str().unwrap_or_default(),
            property["value"].as_str().unwrap_or_default()
        ));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://spdx.org/spdxdocs/{name}-{}", uuid(components, scope)),
        "comment": comment,
        "creationInfo": {
            "created": time(scope.now_ms),
            "creators": [format!("Tool: larder-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

/// CSV with a header row: one row per artifact.
pub fn csv(components: &[Component]) -> String {
    let mut out = String::from(
        "ecosystem,package,version,purl,sha256,size,count,first_served,last_served,builds\n",
    );
    for c in components {
        let builds = c.builds.iter().cloned().collect::<Vec<_>>().join(" ");
        let row = [
            c.ecosystem.clone(),
            c.package.clone(),
            c.version.clone(),
            c.purl.clone(),
            c.sha256.clone(),
            c.size.to_string(),
            c.count.to_string(),
            time(c.first_ms),
            time(c.last_ms),
            builds,
        ];
        let cells: Vec<String> = row.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A cell quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(purl: &str, sha: &str, at_ms: u64, build: &str) -> Record {
        Record {
            at_ms,
            ecosystem: "npm".into(),
            package: "left-pad".into(),
            version: "1.3.0".into(),
            purl: purl.into(),
            sha256: sha.into(),
            size: 10,
            client: "127.0.0.1".into(),
            token: None,
            outcome: "hit".into(),
            build: Some(build.into()),
        }
    }

    #[test]
    fn records_of_one_artifact_are_one_component_with_a_count() {
        let sha = "ab".repeat(32);
        let records = [
            record("pkg:npm/left-pad@1.3.0", &sha, 5, "a"),
            record("pkg:npm/left-pad@1.3.0", &sha, 2, "b"),
            record("pkg:npm/right-pad@1.0.0", &sha, 3, "a"),
        ];
        let all = components(&records);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].count, 2);
        assert_eq!((all[0].first_ms, all[0].last_ms), (2, 5));
        assert_eq!(all[0].builds.len(), 2);
        let bom = cyclonedx(&all, &Scope::default());
        assert_eq!(bom["components"].as_array().unwrap().len(), 2);
        assert_eq!(bom["components"][0]["hashes"][0]["content"], sha);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
