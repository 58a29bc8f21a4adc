//! The real go command against a fixture GOPROXY (and a fixture checksum database) through
//! larder: what a `RUN go mod download && go build` in a docker build would see.
//!
//! Needs Debian's golang-go and golang-golang-x-mod-dev (`.ci/install/go.sh`).

#[allow(unused_imports)] // the shared harness exports more than this target uses
#[path = "../support/mod.rs"]
mod support;

mod fixture;
mod gocmd;

use fixture::{escape, ModuleVersion, APP_OUTPUT};
use gocmd::{GoEnv, Run};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{Larder, Mode, Resource, Routes, Upstream};

const SUMDB_NAME: &str = "sum.fixture.test";

/// A fixture GOPROXY serving `tree`. Each path is served both as the go command sends it
/// (`%21` for `!`) and as larder forwards it (`!`), so the same fixture is also the baseline a
/// client reaches without larder.
fn start_proxy(tree: &BTreeMap<String, Vec<u8>>) -> Upstream {
    let mut routes = Routes::new();
    for (relative, body) in tree {
        let content_type = match relative.rsplit('.').next() {
            Some("zip") => "application/zip",
            Some("info") => "application/json",
            _ if relative.ends_with("@latest") => "application/json",
            _ => "text/plain; charset=utf-8",
        };
        let resource = Resource::new(content_type, body.clone());
        routes.insert(format!("/{relative}"), vec![resource.clone()]);
        routes.insert(format!("/{}", relative.replace('!', "%21")), vec![resource]);
    }
    Upstream::start(routes)
}

fn config(proxy: &Upstream, sumdb: Option<&str>, metadata_ttl: &str) -> String {
    let mut config = format!(
        "[go]\nupstream = \"{}/\"\nmetadata_ttl = \"{metadata_ttl}\"\n",
        proxy.url
    );
    if let Some(sumdb) = sumdb {
        config.push_str(&format!(
            "sumdb_upstream = \"{sumdb}\"\nsumdb_name = \"{SUMDB_NAME}\"\n"
        ));
    }
    config
}

fn goproxy(larder: &Larder) -> String {
    format!("{}/go", larder.url)
}

