//! Configuration: one schema read from a TOML file, overridden by `LARDER_*` environment
//! variables, overridden by command-line flags.
//!
//! Top-level keys: `listen`, `data_dir`, `max_size`, `offline`, `public_url`,
//! `trust_forwarded`, `log_format`, `shutdown_grace`. Fixed sections: `[storage]`, `[access]`,
//! `[limits]`, and one per registered ecosystem (`[npm]`, `[pypi]`, `[go]`, `[apt]`), each with
//! the common keys `upstream`, `metadata_ttl`, `negative_ttl`, `token` / `token_env`,
//! `username` / `password_env`, plus the keys its adapter declares. Unknown keys are an error
//! that names the key.

pub mod max_size;

pub use crate::toml_keys::{format_size, parse_size};
use crate::toml_keys::{quote, take_bool, take_string};
pub use crate::upstream::{Credentials, Limits};
use anyhow::{anyhow, bail, Context, Result};
use larder_adapter::{AdapterFactory, Section};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::{Table, Value};
use url::Url;

const TOP_LEVEL_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "max_size",
    "offline",
    "public_url",
    "trust_forwarded",
    "log_format",
    "shutdown_grace",
];
const COMMON_KEYS: &[&str] = &[
    "upstream",
    "metadata_ttl",
    "negative_ttl",
    "token",
    "token_env",
    "username",
    "password_env",
];
const STORAGE_KEYS: &[&str] = &[
    "backend",
    "bucket",
    "prefix",
    "endpoint",
    "region",
    "path_style",
    "timeout",
    "credentials_file",
];
const ACCESS_KEYS: &[&str] = &["tokens", "tokens_file", "allow_networks"];
const LIMITS_KEYS: &[&str] = &[
    "connect_timeout",
    "first_byte_timeout",
    "idle_timeout",
    "stale_timeout",
    "stale_while_revalidate",
    "unresponsive_after",
    "retries",
    "max_connections_per_host",
    "max_metadata_size",
    "max_redirects",
];
/// Keys whose environment values are numbers rather than strings.
const INTEGER_KEYS: &[&str] = &["retries", "max_connections_per_host", "max_redirects"];

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The most the blobs may take (`"20GiB"`); least recently used ones are evicted past it.
    /// `None` only for `max_size = "unlimited"`; unset, a share of the disk ([`max_size`]).
    pub max_size: Option<u64>,
    pub max_size_origin: max_size::Origin,
    pub offline: bool,
    /// The base URL clients use (`http://mirror.internal:7878`), for rewritten links.
    pub public_url: Option<Url>,
    /// Honour `X-Forwarded-Proto` / `X-Forwarded-Host` (behind a TLS-terminating proxy).
    pub trust_forwarded: bool,
    pub log_format: LogFormat,
    /// After SIGTERM, how long in-flight downloads may run before larder exits anyway.
    pub shutdown_grace: Duration,
    pub limits: Limits,
    /// What a client may send and hold (`[limits]`'s client keys).
    pub client_limits: crate::client_limits::ClientLimits,
    pub storage: Storage,
    /// Who may use this larder (`[access]`); open by default.
    pub access: crate::access::Access,
    /// The build cache (`[cache]`): entry size limit, who may write.
    pub cache: crate::cache_config::CacheConfig,
    /// Supply-chain policy (`[policy]`): release age, allow and deny rules.
    pub policy: crate::policy_config::PolicyConfig,
    /// The served-log's bound on disk (`[served]`).
    pub served: crate::served_config::ServedSettings,
    pub ecosystems: Vec<EcosystemConfig>,
}

