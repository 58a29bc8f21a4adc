//! Pinned requirements and which file of a project's page satisfies them: what `larder warm`
//! fetches for PyPI.
//!
//! Pure. [`requirements_txt`] and [`uv_lock`] read the pins (name, version, allowed sha256s);
//! [`choose`] picks, from a project's PEP 691 JSON page, the wheel whose tags rank best for the
//! target ([`Tags`]), else the sdist. Malformed input is an error naming the line, never a panic.

use crate::name::normalize;
use larder_adapter::{Fetch, Lockfile, Match, Probe, PythonTarget, Target};
use std::fmt;

/// The formats `larder warm` reads for PyPI. Each pin is a [`Fetch::Pick`]: its project's JSON
/// page, then the file [`choose`] picks there for the target's wheel tags.
pub const LOCKFILES: [Lockfile; 2] = [
    Lockfile {
        kind: "requirements*.txt",
        recognize: |name, _| name.ends_with(".txt").then_some(Match::Pattern),
        parse: |bytes, _| Ok(requirements_txt(bytes)?.into_iter().map(pick).collect()),
        needs: &[Probe::Python],
    },
    Lockfile {
        kind: "uv.lock",
        recognize: |name, _| (name == "uv.lock").then_some(Match::Name),
        parse: |bytes, _| Ok(uv_lock(bytes)?.into_iter().map(pick).collect()),
        needs: &[Probe::Python],
    },
];

/// The page of `pin`'s project, and the file (with its `.metadata`, which pip fetches first
/// when the page declares it) that fits the target.
fn pick(pin: Pin) -> Fetch {
    Fetch::Pick {
        label: format!("{}=={}", pin.name, pin.version),
        path: format!("simple/{}/", pin.name),
        headers: vec![("accept", "application/vnd.pypi.simple.v1+json".to_string())],
        pick: Box::new(move |page, target| {
            let chosen = choose(page, &pin, &Tags::for_target(target)?)?;
            let mut urls = vec![chosen.url.clone()];
            if chosen.metadata {
                urls.push(metadata_url(&chosen.url));
            }
            Ok(urls)
        }),
    }
}

/// `<file URL>.metadata` (PEP 658), keeping any query and fragment after it.
fn metadata_url(file_url: &str) -> String {
    let end = file_url.find(['?', '#']).unwrap_or(file_url.len());
    format!("{}.metadata{}", &file_url[..end], &file_url[end..])
}

impl From<PinError> for larder_adapter::LockfileError {
    fn from(err: PinError) -> Self {
        larder_adapter::LockfileError(err.0)
    }
}

/// One pinned distribution.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pin {
    /// Normalized (PEP 503) project name.
    pub name: String,
    pub version: String,
    /// Lowercase hex sha256s the lockfile allows; empty when it lists none.
    pub hashes: Vec<String>,
}

/// Why a lockfile or page could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinError(pub String);

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PinError {}

/// The target's supported wheel tags `(python, abi, platform)`, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(pub Vec<(String, String, String)>);

impl Tags {
    /// The tags of the target warm learned about; an error when it learned nothing.
    pub fn for_target(target: &Target) -> Result<Tags, PinError> {
        match &target.python {
            Some(PythonTarget::Tags(lines)) => Ok(Tags::from_lines(&lines.join("\n"))),
            Some(PythonTarget::Version {
                major,
                minor,
                platforms,
            }) => Ok(Tags::for_cpython(*major, *minor, platforms)),
            None => Err(PinError(
                "the target's Python is unknown; pass --python-version (and --platform)".into(),
            )),
        }
    }

    /// Parses `py-abi-plat` lines (as `packaging.tags.sys_tags()` prints them), best first.
    pub fn from_lines(text: &str) -> Tags {
        Tags(
            text.lines()
                .filter_map(|line| {
                    let mut parts = line.trim().splitn(3, '-');
                    Some((
                        parts.next()?.to_string(),
                        parts.next()?.to_string(),
                        parts.next().filter(|p| !p.is_empty())?.to_string(),
                    ))
                })
                .collect(),
        )
    }

