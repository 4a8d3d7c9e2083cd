//! The composition root: configuration, database, domain and router are
//! wired here and nowhere else.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::delivery::Worker;
pub use crate::domain::DEFAULT_TENANT_MAX_WAITING;
use crate::domain::{CreatedTenant, Domain};
pub use crate::domain::{DEFAULT_SESSION_ABSOLUTE, DEFAULT_SESSION_IDLE, SessionLifetimes};
use crate::http::console::ConsoleState;
pub use crate::http::in_flight::DEFAULT_TENANT_MAX_IN_FLIGHT;
use crate::http::in_flight::TenantInFlight;
use crate::http::rate::TenantLimiter;
pub use crate::http::rate::{DEFAULT_TENANT_RATE_BURST, DEFAULT_TENANT_RATE_LIMIT};
use crate::http::{self, AppState, ConnectionLimits, SCIM_BASE_PATH};
use crate::metrics::Metrics;
use crate::secrets;
use crate::store::Store;
pub use crate::store::{
    DEFAULT_POSTGRES_POOL_SIZE, DEFAULT_SQLITE_READ_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT,
    DatabaseSettings, Synchronous,
};
use scim::Schemas;
use scim::limits::SizeLimits;

/// Default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://scimd.db?mode=rwc";
/// Default address of the metrics listener (`serve --metrics-listen`):
/// loopback only, on 9464, the port OpenTelemetry's Prometheus exporters
/// use by default.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default time a request head may take from its first byte.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a keep-alive connection may wait for its next request:
/// longer than the 60 s idle timeout of common load balancers, so that
/// they, not scimd, close first.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// Default request deadline: well under the 60 s after which Entra ID
/// gives up on a request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest pause inside a request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default longest time a response write may make no progress.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default time requests in flight get to finish at shutdown: within the
/// 30 s Kubernetes waits after SIGTERM before it kills.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(25);
/// File descriptors kept apart from the connection cap: database pools,
/// SQLite's WAL files, webhook deliveries, logs.
const RESERVED_FILES: u64 = 128;
/// How often `serve` deletes audit events past their tenant's retention.
const AUDIT_PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// How often `serve` writes the token uses authentication noted.
const TOKEN_USE_FLUSH_INTERVAL: Duration = Duration::from_secs(15);

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
    /// The work budget of one PATCH: the values its operations carry plus
    /// the stored values their paths scan (`--patch-budget`).
    pub patch_budget: u64,
    /// Longest string value stored in a user or group, in bytes.
    pub max_string_bytes: usize,
    /// Largest stored user or group document (members excluded), in bytes.
    pub max_document_bytes: usize,
    /// Time a request head may take from its first byte (or from the
    /// connection's start); past it the connection is closed.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Time from a request's head to its response's head; past it the
    /// answer is 503 with `Retry-After`.
    pub request_timeout: Duration,
    /// Longest pause inside a request body; past it the answer is 408.
    pub body_timeout: Duration,
    /// Longest time a response write may make no progress; past it the
    /// connection is closed.
    pub write_timeout: Duration,
    /// Most connections open at once (per process); past it, accepting
    /// waits.
    pub max_connections: usize,
    /// Time requests in flight get to finish once shutdown begins.
    pub shutdown_timeout: Duration,
    /// How SQLite makes commits durable (PostgreSQL ignores it).
    pub sqlite_synchronous: Synchronous,
    /// Sustained requests a second of one tenant, per process; 0: no limit.
    pub tenant_rate_limit: u32,
    /// Burst of one tenant, in requests (at least the rate).
    pub tenant_rate_burst: u32,
    /// Most writes of one tenant waiting for their turn at once, per
    /// process; 0: no bound.
    pub tenant_max_waiting: usize,
    /// Most requests of one tenant under way at once, per process (so
    /// also most waiting for a pooled connection); 0: no bound.
    pub tenant_max_in_flight: usize,
    /// Address of the metrics listener (`GET /metrics`); `None`: no
    /// metrics listener.
    pub metrics_listen: Option<String>,
    /// Connections of the PostgreSQL pool, or of SQLite's reading pool
    /// (`None`: 16 and 8).
    pub db_pool_size: Option<u32>,
    /// PostgreSQL `statement_timeout` of every pooled connection; `None`
    /// leaves the server's own.
    pub db_statement_timeout: Option<Duration>,
    /// Whether to apply pending migrations at start; off, a database that
    /// needs any is refused (`--no-migrate`).
    pub migrate: bool,
    /// Where the first start writes the tokens of tenant `default`, as
    /// JSON, in a new file only its owner may read; `None`: nowhere (the
    /// command line prints them).
    pub bootstrap_output: Option<PathBuf>,
    /// The console's sessions and sign-in.
    pub console: ConsoleConfig,
}

