//! apt-get through larder, for real: a signed fixture repository built with Debian's tools, a
//! private apt state per client, larder as a forward proxy and as a mirror.
//!
//! Needs `apt-get`, `apt-ftparchive`, `dpkg-deb` and `gpg` (`.ci/install/apt.sh`).

#[path = "../support/mod.rs"]
mod support;

mod client;
mod fixture;
mod live;
mod release_set;

use client::{Apt, Via};
use fixture::{Repo, ROOT, SUITE};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::{Larder, Mode, Upstream};

/// A repository with two packages, published and served on 127.0.0.1.
fn served_repo() -> (Repo, Upstream) {
    let repo = Repo::new();
    repo.add_package("fixture-hello", "1.0", "hello, first build");
    repo.add_package("fixture-world", "2.0", "world");
    repo.publish();
    let upstream = Upstream::start_dir(repo.served());
    (repo, upstream)
}

/// The remote name of a fixture: its `host:port`, as apt's proxy requests name it.
fn remote(upstream: &Upstream) -> String {
    upstream.addr.to_string()
}

fn config(upstream: &Upstream, metadata_ttl: &str) -> String {
    format!(
        "[apt]\nmetadata_ttl = \"{metadata_ttl}\"\n\n[apt.remotes]\n\"{}\" = \"{}/\"\n",
        remote(upstream),
        upstream.url
    )
}

fn proxy(larder: &Larder) -> Via {
    Via::Proxy {
        larder: larder.url.clone(),
    }
}

fn mirror(larder: &Larder, upstream: &Upstream) -> Via {
    Via::Mirror {
        larder: larder.url.clone(),
        remote: remote(upstream),
    }
}

/// `apt-get update` then `install --download-only` of the fixture's packages, both asserted
/// to succeed without a hash mismatch; returns the client for further checks.
fn update_and_download(repo: &Repo, upstream: &Upstream, via: &Via, what: &str) -> Apt {
    let apt = Apt::new(repo, &upstream.url, via);
    apt.update().assert_ok(&format!("{what}: apt-get update"));
    apt.download(&["fixture-hello", "fixture-world"])
        .assert_ok(&format!("{what}: apt-get install --download-only"));
    assert_eq!(
        apt.downloaded("fixture-hello", "1.0"),
        repo.read(&Repo::pool_path("fixture-hello", "1.0")),
        "{what}: the .deb apt got is the fixture's"
    );
    apt
}

#[test]
fn the_fixture_is_a_signed_by_hash_repository_apt_accepts() {
    let (repo, upstream) = served_repo();
    let in_release =
        String::from_utf8(repo.read(&format!("dists/{SUITE}/InRelease"))).expect("text");
    assert!(in_release.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"));
    assert!(in_release.contains("Acquire-By-Hash: yes"));
    assert!(
        !in_release.contains("SHA512:"),
        "like Debian's archive, SHA256 is the strongest hash"
    );
    update_and_download(&repo, &upstream, &Via::Direct, "direct");
    // apt fetched the index by hash, as it will through larder.
    let requests = upstream.requests();
    assert!(
        requests.iter().any(|r| r.path.contains("/by-hash/SHA256/")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.path.ends_with("/Packages.gz")),
        "{requests:?}"
    );
}

#[test]
fn proxy_mode_populates_and_mirror_mode_serves_it_with_upstream_down() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));

    update_and_download(&repo, &upstream, &proxy(&larder), "proxy, cold");
    let in_release = format!("/{ROOT}/dists/{SUITE}/InRelease");
    assert_eq!(upstream.count(&in_release), 1, "{:?}", upstream.requests());

    upstream.set_mode(Mode::Down);
    // A fresh client, the other mode: the same cache entries answer (one key for both modes).
    update_and_download(
        &repo,
        &upstream,
        &mirror(&larder, &upstream),
        "mirror, upstream down",
    );
    update_and_download(&repo, &upstream, &proxy(&larder), "proxy, upstream down");
}

