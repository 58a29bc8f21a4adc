//! Starting and stopping a larder: builds the store, the upstream client, the mounted adapters
//! and the HTTP server from a [`Config`].
//!
//! Graceful shutdown (SIGTERM from `docker stop` or systemd): the listener closes at once, so new
//! connections are refused; idle keep-alive connections are closed; responses in progress, and
//! fills whose clients have gone, may finish within `shutdown_grace`. Past that, larder exits
//! anyway: the runtime is stopped, and the temp files of downloads cut short are removed. A cut
//! download was never published, so nothing partial is ever visible, and the next start sweeps
//! whatever a SIGKILL left.

use crate::config::{Config, Storage};
use crate::engine::{Engine, Mounted};
use crate::http::{router, App};
use crate::metrics::history::History;
use crate::metrics::Metrics;
use crate::store::share_queue::ShareQueue;
use crate::store::{bucket::Bucket, AsyncStore, LocalStore, LruStore, SharedTier, Store};
use crate::upstream::UpstreamClient;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long tasks still running after the grace period get to notice they are cancelled.
const RUNTIME_STOP: Duration = Duration::from_secs(1);

/// The status page's charts: one bar per minute for the last hour.
const HISTORY_INTERVAL: Duration = Duration::from_secs(60);

/// Builds the application state from a configuration.
pub fn build_app(config: &Config) -> Result<Arc<App>> {
    let local: Arc<dyn Store> = Arc::new(LruStore::new(
        LocalStore::open(&config.data_dir)?,
        config.max_size,
    )?);
    let store = match &config.storage {
        Storage::Local => AsyncStore::new(local),
        Storage::S3(settings) => {
            let bucket = Bucket::connect(settings).with_context(|| {
                format!(
                    "[storage] cannot set up bucket {:?}; check bucket, endpoint and region",
                    settings.bucket
                )
            })?;
            tracing::info!(bucket = %settings.bucket, prefix = %settings.prefix, "local tier in front of a shared bucket");
            let queue = ShareQueue::open(&config.data_dir.join("share-queue"))?;
            AsyncStore::with_shared(local.clone(), SharedTier::new(bucket, local, queue)?)
        }
    };
    let names: Vec<&'static str> = config.ecosystems.iter().map(|e| e.factory.name).collect();
    let mut metrics = Metrics::new(&names);
    if let Some(shared) = store.shared() {
        metrics.register_bucket(shared.bucket().metrics());
    }
    let metrics = Arc::new(metrics);
    let mut upstreams = Vec::new();
    let mut by_name = HashMap::new();
    let mut by_proxy_host = HashMap::new();
    for eco in &config.ecosystems {
        let adapter =
            (eco.factory.build)(&eco.section).with_context(|| format!("[{}]", eco.factory.name))?;
        upstreams.extend(adapter.upstreams());
        let credentials = eco
            .credentials
            .clone()
            .map(|c| (eco.section.upstream.clone(), c));
        let counters = metrics.ecosystem(adapter.name());
        let mounted = Arc::new(Mounted::new(adapter, credentials, counters));
        for host in mounted.adapter.proxy_hosts() {
            // Looked up in lower case: host names are case-insensitive.
            let host = host.to_ascii_lowercase();
            if let Some(other) = by_proxy_host.insert(host.clone(), mounted.clone()) {
                bail!(
                    "host {host} is proxied by both [{}] and [{}]",
                    other.name(),
                    mounted.name()
                );
            }
        }
        by_name.insert(mounted.name(), mounted);
    }
    let served = crate::served::ServedLog::start(
        &config.data_dir,
        &config.served,
        Arc::new(crate::served::Counters::new(
            metrics.served_log.0.clone(),
            metrics.served_log.1.clone(),
        )),
    )?;
    let client = UpstreamClient::new(config.limits.clone(), &upstreams)?;
    let engine = Arc::new(Engine::new(store, client, config.offline));
    let mounted: Vec<Arc<Mounted>> = by_name.values().cloned().collect();
    let policy = Arc::new(crate::policy::Policy::new(&config.policy, &mounted)?);
    Ok(Arc::new(App {
        policy,
        engine,
        by_name,
        by_proxy_host,
        factories: config.ecosystems.iter().map(|e| e.factory).collect(),
        public_url: config.public_url.clone(),
        trust_forwarded: config.trust_forwarded,
        metrics,
        history: Arc::new(History::new(HISTORY_INTERVAL)),
        max_size: config.max_size,
        max_size_note: config.max_size_origin.note(),
        access: config.access.clone(),
        build_cache: Arc::new(crate::buildcache::BuildCache::new(config.cache.clone())),
        served,
        data_dir: config.data_dir.clone(),
        client_limits: config.client_limits.clone(),
    }))
}

