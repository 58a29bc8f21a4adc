//! What the examples in `deploy/examples/` are built against: their project files, the fixture
//! upstreams (the generators of `tests/{npm,pypi,go,apt}/fixture.rs`), apt fixture images, and
//! larder's build-args. Shared by this target's tests and by `benches/run_steps.rs`, which
//! include it with `#[path]` next to `support`, `buildah` and the four fixture modules.

use std::path::Path;
use std::process::Command;

use crate::buildah::Buildah;
use crate::support::{Resource, Routes, Upstream};
use crate::{apt_fixture, go_fixture, npm_fixture};

/// The host name the apt fixture is published under inside the images (never resolved: apt
/// sends it to larder as its proxy, and larder maps it to the fixture on 127.0.0.1).
pub const APT_FIXTURE_HOST: &str = "apt.fixture.invalid";

/// The npm project's dependencies, and what `npm ci` installs from its lockfile.
pub const NPM_DEPS: [(&str, &str); 3] = [
    (npm_fixture::LEFT, "1.0.0"),
    (npm_fixture::SCOPED, "^2.0.0"),
    (npm_fixture::MANY, "^1.0.0"),
];
pub const NPM_INSTALLED: [(&str, &str); 4] = [
    (npm_fixture::LEFT, "1.0.0"),
    (npm_fixture::SCOPED, "2.0.0"),
    (npm_fixture::UTIL, "1.2.0"),
    (npm_fixture::MANY, "1.0.299"),
];

/// The pip example's `requirements.txt` (app-main pulls in dep-lib).
pub const PIP_REQUIREMENTS: &str = "app-main\nfuture-only\n";

/// A build context: the example's Dockerfile plus the project files a caller writes.
pub fn context(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("context dir");
    std::fs::copy(
        example(name).join("Dockerfile"),
        dir.path().join("Dockerfile"),
    )
    .expect("copy the example's Dockerfile");
    dir
}

/// `deploy/examples/<name>`.
pub fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/examples")
        .join(name)
}

/// What `larder env --url URL --format build-args` prints, as `NAME=VALUE` pairs. (The
/// library's renderer, not the binary: the output is the same, see `src/env_command.rs`.)
pub fn larder_env(url: &str) -> Vec<String> {
    use larder::env_command::{render, settings, Format};
    let url = url::Url::parse(url).expect("larder's URL");
    let text = render(&settings(larder::adapters::all(), &url), Format::BuildArgs);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.len() % 2 == 0 && words.iter().step_by(2).all(|w| *w == "--build-arg"),
        "larder env --format build-args printed {text:?}"
    );
    words
        .iter()
        .skip(1)
        .step_by(2)
        .map(|s| s.to_string())
        .collect()
}

/// The npm example's project files: `package.json`, the lockfile as npm writes it against the
/// public registry (npm rewrites the host to its registry), and `index.js`.
pub fn npm_project(dir: &Path, registry: &npm_fixture::Registry) {
    let write_json = |file: &str, value: &serde_json::Value| {
        std::fs::write(
            dir.join(file),
            serde_json::to_vec_pretty(value).expect("json"),
        )
        .expect("write project file")
    };
    write_json("package.json", &npm_fixture::Registry::manifest(&NPM_DEPS));
    write_json(
        "package-lock.json",
        &registry.lockfile(
            &NPM_DEPS,
            &NPM_INSTALLED,
            Some("https://registry.npmjs.org"),
        ),
    );
    std::fs::write(dir.join("index.js"), "console.log('hello');\n").expect("index.js");
}

/// The Go fixture graph as a GOPROXY on 127.0.0.1.
pub fn go_proxy() -> Upstream {
    let mut routes = Routes::new();
    for (relative, body) in go_fixture::proxy_tree(&go_fixture::graph()) {
        let resource = Resource::new("application/octet-stream", body);
        routes.insert(format!("/{relative}"), vec![resource.clone()]);
        routes.insert(format!("/{}", relative.replace('!', "%21")), vec![resource]);
    }
    Upstream::start(routes)
}

/// The fixture's main module with a complete go.mod and go.sum, as a developer commits them
/// (`go mod tidy` on the host, straight from the fixture proxy).
pub fn go_project(dir: &Path, proxy: &Upstream) {
    go_fixture::write_app(dir);
    let home = tempfile::tempdir().expect("go home");
    let output = Command::new("go")
        .args(["mod", "tidy"])
        .current_dir(dir)
        .env("HOME", home.path())
        .env("GOPATH", home.path().join("gopath"))
        .env("GOCACHE", home.path().join("gocache"))
        .env("GOPROXY", &proxy.url)
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go command (run .ci/install/go.sh)");
    assert!(
        output.status.success(),
        "go mod tidy against the fixture proxy failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    proxy.clear_requests();
}

/// Commits `image`: the minbase image whose apt sources name only the fixture `repo` at
/// `archive` (`http://HOST[:PORT]`, the archive root `/debian` below it), trusting its key.
pub fn apt_image(repo: &apt_fixture::Repo, archive: &str, image: &str) {
    let buildah = Buildah::new();
    let from = buildah.run(&["from", "--pull-never", buildah.minbase_image()]);
    from.assert_ok("buildah from the minbase image");
    let container = from.stdout.trim().to_string();
    let sources = tempfile::NamedTempFile::new().expect("sources file");
    std::fs::write(
        sources.path(),
        format!(
            "deb [signed-by=/etc/apt/keyrings/larder-fixture.gpg] {archive}/{} {} main\n",
            apt_fixture::ROOT,
            apt_fixture::SUITE
        ),
    )
    .expect("write sources");
    let keyring = repo.keyring();
    for (from, to) in [
        (sources.path(), "/etc/apt/sources.list"),
        (keyring.as_path(), "/etc/apt/keyrings/larder-fixture.gpg"),
    ] {
        buildah
            .run(&["copy", &container, &from.display().to_string(), to])
            .assert_ok(&format!("buildah copy {to}"));
    }
    buildah
        .run(&["commit", "--quiet", "--rm", &container, image])
        .assert_ok("buildah commit the apt fixture image");
}