    /// The tags of CPython `major.minor` on `platforms` (e.g. `manylinux_2_17_x86_64`), best
    /// first, in the order pip ranks them: the interpreter's ABI, abi3, no ABI, then pure Python.
    pub fn for_cpython(major: u32, minor: u32, platforms: &[String]) -> Tags {
        let cp = format!("cp{major}{minor}");
        let mut tags = Vec::new();
        let mut push = |py: &str, abi: &str, plat: &str| {
            tags.push((py.to_string(), abi.to_string(), plat.to_string()))
        };
        for plat in platforms {
            push(&cp, &cp, plat);
            push(&cp, "abi3", plat);
            push(&cp, "none", plat);
            for older in (2..minor).rev() {
                push(&format!("cp{major}{older}"), "abi3", plat);
            }
        }
        for plat in platforms {
            push(&format!("py{major}{minor}"), "none", plat);
            push(&format!("py{major}"), "none", plat);
            for older in (0..minor).rev() {
                push(&format!("py{major}{older}"), "none", plat);
            }
        }
        push(&cp, "none", "any");
        push(&format!("py{major}{minor}"), "none", "any");
        push(&format!("py{major}"), "none", "any");
        for older in (0..minor).rev() {
            push(&format!("py{major}{older}"), "none", "any");
        }
        Tags(tags)
    }

    /// The rank of a wheel's best tag (lower is better), or `None` if none is supported.
    fn rank(&self, wheel: &WheelName) -> Option<usize> {
        let mut best = None;
        for py in wheel.python.split('.') {
            for abi in wheel.abi.split('.') {
                for plat in wheel.platform.split('.') {
                    let found = self
                        .0
                        .iter()
                        .position(|(p, a, f)| p == py && a == abi && f == plat);
                    if let Some(rank) = found {
                        best = Some(best.map_or(rank, |b: usize| b.min(rank)));
                    }
                }
            }
        }
        best
    }
}

/// Pins of a `requirements.txt` (as `pip freeze`, `pip-compile` or `uv pip compile` write it):
/// `name==version` or `name===version`, extras and markers allowed, `--hash=sha256:…` kept.
/// Option lines (`-r`, `--index-url`, `-e`) and direct URLs are skipped; a requirement that is
/// not pinned is an error, since warm cannot know which version a resolver would pick.
pub fn requirements_txt(bytes: &[u8]) -> Result<Vec<Pin>, PinError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PinError("requirements file is not UTF-8".into()))?;
    // Join continuation lines, remembering where each logical line started.
    let mut logical: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
            Some(at) => &raw[..at],
            None => raw,
        };
        let (line, continues) = match line.trim_end().strip_suffix('\\') {
            Some(line) => (line, true),
            None => (line, false),
        };
        let entry = pending.get_or_insert_with(|| (index + 1, String::new()));
        entry.1.push(' ');
        entry.1.push_str(line);
        if !continues {
            logical.extend(pending.take());
        }
    }
    logical.extend(pending.take());

    let mut pins = Vec::new();
    for (number, line) in logical {
        let mut words = line.split_whitespace().peekable();
        let Some(first) = words.peek().copied() else {
            continue;
        };
        if first.starts_with('-') {
            continue;
        }
        let bad = |why: &str| {
            PinError(format!(
                "requirements line {number}: {why}: {}",
                line.trim()
            ))
        };
        let mut hashes = Vec::new();
        let mut spec = String::new();
        for word in words {
            if let Some(hash) = word.strip_prefix("--hash=") {
                match hash.split_once(':') {
                    Some(("sha256", hex)) if is_sha256(hex) => {
                        hashes.push(hex.to_ascii_lowercase())
                    }
                    Some((_, _)) => {} // pip accepts sha384/sha512 too; larder picks by sha256 only
                    None => return Err(bad("--hash needs <algorithm>:<hex>")),
                }
            } else if word.starts_with("--") {
                continue;
            } else {
                spec.push_str(word);
            }
        }
        let spec = spec.split(';').next().unwrap_or("");
        if spec.contains(" @ ") || spec.contains('@') && spec.contains("://") {
            continue; // a direct URL: not the index's
        }
        let (name, version) = match spec.split_once("===").or_else(|| spec.split_once("==")) {
            Some((name, version)) => (name, version),
            None => {
                return Err(bad(
                    "not pinned (use `name==version`, as `pip freeze` or `pip-compile` write)",
                ))
            }
        };
        let name = name.split('[').next().unwrap_or("");
        let version = version.trim();
        if version.contains(',') || version.contains('*') {
            return Err(bad("not pinned to one version"));
        }
        let pin = pin(name, version, hashes).ok_or_else(|| bad("invalid name or version"))?;
        pins.push(pin);
    }
    pins.sort();
    pins.dedup();
    Ok(pins)
}

