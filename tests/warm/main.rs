//! `larder warm` from each ecosystem's lockfile, then the real client with the fixture upstream
//! stopped; `larder export` / `larder import` between data dirs, served offline; a tampered
//! export refused.
//!
//! Reuses the fixture generators and client drivers of `tests/{npm,pypi,go,apt,cargo}` (tools from
//! their `.ci/install/*.sh`).

#[path = "../support/mod.rs"]
mod support;

// The apt client names its fixture `crate::fixture`.
#[allow(dead_code)]
#[path = "../apt/client.rs"]
mod apt_client;
#[allow(dead_code)]
#[path = "../cargo/client.rs"]
mod cargo_client;
#[allow(dead_code)]
#[path = "../cargo/fixture.rs"]
mod cargo_fixture;
#[allow(dead_code)]
#[path = "../apt/fixture.rs"]
mod fixture;
#[allow(dead_code)]
#[path = "../go/fixture.rs"]
mod go_fixture;
#[allow(dead_code)]
#[path = "../go/gocmd.rs"]
mod gocmd;
#[allow(dead_code)]
#[path = "../npm/client.rs"]
mod npm_client;
#[allow(dead_code)]
#[path = "../npm/fixture.rs"]
mod npm_fixture;
#[allow(dead_code)]
#[path = "../pypi/clients.rs"]
mod pypi_clients;
#[allow(dead_code)]
#[path = "../pypi/fixture.rs"]
mod pypi_fixture;

mod apt;
mod archive;
mod cargo;
mod go;
mod npm;
mod pypi;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `larder <args>` (warm, export, import) to completion.
pub fn run_larder(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_larder"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run larder")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `larder warm --url <larder> FILE...`, asserted to succeed; returns what it printed.
#[track_caller]
pub fn warm_ok(url: &str, files: &[&Path], extra: &[&str]) -> String {
    let mut args = vec!["warm", "--url", url];
    args.extend_from_slice(extra);
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    let output = run_larder(&args);
    let printed = text(&output);
    assert!(output.status.success(), "larder warm failed:\n{printed}");
    printed
}