#[test]
fn mirror_mode_populates_and_survives_a_restart_with_upstream_down() {
    let (repo, upstream) = served_repo();
    let config = config(&upstream, "5m");
    let mut larder = Larder::start(&config);
    update_and_download(
        &repo,
        &upstream,
        &mirror(&larder, &upstream),
        "mirror, cold",
    );
    let requests_after_cold = upstream.requests().len();
    update_and_download(
        &repo,
        &upstream,
        &mirror(&larder, &upstream),
        "mirror, warm",
    );
    assert_eq!(
        upstream.requests().len(),
        requests_after_cold,
        "a warm run within the TTL asks upstream nothing"
    );

    upstream.set_mode(Mode::Down);
    let data_dir = larder.data_dir.clone();
    larder.kill();
    let larder = Larder::start_in(&data_dir, &config);
    update_and_download(
        &repo,
        &upstream,
        &mirror(&larder, &upstream),
        "mirror, restarted, upstream down",
    );
    update_and_download(
        &repo,
        &upstream,
        &proxy(&larder),
        "proxy, restarted, upstream down",
    );
}

#[test]
fn a_new_release_is_seen_after_the_ttl_without_hash_mismatch() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "1s"));
    let via = mirror(&larder, &upstream);
    let first = update_and_download(&repo, &upstream, &via, "before the new release");
    assert!(!first.knows("fixture-new"));

    let new_deb = repo.add_package("fixture-new", "3.0", "published later");
    repo.publish();
    std::thread::sleep(Duration::from_millis(1500));

    let apt = Apt::new(&repo, &upstream.url, &via);
    apt.update().assert_ok("update after the new release");
    assert!(
        apt.knows("fixture-new"),
        "the client sees the package the new release added"
    );
    apt.download(&["fixture-new", "fixture-hello"])
        .assert_ok("download after the new release");
    assert_eq!(apt.downloaded("fixture-new", "3.0"), new_deb);

    // The old client, updating again, moves to the new release too.
    first
        .update()
        .assert_ok("second update of the first client");
    assert!(first.knows("fixture-new"));
}

/// Pool files are immutable, but the engine serves none that the current Packages index
/// contradicts (`declared_digests`): once apt has fetched the new Packages through larder, the
/// stored first build is fetched again.
#[test]
fn a_rebuilt_pool_file_is_not_served_stale() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "1s"));
    let via = proxy(&larder);
    update_and_download(&repo, &upstream, &via, "before the rebuild");

    // A third-party repository rebuilds a package without bumping its version.
    let rebuilt = repo.add_package("fixture-hello", "1.0", "hello, second build, other bytes");
    repo.publish();
    std::thread::sleep(Duration::from_millis(1500));

    let apt = Apt::new(&repo, &upstream.url, &via);
    apt.update().assert_ok("update after the rebuild");
    let run = apt.download(&["fixture-hello"]);
    run.assert_ok("download of the rebuilt package");
    assert_eq!(
        apt.downloaded("fixture-hello", "1.0"),
        rebuilt,
        "apt got the rebuilt file"
    );
}

#[test]
fn stale_copies_serve_apt_when_upstream_is_down_after_the_ttl() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "1s"));
    update_and_download(&repo, &upstream, &proxy(&larder), "proxy, cold");
    upstream.set_mode(Mode::Down);
    std::thread::sleep(Duration::from_millis(1500));
    // Everything is past its TTL: larder tries upstream, fails, and serves what it has.
    let started = Instant::now();
    update_and_download(
        &repo,
        &upstream,
        &mirror(&larder, &upstream),
        "mirror, stale, upstream down",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_release_published_mid_update_causes_no_hash_mismatch() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "1s"));
    let via = proxy(&larder);
    // Slow enough that the publish below lands between InRelease and the indexes.
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_millis(400),
        bytes_per_sec: 1 << 20,
    });
    let apt = Apt::new(&repo, &upstream.url, &via);
    let update = std::thread::spawn(move || {
        let run = apt.update();
        (apt, run)
    });
    std::thread::sleep(Duration::from_millis(550));
    repo.add_package("fixture-new", "3.0", "published mid-update");
    repo.publish();
    let (apt, run) = update.join().expect("update thread");
    run.assert_ok("update while a release is published");
    apt.download(&["fixture-hello", "fixture-world"])
        .assert_ok("download after a mid-update release");

    upstream.set_mode(Mode::Normal);
    std::thread::sleep(Duration::from_millis(1500));
    let later = Apt::new(&repo, &upstream.url, &via);
    later
        .update()
        .assert_ok("update after the mid-update release");
    assert!(later.knows("fixture-new"));
    later
        .download(&["fixture-new"])
        .assert_ok("download of the package published mid-update");
}

