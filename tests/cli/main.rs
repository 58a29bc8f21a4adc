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

/// A `larder serve` this test started; stopped (killed and reaped) when dropped.
struct Served {
    child: std::process::Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    log_path: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

/// Starts `larder serve ARGS` in `dir` with stderr into a file, and waits until it listens.
fn serve(dir: &Path, args: &[&str]) -> Served {
    let log_path = dir.join("serve.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    // `larder serve 2>serve.log`, as a service manager or a CI job runs it (NO_COLOR unset).
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "larder=info")
        .stdout(std::process::Stdio::null())
        .stderr(log_file);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("LARDER_")) {
        command.env_remove(name);
    }
    let mut served = Served {
        child: command.spawn().expect("start larder serve"),
        addr: String::new(),
        log_path,
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = served.log();
        if let Some(at) = log.find("listening on http://") {
            served.addr = log[at + "listening on http://".len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            return served;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "larder serve did not listen:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn serve_flags_override_the_top_level_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("larder.toml"),
        "max_size = \"1GiB\"\npublic_url = \"http://from-the-file:1\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--max-size",
            "3MiB",
            "--public-url",
            "http://mirror.example:7878",
            "--log-format",
            "json",
            "--shutdown-grace",
            "2s",
        ],
    );
    let page = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/", server.addr))
        .send()
        .and_then(|r| r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let counted = loop {
        let log = server.log();
        let found = log
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == "store size counted");
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no JSON `store size counted` line:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(server);
    assert_eq!(counted["fields"]["max_size"], 3 << 20, "{counted}");
    let page = page.expect("the status page");
    assert!(
        page.contains("npm config set registry http://mirror.example:7878/npm/"),
        "{page}"
    );
    assert!(page.contains("of 3.0 MiB"), "{page}");
}

#[test]
fn config_takes_the_same_flags_and_env_takes_no_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let shown = larder(
        dir.path(),
        &["config", "--max-size", "unlimited", "--trust-forwarded"],
        &[("LARDER_DATA_DIR", dir.path().join("d").to_str().unwrap())],
    );
    let text = said(&shown);
    assert!(shown.status.success(), "{text}");
    assert!(text.contains("max_size = \"unlimited\"\n"), "{text}");
    assert!(text.contains("trust_forwarded = true\n"), "{text}");
    // It would do nothing there: refused rather than ignored.
    let env = larder(dir.path(), &["env", "--data-dir", "/x"], &[]);
    assert!(!env.status.success(), "{}", said(&env));
    assert!(said(&env).contains("--data-dir"), "{}", said(&env));
}

#[test]
fn text_logs_written_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = server.log();
        if log.contains("store size counted") || std::time::Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(server);
    assert!(log.contains("INFO"), "larder logged nothing useful:\n{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file:\n{log:?}"
    );
}
