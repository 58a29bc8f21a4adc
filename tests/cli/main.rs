//! The `larder` command itself, as a user runs it: what `config`, `env`, `gc` and `verify` print
//! and refuse, in a scratch directory with no config file.

use std::path::Path;
use std::process::{Command, Output};

/// `larder ARGS` in `dir` (so no stray `larder.toml` is read), with no `LARDER_*` variables
/// but `extra_env`.
fn larder(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("LARDER_")) {
        command.env_remove(name);
    }
    command.envs(extra_env.iter().copied());
    command.output().expect("run larder")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn config_shows_the_defaults_it_applies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shown = larder(
        dir.path(),
        &["config"],
        &[("LARDER_DATA_DIR", data.to_str().unwrap())],
    );
    let text = said(&shown);
    assert!(shown.status.success(), "{text}");
    let max_size = text
        .lines()
        .find(|l| l.starts_with("max_size = "))
        .unwrap_or_else(|| panic!("no max_size:\n{text}"));
    assert!(
        max_size.contains("GiB\"") || max_size.contains("MiB\""),
        "{max_size}"
    );
    assert!(
        max_size.contains("# default: a quarter of the"),
        "{max_size}"
    );
    for default in [
        "files_upstream = \"https://files.pythonhosted.org/\"",
        "sumdb_upstream = \"https://sum.golang.org/\"",
        "sumdb_name = \"sum.golang.org\"",
        "\"deb.debian.org\" = \"http://deb.debian.org/\"",
        "\"archive.ubuntu.com\" = \"http://archive.ubuntu.com/\"",
        "[storage]\nbackend = \"local\"",
        "[access]\ntokens = []",
    ] {
        assert!(text.contains(default), "{default} missing:\n{text}");
    }

    // What it prints is a configuration larder reads back, to the same effect.
    std::fs::write(dir.path().join("larder.toml"), &shown.stdout).unwrap();
    let again = larder(dir.path(), &["config"], &[]);
    assert!(again.status.success(), "{}", said(&again));
    let without_comments = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split("   #").next().unwrap_or(l).to_string())
            .collect()
    };
    assert_eq!(
        without_comments(&String::from_utf8_lossy(&again.stdout)),
        without_comments(&String::from_utf8_lossy(&shown.stdout)),
    );
}

#[test]
fn max_size_can_be_set_or_lifted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let set = larder(
        dir.path(),
        &["config"],
        &[("LARDER_DATA_DIR", data), ("LARDER_MAX_SIZE", "20GiB")],
    );
    assert!(
        said(&set).contains("max_size = \"20GiB\"\n"),
        "{}",
        said(&set)
    );
    let lifted = larder(
        dir.path(),
        &["config"],
        &[("LARDER_DATA_DIR", data), ("LARDER_MAX_SIZE", "unlimited")],
    );
    assert!(
        said(&lifted).contains("max_size = \"unlimited\"\n"),
        "{}",
        said(&lifted)
    );
}

#[test]
fn only_serve_needs_the_secrets_the_config_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        dir.path().join("larder.toml"),
        format!(
            "data_dir = {:?}\nlisten = \"127.0.0.1:0\"\n\n[npm]\nupstream = \"https://npm.example.com/\"\nusername = \"ci\"\npassword_env = \"LARDER_TEST_UNSET_PASSWORD\"\n\n[pypi]\ntoken_env = \"LARDER_TEST_UNSET_TOKEN\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(data.join("blobs/sha256")).unwrap(); // an empty store
    std::fs::create_dir_all(data.join("pointers")).unwrap();
    for args in [&["env"][..], &["config"], &["gc", "--dry-run"], &["verify"]] {
        let run = larder(dir.path(), args, &[]);
        assert!(run.status.success(), "larder {args:?}:\n{}", said(&run));
    }
    let config = larder(dir.path(), &["config"], &[]);
    assert!(
        said(&config).contains("LARDER_TEST_UNSET_PASSWORD, which is not set"),
        "{}",
        said(&config)
    );

    let serve = larder(dir.path(), &["serve"], &[]);
    assert!(!serve.status.success(), "{}", said(&serve));
    assert!(
        said(&serve).contains("[npm] password_env names the environment variable LARDER_TEST_UNSET_PASSWORD, which is not set"),
        "{}",
        said(&serve)
    );
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("larder.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    // `larder serve 2>larder.log`, as a service manager or a CI job runs it (NO_COLOR unset).
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "larder=info")
        .stdout(std::process::Stdio::null())
        .stderr(log_file);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("LARDER_")) {
        command.env_remove(name);
    }
    let mut server = command.spawn().expect("start larder serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("store size counted") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(log.contains("INFO"), "larder logged nothing useful:\n{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file:\n{log:?}"
    );
}