#[test]
fn concurrent_updates_share_one_upstream_fetch() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    upstream.set_mode(Mode::Slow {
        latency: Duration::from_millis(300),
        bytes_per_sec: 1 << 20,
    });
    let clients: Vec<Apt> = (0..3)
        .map(|_| Apt::new(&repo, &upstream.url, &proxy(&larder)))
        .collect();
    std::thread::scope(|scope| {
        let runs: Vec<_> = clients
            .iter()
            .map(|apt| scope.spawn(move || apt.update()))
            .collect();
        for run in runs {
            run.join()
                .expect("update thread")
                .assert_ok("concurrent update");
        }
    });
    let in_release = format!("/{ROOT}/dists/{SUITE}/InRelease");
    assert_eq!(upstream.count(&in_release), 1, "{:?}", upstream.requests());
}

/// A 503, then a 200 HTML error page (a proxy's or a captive portal's) for InRelease: neither is
/// kept; once upstream is healthy again a fresh client updates within the TTL.
fn upstream_error_then_recovery(error: support::Resource, what: &str) {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    let in_release = format!("/{ROOT}/dists/{SUITE}/InRelease");
    upstream.insert(&in_release, error);
    let broken = Apt::new(&repo, &upstream.url, &proxy(&larder));
    let run = broken.update();
    assert!(
        !run.ok,
        "{what}: apt-get update must fail while upstream is broken:\n{}",
        run.output
    );
    upstream.remove(&in_release);
    update_and_download(
        &repo,
        &upstream,
        &proxy(&larder),
        &format!("{what}, then healthy"),
    );
}

#[test]
fn a_5xx_from_upstream_is_not_cached() {
    let error = support::Resource::new("text/plain", "upstream overloaded\n").status(503);
    upstream_error_then_recovery(error, "503");
}

/// A 200 `text/html` body for an InRelease is an error page: never stored, the cached copy is
/// served instead (the issue: "never cache HTML error pages").
#[test]
fn an_html_error_page_is_not_cached() {
    let error =
        support::Resource::new("text/html", "<html><body>Service unavailable</body></html>");
    upstream_error_then_recovery(error, "200 text/html");
}

/// An unsigned repository (`[trusted=yes]`, no InRelease, only Release) read by name, as
/// older or hand-made repositories are: the indexes must still be cached, so that a fresh
/// client updates with upstream down. They are verified against the Release published with
/// the missing InRelease.
#[test]
fn an_unsigned_repository_read_by_name_works_with_upstream_down() {
    let (repo, upstream) = served_repo();
    let suite = repo.served().join(ROOT).join("dists").join(SUITE);
    std::fs::remove_file(suite.join("InRelease")).expect("drop InRelease");
    std::fs::remove_file(suite.join("Release.gpg")).expect("drop Release.gpg");
    let larder = Larder::start(&config(&upstream, "5m"));
    let client = || {
        Apt::with_options(
            &upstream.url,
            &proxy(&larder),
            "trusted=yes",
            "Acquire::By-Hash \"no\";",
        )
    };
    let cold = client();
    cold.update().assert_ok("unsigned, by name, cold");
    cold.download(&["fixture-hello"])
        .assert_ok("unsigned download, cold");
    let by_name = format!("/{ROOT}/dists/{SUITE}/main/binary-amd64/Packages.gz");
    assert_eq!(upstream.count(&by_name), 1, "{:?}", upstream.requests());

    upstream.set_mode(Mode::Down);
    let offline = client();
    offline
        .update()
        .assert_ok("unsigned, by name, upstream down");
    offline
        .download(&["fixture-hello"])
        .assert_ok("unsigned download, upstream down");
}

/// What a plain HTTP client gets for `url`: the status, and the body only if it arrived whole.
fn fetch(url: &str) -> (u16, Option<Vec<u8>>) {
    match support::http_client().get(url).send() {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.bytes().ok().map(|b| b.to_vec()))
        }
        Err(_) => (0, None),
    }
}

