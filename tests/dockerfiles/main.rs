//! The example Dockerfiles in `deploy/examples/`, built for real with buildah through larder.
//!
//! For each example: build once with larder in front of fixture upstreams (the generators of
//! the ecosystem tests, `tests/{npm,pypi,go,apt}/fixture.rs`, included as they are), stop the
//! fixtures, build again with `--no-cache` so that every RUN step runs again: the second build
//! succeeds from larder alone and installs exactly what the first did. The build-args come
//! from `larder env --format build-args`, as a user would paste them.
//!
//! The base image is made locally (`base-image.sh`, kept between runs: see `buildah.rs`).
//! Tools come from `.ci/install/dockerfiles.sh`. Slow (minutes): `LARDER_SKIP_SLOW=1` skips
//! this target, as `scripts/test --fast` does.

#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../apt/fixture.rs"]
mod apt_fixture;
#[allow(dead_code)]
#[path = "../go/fixture.rs"]
mod go_fixture;
#[allow(dead_code)]
#[path = "../npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../pypi/fixture.rs"]
mod pypi_fixture;

mod buildah;

use buildah::Buildah;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{Larder, Resource, Routes, Upstream};

/// The host name the apt fixture is published under inside the images (never resolved: apt
/// sends it to larder as its proxy, and larder maps it to the fixture on 127.0.0.1).
const APT_FIXTURE_HOST: &str = "apt.fixture.invalid";

fn skip() -> bool {
    let skip = std::env::var("LARDER_SKIP_SLOW").as_deref() == Ok("1");
    if skip {
        eprintln!("skipped: LARDER_SKIP_SLOW=1");
    }
    skip
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/examples")
        .join(name)
}

/// A build context: the example's Dockerfile plus the project files a test writes.
fn context(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("context dir");
    std::fs::copy(
        example(name).join("Dockerfile"),
        dir.path().join("Dockerfile"),
    )
    .expect("copy the example's Dockerfile");
    dir
}

/// What `larder env --url URL --format build-args` prints, as `NAME=VALUE` pairs. (The
/// library's renderer, not the binary: the output is the same, see `src/env_command.rs`.)
fn larder_env(url: &str) -> Vec<String> {
    use larder::env_command::{render, settings, Format};
    let url = url::Url::parse(url).expect("larder's URL");
    let text = render(&settings(&url), Format::BuildArgs);
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

/// One example built twice; see the module comment. `images` are the example's base-image
/// build-args and their values; `stop` stops the fixture upstreams between the builds. Returns
/// what `query` printed in the image (the same for both builds).
fn build_twice(
    name: &str,
    context: &Path,
    images: &[(&str, &str)],
    larder: &Larder,
    stop: impl FnOnce(),
    query: &str,
) -> String {
    let buildah = Buildah::new();
    let mut args = larder_env(&larder.url);
    args.extend(images.iter().map(|(arg, image)| format!("{arg}={image}")));
    let build = |pass: &str, no_cache: bool| {
        let image = format!("localhost/larder-test/{name}-{pass}:{}", std::process::id());
        let build = buildah.bud(context, &args, &image, no_cache);
        assert!(
            build.ok,
            "{name}: {pass} build failed after {:?}:\n{}\nlarder log (tail):\n{}",
            build.elapsed,
            buildah::tail(&build.output, 60),
            buildah::tail(&larder.log(), 40)
        );
        eprintln!("{name}: {pass} build took {:?}", build.elapsed);
        let found = buildah.query(&image, query);
        buildah.remove_image(&image);
        found
    };
    let first = build("first", false);
    stop();
    let second = build("second", true);
    assert_eq!(
        first, second,
        "{name}: the build from larder alone installed something else"
    );
    first
}

#[test]
fn npm_ci_rebuilds_from_larder_alone_with_the_same_packages() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    use npm_fixture::{Registry, LEFT, MANY, SCOPED, UTIL};
    let registry = Registry::generate();
    let upstream = Upstream::start(Routes::new());
    registry.publish(&upstream);
    let larder = Larder::start(&format!("[npm]\nupstream = \"{}/\"\n", upstream.url));

    let deps = [(LEFT, "1.0.0"), (SCOPED, "^2.0.0"), (MANY, "^1.0.0")];
    let installed = [
        (LEFT, "1.0.0"),
        (SCOPED, "2.0.0"),
        (UTIL, "1.2.0"),
        (MANY, "1.0.299"),
    ];
    let ctx = context("npm");
    let write_json = |file: &str, value: &serde_json::Value| {
        std::fs::write(
            ctx.path().join(file),
            serde_json::to_vec_pretty(value).expect("json"),
        )
        .expect("write project file")
    };
    write_json("package.json", &Registry::manifest(&deps));
    // As npm writes it against the public registry: npm rewrites the host to its registry.
    write_json(
        "package-lock.json",
        &registry.lockfile(&deps, &installed, Some("https://registry.npmjs.org")),
    );
    std::fs::write(ctx.path().join("index.js"), "console.log('hello');\n").expect("index.js");

    let listing = build_twice(
        "npm",
        ctx.path(),
        &[("NODE_IMAGE", Buildah::new().tools_image())],
        &larder,
        || {
            let tarballs = upstream
                .requests()
                .iter()
                .filter(|r| r.path.ends_with(".tgz"))
                .count();
            assert_eq!(
                tarballs,
                installed.len(),
                "the first build fetched every tarball through larder, once"
            );
            drop(upstream)
        },
        "cd /app && npm ls --all",
    );
    for (name, version) in installed {
        assert!(
            listing.contains(&format!("{name}@{version}")),
            "npm ls lacks {name}@{version}:\n{listing}"
        );
    }
}