/// `[storage]`: where blobs and pointers live.
#[derive(Clone, Debug)]
pub enum Storage {
    /// The local disk alone (`backend = "local"`, the default).
    Local,
    /// The local disk in front of a shared S3-compatible bucket (`backend = "s3"`).
    S3(crate::store::bucket::BucketSettings),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// One ecosystem's section, resolved.
#[derive(Clone)]
pub struct EcosystemConfig {
    pub factory: &'static AdapterFactory,
    pub section: Section,
    pub credentials: Option<Credentials>,
    /// The secret `token_env` or `password_env` names, when that variable is unset: only
    /// `serve` needs it ([`Config::require_secrets`]), so the other commands still run.
    pub missing_secret: Option<String>,
}

impl std::fmt::Debug for EcosystemConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcosystemConfig")
            .field("name", &self.factory.name)
            .field("section", &self.section)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Values given on the command line; they win over the file and the environment.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub offline: bool,
    pub max_size: Option<String>,
    pub public_url: Option<String>,
    /// Only ever turns it on, as a flag can.
    pub trust_forwarded: bool,
    pub log_format: Option<String>,
    pub shutdown_grace: Option<String>,
}

impl Config {
    /// Reads the config file (the given one, else `./larder.toml` if present), the process
    /// environment, and `overrides`.
    pub fn load(overrides: &Overrides, factories: &'static [AdapterFactory]) -> Result<Config> {
        let mut table = match &overrides.config_file {
            Some(path) => read_file(path)?,
            None if Path::new("larder.toml").exists() => read_file(Path::new("larder.toml"))?,
            None => Table::new(),
        };
        let sections = section_names(factories);
        apply_env(&mut table, std::env::vars(), &sections);
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), Value::String(listen.clone()));
        }
        if let Some(dir) = &overrides.data_dir {
            table.insert("data_dir".into(), Value::String(dir.display().to_string()));
        }
        if overrides.offline {
            table.insert("offline".into(), Value::Boolean(true));
        }
        if overrides.trust_forwarded {
            table.insert("trust_forwarded".into(), Value::Boolean(true));
        }
        for (key, value) in [
            ("max_size", &overrides.max_size),
            ("public_url", &overrides.public_url),
            ("log_format", &overrides.log_format),
            ("shutdown_grace", &overrides.shutdown_grace),
        ] {
            if let Some(value) = value {
                table.insert(key.into(), Value::String(value.clone()));
            }
        }
        Config::from_table(table, factories)
    }

    pub fn from_table(mut table: Table, factories: &'static [AdapterFactory]) -> Result<Config> {
        let sections = section_names(factories);
        for (key, value) in &table {
            let known = TOP_LEVEL_KEYS.contains(&key.as_str())
                || (value.is_table() && sections.contains(&key.as_str()));
            if !known {
                bail!(
                    "unknown configuration key `{key}`; top-level keys are {} and the sections are [{}]",
                    TOP_LEVEL_KEYS.join(", "),
                    sections.join("], [")
                );
            }
        }
        let listen = take_string(&mut table, "listen")?.unwrap_or_else(|| "127.0.0.1:7878".into());
        let listen = listen.parse().with_context(|| {
            format!("`listen` = {listen:?} is not an address like 127.0.0.1:7878")
        })?;
        let data_dir = match take_string(&mut table, "data_dir")? {
            Some(dir) => PathBuf::from(dir),
            None => default_data_dir()?,
        };
        let (max_size, max_size_origin) = match take_string(&mut table, "max_size")?.as_deref() {
            Some("unlimited") => (None, max_size::Origin::Unlimited),
            Some(raw) => (
                Some(parse_size("max_size", raw)?),
                max_size::Origin::Configured,
            ),
            None => {
                let filesystem = max_size::filesystem_size(&data_dir)?;
                (
                    Some(max_size::default_for(filesystem)),
                    max_size::Origin::Default { filesystem },
                )
            }
        };
        let public_url = take_string(&mut table, "public_url")?
            .map(|raw| {
                Url::parse(raw.trim_end_matches('/')).with_context(|| {
                    format!("`public_url` = {raw:?} is not a URL like http://mirror:7878")
                })
            })
            .transpose()?;
        let log_format = match take_string(&mut table, "log_format")?.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("`log_format` = {other:?}: use \"text\" or \"json\""),
        };
        let offline = take_bool(&mut table, "offline")?.unwrap_or(false);
        let trust_forwarded = take_bool(&mut table, "trust_forwarded")?.unwrap_or(false);
        // Under `docker stop`'s 10 s before SIGKILL, so a container exits on its own.
        let shutdown_grace = take_duration(&mut table, "shutdown_grace", Duration::from_secs(8))?;

        let storage = parse_storage(take_section(&mut table, "storage", STORAGE_KEYS)?)?;
        let access =
            crate::access::Access::from_section(take_section(&mut table, "access", ACCESS_KEYS)?)?;
        let limits_keys: Vec<&str> = LIMITS_KEYS
            .iter()
            .chain(crate::client_limits::KEYS)
            .copied()
            .collect();
        let mut limits_table = take_section(&mut table, "limits", &limits_keys)?;
        let client_limits = crate::client_limits::ClientLimits::take_from(&mut limits_table)?;
        let limits = parse_limits(limits_table)?;
        let cache = crate::cache_config::CacheConfig::from_section(take_section(
            &mut table,
            "cache",
            crate::cache_config::KEYS,
        )?)?;

        let names: Vec<&str> = factories.iter().map(|f| f.name).collect();
        let policy = crate::policy_config::PolicyConfig::from_section(
            take_policy_section(&mut table)?,
            &names,
        )?;
        let served = crate::served_config::ServedSettings::from_section(take_section(
            &mut table,
            "served",
            crate::served_config::KEYS,
        )?)?;

        let mut ecosystems = Vec::new();
        for factory in factories {
            let keys: Vec<&str> = COMMON_KEYS
                .iter()
                .chain(factory.extra_keys)
                .copied()
                .collect();
            let section = take_section(&mut table, factory.name, &keys)?;
            ecosystems.push(resolve_ecosystem(factory, section)?);
        }
        Ok(Config {
            listen,
            data_dir,
            max_size,
            max_size_origin,
            offline,
            public_url,
            trust_forwarded,
            log_format,
            shutdown_grace,
            limits,
            client_limits,
            storage,
            access,
            cache,
            policy,
            served,
            ecosystems,
        })
    }

    /// Fails when a secret the config names is unset: `serve` (and an in-process `warm`) would
    /// contact a private upstream without its credentials. The other commands never send them.
    pub fn require_secrets(&self) -> Result<()> {
        match self
            .ecosystems
            .iter()
            .find_map(|e| e.missing_secret.as_ref())
        {
            Some(missing) => bail!(
                "{missing}; set it, or remove the setting to use the upstream without credentials"
            ),
            None => Ok(()),
        }
    }

    /// The configuration as TOML, with secrets masked (`larder config`).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "listen = {:?}\ndata_dir = {}\noffline = {}\ntrust_forwarded = {}\nlog_format = {:?}\nshutdown_grace = {:?}\n",
            self.listen.to_string(),
            quote(&self.data_dir.display().to_string()),
            self.offline,
            self.trust_forwarded,
            match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            },
            humantime::format_duration(self.shutdown_grace).to_string(),
        );
        if let Some(url) = &self.public_url {
            out.push_str(&format!("public_url = {}\n", quote(url.as_str())));
        }
        match (self.max_size, self.max_size_origin.note()) {
            (Some(max_size), Some(note)) => out.push_str(&format!(
                "max_size = {:?}   # {note}\n",
                format_size(max_size)
            )),
            (Some(max_size), None) => {
                out.push_str(&format!("max_size = {:?}\n", format_size(max_size)))
            }
            (None, _) => out.push_str("max_size = \"unlimited\"\n"),
        }
        let l = &self.limits;
        out.push_str(&format!(
            "\n[limits]\nconnect_timeout = {:?}\nfirst_byte_timeout = {:?}\nidle_timeout = {:?}\nstale_timeout = {:?}\nstale_while_revalidate = {:?}\nunresponsive_after = {:?}\nretries = {}\nmax_connections_per_host = {}\nmax_metadata_size = {:?}\nmax_redirects = {}\n{}",
            humantime::format_duration(l.connect_timeout).to_string(),
            humantime::format_duration(l.first_byte_timeout).to_string(),
            humantime::format_duration(l.idle_timeout).to_string(),
            humantime::format_duration(l.stale_timeout).to_string(),
            humantime::format_duration(l.stale_while_revalidate).to_string(),
            humantime::format_duration(l.unresponsive_after).to_string(),
            l.retries,
            l.max_connections_per_host,
            format_size(l.max_metadata_size),
            l.max_redirects,
            self.client_limits.describe(),
        ));
        if let Storage::Local = &self.storage {
            out.push_str("\n[storage]\nbackend = \"local\"\n");
        }
        if let Storage::S3(b) = &self.storage {
            out.push_str(&format!(
                "\n[storage]\nbackend = \"s3\"\nbucket = {}\nprefix = {}\nregion = {}\npath_style = {}\ntimeout = {:?}\n",
                quote(&b.bucket),
                quote(&b.prefix),
                quote(&b.region),
                b.path_style,
                humantime::format_duration(b.timeout).to_string(),
            ));
            if let Some(endpoint) = &b.endpoint {
                out.push_str(&format!("endpoint = {}\n", quote(endpoint)));
            }
            if b.credentials.is_some() {
                out.push_str("credentials_file = \"***\"\n");
            }
        }
        out.push_str(&self.access.to_toml());
        out.push_str(&self.cache.to_toml());
        out.push_str(&self.policy.to_toml());
        out.push_str(&self.served.to_toml());
        for eco in &self.ecosystems {
            let s = &eco.section;
            out.push_str(&format!(
                "\n[{}]\nupstream = {}\nmetadata_ttl = {:?}\nnegative_ttl = {:?}\n",
                eco.factory.name,
                quote(s.upstream.as_str()),
                humantime::format_duration(s.metadata_ttl).to_string(),
                humantime::format_duration(s.negative_ttl).to_string(),
            ));
            match &eco.credentials {
                Some(Credentials::Bearer(_)) => out.push_str("token = \"***\"\n"),
                Some(Credentials::Basic { username, .. }) => out.push_str(&format!(
                    "username = {}\npassword = \"***\"\n",
                    quote(username)
                )),
                None => {}
            }
            if let Some(missing) = &eco.missing_secret {
                out.push_str(&format!("# {missing}: `larder serve` refuses to start\n"));
            }
            // The adapter's defaults for its own keys, where it states them.
            let mut extra = s.extra.clone();
            if let Ok(adapter) = (eco.factory.build)(s) {
                extra.extend(adapter.extra_settings());
            }
            for (key, value) in &extra {
                out.push_str(&format!("{key} = {}\n", json_to_toml(value)));
            }
        }
        out
    }
}

