//! The example Dockerfiles in `deploy/examples/`, built for real with buildah through larder.
//!
//! For each example: build once with larder in front of fixture upstreams (the generators of
//! the ecosystem tests, `tests/{npm,pypi,go,apt,cargo}/fixture.rs`, included as they are), stop the
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
#[path = "../cargo/fixture.rs"]
mod cargo_fixture;
#[allow(dead_code)]
#[path = "../go/fixture.rs"]
mod go_fixture;
#[allow(dead_code)]
#[path = "../maven/fixture.rs"]
mod maven_fixture;
#[allow(dead_code)]
#[path = "../npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../pypi/fixture.rs"]
mod pypi_fixture;

mod buildah;
mod cargo;
mod examples;
mod maven;
mod tool_images;

use buildah::Buildah;
use examples::{context, go_project, go_proxy, larder_env, APT_FIXTURE_HOST};
use std::collections::BTreeMap;
use std::path::Path;
use support::{Larder, Upstream};

fn skip() -> bool {
    let skip = std::env::var("LARDER_SKIP_SLOW").as_deref() == Ok("1");
    if skip {
        eprintln!("skipped: LARDER_SKIP_SLOW=1");
    }
    skip
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
    let registry = npm_fixture::Registry::generate();
    let upstream = Upstream::start(support::Routes::new());
    registry.publish(&upstream);
    let larder = Larder::start(&format!("[npm]\nupstream = \"{}/\"\n", upstream.url));
    let ctx = context("npm");
    examples::npm_project(ctx.path(), &registry);

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
                examples::NPM_INSTALLED.len(),
                "the first build fetched every tarball through larder, once"
            );
            drop(upstream)
        },
        "cd /app && npm ls --all",
    );
    for (name, version) in examples::NPM_INSTALLED {
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
        examples::PIP_REQUIREMENTS,
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

        let image = format!("localhost/larder-test/apt-fixture:{}", std::process::id());
        examples::apt_image(&repo, &format!("http://{APT_FIXTURE_HOST}"), &image);
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
