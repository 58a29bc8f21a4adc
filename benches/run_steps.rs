//! Row 7 of `benches/README.md`, "RUN steps": the example Dockerfiles of `deploy/examples/`
//! built with buildah in three modes, against fixture upstreams on 127.0.0.1, fast and slowed.
//!
//! - **plain**: the example as it is, the client straight at the fixture upstream (the same
//!   build-args `larder env` prints, naming the fixture instead): every build downloads all.
//! - **cache mount**: the example with BuildKit's cache-mount recipe ([`cache_mount_variant`]:
//!   `RUN --mount=type=cache,target=<the client's cache directory>`), the client straight at
//!   the fixture, measured once a first build has filled the mount.
//! - **larder warm**: the example as it is with `larder env`'s build-args, measured once a
//!   first build has filled larder.
//!
//! Every build is `buildah bud --no-cache` (as `tests/dockerfiles` runs it). What is timed is
//! the RUN step that fetches (`npm ci`, `pip install`, `go mod download`, the `apt-get` step),
//! from buildah's `STEP` line to the next one, and the whole build beside it. "Slowed" puts
//! `benches/throttle.py` (40 ms a round trip, 100 Mbit/s, the upstream of rows 3 and 4) in
//! front of every fixture upstream, for the direct client and for larder alike. Rounds are
//! interleaved, the modes' order rotating, and the figures are medians.
//!
//! Run through `benches/run --only runsteps` (which installs buildah and the fixtures' tools),
//! or `cargo bench --bench run_steps -- [--rounds N] [--only npm,pip,go,apt]
//! [--upstreams fast,slowed] [--json FILE]`. The base images come from
//! `tests/dockerfiles/base-image.sh`, made once per machine.

#[path = "../tests/support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../tests/apt/fixture.rs"]
mod apt_fixture;
#[allow(dead_code)]
#[path = "../tests/dockerfiles/buildah.rs"]
mod buildah;
#[allow(dead_code)]
#[path = "../tests/cargo/fixture.rs"]
mod cargo_fixture;
#[allow(dead_code)]
#[path = "../tests/dockerfiles/examples.rs"]
mod examples;
#[allow(dead_code)]
#[path = "../tests/go/fixture.rs"]
mod go_fixture;
#[allow(dead_code)]
#[path = "../tests/maven/fixture.rs"]
mod maven_fixture;
#[allow(dead_code)]
#[path = "../tests/npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../tests/pypi/fixture.rs"]
mod pypi_fixture;
#[allow(dead_code)]
#[path = "../tests/dockerfiles/tool_images.rs"]
mod tool_images;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buildah::Buildah;
use examples::APT_FIXTURE_HOST;
use support::{Larder, Resource, Routes, Upstream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Plain,
    CacheMount,
    Larder,
}

const MODES: [Mode; 3] = [Mode::Plain, Mode::CacheMount, Mode::Larder];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::CacheMount => "cache mount",
            Mode::Larder => "larder warm",
        }
    }
}