fn json_to_toml(value: &serde_json::Value) -> String {
    serde_json::from_value::<Value>(value.clone())
        .map(|v| v.to_string())
        .unwrap_or_else(|_| value.to_string())
}

fn section_names(factories: &[AdapterFactory]) -> Vec<&'static str> {
    let mut names = vec!["storage", "access", "limits", "cache", "served", "policy"];
    names.extend(factories.iter().map(|f| f.name));
    names
}

fn read_file(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    text.parse::<Table>()
        .with_context(|| format!("config file {} is not valid TOML", path.display()))
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("larder"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| {
        anyhow!("no HOME or XDG_CACHE_HOME: set data_dir (--data-dir or LARDER_DATA_DIR)")
    })?;
    Ok(PathBuf::from(home).join(".cache/larder"))
}

/// Maps `LARDER_<KEY>` and `LARDER_<SECTION>_<KEY>` onto the table.
fn apply_env(table: &mut Table, vars: impl Iterator<Item = (String, String)>, sections: &[&str]) {
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix("LARDER_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let (section, key) = match sections.iter().find(|s| rest.starts_with(&format!("{s}_"))) {
            Some(section) => (Some(*section), rest[section.len() + 1..].to_string()),
            None => (None, rest),
        };
        let value = env_value(&key, raw);
        match section {
            Some(section) => {
                let entry = table
                    .entry(section.to_string())
                    .or_insert_with(|| Value::Table(Table::new()));
                if let Value::Table(t) = entry {
                    t.insert(key, value);
                }
            }
            None if TOP_LEVEL_KEYS.contains(&key.as_str()) => {
                table.insert(key, value);
            }
            // Other LARDER_* variables (LARDER_LIVE for tests, say) are not configuration.
            None => {}
        }
    }
}