/// `go mod download` then `go build` of a fresh copy of the main module; returns what the
/// built program prints.
fn download_and_build(env: &GoEnv, what: &str) -> String {
    let app = env.root.join("app");
    fixture::write_app(&app);
    env.run(&app, &["mod", "download"])
        .assert_ok(&format!("{what}: go mod download"));
    let binary = env.root.join("app.bin");
    env.run(&app, &["build", "-o", binary.to_str().unwrap(), "."])
        .assert_ok(&format!("{what}: go build"));
    let output = Command::new(&binary)
        .output()
        .expect("run the built program");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn zip_path(v: &ModuleVersion) -> String {
    format!("/{}/@v/{}.zip", escape(v.path), escape(v.version))
}

/// The fixture is a valid GOPROXY on its own, so a failure through larder is larder's.
#[test]
fn fixture_graph_builds_straight_from_the_fixture() {
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let env = GoEnv::new(work.path(), &proxy.url, "off");
    assert_eq!(
        download_and_build(&env, "straight from the fixture"),
        APP_OUTPUT
    );
    // The go command sends `%21` for `!`.
    assert_eq!(
        proxy.count("/example.com/%21upper/%21lib/@v/v0.2.0.zip"),
        1,
        "{:#?}",
        proxy.requests()
    );
}

#[test]
fn cold_build_populates_larder_and_a_fresh_machine_builds_with_upstream_down() {
    let work = tempfile::tempdir().unwrap();
    let graph = fixture::graph();
    let proxy = start_proxy(&fixture::proxy_tree(&graph));
    // A one-second TTL, so that the second build gets honestly stale `list` answers.
    let larder = Larder::start(&config(&proxy, None, "1s"));

    let cold = GoEnv::new(&work.path().join("cold"), &goproxy(&larder), "off");
    assert_eq!(
        download_and_build(&cold, "cold"),
        APP_OUTPUT,
        "the go command picked the wrong versions"
    );
    // The upper-case module came through its escaped path, stored under the escaped directory.
    assert_eq!(
        proxy.count("/example.com/!upper/!lib/@v/v0.2.0.zip"),
        1,
        "{:#?}",
        proxy.requests()
    );
    assert!(cold
        .modcache()
        .join("example.com/!upper/!lib@v0.2.0/lib.go")
        .is_file());
    assert!(cold
        .modcache()
        .join("example.com/pseudo@v0.0.0-20240102030405-abcdefabcdef/lib.go")
        .is_file());
    // The missing requirement was resolved through `list`: v1.3.0, not the v1.4.0-rc.1 pre-release.
    assert!(proxy.count("/example.com/extra/@v/list") >= 1);
    let app_mod = std::fs::read_to_string(cold.root.join("app/go.mod")).unwrap();
    assert!(app_mod.contains("example.com/extra v1.3.0"), "{app_mod}");
    assert_eq!(proxy.count("/example.com/extra/@v/v1.4.0-rc.1.zip"), 0);
    // Nothing was asked upstream with `%21`: larder forwards the escaped form as the proxy names it.
    assert!(
        proxy.requests().iter().all(|r| !r.path.contains("%21")),
        "{:#?}",
        proxy.requests()
    );

    proxy.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(1100));
    let offline = GoEnv::new(&work.path().join("offline"), &goproxy(&larder), "off");
    assert_eq!(download_and_build(&offline, "upstream down"), APP_OUTPUT);

    // After a crash, restarted on the same data dir in offline mode: still everything.
    let mut larder = larder;
    larder.kill();
    let restarted = Larder::start_with_args(
        &larder.data_dir,
        &config(&proxy, None, "1s"),
        &["--offline"],
    );
    let after_restart = GoEnv::new(&work.path().join("restarted"), &goproxy(&restarted), "off");
    assert_eq!(
        download_and_build(&after_restart, "restarted offline"),
        APP_OUTPUT
    );
}

#[test]
fn a_version_published_after_list_was_cached_downloads_at_once() {
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let larder = Larder::start(&config(&proxy, None, "5m"));
    let env = GoEnv::new(work.path(), &goproxy(&larder), "off");
    let scratch = scratch_module(&env);
    let versions = env.run(&scratch, &["list", "-m", "-versions", "example.com/extra"]);
    versions.assert_ok("go list -m -versions");
    assert!(versions.stdout().contains("v1.3.0") && !versions.stdout().contains("v1.5.0"));

    let new = fixture::extra_v1_5_0();
    for (relative, body) in fixture::proxy_tree(std::slice::from_ref(&new)) {
        if relative.contains("/@v/v1.5.0.") {
            proxy.insert(
                &format!("/{relative}"),
                Resource::new("application/octet-stream", body),
            );
        }
    }
    // `list` is cached for five minutes, but a canonical version is fetched by name.
    env.run(&scratch, &["mod", "download", "example.com/extra@v1.5.0"])
        .assert_ok("download of a just-published version");
    assert!(env
        .modcache()
        .join("example.com/extra@v1.5.0/lib.go")
        .is_file());
    assert_eq!(
        proxy.count("/example.com/extra/@v/list"),
        1,
        "list was not served from the cache"
    );

    env.run(
        &scratch,
        &["mod", "download", "example.com/old@v2.0.0+incompatible"],
    )
    .assert_ok("download of a +incompatible version");
    assert!(env
        .modcache()
        .join("example.com/old@v2.0.0+incompatible/lib.go")
        .is_file());
    assert_eq!(
        proxy.count("/example.com/old/@v/v2.0.0+incompatible.zip"),
        1
    );
}

