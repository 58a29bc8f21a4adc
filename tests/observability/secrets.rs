//! Secrets never leak: larder runs with an upstream password (`password_env`), an upstream
//! token (`token_env`), an `[access]` token, a build-cache write token and an S3 secret key;
//! requests succeed and fail (a bad client token, upstream's 401, an unreachable bucket);
//! then every response body and header, `/-/metrics`, the status page, `larder config`,
//! the text and JSON logs, and a `larder export` archive are searched for each secret, in
//! the clear and in the encodings an HTTP header would carry. None may appear.

use crate::support::{Resource, Routes, Upstream};
use base64::Engine as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UPSTREAM_PASSWORD: &str = "upstream-password-Zq81xKv3";
const UPSTREAM_TOKEN: &str = "upstream-token-Hp42WmTs9";
const ACCESS_TOKEN: &str = "access-token-Rt73LqNb5Ycd";
const CACHE_TOKEN: &str = "cache-write-token-Fg62VuEo";
const S3_SECRET: &str = "s3-secret-key-Wx55JdPa0Qlk";

/// Each secret, and the forms a log or a header could carry it in.
fn forbidden() -> Vec<(String, String)> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut all = Vec::new();
    for secret in [
        UPSTREAM_PASSWORD,
        UPSTREAM_TOKEN,
        ACCESS_TOKEN,
        CACHE_TOKEN,
        S3_SECRET,
    ] {
        all.push((secret.to_string(), secret.to_string()));
        all.push((format!("base64 of {secret}"), b64(secret)));
    }
    all.push((
        "the upstream Basic credentials".into(),
        b64(&format!("ci:{UPSTREAM_PASSWORD}")),
    ));
    all
}

fn assert_clean(what: &str, text: &str) {
    for (name, form) in forbidden() {
        assert!(
            !text.contains(&form),
            "{what} contains {name}:\n{}",
            &text[text.find(&form).unwrap().saturating_sub(300)..]
        );
    }
}

fn fixture() -> Upstream {
    let mut routes = Routes::new();
    routes.insert(
        "/left-pad".into(),
        vec![Resource::new(
            "application/json",
            br#"{"name":"left-pad","dist-tags":{"latest":"1.3.0"},"versions":{}}"#.to_vec(),
        )],
    );
    routes.insert(
        "/private-pkg".into(),
        vec![Resource::new("text/plain", "token expired").status(401)],
    );
    routes.insert(
        "/example.com/lib/@v/list".into(),
        vec![Resource::new("text/plain", "v1.0.0\n")],
    );
    Upstream::start(routes)
}

fn write_config(dir: &Path, upstream: &Upstream, log_format: &str) -> std::path::PathBuf {
    let credentials = dir.join("s3-credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = larder-test\naws_secret_access_key = {S3_SECRET}\n"
        ),
    )
    .unwrap();
    let config = dir.join(format!("larder-{log_format}.toml"));
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\nlog_format = \"{log_format}\"\n\n\
             [storage]\nbackend = \"s3\"\nbucket = \"larder-secrets\"\nendpoint = \"http://127.0.0.1:9\"\n\
             path_style = true\ntimeout = \"500ms\"\ncredentials_file = {credentials:?}\n\n\
             [access]\ntokens = [\"{ACCESS_TOKEN}\"]\n\n\
             [cache.write_tokens]\nci = \"{CACHE_TOKEN}\"\n\n\
             [npm]\nupstream = \"{url}/\"\nusername = \"ci\"\npassword_env = \"LARDER_TEST_NPM_PASSWORD\"\n\n\
             [go]\nupstream = \"{url}/\"\ntoken_env = \"LARDER_TEST_GO_TOKEN\"\n",
            data = dir.join("data").display().to_string(),
            credentials = credentials.display().to_string(),
            url = upstream.url,
        ),
    )
    .unwrap();
    config
}

/// `larder SUBCOMMAND --config CONFIG` with the secrets' variables set.
fn larder_command(subcommand: &str, config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_larder"));
    command
        .arg(subcommand)
        .arg("--config")
        .arg(config)
        .env("LARDER_TEST_NPM_PASSWORD", UPSTREAM_PASSWORD)
        .env("LARDER_TEST_GO_TOKEN", UPSTREAM_TOKEN)
        .env("NO_COLOR", "1")
        // As verbose as larder gets: a secret in any event would show.
        .env("RUST_LOG", "trace");
    for (name, _) in
        std::env::vars().filter(|(n, _)| n.starts_with("LARDER_") || n.starts_with("AWS_"))
    {
        command.env_remove(name);
    }
    command
}