/// The console's settings (`serve`'s console flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsoleConfig {
    /// How long console sessions last, unused and at most.
    pub sessions: SessionLifetimes,
    /// Whether the client address of a console sign-in is the last entry
    /// of `X-Forwarded-For` (behind a proxy you run) rather than the
    /// connection's peer.
    pub trust_proxy: bool,
}

impl Config {
    /// A configuration with every default, listening on `listen` and
    /// storing in `database_url`; unlike `scimd serve`, without a metrics
    /// listener (set [`Config::metrics_listen`] for one).
    pub fn new(listen: &str, database_url: &str) -> Config {
        Config {
            listen: listen.to_owned(),
            database_url: database_url.to_owned(),
            public_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            scan_limit: crate::domain::SCAN_LIMIT,
            allow_private_webhooks: false,
            patch_budget: scim::patch::DEFAULT_PATCH_BUDGET,
            max_string_bytes: scim::limits::DEFAULT_MAX_STRING_BYTES,
            max_document_bytes: scim::limits::DEFAULT_MAX_DOCUMENT_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            sqlite_synchronous: Synchronous::Full,
            tenant_rate_limit: DEFAULT_TENANT_RATE_LIMIT,
            tenant_rate_burst: DEFAULT_TENANT_RATE_BURST,
            tenant_max_waiting: DEFAULT_TENANT_MAX_WAITING,
            tenant_max_in_flight: DEFAULT_TENANT_MAX_IN_FLIGHT,
            metrics_listen: None,
            console: ConsoleConfig::default(),
            db_pool_size: None,
            db_statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
            migrate: true,
            bootstrap_output: None,
        }
    }

    /// How this configuration connects to its database.
    pub fn database_settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            synchronous: self.sqlite_synchronous,
            pool_size: self.db_pool_size,
            statement_timeout: self.db_statement_timeout,
        }
    }
}

/// Why a `--public-url` is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicUrlError {
    #[error("`{0}` is not a URL; write the scheme too, e.g. https://{0}")]
    NoScheme(String),
    #[error("`{0}` is not a URL: {1}")]
    Malformed(String, String),
    #[error("`{0}` has the scheme `{1}`; the public URL must start with https:// (or http://)")]
    Scheme(String, String),
    #[error("`{0}` has no host name")]
    NoHost(String),
    #[error("`{0}` carries a user name or password; leave them out")]
    UserInfo(String),
    #[error(
        "`{0}` has a query or a fragment; the public URL is a base: scheme, host, port and path only"
    )]
    QueryOrFragment(String),
}