/// Toolchain zips (tens of MB, `golang.org/toolchain`) go through like any zip: verbatim, and
/// without larder holding them in memory.
#[test]
fn a_large_toolchain_zip_streams_verbatim_with_flat_memory() {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    const SIZE: usize = 64 << 20;
    let path = "/golang.org/toolchain/@v/v0.0.1-go1.21.0.linux-amd64.zip";
    // Incompressible bytes, as a real zip's are.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let body: Vec<u8> = (0..SIZE / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect();
    let want = Sha256::digest(&body);
    let proxy = Upstream::start(Routes::new());
    proxy.insert(path, Resource::new("application/zip", body));
    let larder = Larder::start(&config(&proxy, None, "5m"));
    let before = memory_kib(larder.pid(), "VmRSS");
    for pass in ["cold", "warm"] {
        let mut response = support::get(&larder.at(&format!("/go{path}")));
        assert_eq!(response.status(), 200, "{pass}");
        assert_eq!(response.headers()["content-type"], "application/zip");
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        let mut total = 0;
        loop {
            let read = response.read(&mut buffer).unwrap();
            if read == 0 {
                break;
            }
            total += read;
            hasher.update(&buffer[..read]);
        }
        assert_eq!(total, SIZE, "{pass}");
        assert!(
            hasher.finalize() == want,
            "{pass}: the zip's bytes changed on the way"
        );
    }
    assert_eq!(proxy.count(path), 1);
    let peak = memory_kib(larder.pid(), "VmHWM");
    let grown_mib = peak.saturating_sub(before) / 1024;
    eprintln!("larder: resident {before} KiB before, peak {peak} KiB after two 64 MiB passes");
    assert!(
        grown_mib < 24,
        "larder's resident memory grew by {grown_mib} MiB serving a 64 MiB zip"
    );
}

/// A field of /proc/<pid>/status, in KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn every_object_is_fetched_upstream_once_across_concurrent_machines() {
    let work = tempfile::tempdir().unwrap();
    let graph = fixture::graph();
    let proxy = start_proxy(&fixture::proxy_tree(&graph));
    let larder = Larder::start(&config(&proxy, None, "5m"));
    // Two builders start together against a slow upstream: their requests overlap, and each
    // object is still fetched once.
    proxy.set_mode(Mode::Slow {
        latency: Duration::from_millis(150),
        bytes_per_sec: 1 << 20,
    });
    std::thread::scope(|scope| {
        for machine in ["one", "two"] {
            let env = GoEnv::new(&work.path().join(machine), &goproxy(&larder), "off");
            scope.spawn(move || assert_eq!(download_and_build(&env, machine), APP_OUTPUT));
        }
    });
    proxy.set_mode(Mode::Normal);
    let three = GoEnv::new(&work.path().join("three"), &goproxy(&larder), "off");
    assert_eq!(download_and_build(&three, "three"), APP_OUTPUT);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for request in proxy.requests() {
        *seen.entry(request.path).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        repeated.is_empty(),
        "fetched upstream more than once: {repeated:?}"
    );
    assert_eq!(proxy.count("/example.com/greet/@v/v1.1.0.zip"), 1);
    // Within the TTL the other machines' `list` was answered from the cache.
    assert_eq!(
        proxy.count("/example.com/extra/@v/list"),
        1,
        "{:#?}",
        proxy.requests()
    );
}

/// The checksum database fixture: a child process serving a tree built from `dir`.
struct SumDb {
    child: Child,
    url: String,
    vkey: String,
}

impl SumDb {
    fn start(binary: &Path, dir: &Path) -> SumDb {
        let mut child = Command::new(binary)
            .arg(SUMDB_NAME)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the checksum database fixture");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut field = |name: &str| {
            let line = lines.next().and_then(Result::ok).unwrap_or_default();
            line.strip_prefix(&format!("{name} "))
                .unwrap_or_else(|| panic!("sumdb fixture printed {line:?}"))
                .to_string()
        };
        let vkey = field("vkey");
        let url = field("url");
        SumDb { child, url, vkey }
    }
}

impl Drop for SumDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn checksum_database_through_larder_verifies_and_rejects_a_tampered_zip() {
    let work = tempfile::tempdir().unwrap();
    let graph = fixture::graph();
    let genuine = fixture::proxy_tree(&graph);
    let genuine_dir = work.path().join("genuine");
    fixture::write_tree(&genuine_dir, &genuine);
    let sumdb = SumDb::start(&gocmd::build_sumdb_fixture(work.path()), &genuine_dir);