#[test]
fn indexes_that_disagree_with_in_release_or_their_hash_are_never_served() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    let base = format!(
        "{}/apt/{}/{ROOT}/dists/{SUITE}/main/binary-amd64",
        larder.url,
        remote(&upstream)
    );
    let packages = repo.read(&format!("dists/{SUITE}/main/binary-amd64/Packages"));

    // Intact: the by-name index and its by-hash twin are served as published.
    assert_eq!(
        fetch(&format!("{base}/Packages")),
        (200, Some(packages.clone()))
    );
    let by_hash = format!("by-hash/SHA256/{}", fixture::sha256_hex(&packages));
    assert_eq!(
        fetch(&format!("{base}/{by_hash}")),
        (200, Some(packages.clone()))
    );

    // Upstream serves bytes that match neither the InRelease nor the hash in the name.
    let served = repo
        .served()
        .join(ROOT)
        .join(format!("dists/{SUITE}/main/binary-amd64"));
    let forged = b"Package: forged\nVersion: 6.6.6\n\n".to_vec();
    std::fs::write(served.join("Packages.gz"), &forged).expect("forge Packages.gz");
    let forged_hash = format!("by-hash/SHA256/{}", fixture::sha256_hex(b"something else"));
    std::fs::create_dir_all(served.join("by-hash/SHA256")).expect("by-hash dir");
    std::fs::write(served.join(&forged_hash), &forged).expect("forge by-hash");
    for path in ["Packages.gz", forged_hash.as_str(), "Packages.gz"] {
        let (status, body) = fetch(&format!("{base}/{path}"));
        assert!(
            status != 200 || body.is_none(),
            "{path}: larder served bytes that fail verification (status {status})"
        );
        assert!(status != 404, "{path}: a verification failure is not a 404");
    }
}

/// What clients that fetch indexes by name (no by-hash: older apt, `Acquire::By-Hash "no"`,
/// many third-party repositories) get: the index must match the InRelease larder serves at
/// that moment. Here Packages.gz was stored later than InRelease, so when InRelease expires
/// and is refreshed the stored Packages.gz is still within its own TTL.
#[test]
fn a_by_name_index_always_matches_the_in_release_served_now() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "2s"));
    let suite = format!(
        "{}/apt/{}/{ROOT}/dists/{SUITE}",
        larder.url,
        remote(&upstream)
    );
    let started = Instant::now();
    assert_eq!(fetch(&format!("{suite}/InRelease")).0, 200);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        fetch(&format!("{suite}/main/binary-amd64/Packages.gz")).0,
        200
    );
    repo.add_package("fixture-new", "3.0", "published later");
    repo.publish();
    std::thread::sleep(Duration::from_millis(2300).saturating_sub(started.elapsed()));

    let (_, in_release) = fetch(&format!("{suite}/InRelease"));
    let (_, packages_gz) = fetch(&format!("{suite}/main/binary-amd64/Packages.gz"));
    let in_release = String::from_utf8(in_release.expect("InRelease")).expect("text");
    let listed = fixture::sha256_hex(&packages_gz.expect("Packages.gz"));
    assert!(
        in_release.contains(&format!("{listed} ")) ,
        "larder served a Packages.gz ({listed}) that its current InRelease does not list:\n{in_release}"
    );
}

/// Sends one raw request to larder and returns (status, whole response, elapsed).
fn raw(larder: &Larder, request: &str) -> (u16, String, Duration) {
    let address = larder.url.trim_start_matches("http://");
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).expect("connect to larder");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the headers and a body have arrived or larder closes.
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(err) => {
                response.extend_from_slice(format!("\n[read error: {err}]").as_bytes());
                break;
            }
        }
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text, started.elapsed())
}

#[test]
fn the_proxy_refuses_unconfigured_hosts_and_connect_at_once() {
    let (_repo, upstream) = served_repo();
    // A host larder could reach but is not configured for: it must never be contacted.
    let (_other_repo, other) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    let other_host = remote(&other);

    for request in [
        format!("GET http://{other_host}/{ROOT}/dists/{SUITE}/InRelease HTTP/1.1\r\nHost: {other_host}\r\nConnection: close\r\n\r\n"),
        format!("CONNECT {other_host} HTTP/1.1\r\nHost: {other_host}\r\n\r\n"),
        format!("CONNECT {} HTTP/1.1\r\nHost: {}\r\n\r\n", remote(&upstream), remote(&upstream)),
    ] {
        let (status, response, elapsed) = raw(&larder, &request);
        let line = request.lines().next().unwrap_or_default();
        assert_eq!(status, 403, "{line}:\n{response}");
        assert!(elapsed < Duration::from_secs(2), "{line}: answered after {elapsed:?}");
        assert!(response.contains("not an open proxy"), "{line}: the refusal says why:\n{response}");
    }
    assert!(
        other.requests().is_empty(),
        "larder contacted an unconfigured host: {:?}",
        other.requests()
    );
    assert!(
        upstream.requests().is_empty(),
        "a CONNECT reached the configured upstream: {:?}",
        upstream.requests()
    );

    // Through a real apt: an unconfigured source fails cleanly, it is not fetched.
    let apt = Apt::new(&_other_repo, &other.url, &proxy(&larder));
    let run = apt.update();
    assert!(
        !run.ok,
        "apt-get update through larder for an unconfigured host must fail:\n{}",
        run.output
    );
    assert!(run.output.contains("403"), "{}", run.output);
    assert!(other.requests().is_empty());
}