/// Checks a public base URL: `http` or `https`, a host, an optional port
/// and path, nothing else. Returns it without a trailing `/`.
pub fn parse_public_url(text: &str) -> Result<String, PublicUrlError> {
    let text = text.trim();
    let parsed = match url::Url::parse(text) {
        Ok(parsed) => parsed,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(PublicUrlError::NoScheme(text.to_owned()));
        }
        Err(error) => {
            return Err(PublicUrlError::Malformed(
                text.to_owned(),
                error.to_string(),
            ));
        }
    };
    match parsed.scheme() {
        "http" | "https" => {}
        // `scim.example.com:443/` parses with the scheme `scim.example.com`.
        _ if !text.contains("://") => return Err(PublicUrlError::NoScheme(text.to_owned())),
        scheme => return Err(PublicUrlError::Scheme(text.to_owned(), scheme.to_owned())),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(PublicUrlError::NoHost(text.to_owned()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(PublicUrlError::UserInfo(text.to_owned()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(PublicUrlError::QueryOrFragment(text.to_owned()));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

/// A bound, migrated, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    limits: ConnectionLimits,
    state: AppState,
    store: Store,
    clock: SharedClock,
    bootstrap: Option<CreatedTenant>,
}

/// Opens and migrates the database and builds the domain over it, with
/// the default connection settings.
pub async fn open_domain(
    database_url: &str,
    public_url: &str,
    synchronous: Synchronous,
    clock: SharedClock,
) -> anyhow::Result<(Domain, Store)> {
    open_domain_with(
        database_url,
        &DatabaseSettings::with_synchronous(synchronous),
        Migrations::Apply,
        public_url,
        clock,
    )
    .await
}

/// What start-up does with migrations the database has not had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Applies them (every process may: they take turns).
    Apply,
    /// Refuses to start while any is pending (`serve --no-migrate`).
    Require,
}

/// Opens the database (migrating it or checking that it needs nothing,
/// as `migrations` says) and builds the domain over it.
pub async fn open_domain_with(
    database_url: &str,
    settings: &DatabaseSettings,
    migrations: Migrations,
    public_url: &str,
    clock: SharedClock,
) -> anyhow::Result<(Domain, Store)> {
    let store = Store::connect_with(database_url, settings)
        .await
        .with_context(|| format!("cannot open the database at {}", redact(database_url)))?;
    match migrations {
        Migrations::Apply => store
            .migrate()
            .await
            .context("cannot migrate the database")?,
        Migrations::Require => {
            let pending = store
                .pending_migrations()
                .await
                .context("cannot read which migrations the database has had")?;
            if !pending.is_empty() {
                anyhow::bail!(
                    "the database needs {} migration(s) this scimd would apply ({}), and \
                     --no-migrate is set: run `scimd migrate` once (after a backup), then \
                     start the servers",
                    pending.len(),
                    pending.join(", ")
                );
            }
        }
    }
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

/// The first start's report: tenant `default`, its tokens and the SCIM
/// base URL, as `serve --json` prints it and `--bootstrap-output` stores it.
#[derive(Debug, serde::Serialize)]
pub struct BootstrapReport<'a> {
    #[serde(flatten)]
    pub created: &'a CreatedTenant,
    pub scim_base_url: &'a str,
}

/// On an empty database, creates tenant `default` and writes its tokens
/// to `path`, which is created first (mode 0600, never overwritten), so a
/// file that cannot be written leaves the database empty.
async fn bootstrap_to_file(domain: &Domain, path: &Path) -> anyhow::Result<Option<CreatedTenant>> {
    if !domain
        .is_empty()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        return Ok(None);
    }
    let file = secrets::create_secret_file(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "--bootstrap-output {} already exists, and scimd never overwrites it: \
                 move it away (it may hold an earlier first start's tokens) and start again",
                path.display()
            )
        } else {
            anyhow::anyhow!(
                "cannot create --bootstrap-output {}: {error}",
                path.display()
            )
        }
    })?;
    let created = match domain.bootstrap().await {
        Ok(Some(created)) => created,
        outcome => {
            // Another process created the tenant first, or it failed.
            drop(file);
            let _ = std::fs::remove_file(path);
            return outcome.map_err(|e| anyhow::anyhow!("{e}"));
        }
    };
    let report = BootstrapReport {
        created: &created,
        scim_base_url: domain.scim_base(),
    };
    secrets::write_secret_file(file, &serde_json::to_string(&report)?).with_context(|| {
        format!(
            "tenant `default` was created, but its tokens could not be written to {}; \
             create new ones with `scimd token create`",
            path.display()
        )
    })?;
    Ok(Some(created))
}