    // The proxy serves a zip for example.com/tampered that is not the one the database hashed.
    let mut served = genuine.clone();
    served.insert(
        "example.com/tampered/@v/v1.0.0.zip".into(),
        fixture::tampered_zip(),
    );
    let proxy = start_proxy(&served);
    let larder = Larder::start(&config(&proxy, Some(&sumdb.url), "5m"));
    let supported = support::get(&larder.at(&format!("/go/sumdb/{SUMDB_NAME}/supported")));
    assert_eq!(supported.status(), 200);

    // GOSUMDB names only the key: the go command finds the database through the proxy's
    // `supported` probe (sum.fixture.test itself does not resolve).
    let verified = GoEnv::new(
        &work.path().join("verified"),
        &goproxy(&larder),
        &sumdb.vkey,
    );
    assert_eq!(download_and_build(&verified, "with GOSUMDB"), APP_OUTPUT);
    let go_sum = std::fs::read_to_string(verified.root.join("app/go.sum")).unwrap();
    assert!(
        go_sum.contains("example.com/Upper/Lib v0.2.0 h1:"),
        "{go_sum}"
    );
    let lookups = verified
        .modcache()
        .join(format!("cache/download/sumdb/{SUMDB_NAME}/lookup"));
    assert!(
        lookups.is_dir(),
        "the go command looked nothing up in the checksum database"
    );

    let scratch = scratch_module(&verified);
    let tampered = verified.run(
        &scratch,
        &["mod", "download", "example.com/tampered@v1.0.0"],
    );
    assert!(
        !tampered.ok(),
        "the tampered zip was accepted:\n{}",
        tampered.stderr()
    );
    assert!(
        tampered.stderr().contains("SECURITY ERROR"),
        "{}",
        tampered.stderr()
    );
    assert!(
        tampered.stderr().contains("checksum mismatch"),
        "{}",
        tampered.stderr()
    );

    // GOSUMDB may also name the database's URL through the proxy outright.
    let explicit = GoEnv::new(
        &work.path().join("explicit"),
        &goproxy(&larder),
        &format!("{} {}/sumdb/{SUMDB_NAME}", sumdb.vkey, goproxy(&larder)),
    );
    assert_eq!(
        download_and_build(&explicit, "GOSUMDB with a URL"),
        APP_OUTPUT
    );

    // Both upstreams gone: a fresh machine still verifies everything from larder's cache.
    drop(sumdb);
    proxy.set_mode(Mode::Down);
    let offline = GoEnv::new(
        &work.path().join("offline"),
        &goproxy(&larder),
        &verified.gosumdb,
    );
    assert_eq!(
        download_and_build(&offline, "with GOSUMDB, upstreams down"),
        APP_OUTPUT
    );
}

fn scratch_module(env: &GoEnv) -> PathBuf {
    let scratch = env.root.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(
        scratch.join("go.mod"),
        "module example.com/scratch\n\ngo 1.19\n",
    )
    .unwrap();
    scratch
}

