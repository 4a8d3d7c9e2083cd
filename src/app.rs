//! The composition root: configuration, database, domain and router are
//! wired here and nowhere else.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::delivery::Worker;
use crate::domain::{CreatedTenant, Domain};
use crate::http::{self, AppState, SCIM_BASE_PATH};
use crate::store::Store;
use scim::Schemas;

/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scimd.db?mode=rwc";
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// How often `serve` deletes audit events past their tenant's retention.
const AUDIT_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Server configuration, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    /// Public base URL (scheme, host, port) used in `meta.location`,
    /// `Location` and `$ref`; defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    pub max_body_bytes: usize,
    /// Most candidates a filter may read when indexes cannot answer it.
    pub scan_limit: u64,
    /// Lets webhook endpoints be private addresses (loopback, RFC 1918,
    /// …); off, only public addresses are reached.
    pub allow_private_webhooks: bool,
}

/// A bound, migrated, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    store: Store,
    clock: SharedClock,
    bootstrap: Option<CreatedTenant>,
}

/// Opens and migrates the database and builds the domain over it.
pub async fn open_domain(
    database_url: &str,
    public_url: &str,
    clock: SharedClock,
) -> anyhow::Result<(Domain, Store)> {
    let store = Store::connect(database_url)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(database_url)))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    let schemas = Arc::new(Schemas::load().context("the built-in SCIM schemas are invalid")?);
    let scim_base = format!("{}{SCIM_BASE_PATH}", public_url.trim_end_matches('/'));
    let domain = Domain::open(store.clone(), schemas, clock, &scim_base)
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the domain: {e}"))?;
    domain
        .warn_of_user_name_collisions()
        .await
        .map_err(|e| anyhow::anyhow!("cannot count userName collisions: {e}"))?;
    Ok((domain, store))
}

impl Application {
    /// Binds the listener (port 0 picks a free port), migrates the
    /// database and, on an empty one, creates the tenant `default`.
    pub async fn build(config: &Config, clock: SharedClock) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let (domain, store) = open_domain(&config.database_url, &public_url, clock.clone()).await?;
        let domain = domain
            .with_scan_limit(config.scan_limit)
            .with_private_webhooks(config.allow_private_webhooks);
        let bootstrap = domain
            .bootstrap()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Application {
            listener,
            state: AppState {
                domain: Arc::new(domain),
                max_body_bytes: config.max_body_bytes,
            },
            store,
            clock,
            bootstrap,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The domain services this server runs on (for tools that seed data).
    pub fn domain(&self) -> Arc<Domain> {
        Arc::clone(&self.state.domain)
    }

    /// The absolute SCIM base URL clients should use.
    pub fn scim_base(&self) -> &str {
        self.state.domain.scim_base()
    }

    /// The tenant created on an empty database, with its tokens (once).
    pub fn take_bootstrap(&mut self) -> Option<CreatedTenant> {
        self.bootstrap.take()
    }

    /// Serves, and delivers webhooks, until `shutdown` resolves; then
    /// finishes in-flight requests and deliveries. Beside the server, audit
    /// events past their tenant's retention are deleted at start and then
    /// hourly.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let worker = Worker::spawn(Arc::clone(&self.state.domain), Arc::clone(&self.clock))
            .context("cannot build the webhook client")?;
        let (stop_pruning, stopped) = tokio::sync::watch::channel(false);
        let pruner = tokio::spawn(prune_audit_periodically(
            Arc::clone(&self.state.domain),
            self.clock,
            stopped,
        ));
        let app = http::service(self.state);
        // Responses go out as soon as they are written (axum's own
        // advice); the load tool measured no difference either way.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the server failed");
        worker.stop().await;
        // A prune under way finishes first; the store closes after it.
        let _ = stop_pruning.send(true);
        if let Err(error) = pruner.await {
            tracing::error!(%error, "the audit pruning task failed");
        }
        self.store.close().await;
        served
    }
}

/// Deletes audit events past their tenant's retention now and then every
/// [`AUDIT_PRUNE_INTERVAL`], until `stop` turns true (or its sender is
/// gone). A failure is logged and retried at the next tick: losing a
/// prune only keeps events a little longer.
async fn prune_audit_periodically(
    domain: Arc<Domain>,
    clock: SharedClock,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(AUDIT_PRUNE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match domain.prune_audit(clock.now_millis()).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "deleted audit events past their retention"),
            Err(error) => tracing::error!(%error, "cannot prune the audit log"),
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact(DEFAULT_DATABASE_URL), DEFAULT_DATABASE_URL);
    }
}