fn env_value(key: &str, raw: String) -> Value {
    match raw.as_str() {
        "true" => Value::Boolean(true),
        "false" => Value::Boolean(false),
        _ if INTEGER_KEYS.contains(&key) || crate::client_limits::INTEGER_KEYS.contains(&key) => {
            raw.parse()
                .map(Value::Integer)
                .unwrap_or(Value::String(raw))
        }
        _ => Value::String(raw),
    }
}

fn take_section(table: &mut Table, name: &str, allowed: &[&str]) -> Result<Table> {
    let section = match table.remove(name) {
        None => Table::new(),
        Some(Value::Table(section)) => section,
        Some(_) => bail!("`{name}` must be a section ([{name}])"),
    };
    if let Some(unknown) = section.keys().find(|key| !allowed.contains(&key.as_str())) {
        bail!(
            "unknown key `{unknown}` in [{name}]; known keys: {}",
            allowed.join(", ")
        );
    }
    Ok(section)
}

/// `[policy]`, whose keys (and `[policy.<ecosystem>]` sections) `PolicyConfig` checks itself.
fn take_policy_section(table: &mut Table) -> Result<Table> {
    match table.remove("policy") {
        None => Ok(Table::new()),
        Some(Value::Table(section)) => Ok(section),
        Some(_) => bail!("`policy` must be a section ([policy])"),
    }
}