#[test]
fn a_module_the_upstream_lacks_falls_through_to_the_next_proxy() {
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let modules = [
        "example.com/elsewhere",
        "example.com/gone",
        "example.com/onlyb",
    ]
    .map(fixture::simple);
    let second = start_proxy(&fixture::proxy_tree(&modules));
    let [elsewhere, gone, onlyb] = &modules;
    // The first upstream says 410 Gone for one module, as the public proxy does for some.
    for file in ["info", "mod", "zip"] {
        let gone_body = Resource::new("text/plain", "gone\n").status(410);
        proxy.insert(&format!("/example.com/gone/@v/v1.0.0.{file}"), gone_body);
    }
    let larder = Larder::start(&config(&proxy, None, "5m"));

    let env = GoEnv::new(
        work.path(),
        &format!("{},{}", goproxy(&larder), second.url),
        "off",
    );
    let scratch = scratch_module(&env);
    env.run(
        &scratch,
        &["mod", "download", "example.com/elsewhere@v1.0.0"],
    )
    .assert_ok("fall-through download");
    assert!(
        proxy.count("/example.com/elsewhere/@v/v1.0.0.info") >= 1,
        "larder never asked its upstream"
    );
    assert_eq!(
        second.count(&zip_path(elsewhere)),
        1,
        "the go command did not fall through"
    );
    let answer = support::get(&larder.at("/go/example.com/elsewhere/@v/v1.0.0.info"));
    assert_eq!(answer.status(), 404);
    let content_type = answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");

    env.run(&scratch, &["mod", "download", "example.com/gone@v1.0.0"])
        .assert_ok("fall-through download after 410");
    assert_eq!(second.count(&zip_path(gone)), 1, "no fall-through on 410");
    let answer = support::get(&larder.at("/go/example.com/gone/@v/v1.0.0.info"));
    assert_eq!(answer.status(), 410);

    // With `,direct` the go command goes to the module's origin after larder's 404. A module on
    // 127.0.0.1 keeps that attempt on this machine (nothing listens on its port 443).
    let direct = GoEnv::new(
        &work.path().join("direct"),
        &format!("{},direct", goproxy(&larder)),
        "off",
    );
    let tried = direct.run(
        &scratch_module(&direct),
        &["mod", "download", "127.0.0.1/x@v1.0.0"],
    );
    assert!(!tried.ok());
    assert!(
        tried.stderr().contains("127.0.0.1/x?go-get=1"),
        "did not try direct:\n{}",
        tried.stderr()
    );
    assert_eq!(
        proxy.count("/127.0.0.1/x/@v/v1.0.0.info"),
        1,
        "{:#?}",
        proxy.requests()
    );

    // An upstream failure is not "not found": the go command must stop, not fall through.
    proxy.set_mode(Mode::Down);
    let failed: Run = env.run(&scratch, &["mod", "download", "example.com/onlyb@v1.0.0"]);
    assert!(
        !failed.ok(),
        "the go command fell through on an upstream failure"
    );
    assert_eq!(second.count(&zip_path(onlyb)), 0);
    let stderr = failed.stderr();
    assert!(
        ["424", "502", "503", "504"]
            .iter()
            .any(|status| stderr.contains(status)),
        "{stderr}"
    );
}

#[test]
fn protocol_answers_seen_over_http() {
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let larder = Larder::start(&config(&proxy, None, "5m"));
    let cases = [
        (
            "/go/example.com/!upper/!lib/@v/list",
            "text/plain; charset=utf-8",
            "v0.1.0\nv0.2.0\n",
        ),
        (
            "/go/example.com/%21upper/%21lib/@v/v0.2.0.info",
            "application/json",
            "\"Version\":\"v0.2.0\"",
        ),
        (
            "/go/example.com/extra/@latest",
            "application/json",
            "\"Version\":\"v1.3.0\"",
        ),
        (
            "/go/example.com/greet/@v/v1.1.0.mod",
            "text/plain; charset=utf-8",
            "require example.com/Upper/Lib v0.2.0",
        ),
    ];
    for (path, content_type, body) in cases {
        let response = support::get(&larder.at(path));
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], content_type, "{path}");
        let text = response.text().unwrap();
        assert!(text.contains(body), "{path}: {text}");
    }
    let zip = support::get(&larder.at("/go/example.com/greet/@v/v1.1.0.zip"));
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let greet = fixture::graph()
        .into_iter()
        .find(|v| v.path == "example.com/greet" && v.version == "v1.1.0")
        .unwrap();
    assert_eq!(
        zip.bytes().unwrap().to_vec(),
        greet.zip(),
        "zip bytes changed on the way"
    );

    let before = proxy.requests().len();
    for malformed in [
        "/go/example.com/Upper/Lib/@v/list",
        "/go/example.com/!/x/@latest",
        "/go/example.com/x/../y/@v/list",
        "/go/example.com/x/%2e%2e/y/@v/list",
        "/go/example.com/x/@v/v1.0.0%zz.zip",
    ] {
        assert_eq!(raw_status(&larder, malformed), 400, "{malformed}");
    }
    assert_eq!(
        proxy.requests().len(),
        before,
        "a malformed request reached upstream"
    );
    assert_eq!(
        support::get(&larder.at("/go/sumdb/sum.golang.org/supported")).status(),
        200
    );
    assert_eq!(
        support::get(&larder.at("/go/sumdb/sum.example.org/supported")).status(),
        404
    );
}