#[test]
fn pip_install_in_a_venv_rebuilds_from_larder_alone_with_the_same_packages() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    let index = pypi_fixture::Index::start();
    let larder = Larder::start(&index.config("5m"));
    let ctx = context("pip");
    std::fs::write(
        ctx.path().join("requirements.txt"),
        "app-main\nfuture-only\n",
    )
    .expect("requirements.txt");

    let freeze = build_twice(
        "pip",
        ctx.path(),
        &[("PYTHON_IMAGE", Buildah::new().tools_image())],
        &larder,
        || {
            assert!(
                index.files.requests().len() >= 3,
                "the first build fetched the wheels through larder: {:#?}",
                index.files.requests()
            );
            drop(index)
        },
        "pip freeze --all --exclude pip --exclude setuptools",
    );
    let installed: BTreeMap<String, String> = freeze
        .lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.to_ascii_lowercase().replace(['.', '_'], "-"), v.into()))
        .collect();
    let expected: BTreeMap<String, String> = [
        ("app-main", "1.0"),
        ("dep-lib", "1.1"),
        ("future-only", "1.0"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(installed, expected, "pip freeze:\n{freeze}");
}

/// The Go fixture graph as a GOPROXY on 127.0.0.1.
fn go_proxy() -> Upstream {
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
fn go_project(dir: &Path, proxy: &Upstream) {
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

/// A signed fixture archive with `packages`, served on 127.0.0.1, and an image whose apt
/// sources name only it (as `APT_FIXTURE_HOST`), trusting its key.
struct AptFixture {
    _repo: apt_fixture::Repo,
    upstream: Upstream,
    image: String,
}

impl AptFixture {
    /// (No `+` in versions: the fixture's directory server does not percent-decode the `%2B`
    /// larder sends, as archives do.)
    fn start(packages: &[(&str, &str)]) -> AptFixture {
        let repo = apt_fixture::Repo::new();
        for (name, version) in packages {
            repo.add_package(name, version, format!("{name} {version} from the fixture"));
        }
        repo.publish();
        let upstream = Upstream::start_dir(repo.served());

        let buildah = Buildah::new();
        let from = buildah.run(&["from", "--pull-never", buildah.minbase_image()]);
        from.assert_ok("buildah from the minbase image");
        let container = from.stdout.trim().to_string();
        let sources = tempfile::NamedTempFile::new().expect("sources file");
        std::fs::write(
            sources.path(),
            format!(
                "deb [signed-by=/etc/apt/keyrings/larder-fixture.gpg] http://{APT_FIXTURE_HOST}/{} {} main\n",
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
        let image = format!("localhost/larder-test/apt-fixture:{}", std::process::id());
        buildah
            .run(&["commit", "--quiet", "--rm", &container, &image])
            .assert_ok("buildah commit the apt fixture image");
        AptFixture {
            _repo: repo,
            upstream,
            image,
        }
    }

    /// The `[apt.remotes]` line mapping the fixture host to the fixture upstream.
    fn remote(&self) -> String {
        format!("\"{APT_FIXTURE_HOST}\" = \"{}/\"\n", self.upstream.url)
    }

    fn debs_fetched(&self) -> usize {
        self.upstream
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(".deb"))
            .count()
    }
}

impl Drop for AptFixture {
    fn drop(&mut self) {
        Buildah::new().remove_image(&self.image);
    }
}

#[test]
fn go_mod_download_rebuilds_from_larder_alone_with_the_same_modules() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    let proxy = go_proxy();
    let larder = Larder::start(&format!("[go]\nupstream = \"{}/\"\n", proxy.url));
    let ctx = context("go");
    go_project(ctx.path(), &proxy);

    let found = build_twice(
        "go",
        ctx.path(),
        &[("GO_IMAGE", Buildah::new().tools_image())],
        &larder,
        || {
            assert!(
                proxy.requests().iter().any(|r| r.path.ends_with(".zip")),
                "the first build fetched module zips through larder: {:#?}",
                proxy.requests()
            );
            drop(proxy)
        },
        "cd /src && GOFLAGS=-mod=mod GOPROXY=off go list -m all && app",
    );
    for module in [
        "example.com/greet v1.1.0",
        "example.com/Upper/Lib v0.2.0",
        "example.com/pseudo v0.0.0-20240102030405-abcdefabcdef",
    ] {
        assert!(
            found.contains(module),
            "go list -m all lacks {module}:\n{found}"
        );
    }
    assert_eq!(
        found.lines().last(),
        Some(go_fixture::APP_OUTPUT),
        "{found}"
    );
}

#[test]
fn apt_get_install_through_the_proxy_rebuilds_from_larder_alone_and_leaves_no_proxy_setting() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    let apt = AptFixture::start(&[("jq", "1.6-7fixture1")]);
    let larder = Larder::start(&format!("[apt]\n[apt.remotes]\n{}", apt.remote()));
    let ctx = context("apt");

    let found = build_twice(
        "apt",
        ctx.path(),
        &[("DEBIAN_IMAGE", &apt.image)],
        &larder,
        || {
            assert_eq!(apt.debs_fetched(), 1, "{:#?}", apt.upstream.requests());
            apt.upstream.set_mode(support::Mode::Down);
        },
        "dpkg-query -W jq && cat /usr/share/jq/payload && echo && ls /etc/apt/apt.conf.d/",
    );
    assert!(
        found.starts_with("jq\t1.6-7fixture1\njq 1.6-7fixture1 from the fixture\n"),
        "{found}"
    );
    assert!(
        !found.lines().any(|line| line == "99larder"),
        "the proxy setting stayed in the image:\n{found}"
    );
}

#[test]
fn multi_stage_go_and_apt_rebuild_from_larder_alone() {
    if skip() {
        return;
    }
    let _serial = buildah::serial();
    let apt = AptFixture::start(&[("ca-certificates", "20230311fixture1")]);
    let proxy = go_proxy();
    let larder = Larder::start(&format!(
        "[go]\nupstream = \"{}/\"\n[apt]\n[apt.remotes]\n{}",
        proxy.url,
        apt.remote()
    ));
    let ctx = context("multi-stage");
    go_project(ctx.path(), &proxy);

    let found = build_twice(
        "multi-stage",
        ctx.path(),
        &[
            ("GO_IMAGE", Buildah::new().tools_image()),
            ("DEBIAN_IMAGE", &apt.image),
        ],
        &larder,
        || {
            assert_eq!(apt.debs_fetched(), 1, "{:#?}", apt.upstream.requests());
            assert!(proxy.requests().iter().any(|r| r.path.ends_with(".zip")));
            apt.upstream.set_mode(support::Mode::Down);
            drop(proxy);
        },
        "dpkg-query -W ca-certificates && app",
    );
    assert_eq!(
        found,
        format!(
            "ca-certificates\t20230311fixture1\n{}\n",
            go_fixture::APP_OUTPUT
        )
    );
}