/// Pins of a `uv.lock`: every `[[package]]` from a registry source, with the sha256s of its
/// sdist and wheels. Editable, virtual, path and git packages are skipped.
pub fn uv_lock(bytes: &[u8]) -> Result<Vec<Pin>, PinError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PinError("uv.lock is not UTF-8".into()))?;
    let doc: toml::Table =
        toml::from_str(text).map_err(|err| PinError(format!("uv.lock is not TOML: {err}")))?;
    let packages = match doc.get("package") {
        Some(toml::Value::Array(packages)) => packages.as_slice(),
        Some(_) => {
            return Err(PinError(
                "uv.lock: `package` is not an array of tables".into(),
            ))
        }
        None => &[],
    };
    let mut pins = Vec::new();
    for (index, package) in packages.iter().enumerate() {
        let bad = |why: &str| PinError(format!("uv.lock package #{}: {why}", index + 1));
        let table = package.as_table().ok_or_else(|| bad("not a table"))?;
        let from_registry = table
            .get("source")
            .and_then(|s| s.as_table())
            .is_some_and(|s| s.contains_key("registry"));
        if !from_registry {
            continue;
        }
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no name"))?;
        let version = table
            .get("version")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("no version"))?;
        let mut hashes = Vec::new();
        let files = table.get("sdist").into_iter().chain(
            table
                .get("wheels")
                .and_then(|w| w.as_array())
                .into_iter()
                .flatten(),
        );
        for file in files {
            let hash = file.get("hash").and_then(|h| h.as_str());
            if let Some(hex) = hash.and_then(|h| h.strip_prefix("sha256:")) {
                if is_sha256(hex) {
                    hashes.push(hex.to_ascii_lowercase());
                }
            }
        }
        let pin = pin(name, version, hashes)
            .ok_or_else(|| bad(&format!("invalid name or version {name:?} {version:?}")))?;
        pins.push(pin);
    }
    pins.sort();
    pins.dedup();
    Ok(pins)
}

/// A file chosen from a project's page: fetch `url` (as the page gives it, possibly relative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub filename: String,
    pub url: String,
    /// The page declares the file's core metadata (PEP 658/714): pip fetches `<url>.metadata`
    /// before the file, so warm fetches it too.
    pub metadata: bool,
}

