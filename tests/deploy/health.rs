//! `larder health`: the image's HEALTHCHECK, which has no curl to call.

use crate::support::Larder;
use std::process::{Command, Output};

fn health(listen: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(["health", "--listen", listen])
        .env("LARDER_DATA_DIR", std::env::temp_dir())
        .output()
        .expect("larder health runs")
}

#[test]
fn health_exits_0_while_larder_answers_and_1_once_it_is_gone() {
    let mut larder = Larder::start("");
    let port = larder.url.rsplit(':').next().expect("port").to_string();
    // The image listens on 0.0.0.0: the probe asks the loopback address instead.
    let up = health(&format!("0.0.0.0:{port}"));
    assert!(up.status.success(), "{up:?}");

    larder.terminate();
    let down = health(&format!("0.0.0.0:{port}"));
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(
        said.contains("no larder answers at http://127.0.0.1:"),
        "{said}"
    );
}