pub fn parse_duration(key: &str, raw: &str) -> Result<Duration> {
    humantime::parse_duration(raw).with_context(|| {
        format!("`{key}` = {raw:?} is not a duration like \"30s\", \"5m\" or \"1h\"")
    })
}

pub(crate) fn take_duration(table: &mut Table, key: &str, default: Duration) -> Result<Duration> {
    match take_string(table, key)? {
        Some(raw) => parse_duration(key, &raw),
        None => Ok(default),
    }
}

fn take_integer(table: &mut Table, key: &str, default: u64) -> Result<u64> {
    match table.remove(key) {
        None => Ok(default),
        Some(Value::Integer(n)) if n >= 0 => Ok(n as u64),
        Some(other) => bail!("`{key}` must be a non-negative integer, got {other}"),
    }
}

/// `[storage]`; credentials come from `credentials_file` or else the standard `AWS_*`
/// environment variables (read by the S3 client itself).
fn parse_storage(mut table: Table) -> Result<Storage> {
    let backend = take_string(&mut table, "backend")?;
    match backend.as_deref() {
        None | Some("local") => {
            if let Some(key) = table.keys().next() {
                bail!("[storage] {key} is set but backend is \"local\"; add backend = \"s3\" to use a bucket");
            }
            Ok(Storage::Local)
        }
        Some("s3") => {
            let bucket = take_string(&mut table, "bucket")?.ok_or_else(|| {
                anyhow!("[storage] backend = \"s3\" needs a bucket name: bucket = \"...\"")
            })?;
            let credentials = take_string(&mut table, "credentials_file")?
                .map(|path| crate::store::bucket::BucketCredentials::from_file(Path::new(&path)))
                .transpose()
                .map_err(|err| anyhow!(err))?;
            Ok(Storage::S3(crate::store::bucket::BucketSettings {
                bucket,
                prefix: take_string(&mut table, "prefix")?
                    .unwrap_or_default()
                    .trim_matches('/')
                    .to_string(),
                endpoint: take_string(&mut table, "endpoint")?,
                region: take_string(&mut table, "region")?
                    .or_else(|| std::env::var("AWS_REGION").ok())
                    .unwrap_or_else(|| "us-east-1".into()),
                path_style: take_bool(&mut table, "path_style")?.unwrap_or(false),
                timeout: take_duration(&mut table, "timeout", Duration::from_secs(3))?,
                credentials,
            }))
        }
        Some(other) => bail!("[storage] backend = {other:?}: use \"local\" or \"s3\""),
    }
}