/// A private upstream proxy's token goes to that proxy only, never to the checksum database.
#[test]
fn credentials_go_to_the_upstream_proxy_only() {
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let sumdb = Upstream::start(Routes::new());
    sumdb.insert(
        "/latest",
        Resource::new("text/plain", "go.sum database tree\n0\n"),
    );
    let config = format!(
        "{}token = \"s3cret\"\n",
        config(&proxy, Some(&format!("{}/", sumdb.url)), "5m")
    );
    let larder = Larder::start(&config);
    let list = support::get(&larder.at("/go/example.com/greet/@v/list"));
    assert_eq!(list.status(), 200);
    let latest = support::get(&larder.at(&format!("/go/sumdb/{SUMDB_NAME}/latest")));
    assert_eq!(latest.status(), 200);
    let asked = &proxy.requests()[0];
    assert_eq!(
        asked.header("authorization"),
        Some("Bearer s3cret"),
        "{asked:?}"
    );
    let asked = &sumdb.requests()[0];
    assert_eq!(asked.path, "/latest");
    assert_eq!(
        asked.header("authorization"),
        None,
        "the token leaked to the checksum database"
    );
}

/// GETs `path` exactly as written: HTTP clients normalize `..` and `%2e%2e` away before sending.
fn raw_status(larder: &Larder, path: &str) -> u16 {
    use std::io::{Read, Write};
    let address = larder.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).unwrap_or_default();
    status
        .parse()
        .unwrap_or_else(|_| panic!("GET {path}: no status in {response:?}"))
}

/// Cold and warm `go mod download` through larder against the same straight from the fixture,
/// at full speed and with 50 ms a response; each figure the median of five runs, every run on
/// a fresh module cache (and, for cold, a fresh larder). A measurement, not a check:
/// `cargo test --test go -- --ignored --nocapture measure`.
#[test]
#[ignore = "measurement; run with --ignored --nocapture"]
fn measure_cold_and_warm_download() {
    const RUNS: usize = 5;
    let work = tempfile::tempdir().unwrap();
    let proxy = start_proxy(&fixture::proxy_tree(&fixture::graph()));
    let app = work.path().join("app");
    fixture::write_app(&app);
    let mut machine = 0;
    let mut time = |goproxy: &str| {
        machine += 1;
        let env = GoEnv::new(&work.path().join(format!("m{machine}")), goproxy, "off");
        let run = env.run(&app, &["mod", "download", "all"]);
        run.assert_ok(goproxy);
        run.elapsed.as_secs_f64() * 1e3
    };
    let median = |mut runs: Vec<f64>| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    };
    // Resolve `extra` into go.mod once, so every timed run downloads the same graph.
    GoEnv::new(&work.path().join("prime"), &proxy.url, "off")
        .run(&app, &["mod", "tidy"])
        .assert_ok("go mod tidy");
    for (label, mode) in [
        ("full speed", Mode::Normal),
        (
            "50 ms a response",
            Mode::Slow {
                latency: Duration::from_millis(50),
                bytes_per_sec: 100 << 20,
            },
        ),
    ] {
        proxy.set_mode(mode);
        let direct = median((0..RUNS).map(|_| time(&proxy.url)).collect());
        let cold = median(
            (0..RUNS)
                .map(|_| time(&goproxy(&Larder::start(&config(&proxy, None, "5m")))))
                .collect(),
        );
        let larder = Larder::start(&config(&proxy, None, "5m"));
        time(&goproxy(&larder));
        let warm = median((0..RUNS).map(|_| time(&goproxy(&larder))).collect());
        eprintln!(
            "go mod download all, {label}: direct {direct:.0} ms, larder cold {cold:.0} ms ({:.2}x), warm {warm:.0} ms ({:.2}x)",
            cold / direct,
            warm / direct,
        );
    }
}
