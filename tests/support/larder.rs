//! The real `larder` binary, started for one test.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A running `larder serve`, killed when dropped.
pub struct Larder {
    pub url: String,
    pub data_dir: PathBuf,
    child: Child,
    log: Arc<Mutex<String>>,
    _temp: Option<tempfile::TempDir>,
}

impl Larder {
    /// Starts larder on a fresh data dir with `config_toml` as its config file.
    pub fn start(config_toml: &str) -> Larder {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().join("data");
        let mut larder = Larder::start_in(&data_dir, config_toml);
        larder._temp = Some(temp);
        larder
    }

    /// Starts larder on `data_dir` (kept as it is: a restart after a crash).
    pub fn start_in(data_dir: &Path, config_toml: &str) -> Larder {
        Larder::start_with_args(data_dir, config_toml, &[])
    }

    /// Starts larder with extra `serve` flags (`--offline`).
    pub fn start_with_args(data_dir: &Path, config_toml: &str, args: &[&str]) -> Larder {
        std::fs::create_dir_all(data_dir).expect("data dir");
        let config = data_dir.with_extension("toml");
        std::fs::write(&config, config_toml).expect("config file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_larder"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "larder=debug,info")
            .env("NO_COLOR", "1")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn larder");
        let log = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        capture(
            child.stdout.take().expect("stdout"),
            log.clone(),
            url_tx.clone(),
        );
        capture(child.stderr.take().expect("stderr"), log.clone(), url_tx);
        let url = match url_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("larder did not start listening:\n{}", log.lock().unwrap());
            }
        };
        Larder {
            url,
            data_dir: data_dir.to_path_buf(),
            child,
            log,
            _temp: None,
        }
    }

    /// `http://127.0.0.1:PORT/<path>` (path without a leading slash).
    pub fn at(&self, path: &str) -> String {
        format!("{}/{}", self.url, path.trim_start_matches('/'))
    }

    /// Everything larder printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as `docker stop` or systemd would; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("wait for larder")
    }

    /// The exit status, if larder has exited (without waiting).
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("query larder's status")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Larder {
    fn drop(&mut self) {
        self.kill();
    }
}

fn capture(stream: impl Read + Send + 'static, log: Arc<Mutex<String>>, url: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("listening on http://") {
                // Text logs end the URL at a space, JSON logs at the closing quote.
                let addr = line[at + "listening on ".len()..]
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next();
                if let Some(addr) = addr {
                    let _ = url.send(addr.trim_end_matches('/').to_string());
                }
            }
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
}
