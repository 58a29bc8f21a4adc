//! The `larder` command.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use larder::config::{Config, LogFormat, Overrides};
use larder::env_command;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "larder",
    version,
    about = "A caching mirror for npm, PyPI, Go modules and apt, next to your builder."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The flags of every command that works on a data dir.
#[derive(clap::Args, Clone, Default)]
struct Common {
    /// Config file (default: ./larder.toml if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where blobs and records are kept (default: $XDG_CACHE_HOME/larder or ~/.cache/larder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// The flags of the commands that need no data dir (`env`, `health`).
#[derive(clap::Args, Clone, Default)]
struct ConfigFile {
    /// Config file (default: ./larder.toml if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl ConfigFile {
    fn common(&self) -> Common {
        Common {
            config: self.config.clone(),
            data_dir: None,
        }
    }
}

/// The top-level keys as `serve` (and `config`, to show their effect) takes them: flags win over
/// the file and the `LARDER_*` environment.
#[derive(clap::Args, Clone, Default)]
struct TopLevel {
    /// Address to listen on (default: 127.0.0.1:7878).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Never contact upstream: serve only what is cached.
    #[arg(long)]
    offline: bool,
    /// The most the blobs may take, like 20GiB, or "unlimited" (default: a quarter of the data
    /// dir's filesystem).
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// The base URL clients use, for links in metadata (default: the Host they sent).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Honour X-Forwarded-Proto/-Host from a TLS-terminating proxy in front.
    #[arg(long)]
    trust_forwarded: bool,
    /// Log as `text` or `json` (one object per line).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// After SIGTERM, how long downloads in progress may run, like 8s.
    #[arg(long, value_name = "DURATION")]
    shutdown_grace: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the mirror.
    Serve {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        top: TopLevel,
    },
    /// Exit 0 if the larder configured here answers on /-/health, else 1 (for HEALTHCHECK).
    Health {
        #[command(flatten)]
        common: ConfigFile,
        /// Address larder listens on (default: the configured `listen`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Print the effective configuration (file, then LARDER_* environment, then flags), secrets masked.
    Config {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        top: TopLevel,
    },
    /// Print the settings that point builds at larder (build-args, exports, ARG lines, bake args).
    Env {
        #[command(flatten)]
        common: ConfigFile,
        /// larder's URL as build containers see it (default: public_url, else the listen address).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[arg(long, value_enum, default_value = "build-args")]
        format: env_command::Format,
        /// Tag the build's requests with this id (`/b/ID/` before each path), so that
        /// `larder served --build ID` lists what it downloaded.
        #[arg(long, value_name = "ID")]
        build_id: Option<String>,
    },
    /// Export the record of what was served (the served-log in the data dir) as an SBOM.
    ///
    /// Reads the log offline, safe while larder serves the same data dir. One component per
    /// artifact, with how often it was served.
    Served {
        #[command(flatten)]
        common: Common,
        /// From this time on: a date (2026-12-01, midnight UTC) or 2026-12-01T08:00:00Z.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Before this time.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only what this build downloaded (`larder env --build-id`, or `X-Larder-Build`).
        #[arg(long, value_name = "ID")]
        build: Option<String>,
        #[arg(long, value_enum, default_value = "cyclonedx")]
        format: larder::served::export::Format,
    },
    /// Remove least recently used blobs until the store fits max_size, and whatever nothing can
    /// serve (safe while larder serves from the same store).
    Gc {
        #[command(flatten)]
        common: Common,
        /// Size to bring the blobs under, like 20GiB (default: max_size from the config).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
        /// Print what would be removed; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-hash every blob and check every pointer; exits non-zero on damage left unrepaired
    /// (safe while larder serves from the same store).
    Verify {
        #[command(flatten)]
        common: Common,
        /// Remove corrupt blobs and pointers that point nowhere, so the next request refetches.
        #[arg(long)]
        repair: bool,
    },
    /// Fetch everything lockfiles name through larder, so that the build finds it cached.
    ///
    /// Reads package-lock.json (v2/v3), pnpm-lock.yaml, requirements*.txt (pinned, with or
    /// without --hash), uv.lock, go.sum, Cargo.lock, the output of `apt-get install
    /// --print-uris` and of `mvn dependency:list` (`-` reads standard input). Goes through the
    /// larder at --url (default: the configured listen address), or, with --data-dir, runs
    /// larder in-process on that data dir. Lists what it could not fetch and exits non-zero if
    /// anything failed.
    Warm {
        #[command(flatten)]
        common: Common,
        /// The running larder to warm (default: public_url, else the listen address).
        #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
        url: Option<String>,
        /// Requests in flight at once.
        #[arg(long, short = 'j', default_value_t = 8, value_name = "N")]
        jobs: usize,
        /// Python version to pick wheels for (default: python3's own), e.g. 3.12.
        #[arg(long, value_name = "X.Y")]
        python_version: Option<String>,
        /// Wheel platform tag to pick wheels for, repeatable, e.g. manylinux_2_17_x86_64
        /// (default: python3's own).
        #[arg(long = "platform", value_name = "TAG")]
        platforms: Vec<String>,
        /// Operating system npm packages are fetched for, in npm's names (linux, darwin,
        /// win32; default: this machine's). Optional dependencies for others are skipped.
        #[arg(long, value_name = "OS")]
        os: Option<String>,
        /// CPU npm packages are fetched for (x64, arm64, ...; default: this machine's).
        #[arg(long, value_name = "CPU")]
        cpu: Option<String>,
        /// C library npm packages are fetched for on Linux (glibc or musl; default: this
        /// machine's).
        #[arg(long, value_name = "LIBC")]
        libc: Option<String>,
        /// Fetch packages for every platform (an office mirror serving many kinds of machine).
        #[arg(long, conflicts_with_all = ["os", "cpu", "libc"])]
        all_platforms: bool,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// The go command's build-cache program: GOCACHEPROG="larder gocache --url http://HOST:7878".
    ///
    /// Go 1.24+ reads GOCACHEPROG as is; Go 1.21-1.23 also need GOEXPERIMENT=cacheprog.
    /// Compiled packages come from larder's build cache and go back to it; if larder is
    /// unreachable or slow the build goes on with local misses.
    Gocache {
        /// larder's URL as this build sees it.
        #[arg(long, value_name = "URL", env = "LARDER_GOCACHE_URL")]
        url: String,
        /// Local directory for the files the go command reads
        /// (default: $XDG_CACHE_HOME/larder-gocache or ~/.cache/larder-gocache).
        #[arg(long, value_name = "DIR", env = "LARDER_GOCACHE_DIR")]
        dir: Option<PathBuf>,
        /// Build-cache namespace (the default namespace when absent).
        #[arg(long, value_name = "NAME", env = "LARDER_GOCACHE_NAMESPACE")]
        namespace: Option<String>,
        /// Write token of the namespace, for a larder that takes writes only with one.
        #[arg(
            long,
            value_name = "TOKEN",
            env = "LARDER_GOCACHE_TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
        /// Longest wait for one action's record before it counts as a miss.
        #[arg(long, value_name = "DURATION", default_value = "3s")]
        timeout: String,
        /// At the end of a go command, longest wait for uploads still running.
        #[arg(long, value_name = "DURATION", default_value = "10s")]
        flush_timeout: String,
        /// Print what the helper did on stderr at the end of each go command.
        #[arg(long, env = "LARDER_GOCACHE_STATS")]
        stats: bool,
    },
    /// Write the data dir's cached content (blobs and pointers) to a tar archive.
    ///
    /// Safe while larder serves the same data dir. `larder import` reads it on another machine.
    Export {
        #[command(flatten)]
        common: Common,
        /// Only what upstream confirmed since then: a duration ("24h") or a time
        /// ("2026-11-27T12:00:00Z").
        #[arg(long, value_name = "DURATION|TIMESTAMP")]
        since: Option<String>,
        #[arg(value_name = "FILE.tar")]
        file: PathBuf,
    },
    /// Read an archive made by `larder export` into the data dir.
    ///
    /// Every blob is checked against its sha256 first; if one does not match, nothing is
    /// imported. A pointer never replaces a newer one. Safe while larder serves the data dir.
    Import {
        #[command(flatten)]
        common: Common,
        #[arg(value_name = "FILE.tar")]
        file: PathBuf,
    },
}

fn main() {
    if let Err(err) = run() {
        eprintln!("larder: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { common, top } => {
            let config = load_with(&common, top)?;
            config.require_secrets()?;
            init_logging(config.log_format);
            serve(config)
        }
        Command::Health { common, listen } => {
            let config = load(&common.common(), listen, false)?;
            health(config.listen)
        }
        Command::Config { common, top } => {
            print!("{}", load_with(&common, top)?.to_toml());
            Ok(())
        }
        Command::Env {
            common,
            url,
            format,
            build_id,
        } => print_env(&common, url.as_deref(), format, build_id.as_deref()),
        Command::Served {
            common,
            since,
            until,
            build,
            format,
        } => {
            let config = load(&common, None, false)?;
            let request = larder::served::command::Request {
                since: since.as_deref(),
                until: until.as_deref(),
                build: build.as_deref(),
                format,
            };
            larder::served::command::run(&config.data_dir, &request, &mut std::io::stdout().lock())
        }
        Command::Gc {
            common,
            max_size,
            dry_run,
        } => gc(&common, max_size.as_deref(), dry_run),
        Command::Gocache {
            url,
            dir,
            namespace,
            token,
            timeout,
            flush_timeout,
            stats,
        } => larder::gocache::run(larder::gocache::Settings {
            url,
            dir: dir.unwrap_or_else(default_gocache_dir),
            namespace,
            token,
            timeout: larder::config::parse_duration("--timeout", &timeout)?,
            flush_timeout: larder::config::parse_duration("--flush-timeout", &flush_timeout)?,
            stats,
        }),
        Command::Verify { common, repair } => {
            let config = load(&common, None, false)?;
            larder::maintenance::check_store(&config.data_dir)?;
            larder::maintenance::verify(&config.data_dir, repair, &mut std::io::stdout())
        }
        Command::Warm {
            common,
            url,
            jobs,
            python_version,
            platforms,
            os,
            cpu,
            libc,
            all_platforms,
            files,
        } => {
            let target = larder::warm::sources::TargetFlags {
                python_version,
                platforms,
                os,
                cpu,
                libc,
                all_platforms,
            };
            warm_command(&common, url.as_deref(), jobs, target, files)
        }
        Command::Export {
            common,
            since,
            file,
        } => {
            let config = load(&common, None, false)?;
            let since_ms = since.as_deref().map(parse_since).transpose()?;
            larder::maintenance::check_store(&config.data_dir)?;
            export(&config.data_dir, &file, since_ms)
        }
        Command::Import { common, file } => import(&common, &file),
    }
}

/// `larder env`: the clients' settings for larder's URL, and how a build container reaches it.
fn print_env(
    common: &ConfigFile,
    url: Option<&str>,
    format: env_command::Format,
    build_id: Option<&str>,
) -> Result<()> {
    let config = load(&common.common(), None, false)?;
    let mut base = env_command::base_url(url, &config)?;
    if let Some(raw) = build_id {
        let id = larder::served::BuildId::parse(raw)
            .map_err(|why| anyhow::anyhow!("--build-id: {why}"))?;
        base = env_command::for_build(&base, &id);
    }
    let factories = config.ecosystems.iter().map(|e| e.factory);
    print!(
        "{}",
        env_command::render(&env_command::settings(factories, &base), format)
    );
    if let Some(note) = env_command::reach_note(&base, config.listen) {
        eprintln!("larder: {note}");
    }
    Ok(())
}

/// `larder warm`: against a running larder, or (with `--data-dir`) one served in-process.
fn warm_command(
    common: &Common,
    url: Option<&str>,
    jobs: usize,
    target: larder::warm::sources::TargetFlags,
    files: Vec<std::path::PathBuf>,
) -> Result<()> {
    let in_process = common.data_dir.is_some();
    let listen = in_process.then(|| "127.0.0.1:0".to_string());
    let config = load(common, listen, false)?;
    if in_process {
        config.require_secrets()?; // it serves, and fetches from upstream
    }
    let options = larder::warm::Options {
        base: env_command::base_url(url, &config)?,
        factories: config.ecosystems.iter().map(|e| e.factory).collect(),
        files,
        concurrency: jobs,
        target,
    };
    warm(config, options, in_process)
}

/// `larder gc`: down to `--max-size` (else the configured limit).
fn gc(common: &Common, max_size: Option<&str>, dry_run: bool) -> Result<()> {
    let config = load(common, None, false)?;
    let max_size = match max_size {
        Some(raw) => Some(larder::config::parse_size("--max-size", raw)?),
        None => config.max_size,
    };
    larder::maintenance::check_store(&config.data_dir)?;
    larder::maintenance::gc(&config.data_dir, max_size, dry_run, &mut std::io::stdout())
}

/// `larder import FILE`: an export archive into the local store.
fn import(common: &Common, file: &std::path::Path) -> Result<()> {
    let config = load(common, None, false)?;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let summary = larder::store::archive::import(&config.data_dir, std::io::BufReader::new(input))
        .with_context(|| format!("importing {}", file.display()))?;
    eprintln!(
        "larder: imported {} pointers and {} blobs ({}) into {}; {} pointers kept because the store's were newer",
        summary.pointers,
        summary.blobs,
        bytesize::ByteSize(summary.bytes),
        config.data_dir.display(),
        summary.kept_newer
    );
    Ok(())
}

/// `--since`: a duration back from now, or an RFC 3339 time; in Unix milliseconds.
fn parse_since(raw: &str) -> Result<u64> {
    if let Ok(ago) = larder::config::duration(raw) {
        return Ok(larder::store::now_ms().saturating_sub(ago.as_millis() as u64));
    }
    let at = humantime::parse_rfc3339_weak(raw).map_err(|_| {
        anyhow::anyhow!(
            "--since {raw:?}: expected a duration (\"24h\") or a time (\"2026-11-27T12:00:00Z\")"
        )
    })?;
    Ok(at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0))
}

fn export(data_dir: &std::path::Path, file: &std::path::Path, since_ms: Option<u64>) -> Result<()> {
    let partial = file.with_extension("tar.part");
    let out = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let written = larder::store::archive::export(data_dir, std::io::BufWriter::new(out), since_ms)
        .and_then(|summary| {
            std::fs::rename(&partial, file).with_context(|| {
                format!("cannot rename {} to {}", partial.display(), file.display())
            })?;
            Ok(summary)
        });
    let summary = match written {
        Ok(summary) => summary,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    eprintln!(
        "larder: exported {} pointers and {} blobs ({}) from {} to {}",
        summary.pointers,
        summary.blobs,
        bytesize::ByteSize(summary.bytes),
        data_dir.display(),
        file.display()
    );
    Ok(())
}

#[tokio::main]
async fn warm(config: Config, mut options: larder::warm::Options, in_process: bool) -> Result<()> {
    let server = if in_process {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = larder::server::start(&config, async {
            let _ = stop_rx.await;
        })
        .await?;
        options.base = url::Url::parse(&format!("http://{}", running.addr))?;
        Some((stop_tx, running))
    } else {
        None
    };
    let outcome = larder::warm::run(&options).await;
    if let Some((stop, running)) = server {
        let _ = stop.send(());
        running.task.await??;
    }
    let outcome = outcome?;
    eprintln!(
        "larder warm: {} fetched, {} already cached, {} in all, {} failed",
        outcome.fetched,
        outcome.cached,
        bytesize::ByteSize(outcome.bytes),
        outcome.failures.len()
    );
    if !outcome.failures.is_empty() {
        eprintln!("could not fetch:");
        for (what, why) in &outcome.failures {
            eprintln!("  {what}: {why}");
        }
        anyhow::bail!(
            "{} of the lockfiles' objects could not be fetched",
            outcome.failures.len()
        );
    }
    Ok(())
}

fn load(common: &Common, listen: Option<String>, offline: bool) -> Result<Config> {
    load_with(
        common,
        TopLevel {
            listen,
            offline,
            ..TopLevel::default()
        },
    )
}

fn load_with(common: &Common, top: TopLevel) -> Result<Config> {
    let overrides = Overrides {
        config_file: common.config.clone(),
        listen: top.listen,
        data_dir: common.data_dir.clone(),
        offline: top.offline,
        max_size: top.max_size,
        public_url: top.public_url,
        trust_forwarded: top.trust_forwarded,
        log_format: top.log_format,
        shutdown_grace: top.shutdown_grace,
    };
    Config::load(&overrides, larder::adapters::all())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "larder=info,warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colour only for a person at a terminal: a file, a pipe or journald would keep the
        // escape codes as text.
        LogFormat::Text => builder
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// GETs `/-/health` with a plain HTTP/1.0 request: the image has no curl, and a client crate
/// would be more code than this.
fn health(listen: std::net::SocketAddr) -> Result<()> {
    use std::io::{Read, Write};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, listen.port());
    let timeout = std::time::Duration::from_secs(5);
    let probe = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(format!("GET /-/health HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
        let mut head = Vec::new();
        stream.take(512).read_to_end(&mut head)?;
        Ok(String::from_utf8_lossy(&head)
            .lines()
            .next()
            .unwrap_or("")
            .to_string())
    };
    match probe() {
        Ok(status) if status.split_whitespace().nth(1) == Some("200") => {
            println!("larder at http://{addr} is healthy");
            Ok(())
        }
        Ok(status) => anyhow::bail!("http://{addr}/-/health answered {status:?}; see larder's log"),
        Err(err) => anyhow::bail!(
            "no larder answers at http://{addr}: {err} (is it running? is `listen` the same here?)"
        ),
    }
}

fn serve(config: Config) -> Result<()> {
    larder::server::run(&config, shutdown_signal)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: no new connections; in-flight downloads may finish");
}

/// `larder gocache`'s directory when `--dir` is not given.
fn default_gocache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("larder-gocache")
}
