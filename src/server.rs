//! Starting and stopping a larder: builds the store, the upstream client, the mounted adapters
//! and the HTTP server from a [`Config`].

use crate::config::Config;
use crate::engine::{Engine, Mounted};
use crate::http::{router, App};
use crate::store::{LocalStore, LruStore};
use crate::upstream::UpstreamClient;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight responses may run after a shutdown signal before larder exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// Builds the application state from a configuration.
pub fn build_app(config: &Config) -> Result<Arc<App>> {
    let store = LruStore::new(LocalStore::open(&config.data_dir)?, config.max_size)?;
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
        let mounted = Arc::new(Mounted::new(adapter, credentials));
        for host in mounted.adapter.proxy_hosts() {
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
    let client = UpstreamClient::new(config.limits.clone(), &upstreams)?;
    let engine = Arc::new(Engine::new(Arc::new(store), client, config.offline));
    Ok(Arc::new(App {
        engine,
        by_name,
        by_proxy_host,
        public_url: config.public_url.clone(),
        trust_forwarded: config.trust_forwarded,
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
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    };
    let service = router(app.clone());
    let task = tokio::spawn(async move {
        // Small metadata answers must not wait for Nagle's algorithm to meet a delayed ACK
        // (40 ms per request, measured with the go command).
        let listener =
            axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
                let _ = tcp.set_nodelay(true);
            });
        let serve = axum::serve(listener, service).with_graceful_shutdown(graceful);
        let deadline = async {
            let _ = signalled_rx.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!("in-flight responses still running after the grace period; exiting");
                Ok(())
            }
        }
    });
    Ok(Running { addr, app, task })
}