/// The file of a PEP 691 JSON page that `pip install name==version` would pick for `tags`: the
/// best-ranked compatible wheel, else the sdist; only files whose sha256 the pin allows.
pub fn choose(page: &[u8], pin: &Pin, tags: &Tags) -> Result<Chosen, PinError> {
    let doc: serde_json::Value = serde_json::from_slice(page).map_err(|err| {
        PinError(format!(
            "{}: the index's page is not PEP 691 JSON: {err}",
            pin.name
        ))
    })?;
    let files = doc
        .get("files")
        .and_then(|f| f.as_array())
        .ok_or_else(|| PinError(format!("{}: the index's page lists no files", pin.name)))?;
    let mut best: Option<(usize, Chosen)> = None;
    let mut seen_version = false;
    for file in files {
        let (Some(filename), Some(url)) = (
            file.get("filename").and_then(|v| v.as_str()),
            file.get("url").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        let rank = if let Some(wheel) = WheelName::parse(filename) {
            if normalize(&wheel.name) != pin.name || !same_version(&wheel.version, &pin.version) {
                continue;
            }
            seen_version = true;
            match tags.rank(&wheel) {
                Some(rank) => rank,
                None => continue,
            }
        } else if let Some((name, version)) = sdist_name(filename) {
            if normalize(name) != pin.name || !same_version(version, &pin.version) {
                continue;
            }
            seen_version = true;
            usize::MAX
        } else {
            continue;
        };
        if !pin.hashes.is_empty() {
            let sha = file
                .get("hashes")
                .and_then(|h| h.get("sha256"))
                .and_then(|h| h.as_str())
                .map(str::to_ascii_lowercase);
            if !sha.is_some_and(|sha| pin.hashes.contains(&sha)) {
                continue;
            }
        }
        let better = match &best {
            Some((b, _)) => rank < *b,
            None => true,
        };
        if better {
            let metadata = ["core-metadata", "dist-info-metadata"].iter().any(|key| {
                file.get(*key)
                    .is_some_and(|v| v.as_bool() == Some(true) || v.is_object())
            });
            let chosen = Chosen {
                filename: filename.to_string(),
                url: url.to_string(),
                metadata,
            };
            best = Some((rank, chosen));
        }
    }
    match best {
        Some((_, chosen)) => Ok(chosen),
        None if !seen_version => Err(PinError(format!(
            "{}=={}: the index lists no file of this version",
            pin.name, pin.version
        ))),
        None => Err(PinError(format!(
            "{}=={}: no sdist and no wheel for the target's tags{} (set --python-version / --platform)",
            pin.name,
            pin.version,
            if pin.hashes.is_empty() { "" } else { " among the hashes the lockfile allows" }
        ))),
    }
}

struct WheelName {
    name: String,
    version: String,
    python: String,
    abi: String,
    platform: String,
}

impl WheelName {
    fn parse(filename: &str) -> Option<WheelName> {
        let stem = filename.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, tags) = match parts.len() {
            5 => (parts[0], parts[1], &parts[2..]),
            6 => (parts[0], parts[1], &parts[3..]),
            _ => return None,
        };
        Some(WheelName {
            name: name.to_string(),
            version: version.to_string(),
            python: tags[0].to_string(),
            abi: tags[1].to_string(),
            platform: tags[2].to_string(),
        })
    }
}

fn sdist_name(filename: &str) -> Option<(&str, &str)> {
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))?;
    stem.rsplit_once('-')
}