/// The exact BuildKit cache-mount recipe per example, as Docker's documentation gives it: the
/// client's own cache directory in a cache mount on the RUN steps that use it. Each
/// replacement must match, so a changed example fails here instead of measuring something else.
fn cache_mount_variant(example: &str, dockerfile: &str) -> String {
    let edits: &[(&str, &str)] = match example {
        // npm's cache (~/.npm): tarballs by integrity, packuments by URL.
        "npm" => &[(
            "RUN npm ci ",
            "RUN --mount=type=cache,target=/root/.npm npm ci ",
        )],
        // pip's cache (~/.cache/pip: HTTP cache and built wheels); --no-cache-dir would turn it off.
        "pip" => &[(
            "RUN pip install --no-cache-dir -r requirements.txt",
            "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt",
        )],
        // The module cache (GOMODCACHE, /root/go/pkg/mod in the Debian image; /go/pkg/mod in the
        // official golang image): mounted on the build too, since the mount's files are not in
        // the image. Not GOCACHE, the compiler's cache: larder has nothing that compares.
        "go" => &[
            (
                "RUN go mod download",
                "RUN --mount=type=cache,target=/root/go/pkg/mod go mod download",
            ),
            (
                "RUN go build ",
                "RUN --mount=type=cache,target=/root/go/pkg/mod go build ",
            ),
        ],
        // Docker's apt recipe: keep downloaded .debs (drop docker-clean, a no-op on this image),
        // /var/cache/apt and /var/lib/apt as locked cache mounts, and no `rm` of the lists
        // (they are in the mount now, not in the image).
        "apt" => &[
            (
                "RUN if [ -n \"$APT_PROXY\" ]",
                "RUN rm -f /etc/apt/apt.conf.d/docker-clean \\\n \
                 && echo 'Binary::apt::APT::Keep-Downloaded-Packages \"true\";' \
                 > /etc/apt/apt.conf.d/keep-cache\n\
                 RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\\n    \
                 --mount=type=cache,target=/var/lib/apt,sharing=locked \\\n    \
                 if [ -n \"$APT_PROXY\" ]",
            ),
            (" \\\n && rm -rf /var/lib/apt/lists/*", ""),
        ],
        // Maven's local repository (~/.m2), as the official maven image's documentation mounts it.
        "maven" => &[(
            "RUN if [ -n \"$MAVEN_MIRROR\" ]",
            "RUN --mount=type=cache,target=/root/.m2 if [ -n \"$MAVEN_MIRROR\" ]",
        )],
        // Cargo's registry cache and index ($CARGO_HOME/registry; CARGO_HOME is ~/.cargo in
        // the Debian image) and git checkouts, as the Rust image's documentation mounts them.
        // Not the target directory: larder has nothing that compares.
        "cargo" => &[(
            "RUN set --;",
            "RUN --mount=type=cache,target=/root/.cargo/registry \\\n    \
             --mount=type=cache,target=/root/.cargo/git set --;",
        )],
        other => panic!("no cache-mount recipe for {other}"),
    };
    let mut text = dockerfile.to_string();
    for (from, to) in edits {
        assert_eq!(
            text.matches(from).count(),
            1,
            "deploy/examples/{example}/Dockerfile no longer has {from:?} once; update the recipe"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

/// `benches/throttle.py` in front of a fixture upstream, stopped when dropped.
struct Throttle {
    url: String,
    child: Child,
}

impl Throttle {
    fn start(target: &Upstream, options: &Options) -> Throttle {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/throttle.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(target.addr.port().to_string())
            .args(["--rtt-ms", &options.rtt_ms.to_string()])
            .args(["--mbit", &options.mbit.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 benches/throttle.py");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "throttle.py did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Throttle {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How clients reach an upstream: straight, or through its own throttle.
fn reach(upstream: &Upstream, slowed: bool, options: &Options, keep: &mut Keep) -> String {
    if !slowed {
        return upstream.url.clone();
    }
    let throttle = Throttle::start(upstream, options);
    let url = throttle.url.clone();
    keep.push(Box::new(throttle));
    url
}

type Keep = Vec<Box<dyn std::any::Any>>;

/// One example against one kind of upstream, ready to build in every mode.
struct Case {
    example: &'static str,
    /// What the timed RUN step's text contains, and what the table calls it.
    step: &'static str,
    label: &'static str,
    /// The example's context, and the same with the cache-mount Dockerfile.
    context: tempfile::TempDir,
    cache_context: tempfile::TempDir,
    /// Build-args for plain and cache-mount builds (the client straight at the upstream), and
    /// for larder builds (`larder env`'s).
    direct_args: Vec<String>,
    larder_args: Vec<String>,
    /// buildah's TMPDIR, where it keeps the cache mounts: fresh for every case.
    tmp: tempfile::TempDir,
    upstreams: Vec<Upstream>,
    larder: Larder,
    images: Vec<String>,
    /// Fixtures and throttles kept alive until the case is dropped (throttles first).
    keep: Keep,
}

impl Case {
    fn requests(&self) -> usize {
        self.upstreams.iter().map(|u| u.requests().len()).sum()
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        self.keep.clear();
        let buildah = Buildah::new();
        for image in &self.images {
            buildah.remove_image(image);
        }
    }
}

struct CaseBuilder {
    example: &'static str,
    step: &'static str,
    context: tempfile::TempDir,
    cache_context: tempfile::TempDir,
    upstreams: Vec<Upstream>,
}

impl CaseBuilder {
    fn new(example: &'static str, step: &'static str, upstreams: Vec<Upstream>) -> CaseBuilder {
        let context = examples::context(example);
        let cache_context = tempfile::tempdir().expect("context dir");
        CaseBuilder {
            example,
            step,
            context,
            cache_context,
            upstreams,
        }
    }

    /// Writes the cache-mount Dockerfile and copies the project files written into `context`.
    fn finish(
        self,
        direct_args: Vec<String>,
        larder: Larder,
        extra_larder_args: Vec<String>,
        images: Vec<String>,
        keep: Keep,
    ) -> Case {
        let dockerfile =
            std::fs::read_to_string(self.context.path().join("Dockerfile")).expect("Dockerfile");
        for entry in std::fs::read_dir(self.context.path()).expect("context") {
            let path = entry.expect("context entry").path();
            copy_tree(
                &path,
                &self.cache_context.path().join(path.file_name().unwrap()),
            );
        }
        std::fs::write(
            self.cache_context.path().join("Dockerfile"),
            cache_mount_variant(self.example, &dockerfile),
        )
        .expect("write the cache-mount Dockerfile");
        let mut larder_args = examples::larder_env(&larder.url);
        larder_args.extend(extra_larder_args);
        Case {
            example: self.example,
            step: self.step,
            label: match self.step {
                "apt-get update" => "apt-get update && apt-get install",
                other => other,
            },
            context: self.context,
            cache_context: self.cache_context,
            direct_args,
            larder_args,
            tmp: tempfile::tempdir_in("/var/tmp").expect("buildah TMPDIR"),
            upstreams: self.upstreams,
            larder,
            images,
            keep,
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let path = entry.expect("entry").path();
            copy_tree(&path, &to.join(path.file_name().unwrap()));
        }
    } else {
        std::fs::copy(from, to).expect("copy a project file");
    }
}

fn npm_case(slowed: bool, options: &Options) -> Case {
    let registry = npm_fixture::Registry::generate();
    let mut upstream = Upstream::start(Routes::new());
    let mut keep: Keep = Vec::new();
    let url = reach(&upstream, slowed, options, &mut keep);
    // The packuments' tarball links name the address clients reach the registry at.
    let own = std::mem::replace(&mut upstream.url, url.clone());
    registry.publish(&upstream);
    upstream.url = own;
    let larder = Larder::start(&format!("[npm]\nupstream = \"{url}/\"\n"));
    let case = CaseBuilder::new("npm", "npm ci", Vec::new());
    examples::npm_project(case.context.path(), &registry);
    let image = format!("NODE_IMAGE={}", Buildah::new().tools_image());
    keep.push(Box::new(registry));
    let mut case = case.finish(
        vec![format!("NPM_CONFIG_REGISTRY={url}/"), image.clone()],
        larder,
        vec![image],
        Vec::new(),
        keep,
    );
    case.upstreams.push(upstream);
    case
}

fn pip_case(slowed: bool, options: &Options) -> Case {
    let pypi_fixture::Index { index, files } = pypi_fixture::Index::start();
    let mut keep: Keep = Vec::new();
    let index_url = reach(&index, slowed, options, &mut keep);
    let files_url = reach(&files, slowed, options, &mut keep);
    // The pages (their links naming the files host as clients reach it) and the files again,
    // with PyPI's Cache-Control: pip's HTTP cache, which the cache mount keeps, stores only
    // what a response allows (the fixture alone sends no caching headers).
    let page_cache = "max-age=600, public";
    let file_cache = "max-age=365000000, immutable, public";
    for (project, project_files) in &pypi_fixture::artifacts().projects {
        if pypi_fixture::PAGE_RELATIVE.contains(&project.as_str()) {
            continue;
        }
        let base = format!("{files_url}/");
        index.insert_all(
            &format!("/simple/{project}/"),
            vec![
                Resource::new(
                    pypi_fixture::JSON_TYPE,
                    pypi_fixture::json_page(project, project_files, &base),
                )
                .for_accept(pypi_fixture::JSON_TYPE)
                .header("cache-control", page_cache),
                Resource::new(
                    "text/html",
                    pypi_fixture::html_page(project, project_files, &base),
                )
                .header("cache-control", page_cache),
            ],
        );
        for file in project_files {
            let mut published = vec![(file.path.clone(), file.bytes())];
            if let Some(metadata) = file.metadata_bytes() {
                published.push((format!("{}.metadata", file.path), metadata));
            }
            for (path, bytes) in published {
                files.insert(
                    &format!("/{path}"),
                    Resource::new("application/octet-stream", bytes)
                        .header("cache-control", file_cache),
                );
            }
        }
    }
    let larder = Larder::start(&format!(
        "[pypi]\nupstream = \"{index_url}/simple/\"\nfiles_upstream = \"{files_url}/\"\n"
    ));
    let case = CaseBuilder::new("pip", "pip install", vec![index, files]);
    std::fs::write(
        case.context.path().join("requirements.txt"),
        examples::PIP_REQUIREMENTS,
    )
    .expect("requirements.txt");
    let image = format!("PYTHON_IMAGE={}", Buildah::new().tools_image());
    case.finish(
        vec![
            format!("PIP_INDEX_URL={index_url}/simple/"),
            "PIP_TRUSTED_HOST=127.0.0.1".into(),
            image.clone(),
        ],
        larder,
        vec![image],
        Vec::new(),
        keep,
    )
}

fn go_case(slowed: bool, options: &Options) -> Case {
    let proxy = examples::go_proxy();
    let mut keep: Keep = Vec::new();
    let url = reach(&proxy, slowed, options, &mut keep);
    let larder = Larder::start(&format!("[go]\nupstream = \"{url}/\"\n"));
    let case = CaseBuilder::new("go", "go mod download", Vec::new());
    examples::go_project(case.context.path(), &proxy);
    let image = format!("GO_IMAGE={}", Buildah::new().tools_image());
    let mut case = case.finish(
        vec![format!("GOPROXY={url}"), image.clone()],
        larder,
        vec![image],
        Vec::new(),
        keep,
    );
    case.upstreams.push(proxy);
    case
}

fn apt_case(slowed: bool, options: &Options) -> Case {
    let repo = apt_fixture::Repo::new();
    repo.add_package("jq", "1.6-7fixture1", "jq 1.6-7fixture1 from the fixture");
    repo.publish();
    let upstream = Upstream::start_dir(repo.served());
    let mut keep: Keep = Vec::new();
    let url = reach(&upstream, slowed, options, &mut keep);
    let larder = Larder::start(&format!(
        "[apt]\n[apt.remotes]\n\"{APT_FIXTURE_HOST}\" = \"{url}/\"\n"
    ));
    // Two images: sources naming the fixture's own address (plain, cache mount), and naming
    // the fixture host larder maps to it (larder warm), as in tests/dockerfiles.
    let tag = format!(
        "{}-{}",
        std::process::id(),
        if slowed { "slowed" } else { "fast" }
    );
    let direct = format!("localhost/larder-bench/apt-direct:{tag}");
    let proxied = format!("localhost/larder-bench/apt-proxied:{tag}");
    examples::apt_image(&repo, &url, &direct);
    examples::apt_image(&repo, &format!("http://{APT_FIXTURE_HOST}"), &proxied);
    keep.push(Box::new(repo));
    let case = CaseBuilder::new("apt", "apt-get update", vec![upstream]);
    case.finish(
        vec![format!("DEBIAN_IMAGE={direct}")],
        larder,
        vec![format!("DEBIAN_IMAGE={proxied}")],
        vec![direct, proxied],
        keep,
    )
}

fn maven_case(slowed: bool, options: &Options) -> Case {
    let root = tempfile::tempdir().expect("fixture dir");
    let repo = maven_fixture::Repo::new(&root.path().join("remote"));
    for release in maven_fixture::base_releases() {
        repo.publish(&release);
    }
    let upstream = Upstream::start_dir(&repo.root);
    let mut keep: Keep = vec![Box::new(root)];
    let url = reach(&upstream, slowed, options, &mut keep);
    let larder = Larder::start(&format!("[maven]\nupstream = \"{url}/\"\n"));
    let case = CaseBuilder::new("maven", "mvn -B", vec![upstream]);
    maven_fixture::write_project(
        case.context.path(),
        ("org.larder.fixture", "ranged", "1.0"),
        true,
    );
    // The fixture has no real Maven plugins: the project's own resolution (`validate`), as in
    // tests/dockerfiles/maven.rs.
    let image = format!("MAVEN_IMAGE={}", tool_images::maven_image());
    let goals = "MAVEN_GOALS=validate".to_string();
    case.finish(
        vec![format!("MAVEN_MIRROR={url}/"), image.clone(), goals.clone()],
        larder,
        vec![image, goals],
        Vec::new(),
        keep,
    )
}

fn cargo_case(slowed: bool, options: &Options) -> Case {
    let work = tempfile::tempdir().expect("fixture dir");
    let registry = Upstream::start(Routes::new());
    let mut keep: Keep = Vec::new();
    let url = reach(&registry, slowed, options, &mut keep);
    // config.json's `dl` names the address clients reach the registry at.
    let files =
        cargo_fixture::registry_files(work.path(), &url, &url, cargo_fixture::DlForm::CratesIo);
    for (path, body) in files {
        registry.insert(&path, cargo_fixture::resource(&path, body));
    }
    keep.push(Box::new(work));
    let larder = Larder::start(&format!("[cargo]\nupstream = \"{url}/index/\"\n"));
    let case = CaseBuilder::new("cargo", "cargo build", vec![registry]);
    cargo_fixture::write_app(case.context.path(), None);
    let image = format!("RUST_IMAGE={}", tool_images::rust_image(&Buildah::new()));
    case.finish(
        vec![format!("CARGO_LARDER_INDEX={url}/index/"), image.clone()],
        larder,
        vec![image],
        Vec::new(),
        keep,
    )
}

/// What one build took.
struct Build {
    /// The timed RUN step, from its STEP line to the next STEP or COMMIT line.
    step: Duration,
    whole: Duration,
    /// Requests the fixture upstreams received during the build.
    upstream_requests: usize,
}

/// One `buildah bud --no-cache` of `case` in `mode`, each step timed as buildah announces it.
fn build(case: &mut Case, mode: Mode, n: usize) -> Build {
    let buildah = Buildah::new();
    let (context, args) = match mode {
        Mode::Plain => (case.context.path(), &case.direct_args),
        Mode::CacheMount => (case.cache_context.path(), &case.direct_args),
        Mode::Larder => (case.context.path(), &case.larder_args),
    };
    let tag = format!(
        "localhost/larder-bench/{}-{}:{}-{n}",
        case.example,
        mode.name().replace(' ', "-"),
        std::process::id()
    );
    let before = case.requests();
    let started = Instant::now();
    let mut child = buildah
        .command()
        .args(buildah::bud_args(context, args, &tag, true))
        .env("TMPDIR", case.tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("buildah (run .ci/install/dockerfiles.sh)");
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut lines: Vec<(Instant, String)> = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
        let Ok(line) = line else { break };
        lines.push((Instant::now(), line));
    }
    let status = child.wait().expect("wait for buildah");
    let whole = started.elapsed();
    let errors = errors.join().unwrap_or_default();
    let transcript = || {
        let out: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        format!(
            "{}\n{}\nlarder log (tail):\n{}",
            buildah::tail(&out.join("\n"), 40),
            buildah::tail(&errors, 20),
            buildah::tail(&case.larder.log(), 20)
        )
    };
    assert!(
        status.success(),
        "{} ({}) build failed:\n{}",
        case.example,
        mode.name(),
        transcript()
    );
    let marks: Vec<&(Instant, String)> = lines
        .iter()
        .filter(|(_, l)| l.starts_with("STEP ") || l.starts_with("COMMIT"))
        .collect();
    let at = marks
        .iter()
        .position(|(_, l)| l.starts_with("STEP ") && l.contains(": RUN ") && l.contains(case.step))
        .unwrap_or_else(|| panic!("no RUN step with {:?}:\n{}", case.step, transcript()));
    // A last step (Maven's example) is followed by buildah's commit, announced on stderr: it
    // ends with the build's last line of output.
    let step = marks
        .get(at + 1)
        .map(|(t, _)| *t)
        .or(lines.last().map(|(t, _)| *t))
        .unwrap_or_else(|| panic!("no line after the {:?} step:\n{}", case.step, transcript()))
        - marks[at].0;
    buildah.remove_image(&tag);
    Build {
        step,
        whole,
        upstream_requests: case.requests() - before,
    }
}

struct Options {
    rounds: usize,
    only: Vec<String>,
    upstreams: Vec<String>,
    rtt_ms: f64,
    mbit: f64,
    json: Option<PathBuf>,
}

fn options() -> Options {
    let mut options = Options {
        rounds: 7,
        only: ["npm", "pip", "go", "apt", "maven", "cargo"]
            .map(String::from)
            .to_vec(),
        upstreams: ["fast", "slowed"].map(String::from).to_vec(),
        rtt_ms: 40.0,
        mbit: 100.0,
        json: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().unwrap_or_else(|| panic!("{arg} needs {what}"));
        let list = |text: String| text.split(',').map(String::from).collect::<Vec<_>>();
        match arg.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--quick" => options.rounds = 1,
            "--rounds" => options.rounds = value("a number").parse().expect("--rounds N"),
            "--only" => options.only = list(value("npm,pip,go,apt,maven,cargo")),
            "--upstreams" => options.upstreams = list(value("fast,slowed")),
            "--rtt-ms" => options.rtt_ms = value("milliseconds").parse().expect("--rtt-ms"),
            "--mbit" => options.mbit = value("Mbit/s").parse().expect("--mbit"),
            "--json" => options.json = Some(PathBuf::from(value("a file"))),
            other => panic!("unknown option {other}; see the header of benches/run_steps.rs"),
        }
    }
    options
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn log(message: &str) {
    eprintln!("[run_steps] {message}");
}

fn main() {
    let options = options();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(String::from))
            .unwrap_or_default()
    };
    let load_before = load();
    let mut results = Vec::new();
    for upstream in &options.upstreams {
        let slowed = match upstream.as_str() {
            "fast" => false,
            "slowed" => true,
            other => panic!("--upstreams takes fast and slowed, not {other}"),
        };
        for example in &options.only {
            log(&format!("{example}, {upstream} upstream: setting up"));
            let mut case = match example.as_str() {
                "npm" => npm_case(slowed, &options),
                "pip" => pip_case(slowed, &options),
                "go" => go_case(slowed, &options),
                "apt" => apt_case(slowed, &options),
                "maven" => maven_case(slowed, &options),
                "cargo" => cargo_case(slowed, &options),
                other => panic!("no example {other}: --only takes npm,pip,go,apt,maven,cargo"),
            };
            // Fill the cache mount and larder (and read the base image into the page cache).
            for mode in [Mode::CacheMount, Mode::Larder] {
                let first = build(&mut case, mode, 0);
                log(&format!(
                    "{example}: first {} build: step {:.2}s, build {:.2}s, {} upstream requests",
                    mode.name(),
                    first.step.as_secs_f64(),
                    first.whole.as_secs_f64(),
                    first.upstream_requests
                ));
            }
            let mut builds: Vec<Vec<Build>> = MODES.iter().map(|_| Vec::new()).collect();
            for round in 0..options.rounds {
                for i in 0..MODES.len() {
                    let which = (i + round) % MODES.len();
                    let mode = MODES[which];
                    let build = build(&mut case, mode, round + 1);
                    log(&format!(
                        "{example}, {upstream}, round {}: {}: step {:.2}s, build {:.2}s, {} upstream requests",
                        round + 1,
                        mode.name(),
                        build.step.as_secs_f64(),
                        build.whole.as_secs_f64(),
                        build.upstream_requests
                    ));
                    builds[which].push(build);
                }
            }
            let med = |which: usize, f: &dyn Fn(&Build) -> f64| {
                median(builds[which].iter().map(f).collect())
            };
            let step = |which| med(which, &|b: &Build| b.step.as_secs_f64());
            let whole = |which| med(which, &|b: &Build| b.whole.as_secs_f64());
            let requests = |which| med(which, &|b: &Build| b.upstream_requests as f64);
            results.push(serde_json::json!({
                "example": example,
                "step": case.label,
                "upstream": upstream,
                "rounds": options.rounds,
                "plain_s": step(0),
                "cache_mount_s": step(1),
                "larder_s": step(2),
                "build_plain_s": whole(0),
                "build_cache_mount_s": whole(1),
                "build_larder_s": whole(2),
                "requests_plain": requests(0),
                "requests_cache_mount": requests(1),
                "requests_larder": requests(2),
            }));
        }
    }
    let load_after = load();
    let header = format!(
        "RUN steps, {}: {cores} cores, load average {load_before} before, \
         {load_after} after; medians of {} interleaved rounds; slowed = benches/throttle.py, \
         {} ms RTT, {} Mbit/s",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        options.rounds,
        options.rtt_ms,
        options.mbit
    );
    println!("{header}\n");
    println!(
        "| example | timed RUN step | upstream | plain | cache mount | larder warm | larder / cache mount | larder / plain | target ≤ 1.1 | whole build, larder / cache mount | upstream requests per build (plain / cache mount / larder) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let f = |key: &str| r[key].as_f64().unwrap_or(f64::NAN);
        let ratio = f("larder_s") / f("cache_mount_s");
        println!(
            "| {} | `{}` | {} | {:.2} s | {:.2} s | {:.2} s | {:.2}× | {:.2}× | {} | {:.2}× | {} / {} / {} |",
            r["example"].as_str().unwrap_or(""),
            r["step"].as_str().unwrap_or(""),
            r["upstream"].as_str().unwrap_or(""),
            f("plain_s"),
            f("cache_mount_s"),
            f("larder_s"),
            ratio,
            f("larder_s") / f("plain_s"),
            if ratio <= 1.1 { "yes" } else { "**no**" },
            f("build_larder_s") / f("build_cache_mount_s"),
            f("requests_plain"),
            f("requests_cache_mount"),
            f("requests_larder"),
        );
    }
    if let Some(path) = &options.json {
        let document = serde_json::json!({
            "cores": cores,
            "load_before": load_before,
            "load_after": load_after,
            "rounds": options.rounds,
            "rtt_ms": options.rtt_ms,
            "mbit": options.mbit,
            "results": results,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&document).expect("json"))
            .expect("write --json");
    }
}