impl Application {
    /// Binds the listener (port 0 picks a free port), migrates the
    /// database and, on an empty one, creates the tenant `default`.
    pub async fn build(config: &Config, clock: SharedClock) -> anyhow::Result<Application> {
        let public_url = config
            .public_url
            .as_deref()
            .map(parse_public_url)
            .transpose()
            .context("--public-url is not usable")?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let metrics_listener = match &config.metrics_listen {
            Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
                format!(
                    "cannot listen for metrics on {address}; choose another address with \
                     --metrics-listen, or an empty one to serve no metrics"
                )
            })?),
            None => None,
        };
        let address = listener.local_addr()?;
        let public_url = public_url.unwrap_or_else(|| format!("http://{address}"));
        let migrations = if config.migrate {
            Migrations::Apply
        } else {
            Migrations::Require
        };
        let (domain, store) = open_domain_with(
            &config.database_url,
            &config.database_settings(),
            migrations,
            &public_url,
            clock.clone(),
        )
        .await?;
        let domain = domain
            .with_metrics(Metrics::new())
            .with_scan_limit(config.scan_limit)
            .with_private_webhooks(config.allow_private_webhooks)
            .with_tenant_max_waiting(config.tenant_max_waiting)
            .with_session_lifetimes(config.console.sessions)
            .with_public_url(&public_url, config.public_url.is_some())
            .with_limits(
                config.patch_budget,
                SizeLimits {
                    max_string_bytes: config.max_string_bytes,
                    max_document_bytes: config.max_document_bytes,
                },
            );
        let bootstrap = match &config.bootstrap_output {
            Some(path) => bootstrap_to_file(&domain, path).await?,
            None => domain
                .bootstrap()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        Ok(Application {
            listener,
            metrics_listener,
            limits: ConnectionLimits {
                header_timeout: config.header_timeout,
                idle_timeout: config.idle_timeout,
                write_timeout: config.write_timeout,
                max_connections: connection_cap(config.max_connections),
                shutdown_timeout: config.shutdown_timeout,
            },
            state: AppState {
                domain: Arc::new(domain),
                max_body_bytes: config.max_body_bytes,
                body_timeout: config.body_timeout,
                request_timeout: config.request_timeout,
                limiter: TenantLimiter::new(config.tenant_rate_limit, config.tenant_rate_burst)
                    .map(Arc::new),
                in_flight: TenantInFlight::new(config.tenant_max_in_flight).map(Arc::new),
                console: ConsoleState::new(
                    config.console.trust_proxy,
                    config.public_url.as_deref(),
                    clock.clone(),
                ),
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

    /// The address the metrics listener bound, when there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
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
    /// finishes in-flight requests (within the shutdown deadline) and
    /// deliveries. Beside the server, audit
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
            stopped.clone(),
        ));
        let flusher = tokio::spawn(flush_token_use_periodically(
            Arc::clone(&self.state.domain),
            stopped.clone(),
        ));
        // Revocations by other processes end cached token lookups
        // (`store/revocations.rs`); without this task nothing is cached.
        let revocation_watcher = tokio::spawn({
            let store = self.store.clone();
            async move { store.watch_revocations().await }
        });
        // Metrics are served until the store closes, through the drain.
        let metrics_server = self.metrics_listener.map(|listener| {
            tokio::spawn(http::metrics::serve_metrics(
                listener,
                Arc::clone(&self.state.domain),
            ))
        });
        let app = http::service(self.state);
        // The signal is awaited in a task of its own, as axum::serve did:
        // a panic there (tracing-subscriber panics when stderr is a closed
        // pipe) must not take the server down before it has shut down.
        let (stopping, stop) = tokio::sync::oneshot::channel::<()>();
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stopping.send(());
        });
        http::serve(self.listener, app, self.limits, async {
            let _ = stop.await;
        })
        .await;
        signal.abort();
        worker.stop().await;
        // A prune under way finishes first; the store closes after it.
        let _ = stop_pruning.send(true);
        if let Err(error) = pruner.await {
            tracing::error!(%error, "the audit pruning task failed");
        }
        // Its last flush, after the last request, runs before the store
        // closes.
        if let Err(error) = flusher.await {
            tracing::error!(%error, "the token use task failed");
        }
        if let Some(server) = metrics_server {
            server.abort();
        }
        revocation_watcher.abort();
        self.store.close().await;
        Ok(())
    }
}

/// The connection cap in force: `wanted`, lowered so that connections
/// cannot use up the open-file limit (whose soft value is first raised to
/// the hard one), since then accepting would fail instead of waiting.
fn connection_cap(wanted: usize) -> usize {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(files) => files,
        Err(error) => {
            tracing::warn!(%error, "cannot read the open-file limit");
            return wanted;
        }
    };
    let room = usize::try_from(files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
    if wanted > room {
        tracing::warn!(
            wanted,
            open_file_limit = files,
            cap = room,
            "the open-file limit lowers the connection cap; raise `ulimit -n` for more"
        );
    }
    wanted.min(room).max(1)
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

/// Writes the token uses authentication noted (`domain/token_use.rs`)
/// every [`TOKEN_USE_FLUSH_INTERVAL`], and once more when `stop` turns
/// true. A failed write keeps its notes for the next one.
async fn flush_token_use_periodically(
    domain: Arc<Domain>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(TOKEN_USE_FLUSH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = ticks.tick() => false,
            _ = stop.wait_for(|stopped| *stopped) => true,
        };
        if let Err(error) = domain.flush_token_use().await {
            tracing::warn!(%error, "cannot record token use; retrying at the next flush");
        }
        if stopping {
            return;
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    secrets::redact_database_url(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_a_base_url_with_a_scheme_and_a_host() {
        assert_eq!(
            parse_public_url("https://scim.example.com/").as_deref(),
            Ok("https://scim.example.com")
        );
        assert_eq!(
            parse_public_url("http://10.0.0.1:8080/scimd").as_deref(),
            Ok("http://10.0.0.1:8080/scimd")
        );
        let refused = |text: &str| parse_public_url(text).expect_err(text).to_string();
        assert!(refused("scim.example.com/").contains("https://scim.example.com/"));
        assert!(refused("scim.example.com:443").contains("write the scheme"));
        assert!(refused("ftp://scim.example.com").contains("https://"));
        assert!(refused("https://user:pw@scim.example.com").contains("user name"));
        assert!(refused("https://scim.example.com/?a=b").contains("query"));
        assert!(refused("https://scim.example.com/#top").contains("fragment"));
        assert!(refused("https://").contains("https://"));
    }

    #[test]
    fn database_passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u@h/db?password=secret"),
            "postgres://u@h/db?password=***"
        );
        assert_eq!(redact(DEFAULT_DATABASE_URL), DEFAULT_DATABASE_URL);
    }
}