/// `larder serve` with its stderr and stdout in `log`, killed when dropped.
struct Serving {
    child: Child,
    addr: String,
    log: std::path::PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, config: &Path, name: &str) -> Serving {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = larder_command("serve", config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start larder serve");
    let mut serving = Serving {
        child,
        addr: String::new(),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&serving.log).unwrap_or_default();
        if let Some(at) = text.find("listening on http://") {
            serving.addr = text[at + "listening on http://".len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            return serving;
        }
        assert!(Instant::now() < deadline, "larder did not listen:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Everything a client saw: status line, headers and body of each exchange.
fn drive(addr: &str) -> String {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let requests: Vec<(&str, &str, Option<String>)> = vec![
        ("GET", "/npm/left-pad", Some(ACCESS_TOKEN.into())),
        ("GET", "/npm/left-pad", Some("not-the-token".into())),
        ("GET", "/npm/left-pad", None),
        ("GET", "/npm/private-pkg", Some(ACCESS_TOKEN.into())),
        (
            "GET",
            "/go/example.com/lib/@v/list",
            Some(ACCESS_TOKEN.into()),
        ),
        (
            "PUT",
            "/cache/ccache/ab/cdef0123456789",
            Some(CACHE_TOKEN.into()),
        ),
        (
            "PUT",
            "/cache/ccache/ab/cdef0123456788",
            Some("wrong-cache-token".into()),
        ),
        (
            "GET",
            "/cache/ccache/ab/cdef0123456789",
            Some(ACCESS_TOKEN.into()),
        ),
        ("GET", "/", Some(ACCESS_TOKEN.into())),
        ("GET", "/-/metrics", Some(ACCESS_TOKEN.into())),
        ("GET", "/-/health", None),
    ];
    let mut seen = String::new();
    for (method, path, token) in requests {
        let mut request = client.request(method.parse().unwrap(), format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if method == "PUT" {
            request = request.body(vec![1u8; 100]);
        }
        let response = request.send().expect("larder answers");
        seen.push_str(&format!("{method} {path} -> {}\n", response.status()));
        for (name, value) in response.headers() {
            seen.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        seen.push_str(&response.text().unwrap_or_default());
        seen.push('\n');
    }
    seen
}

#[test]
fn no_secret_appears_in_responses_metrics_status_page_config_logs_or_exports() {
    let upstream = fixture();
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json"] {
        let config = write_config(dir.path(), &upstream, format);
        let serving = serve(dir.path(), &config, &format!("serve-{format}"));
        let seen = drive(&serving.addr);
        assert!(seen.contains("GET /npm/left-pad -> 200"), "{seen}");
        assert!(
            seen.contains("GET /npm/left-pad -> 401"),
            "the bad token is refused: {seen}"
        );
        assert!(
            seen.contains("larder_requests_total"),
            "metrics were scraped: {seen}"
        );
        // Give the background work (the bucket's failures, the fill's log lines) time to log.
        std::thread::sleep(Duration::from_millis(1500));
        drop(serving);
        assert_clean(&format!("the {format} run's responses"), &seen);
        let log = std::fs::read_to_string(dir.path().join(format!("serve-{format}.log"))).unwrap();
        assert!(log.len() > 1000, "trace logs were written:\n{log}");
        assert_clean(&format!("the {format} log"), &log);

        let printed = larder_command("config", &config).output().unwrap();
        assert!(printed.status.success(), "{printed:?}");
        let printed = String::from_utf8_lossy(&printed.stdout).into_owned()
            + &String::from_utf8_lossy(&printed.stderr);
        assert!(printed.contains("password = \"***\""), "{printed}");
        assert_clean("larder config", &printed);
    }

    // The secrets were in use: the upstream got the credentials, in the one form that is right.
    let sent = upstream.requests();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ci:{UPSTREAM_PASSWORD}"));
    assert!(
        sent.iter()
            .any(|r| r.header("authorization") == Some(&format!("Basic {basic}"))),
        "npm's password reached its upstream: {sent:?}"
    );
    assert!(
        sent.iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {UPSTREAM_TOKEN}"))),
        "go's token reached its upstream: {sent:?}"
    );

    let archive = dir.path().join("export.tar");
    let config = dir.path().join("larder-text.toml");
    let exported = larder_command("export", &config)
        .arg(&archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let bytes = std::fs::read(&archive).unwrap();
    assert!(bytes.len() > 1024, "the archive holds the cached objects");
    assert_clean("the export archive", &String::from_utf8_lossy(&bytes));
    assert_clean(
        "larder export's output",
        &(String::from_utf8_lossy(&exported.stdout).into_owned()
            + &String::from_utf8_lossy(&exported.stderr)),
    );
}
