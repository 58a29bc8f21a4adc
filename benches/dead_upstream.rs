//! Row 9 of `benches/README.md`, "a dead upstream": a warm install through larder, with fresh
//! client caches and every metadata copy past its TTL, while the upstream is up, refusing
//! connections, or accepting them and never answering. The real clients (npm, pip, apt-get)
//! against the fixture registries of `tests/`, on 127.0.0.1.
//!
//! Each round runs the three upstream states in a rotating order; before each run the TTL (1 s)
//! and the breaker's probe interval have passed, so every run starts with stale metadata and,
//! for the upstream that is up, a closed breaker: the figure for a refused or hung upstream
//! includes the failures it takes to open the breaker. Medians over the rounds.
//!
//! `cargo bench --bench dead_upstream -- [--rounds N] [--only npm,pip,apt] [--swr DURATION]`;
//! `--swr` sets `[limits] stale_while_revalidate` (default: larder's default, off).

#[path = "../tests/support/mod.rs"]
mod support;

// `tests/apt/client.rs` names its fixture `crate::fixture`.
#[allow(dead_code)]
#[path = "../tests/apt/client.rs"]
mod apt_client;
#[allow(dead_code)]
#[path = "../tests/apt/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../tests/npm/client.rs"]
mod npm_client;
#[allow(dead_code)]
#[path = "../tests/npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../tests/pypi/clients.rs"]
mod pypi_clients;
#[allow(dead_code)]
#[path = "../tests/pypi/fixture.rs"]
mod pypi_fixture;

use std::time::Duration;
use support::{Larder, Mode, Routes, Upstream};

/// What each run waits first: the metadata TTL (1 s) and the breaker's probe interval (2 s).
const SETTLE: Duration = Duration::from_millis(2_500);
const STATES: [Mode; 3] = [Mode::Normal, Mode::Down, Mode::Hang];

struct Options {
    rounds: usize,
    only: Vec<String>,
    swr: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        rounds: 5,
        only: vec!["npm".into(), "pip".into(), "apt".into()],
        swr: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => options.rounds = value().parse().expect("--rounds N"),
            "--only" => options.only = value().split(',').map(String::from).collect(),
            "--swr" => options.swr = Some(value()),
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    options
}

fn limits(options: &Options) -> String {
    match &options.swr {
        Some(swr) => format!("[limits]\nstale_while_revalidate = \"{swr}\"\n"),
        None => String::new(),
    }
}

/// Times `install` in each upstream state, `rounds` times, the order rotating; returns the
/// medians in `STATES` order.
fn measure(
    rounds: usize,
    upstreams: &[&Upstream],
    mut install: impl FnMut(Mode) -> Duration,
) -> [f64; 3] {
    let mut times: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        for step in 0..STATES.len() {
            let state = (round + step) % STATES.len();
            std::thread::sleep(SETTLE);
            for upstream in upstreams {
                upstream.set_mode(STATES[state]);
            }
            times[state].push(install(STATES[state]).as_secs_f64());
            for upstream in upstreams {
                upstream.set_mode(Mode::Normal);
            }
        }
    }
    times.map(|mut runs| {
        runs.sort_by(f64::total_cmp);
        runs[runs.len() / 2]
    })
}

fn npm(options: &Options) -> [f64; 3] {
    use npm_fixture::{Registry, EXPECTED, PROJECT_DEPS};
    let registry = Registry::generate();
    let upstream = Upstream::start(Routes::new());
    registry.publish(&upstream);
    let larder = Larder::start(&format!(
        "{}[npm]\nupstream = \"{}/\"\nmetadata_ttl = \"1s\"\n",
        limits(options),
        upstream.url
    ));
    // Without `resolved` URLs npm asks for every packument: the metadata a dead upstream hits.
    let lock = registry.lockfile(PROJECT_DEPS, EXPECTED, None);
    let project = npm_client::Project::new(&Registry::manifest(PROJECT_DEPS), Some(&lock));
    let url = larder.at("npm/");
    let limit = Duration::from_secs(300);
    let mut run = 0;
    let mut install = |what: &str| {
        run += 1;
        project.clean();
        let cache = project.fresh_cache(&format!("run-{run}"));
        let done = project.npm(&["ci"], &url, &cache, limit);
        done.assert_ok(what);
        done.elapsed
    };
    install("warming larder");
    measure(options.rounds, &[&upstream], |state| {
        install(&format!("npm ci, upstream {state:?}"))
    })
}

fn pip(options: &Options) -> [f64; 3] {
    use pypi_clients::{pip_install, Venv, REQUIREMENTS};
    let fx = pypi_fixture::Index::start();
    let larder = Larder::start(&format!("{}{}", limits(options), fx.config("1s")));
    let url = larder.at("/pypi/simple/");
    let install = |what: &str| {
        let done = pip_install(&Venv::new(), &url, REQUIREMENTS);
        assert!(done.ok(), "{what}: {}", done.log());
        done.took
    };
    install("warming larder");
    measure(options.rounds, &[&fx.index, &fx.files], |state| {
        install(&format!("pip install, upstream {state:?}"))
    })
}

fn apt(options: &Options) -> [f64; 3] {
    use apt_client::{Apt, Via};
    use fixture::Repo;
    let repo = Repo::new();
    repo.add_package("fixture-hello", "1.0", "hello, first build");
    repo.add_package("fixture-world", "2.0", "world");
    repo.publish();
    let upstream = Upstream::start_dir(repo.served());
    let remote = upstream.addr.to_string();
    let larder = Larder::start(&format!(
        "{}[apt]\nmetadata_ttl = \"1s\"\n\n[apt.remotes]\n\"{remote}\" = \"{}/\"\n",
        limits(options),
        upstream.url
    ));
    let via = Via::Proxy {
        larder: larder.url.clone(),
    };
    let install = |what: &str| {
        let apt = Apt::new(&repo, &upstream.url, &via);
        let started = std::time::Instant::now();
        apt.update().assert_ok(&format!("{what}: apt-get update"));
        apt.download(&["fixture-hello", "fixture-world"])
            .assert_ok(&format!("{what}: apt-get install --download-only"));
        started.elapsed()
    };
    install("warming larder");
    measure(options.rounds, &[&upstream], |state| {
        install(&format!("apt-get, upstream {state:?}"))
    })
}

fn main() {
    let options = options();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows = Vec::new();
    for client in &options.only {
        let [up, refused, hung] = match client.as_str() {
            "npm" => npm(&options),
            "pip" => pip(&options),
            "apt" => apt(&options),
            other => panic!("no such client: {other} (npm, pip, apt)"),
        };
        let verdict = |ratio: f64| if ratio <= 1.1 { "met" } else { "not met" };
        rows.push(format!(
            "| {client} | {up:.2} s | {refused:.2} s | {:.2}× ({}) | {hung:.2} s | {:.2}× ({}) |",
            refused / up,
            verdict(refused / up),
            hung / up,
            verdict(hung / up),
        ));
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nRow 9, a dead upstream: warm installs through larder, fresh client caches, metadata past its TTL; medians of {} rounds; stale_while_revalidate = {}; load {} → {}\n",
        options.rounds,
        options.swr.as_deref().unwrap_or("off (default)"),
        load_before.split(' ').next().unwrap_or("?"),
        load_after.split(' ').next().unwrap_or("?"),
    );
    println!(
        "| client | upstream up | refused | refused / up (≤ 1.1×) | hung | hung / up (≤ 1.1×) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