/// A bound, running server.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds and serves until `shutdown` resolves; then stops accepting and gives in-flight
/// responses a bounded time to finish.
pub async fn start(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running> {
    let app = build_app(config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another larder running? (--listen to choose)",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let (signalled_tx, mut signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    };
    tokio::spawn(app.history.clone().run(app.metrics.clone()));
    let service = router(app.clone());
    let grace = config.shutdown_grace;
    let engine = app.engine.clone();
    let (limits, metrics) = (config.client_limits.clone(), app.metrics.clone());
    let task = tokio::spawn(async move {
        let serve = crate::http::serve(listener, service, limits, metrics, graceful);
        tokio::pin!(serve);
        // Until the signal, serving is all there is; `serve` ends on its own only on error. It
        // also ends in the very poll that delivers the signal when no connection is open (a
        // download whose client left): that is a shutdown too, and the wait for fills below
        // must not be skipped.
        let (signalled_at, served) = tokio::select! {
            biased;
            _ = &mut signalled_rx => (Instant::now(), None),
            result = &mut serve => match signalled_rx.try_recv() {
                Ok(()) => (Instant::now(), Some(result)),
                Err(_) => return result,
            },
        };
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        let drained = async {
            match served {
                Some(result) => result?,
                None => serve.await?,
            }
            // Fills run apart from their clients: one whose clients all left is still worth
            // storing, and one cut now would be fetched again after the restart.
            let mut announced = false;
            while !engine.fills.is_empty() {
                if !announced {
                    tracing::info!(
                        downloads = engine.fills.len(),
                        "waiting for downloads without clients to finish"
                    );
                    announced = true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<(), std::io::Error>(())
        };
        tokio::select! {
            result = drained => {
                tracing::debug!(ms = signalled_at.elapsed().as_millis() as u64, "drained");
                result
            }
            () = &mut deadline => {
                tracing::warn!(
                    downloads = engine.fills.len(),
                    "downloads still running after shutdown_grace ({}); exiting without storing them",
                    humantime::format_duration(grace)
                );
                Ok(())
            }
        }
    });
    Ok(Running { addr, app, task })
}

/// Runs larder until `signal` resolves, then shuts down gracefully (see the module docs).
/// Returns when the process may exit.
pub fn run<F, Fut>(config: &Config, signal: F) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(async {
        let running = start(config, signal()).await?;
        tracing::info!(data_dir = %config.data_dir.display(), offline = config.offline, "listening on http://{}", running.addr);
        let stopped = running.task.await;
        // The downloads that finished last are still queued for the served-log.
        running.app.served.flush(RUNTIME_STOP).await;
        // An eviction pass cut by the exit would leave records naming blobs it removed.
        running.app.engine.store.stop().await;
        Ok::<_, anyhow::Error>(stopped)
    });
    // Whatever still runs (downloads past the grace period) is cancelled here; a blocking
    // write in progress gets RUNTIME_STOP to complete before the sweep below.
    runtime.shutdown_timeout(RUNTIME_STOP);
    let stopped = served?;
    match LocalStore::sweep_own_temps(&config.data_dir) {
        Ok(0) => {}
        Ok(swept) => tracing::info!(swept, "removed the temp files of downloads cut short"),
        Err(err) => tracing::warn!(%err, "could not sweep temp files; the next start will"),
    }
    stopped
        .context("the server task panicked")?
        .context("the server failed")?;
    tracing::info!("stopped");
    Ok(())
}