/// The refusal names the config key (the adapter's `proxy_refusal_hint`).
#[test]
fn the_proxy_refusal_names_the_apt_remotes_key() {
    let (_repo, upstream) = served_repo();
    let larder = Larder::start(&config(&upstream, "5m"));
    let request = "GET http://example.invalid/debian/dists/x/InRelease HTTP/1.1\r\nHost: example.invalid\r\nConnection: close\r\n\r\n";
    let (status, response, _) = raw(&larder, request);
    assert_eq!(status, 403);
    assert!(response.contains("[apt.remotes]"), "{response}");
}

/// Cold and warm `apt-get update` + `install --download-only` through larder against straight
/// from the fixture, on loopback and with the fixture slowed to a WAN-like 50 ms per response
/// and 4 MB/s, with a 4 MB package in the set. Run with
/// `cargo test --test apt -- --ignored --nocapture measure`.
#[test]
#[ignore = "a measurement for the report, not a check"]
fn measure_cold_and_warm_through_larder_against_direct() {
    let repo = Repo::new();
    repo.add_package("fixture-hello", "1.0", "hello");
    repo.add_package("fixture-world", "2.0", "world");
    // Incompressible, so the .deb is as big as the payload.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let big: Vec<u8> = (0..4 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    repo.add_package("fixture-big", "1.0", &big);
    repo.publish();
    let upstream = Upstream::start_dir(repo.served());
    let packages = ["fixture-hello", "fixture-world", "fixture-big"];
    let time = |via: &Via, what: &str| {
        let apt = Apt::new(&repo, &upstream.url, via);
        let update = apt.update();
        update.assert_ok(what);
        let download = apt.download(&packages);
        download.assert_ok(what);
        update.elapsed + download.elapsed
    };
    for (label, mode) in [
        ("loopback", Mode::Normal),
        (
            "50 ms + 4 MB/s",
            Mode::Slow {
                latency: Duration::from_millis(50),
                bytes_per_sec: 4 << 20,
            },
        ),
    ] {
        upstream.set_mode(mode);
        let larder = Larder::start(&config(&upstream, "5m"));
        let direct = time(&Via::Direct, "direct");
        let cold = time(&proxy(&larder), "larder cold");
        let warm = time(&proxy(&larder), "larder warm");
        let mirror_warm = time(&mirror(&larder, &upstream), "larder mirror warm");
        eprintln!(
            "{label}: direct {direct:.2?}; through larder cold {cold:.2?} ({:.2}x direct), warm {warm:.2?} ({:.2}x direct), mirror warm {mirror_warm:.2?}",
            cold.as_secs_f64() / direct.as_secs_f64(),
            warm.as_secs_f64() / direct.as_secs_f64(),
        );
    }
}

#[test]
fn proxy_hosts_are_matched_case_insensitively() {
    let (repo, upstream) = served_repo();
    let larder = Larder::start(&format!(
        "[apt.remotes]\n\"archive.example\" = \"{}/\"\n",
        upstream.url
    ));
    let request = format!(
        "GET http://ARCHIVE.Example/{ROOT}/dists/{SUITE}/InRelease HTTP/1.1\r\nHost: ARCHIVE.Example\r\nConnection: close\r\n\r\n"
    );
    let (status, response, _) = raw(&larder, &request);
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("Suite:"), "{response}");

    // A real apt with the host spelled in capitals in its sources line.
    let apt = Apt::new(&repo, "http://Archive.EXAMPLE", &proxy(&larder));
    apt.update()
        .assert_ok("apt-get update through larder, host in capitals");
}
