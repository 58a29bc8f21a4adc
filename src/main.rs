//! The `larder` command.

use anyhow::Result;
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

#[derive(clap::Args, Clone, Default)]
struct Common {
    /// Config file (default: ./larder.toml if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where blobs and records are kept (default: $XDG_CACHE_HOME/larder or ~/.cache/larder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the mirror.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default: 127.0.0.1:7878).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Never contact upstream: serve only what is cached.
        #[arg(long)]
        offline: bool,
    },
    /// Exit 0 if the larder configured here answers on /-/health, else 1 (for HEALTHCHECK).
    Health {
        #[command(flatten)]
        common: Common,
        /// Address larder listens on (default: the configured `listen`).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Print the effective configuration (file, then LARDER_* environment, then flags), secrets masked.
    Config {
        #[command(flatten)]
        common: Common,
    },
    /// Print the settings that point builds at larder (build-args, exports, ARG lines, bake args).
    Env {
        #[command(flatten)]
        common: Common,
        /// larder's URL as build containers see it (default: public_url, else the listen address).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[arg(long, value_enum, default_value = "build-args")]
        format: env_command::Format,
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
        Command::Serve {
            common,
            listen,
            offline,
        } => {
            let config = load(&common, listen, offline)?;
            init_logging(config.log_format);
            serve(config)
        }
        Command::Health { common, listen } => {
            let config = load(&common, listen, false)?;
            health(config.listen)
        }
        Command::Config { common } => {
            print!("{}", load(&common, None, false)?.to_toml());
            Ok(())
        }
        Command::Env {
            common,
            url,
            format,
        } => {
            let config = load(&common, None, false)?;
            let base = env_command::base_url(url.as_deref(), &config)?;
            print!(
                "{}",
                env_command::render(&env_command::settings(&base), format)
            );
            if let Some(note) = env_command::reach_note(&base, config.listen) {
                eprintln!("larder: {note}");
            }
            Ok(())
        }
        Command::Gc {
            common,
            max_size,
            dry_run,
        } => {
            let config = load(&common, None, false)?;
            let max_size = match max_size {
                Some(raw) => Some(larder::config::parse_size("--max-size", &raw)?),
                None => config.max_size,
            };
            larder::maintenance::check_store(&config.data_dir)?;
            larder::maintenance::gc(&config.data_dir, max_size, dry_run, &mut std::io::stdout())
        }
        Command::Verify { common, repair } => {
            let config = load(&common, None, false)?;
            larder::maintenance::check_store(&config.data_dir)?;
            larder::maintenance::verify(&config.data_dir, repair, &mut std::io::stdout())
        }
    }
}

fn load(common: &Common, listen: Option<String>, offline: bool) -> Result<Config> {
    let overrides = Overrides {
        config_file: common.config.clone(),
        listen,
        data_dir: common.data_dir.clone(),
        offline,
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
        LogFormat::Text => builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
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
