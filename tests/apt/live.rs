//! Opt-in: Debian's real archive through larder. Ignored by default, and even with
//! `--ignored` they touch the network only when `LARDER_LIVE=1`:
//! `LARDER_LIVE=1 cargo test --test apt -- --ignored --nocapture live_`.

use crate::client::Apt;
use crate::support::Larder;
use std::process::Command;
use std::time::Instant;

fn live() -> bool {
    let on = std::env::var("LARDER_LIVE").as_deref() == Ok("1");
    if !on {
        eprintln!("skipped: set LARDER_LIVE=1 to run against Debian's archive");
    }
    on
}

fn debootstrap(larder: &Larder, target: &std::path::Path) -> (bool, String) {
    let mirror = format!("{}/apt/deb.debian.org/debian", larder.url);
    let output = Command::new("/usr/sbin/debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(target)
        .arg(&mirror)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("run debootstrap (run .ci/install/apt.sh)");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// `debootstrap --variant=minbase bookworm DIR http://larder/apt/deb.debian.org/debian`, cold
/// then warm (a second target, same larder).
#[test]
#[ignore = "live: needs LARDER_LIVE=1 and Debian's archive"]
fn live_debootstrap_minbase_bookworm_through_larder() {
    if !live() {
        return;
    }
    let larder = Larder::start("[apt]\n");
    for pass in ["cold", "warm"] {
        let target = tempfile::tempdir().expect("target dir");
        let started = Instant::now();
        let (ok, output) = debootstrap(&larder, target.path());
        let tail: Vec<&str> = output.lines().rev().take(30).collect();
        assert!(
            ok,
            "debootstrap ({pass}) failed:\n{}\nlarder log:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            larder.log()
        );
        assert!(
            target.path().join("usr/bin/apt-get").exists(),
            "{pass}: no apt-get in the new root"
        );
        eprintln!(
            "debootstrap minbase bookworm through larder, {pass}: {:?}",
            started.elapsed()
        );
    }
}

/// `apt-get update` + `install --download-only hello` (with its dependencies, from an empty
/// dpkg status) against Debian's archive: direct, then through larder cold and warm.
#[test]
#[ignore = "live: needs LARDER_LIVE=1 and Debian's archive"]
fn live_apt_get_bookworm_through_larder_against_direct() {
    if !live() {
        return;
    }
    let larder = Larder::start("[apt]\n");
    let sources = "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] \
                   http://deb.debian.org/debian bookworm main\n";
    let run = |proxy: Option<&str>, what: &str| {
        let apt = Apt::with_sources(sources, proxy, "");
        let update = apt.update();
        update.assert_ok(what);
        let download = apt.download(&["hello"]);
        download.assert_ok(what);
        update.elapsed + download.elapsed
    };
    let direct = run(None, "direct");
    let cold = run(Some(&larder.url), "larder cold");
    let warm = run(Some(&larder.url), "larder warm");
    eprintln!(
        "bookworm main, update + download hello: direct {direct:.2?}, larder cold {cold:.2?} \
         ({:.2}x), warm {warm:.2?} ({:.2}x)",
        cold.as_secs_f64() / direct.as_secs_f64(),
        warm.as_secs_f64() / direct.as_secs_f64()
    );
}