fn parse_limits(mut table: Table) -> Result<Limits> {
    let d = Limits::default();
    Ok(Limits {
        connect_timeout: take_duration(&mut table, "connect_timeout", d.connect_timeout)?,
        first_byte_timeout: take_duration(&mut table, "first_byte_timeout", d.first_byte_timeout)?,
        idle_timeout: take_duration(&mut table, "idle_timeout", d.idle_timeout)?,
        stale_timeout: take_duration(&mut table, "stale_timeout", d.stale_timeout)?,
        stale_while_revalidate: take_duration(
            &mut table,
            "stale_while_revalidate",
            d.stale_while_revalidate,
        )?,
        unresponsive_after: take_duration(&mut table, "unresponsive_after", d.unresponsive_after)?,
        retries: take_integer(&mut table, "retries", d.retries as u64)? as u32,
        max_connections_per_host: take_integer(
            &mut table,
            "max_connections_per_host",
            d.max_connections_per_host as u64,
        )?
        .max(1) as usize,
        max_metadata_size: match take_string(&mut table, "max_metadata_size")? {
            Some(raw) => parse_size("[limits] max_metadata_size", &raw)?,
            None => d.max_metadata_size,
        },
        max_redirects: take_integer(&mut table, "max_redirects", d.max_redirects as u64)? as usize,
    })
}

fn resolve_ecosystem(
    factory: &'static AdapterFactory,
    mut table: Table,
) -> Result<EcosystemConfig> {
    let name = factory.name;
    let upstream_raw =
        take_string(&mut table, "upstream")?.unwrap_or_else(|| factory.default_upstream.into());
    let mut upstream = Url::parse(&upstream_raw)
        .with_context(|| format!("[{name}] upstream = {upstream_raw:?} is not a URL"))?;
    if !matches!(upstream.scheme(), "http" | "https") {
        bail!("[{name}] upstream = {upstream_raw:?}: only http and https upstreams are supported");
    }
    // Adapters join paths onto the upstream: a base without a trailing slash would lose its
    // last segment.
    if !upstream.path().ends_with('/') {
        upstream.set_path(&format!("{}/", upstream.path()));
    }
    let metadata_ttl = take_duration(&mut table, "metadata_ttl", factory.default_metadata_ttl)
        .with_context(|| format!("in [{name}]"))?;
    let negative_ttl = take_duration(&mut table, "negative_ttl", factory.default_negative_ttl)
        .with_context(|| format!("in [{name}]"))?;
    let (credentials, missing_secret) = take_credentials(&mut table, name)?;
    let extra = table
        .into_iter()
        .map(|(key, value)| Ok((key, serde_json::to_value(value)?)))
        .collect::<Result<serde_json::Map<_, _>, serde_json::Error>>()?;
    let section = Section {
        upstream,
        metadata_ttl,
        negative_ttl,
        extra,
    };
    (factory.build)(&section).map_err(|err| anyhow!("[{name}]: {err}"))?;
    Ok(EcosystemConfig {
        factory,
        section,
        credentials,
        missing_secret,
    })
}

/// The upstream credentials of `[name]`, or, when the variable holding the secret is unset,
/// none and why (an error only for the commands that contact upstream).
fn take_credentials(
    table: &mut Table,
    name: &str,
) -> Result<(Option<Credentials>, Option<String>)> {
    let token = take_string(table, "token")?;
    let token_env = take_string(table, "token_env")?;
    let username = take_string(table, "username")?;
    let password_env = take_string(table, "password_env")?;
    let unset = |var: &str, what: &str| {
        format!("[{name}] {what} names the environment variable {var}, which is not set")
    };
    if token.is_some() || token_env.is_some() {
        if username.is_some() {
            bail!("[{name}]: set either a token or a username, not both");
        }
    } else if username.is_some() && password_env.is_none() {
        bail!("[{name}] username needs password_env (the variable holding the password)");
    }
    Ok(match (token, token_env, username, password_env) {
        (Some(token), _, _, _) => (Some(Credentials::Bearer(token)), None),
        (None, Some(var), _, _) => match std::env::var(&var) {
            Ok(token) => (Some(Credentials::Bearer(token)), None),
            Err(_) => (None, Some(unset(&var, "token_env"))),
        },
        (None, None, Some(username), Some(var)) => match std::env::var(&var) {
            Ok(password) => (Some(Credentials::Basic { username, password }), None),
            Err(_) => (None, Some(unset(&var, "password_env"))),
        },
        _ => (None, None),
    })
}