fn same_version(a: &str, b: &str) -> bool {
    let trim = |v: &str| v.trim_start_matches(['v', 'V']).to_ascii_lowercase();
    let (a, b) = (trim(a), trim(b));
    if a == b {
        return true;
    }
    // PEP 440 pads release segments with zeros: 1.0 == 1.0.0.
    let release = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    match (release(&a), release(&b)) {
        (Some(mut x), Some(mut y)) => {
            let len = x.len().max(y.len());
            x.resize(len, 0);
            y.resize(len, 0);
            x == y
        }
        _ => false,
    }
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

fn pin(name: &str, version: &str, hashes: Vec<String>) -> Option<Pin> {
    let name = name.trim();
    let name_ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let version_ok = !version.is_empty()
        && version.len() <= 100
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+' | b'!'));
    (name_ok && version_ok).then(|| Pin {
        name: normalize(name),
        version: version.to_string(),
        hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_picks_the_wheel_for_the_target_and_its_metadata() {
        let larder = url::Url::parse("http://127.0.0.1:7878").unwrap();
        let fetches = (LOCKFILES[0].parse)(b"demo==1.0\n", &larder).unwrap();
        let [Fetch::Pick {
            label, path, pick, ..
        }] = &fetches[..]
        else {
            panic!("one pick: {fetches:?}");
        };
        assert_eq!(
            (label.as_str(), path.as_str()),
            ("demo==1.0", "simple/demo/")
        );
        let page = br#"{"files": [
            {"filename": "demo-1.0.tar.gz", "url": "../../files/demo/demo-1.0.tar.gz"},
            {"filename": "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
             "url": "../../files/demo/demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl#x",
             "core-metadata": true}
        ]}"#;
        let linux = Target {
            python: Some(PythonTarget::Version {
                major: 3,
                minor: 12,
                platforms: vec!["manylinux_2_17_x86_64".into()],
            }),
            ..Default::default()
        };
        assert_eq!(
            pick(page, &linux).unwrap(),
            [
                "../../files/demo/demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl#x",
                "../../files/demo/demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl.metadata#x"
            ]
        );
        let mac = Target {
            python: Some(PythonTarget::Tags(vec![
                "cp312-cp312-macosx_14_0_arm64".into()
            ])),
            ..Default::default()
        };
        assert_eq!(
            pick(page, &mac).unwrap(),
            ["../../files/demo/demo-1.0.tar.gz"]
        );
        let err = pick(page, &Target::default()).unwrap_err();
        assert!(err.0.contains("--python-version"), "{err}");
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn requirements_with_and_without_hashes() {
        let text = format!(
            "# comment\n--index-url https://x/simple\n-r other.txt\nDep_Lib==1.1 ; python_version >= \"3\"\nApp.Main[extra]==1.0 \\\n    --hash=sha256:{A} \\\n    --hash=sha256:{B}\nurlpkg @ https://x/y.whl\n"
        );
        let pins = requirements_txt(text.as_bytes()).unwrap();
        assert_eq!(
            pins,
            [
                Pin {
                    name: "app-main".into(),
                    version: "1.0".into(),
                    hashes: vec![A.into(), B.into()]
                },
                Pin {
                    name: "dep-lib".into(),
                    version: "1.1".into(),
                    hashes: vec![]
                },
            ]
        );
        let err = requirements_txt(b"ok==1\nloose>=1.0\n").unwrap_err();
        assert!(
            err.0.contains("line 2") && err.0.contains("not pinned"),
            "{err}"
        );
        assert!(requirements_txt(b"x==1 --hash=nope").is_err());
        assert!(requirements_txt(b"x==1/../2").is_err());
        assert!(requirements_txt(b"\xff").is_err());
    }

    #[test]
    fn uv_lock_registry_packages_with_their_hashes() {
        let lock = format!(
            "version = 1\nrequires-python = \">=3.8\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = {{ editable = \".\" }}\n\n[[package]]\nname = \"Dep.Lib\"\nversion = \"1.1\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\nsdist = {{ url = \"https://f/dep-lib-1.1.tar.gz\", hash = \"sha256:{A}\", size = 1 }}\nwheels = [\n    {{ url = \"https://f/dep_lib-1.1-py3-none-any.whl\", hash = \"sha256:{B}\", size = 1 }},\n]\n"
        );
        let pins = uv_lock(lock.as_bytes()).unwrap();
        assert_eq!(
            pins,
            [Pin {
                name: "dep-lib".into(),
                version: "1.1".into(),
                hashes: vec![A.into(), B.into()]
            }]
        );
        assert!(uv_lock(b"[[package]]\nname = 1\nsource = { registry = \"x\" }\n").is_err());
        assert!(uv_lock(b"package = 3").is_err());
        assert!(uv_lock(b"= broken").is_err());
    }

    fn page(files: &[(&str, &str)]) -> Vec<u8> {
        let files: Vec<_> = files
            .iter()
            .map(|(name, sha)| serde_json::json!({"filename": name, "url": format!("../../files/{name}"), "hashes": {"sha256": sha}}))
            .collect();
        serde_json::to_vec(
            &serde_json::json!({"meta": {"api-version": "1.0"}, "name": "x", "files": files}),
        )
        .unwrap()
    }

    #[test]
    fn choose_ranks_wheels_by_tags_and_falls_back_to_the_sdist() {
        let tags = Tags::for_cpython(3, 11, &["manylinux_2_17_x86_64".into()]);
        let listing = page(&[
            ("x-1.0.tar.gz", A),
            ("x-1.0-py3-none-any.whl", A),
            (
                "x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                B,
            ),
            ("x-1.0-cp311-cp311-win_amd64.whl", A),
            ("x-2.0-py3-none-any.whl", A),
        ]);
        let pin = |hashes: &[&str]| Pin {
            name: "x".into(),
            version: "1.0".into(),
            hashes: hashes.iter().map(|h| h.to_string()).collect(),
        };
        assert_eq!(
            choose(&listing, &pin(&[]), &tags).unwrap().filename,
            "x-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        );
        assert_eq!(
            choose(&listing, &pin(&[A]), &tags).unwrap().filename,
            "x-1.0-py3-none-any.whl"
        );
        let only_win = page(&[("x-1.0-cp311-cp311-win_amd64.whl", A), ("x-1.0.tar.gz", A)]);
        let chosen = choose(&only_win, &pin(&[]), &tags).unwrap();
        assert_eq!(chosen.filename, "x-1.0.tar.gz");
        assert_eq!(chosen.url, "../../files/x-1.0.tar.gz");
        assert!(!chosen.metadata);
        let with_metadata = br#"{"files": [{"filename": "x-1.0-py3-none-any.whl", "url": "u", "hashes": {}, "core-metadata": {"sha256": "ab"}}]}"#;
        assert!(choose(with_metadata, &pin(&[]), &tags).unwrap().metadata);
        let err = choose(
            &page(&[("x-1.0-cp311-cp311-win_amd64.whl", A)]),
            &pin(&[]),
            &tags,
        )
        .unwrap_err();
        assert!(err.0.contains("no wheel for the target"), "{err}");
        let err = choose(
            &listing,
            &Pin {
                version: "3.0".into(),
                ..pin(&[])
            },
            &tags,
        )
        .unwrap_err();
        assert!(err.0.contains("no file of this version"), "{err}");
        assert!(choose(b"<html>", &pin(&[]), &tags).is_err());
    }

    #[test]
    fn tags_from_sys_tags_lines() {
        let tags = Tags::from_lines("cp311-cp311-manylinux_2_17_x86_64\npy3-none-any\nbroken\n");
        assert_eq!(tags.0.len(), 2);
        assert_eq!(tags.0[1], ("py3".into(), "none".into(), "any".into()));
    }

    use larder_adapter::testing::sweep;

    #[test]
    fn truncated_and_mangled_inputs_never_panic() {
        let requirements = format!(
            "a.b[x]==1.0 ; python_version > '3' \\\n  --hash=sha256:{A}\n-r x.txt\nc===2\n"
        );
        sweep(requirements.as_bytes(), |b| drop(requirements_txt(b)));
        let lock = format!("version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = {{ registry = \"r\" }}\nwheels = [{{ url = \"u\", hash = \"sha256:{B}\" }}]\n");
        sweep(lock.as_bytes(), |b| drop(uv_lock(b)));
        let tags = Tags::for_cpython(3, 12, &["manylinux_2_17_x86_64".into()]);
        let pin = Pin {
            name: "x".into(),
            version: "1.0".into(),
            hashes: vec![],
        };
        let listing = page(&[
            ("x-1.0-cp312-abi3-manylinux_2_17_x86_64.whl", A),
            ("x-1.0.tar.gz", B),
        ]);
        sweep(&listing, |b| drop(choose(b, &pin, &tags)));
    }
}