/// Parses a duration given on the command line or in tests.
pub fn duration(raw: &str) -> Result<Duration> {
    parse_duration("duration", raw)
}

/// Collects `LARDER_*` variables for tests that must not read the real environment.
#[cfg(test)]
fn table_from(
    text: &str,
    env: &[(&str, &str)],
    factories: &'static [AdapterFactory],
) -> Result<Config> {
    let mut table: Table = text.parse()?;
    let vars = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    apply_env(&mut table, vars, &section_names(factories));
    if !table.contains_key("data_dir") {
        table.insert("data_dir".into(), Value::String("/tmp/larder-test".into()));
    }
    Config::from_table(table, factories)
}

#[allow(dead_code)]
type Sections = BTreeMap<String, Table>;

#[cfg(test)]
mod tests {
    use super::*;
    use larder_adapter::{ClientRequest, Ecosystem, Listing, Object, Route, SettingsError};

    struct Dummy;
    impl Ecosystem for Dummy {
        fn name(&self) -> &'static str {
            "demo"
        }
        fn upstreams(&self) -> Vec<Url> {
            Vec::new()
        }
        fn route(&self, _: &ClientRequest<'_>) -> Route {
            Route::reply(http::StatusCode::NOT_FOUND, "")
        }
        fn find_digest(&self, _: &Object, _: &[u8], _: &Object) -> Listing {
            Listing::Absent
        }
    }
    fn build(_: &Section) -> Result<Box<dyn Ecosystem>, SettingsError> {
        Ok(Box::new(Dummy))
    }
    static FACTORIES: &[AdapterFactory] = &[AdapterFactory {
        name: "demo",
        default_upstream: "https://registry.example/",
        default_metadata_ttl: Duration::from_secs(300),
        default_negative_ttl: Duration::from_secs(60),
        extra_keys: &["mirror_of"],
        build,
        clients: |_| larder_adapter::ClientSettings::default(),
        lockfiles: &[],
    }];

    #[test]
    fn defaults_apply_with_no_file() {
        let config = table_from("", &[], FACTORIES).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7878");
        assert_eq!(
            config.ecosystems[0].section.upstream.as_str(),
            "https://registry.example/"
        );
        assert_eq!(
            config.ecosystems[0].section.metadata_ttl,
            Duration::from_secs(300)
        );
    }

    #[test]
    fn env_overrides_file_and_reaches_sections() {
        let config = table_from(
            "listen = \"0.0.0.0:1\"\n[demo]\nmetadata_ttl = \"1m\"\n",
            &[
                ("LARDER_LISTEN", "127.0.0.1:9"),
                ("LARDER_DEMO_UPSTREAM", "http://private/reg"),
                ("LARDER_LIMITS_RETRIES", "0"),
            ],
            FACTORIES,
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9");
        assert_eq!(
            config.ecosystems[0].section.upstream.as_str(),
            "http://private/reg/"
        );
        assert_eq!(
            config.ecosystems[0].section.metadata_ttl,
            Duration::from_secs(60)
        );
        assert_eq!(config.limits.retries, 0);
    }

    #[test]
    fn shutdown_grace_defaults_under_docker_stop_and_comes_from_env() {
        let config = table_from("", &[], FACTORIES).unwrap();
        assert!(config.shutdown_grace < Duration::from_secs(10));
        let config = table_from("", &[("LARDER_SHUTDOWN_GRACE", "45s")], FACTORIES).unwrap();
        assert_eq!(config.shutdown_grace, Duration::from_secs(45));
        let err = table_from("shutdown_grace = \"soon\"", &[], FACTORIES).unwrap_err();
        assert!(format!("{err:#}").contains("shutdown_grace"), "{err:#}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = table_from("lisen = \"x\"", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`lisen`"), "{err}");
        let err = table_from("[demo]\ntoken_file = \"x\"", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`token_file` in [demo]"), "{err}");
        let err = table_from("[nope]\na = 1", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`nope`"), "{err}");
    }

    #[test]
    fn max_size_is_a_size_and_prints_back() {
        let config = table_from("", &[], FACTORIES).unwrap();
        let filesystem = max_size::filesystem_size(&config.data_dir).unwrap();
        assert_eq!(config.max_size, Some(max_size::default_for(filesystem)));
        assert_eq!(
            config.max_size_origin,
            max_size::Origin::Default { filesystem }
        );
        assert!(
            config.to_toml().contains("   # default: a quarter of the"),
            "{}",
            config.to_toml()
        );
        let config = table_from("max_size = \"unlimited\"", &[], FACTORIES).unwrap();
        assert_eq!(config.max_size, None);
        let config = table_from("max_size = \"20GiB\"", &[], FACTORIES).unwrap();
        assert_eq!(config.max_size, Some(20 << 30));
        assert!(
            config.to_toml().contains("max_size = \"20GiB\""),
            "{}",
            config.to_toml()
        );
        let config = table_from("", &[("LARDER_MAX_SIZE", "512MiB")], FACTORIES).unwrap();
        assert_eq!(config.max_size, Some(512 << 20));
        let err = table_from("max_size = \"lots\"", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`max_size`") && err.contains("20GiB"), "{err}");
    }

    /// The fuzzer's input (fuzz/seeds/config/combining-mark-in-data-dir), shortened: a path
    /// with tabs and a combining mark was printed with Rust's `\u{35b}`, which TOML refuses.
    #[test]
    fn printed_config_loads_again_whatever_the_strings_hold() {
        let odd = "/tmp/lar\tder\u{35b}\"x\\y";
        let text = format!(
            "data_dir = {}\n[policy]\ndeny = [{}]\n",
            quote(odd),
            quote(odd)
        );
        let config = table_from(&text, &[], FACTORIES).unwrap();
        let printed = config.to_toml();
        let again: Table = printed.parse().unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(again["data_dir"].as_str(), Some(odd));
        assert_eq!(again["policy"]["deny"][0].as_str(), Some(odd));
    }

    #[test]
    fn secrets_are_masked_in_printed_config() {
        let config = table_from(
            "[demo]\ntoken = \"hunter2\"\nmirror_of = \"x\"",
            &[],
            FACTORIES,
        )
        .unwrap();
        let printed = config.to_toml();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("token = \"***\""));
        assert!(printed.contains("mirror_of = \"x\""));
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn s3_storage_reads_a_credentials_file_and_never_prints_it() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[other]\naws_access_key_id = NOPE\n[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = sekrit/KEY\n",
        )
        .unwrap();
        let config = table_from(
            &format!(
                "[storage]\nbackend = \"s3\"\nbucket = \"b\"\nprefix = \"/m/\"\nendpoint = \"http://127.0.0.1:9000\"\npath_style = true\ntimeout = \"2s\"\ncredentials_file = {:?}",
                creds.display().to_string()
            ),
            &[],
            FACTORIES,
        )
        .unwrap();
        let Storage::S3(settings) = &config.storage else {
            panic!("s3 backend expected");
        };
        assert_eq!(settings.prefix, "m");
        assert_eq!(settings.timeout, Duration::from_secs(2));
        assert_eq!(
            settings.credentials.as_ref().unwrap().access_key_id,
            "AKIAEXAMPLE"
        );
        let printed = config.to_toml();
        assert!(printed.contains("backend = \"s3\""), "{printed}");
        for secret in ["AKIAEXAMPLE", "sekrit"] {
            assert!(!printed.contains(secret), "{printed}");
            assert!(!format!("{config:?}").contains(secret));
        }
        let err = table_from("[storage]\nbucket = \"b\"", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("backend"), "{err}");
        let err = table_from("[storage]\nbackend = \"s3\"", &[], FACTORIES)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bucket"), "{err}");
    }
}
