//! The command line (DESIGN.md §6). Every flag has an environment
//! equivalent; secrets go to stdout once and never to the log.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, Application, Config};
use crate::clock::{SharedClock, SystemClock};
use crate::domain::{CreatedTenant, Domain, Scope};
use crate::logging::LogFormat;
use crate::store::Synchronous;

/// scimd: a SCIM 2.0 provisioning server with safe deprovisioning.
#[derive(Debug, Parser)]
#[command(name = "scimd", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "SCIMD_DATABASE_URL", default_value = app::DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// How log lines on stderr are written: `text`, or `json` (one object
    /// per line) for log pipelines.
    #[arg(long, global = true, env = "SCIMD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the SCIM API.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Public base URL (e.g. https://scim.example.com) used in resource
        /// locations; defaults to http://<listen address>.
        #[arg(long, env = "SCIMD_PUBLIC_URL", value_parser = app::parse_public_url)]
        public_url: Option<String>,
        /// Largest accepted request body, in bytes.
        #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = app::DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// Most resources a filter may read one by one when no index
        /// answers it; past this, the request gets 400 tooMany.
        #[arg(long, env = "SCIMD_SCAN_LIMIT", default_value_t = crate::domain::SCAN_LIMIT)]
        scan_limit: u64,
        /// Let webhook endpoints be private addresses (loopback, RFC 1918,
        /// link-local, …); only for receivers inside your own network.
        #[arg(long, env = "SCIMD_ALLOW_PRIVATE_WEBHOOKS")]
        allow_private_webhooks: bool,
        /// Work budget of one PATCH, per request: the values its operations
        /// carry plus the stored values their paths scan; past it, 400
        /// tooMany before the tenant is locked.
        #[arg(long, env = "SCIMD_PATCH_BUDGET", default_value_t = scim::patch::DEFAULT_PATCH_BUDGET)]
        patch_budget: u64,
        /// Longest string value a user or group may store, in bytes.
        #[arg(long, env = "SCIMD_MAX_STRING_BYTES", default_value_t = scim::limits::DEFAULT_MAX_STRING_BYTES)]
        max_string_bytes: usize,
        /// Largest user or group document that may be stored, in bytes of
        /// JSON (group members not included).
        #[arg(long, env = "SCIMD_MAX_DOCUMENT_BYTES", default_value_t = scim::limits::DEFAULT_MAX_DOCUMENT_BYTES)]
        max_document_bytes: usize,
        #[command(flatten)]
        limits: ConnectionFlags,
        /// SQLite durability: `full` syncs every commit to disk; `normal`
        /// is faster but commits acknowledged shortly before a power loss
        /// can roll back.
        #[arg(long, env = "SCIMD_SQLITE_SYNCHRONOUS", default_value = "full")]
        sqlite_synchronous: Synchronous,
        /// Sustained requests a second of one tenant (per process); past
        /// it, 429 with Retry-After. 0 turns the limit off.
        #[arg(long, env = "SCIMD_TENANT_RATE_LIMIT", default_value_t = app::DEFAULT_TENANT_RATE_LIMIT)]
        tenant_rate_limit: u32,
        /// Requests one tenant may send in a burst above its rate (per
        /// process); at least the rate.
        #[arg(long, env = "SCIMD_TENANT_RATE_BURST", default_value_t = app::DEFAULT_TENANT_RATE_BURST)]
        tenant_rate_burst: u32,
        /// Writes of one tenant that may wait for their turn at once (per
        /// process); past it, 429 with Retry-After. 0: no bound.
        #[arg(long, env = "SCIMD_TENANT_MAX_WAITING", default_value_t = app::DEFAULT_TENANT_MAX_WAITING)]
        tenant_max_waiting: usize,
        /// Requests of one tenant that may be under way at once (per
        /// process), so also the most that may wait for a database
        /// connection; past it, 429 with Retry-After. 0: no bound.
        #[arg(long, env = "SCIMD_TENANT_MAX_IN_FLIGHT", default_value_t = app::DEFAULT_TENANT_MAX_IN_FLIGHT)]
        tenant_max_in_flight: usize,
        /// Address and port of the Prometheus metrics listener (`GET
        /// /metrics`), apart from the public one; empty turns it off.
        #[arg(long, env = "SCIMD_METRICS_LISTEN", default_value = app::DEFAULT_METRICS_LISTEN)]
        metrics_listen: String,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// Connection-level limits of `serve` (per process); times in seconds.
#[derive(Debug, clap::Args)]
pub struct ConnectionFlags {
    /// Seconds a request head may take from its first byte (or from the
    /// connection's start); past it the connection is closed.
    #[arg(long, env = "SCIMD_HEADER_TIMEOUT", default_value = "10", value_parser = seconds)]
    header_timeout: Duration,
    /// Seconds a keep-alive connection may wait for its next request.
    #[arg(long, env = "SCIMD_IDLE_TIMEOUT", default_value = "75", value_parser = seconds)]
    idle_timeout: Duration,
    /// Seconds from a request's head to its response; past it the answer
    /// is 503 with Retry-After.
    #[arg(long, env = "SCIMD_REQUEST_TIMEOUT", default_value = "30", value_parser = seconds)]
    request_timeout: Duration,
    /// Longest pause, in seconds, inside a request body; past it the
    /// answer is 408.
    #[arg(long, env = "SCIMD_BODY_TIMEOUT", default_value = "10", value_parser = seconds)]
    body_timeout: Duration,
    /// Seconds a response write may make no progress (a client that does
    /// not read); past it the connection is closed.
    #[arg(long, env = "SCIMD_WRITE_TIMEOUT", default_value = "30", value_parser = seconds)]
    write_timeout: Duration,
    /// Most connections open at once; past it new connections wait to be
    /// accepted. Lowered to fit the open-file limit.
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = app::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Seconds requests in flight get to finish after SIGTERM or Ctrl-C;
    /// then their connections are closed.
    #[arg(long, env = "SCIMD_SHUTDOWN_TIMEOUT", default_value = "25", value_parser = seconds)]
    shutdown_timeout: Duration,
}

/// A positive number of seconds, fractions allowed.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(Duration::from_secs_f64(seconds)),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with a SCIM token and an admin token.
    Create {
        /// Tenant name: letters, digits, `-`, `_`, `.`.
        name: String,
        /// Print one JSON object {"tenant_id","scim_token","admin_token"}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once.
    Create {
        #[arg(long)]
        tenant: String,
        /// `scim` (for the IdP) or `admin` (for the admin API).
        #[arg(long)]
        scope: String,
        #[arg(long, default_value = "created with the command line")]
        label: String,
        /// Print one JSON object {"id","token","scope","label"}.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        #[arg(long)]
        tenant: String,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke { id: String },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command {
        Command::Serve {
            listen,
            public_url,
            max_body_bytes,
            scan_limit,
            allow_private_webhooks,
            patch_budget,
            max_string_bytes,
            max_document_bytes,
            limits,
            sqlite_synchronous,
            tenant_rate_limit,
            tenant_rate_burst,
            tenant_max_waiting,
            tenant_max_in_flight,
            metrics_listen,
        } => {
            let config = Config {
                listen,
                database_url: cli.database_url,
                public_url,
                max_body_bytes,
                scan_limit,
                allow_private_webhooks,
                patch_budget,
                max_string_bytes,
                max_document_bytes,
                header_timeout: limits.header_timeout,
                idle_timeout: limits.idle_timeout,
                request_timeout: limits.request_timeout,
                body_timeout: limits.body_timeout,
                write_timeout: limits.write_timeout,
                max_connections: limits.max_connections,
                shutdown_timeout: limits.shutdown_timeout,
                sqlite_synchronous,
                tenant_rate_limit,
                tenant_rate_burst,
                tenant_max_waiting,
                tenant_max_in_flight,
                metrics_listen: Some(metrics_listen).filter(|address| !address.trim().is_empty()),
            };
            serve(&config, clock).await
        }
        Command::Migrate => {
            open(&cli.database_url, clock).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Tenant(TenantCommand::Create { name, json }) => {
            let domain = open(&cli.database_url, clock).await?;
            let created = domain.create_tenant(&name).await.map_err(anyhow_of)?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                print_tenant(&name, &created, None);
            }
            Ok(())
        }
        Command::Token(command) => token(command, &open(&cli.database_url, clock).await?).await,
    }
}

async fn token(command: TokenCommand, domain: &Domain) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            tenant,
            scope,
            label,
            json,
        } => {
            let scope: Scope = scope.parse().map_err(anyhow_of)?;
            let (id, secret) = domain
                .create_token(&tenant, scope, &label)
                .await
                .map_err(anyhow_of)?;
            if json {
                let out = serde_json::json!({"id": id, "token": secret, "scope": scope.as_str(), "label": label});
                println!("{out}");
            } else {
                println!(
                    "token id: {id}\nscope:    {scope}\ntoken:    {secret}\nThe token is shown once; store it now."
                );
            }
        }
        TokenCommand::List { tenant, json } => {
            let tokens = domain.list_tokens(&tenant).await.map_err(anyhow_of)?;
            if json {
                println!("{}", serde_json::to_string(&tokens)?);
            } else {
                println!(
                    "{:<36}  {:<5}  {:<24}  {:<24}  label",
                    "id", "scope", "created", "state"
                );
                for t in tokens {
                    let state = match (&t.revoked_at, &t.last_used_at) {
                        (Some(at), _) => format!("revoked {at}"),
                        (None, Some(at)) => format!("used {at}"),
                        (None, None) => "never used".to_owned(),
                    };
                    println!(
                        "{:<36}  {:<5}  {:<24}  {:<24}  {}",
                        t.id, t.scope, t.created_at, state, t.label
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            domain.revoke_token(&id).await.map_err(anyhow_of)?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

async fn open(database_url: &str, clock: SharedClock) -> anyhow::Result<Domain> {
    let (domain, _store) =
        app::open_domain(database_url, "http://localhost", Synchronous::Full, clock).await?;
    Ok(domain)
}

async fn serve(config: &Config, clock: SharedClock) -> anyhow::Result<()> {
    let mut application = Application::build(config, clock).await?;
    let address = application.local_addr()?;
    if let Some(created) = application.take_bootstrap() {
        print_tenant("default", &created, Some(application.scim_base()));
    }
    let shutdown = shutdown_signal()?;
    if let Some(metrics) = application.metrics_addr() {
        tracing::info!(%metrics, "serving metrics at /metrics");
    }
    tracing::info!(%address, database = %app::redact(&config.database_url), "scimd is listening");
    application.run_until(shutdown).await
}

fn print_tenant(name: &str, created: &CreatedTenant, scim_base: Option<&str>) {
    println!("Created tenant `{name}` ({}).", created.tenant_id);
    if let Some(base) = scim_base {
        println!("  SCIM base URL: {base}");
    }
    println!("  SCIM token:    {}", created.scim_token);
    println!("  admin token:   {}", created.admin_token);
    println!("These tokens are shown once; store them now.");
}

fn anyhow_of(error: crate::domain::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

/// Installs the Ctrl-C and SIGTERM handlers now, so a signal that arrives
/// once the server has announced itself is never missed, and returns a
/// future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let terminate = terminate.recv();
        #[cfg(not(unix))]
        let terminate = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = terminate => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

/// Parses the command line; kept here so `main` stays a shim.
pub fn parse() -> Cli {
    Cli::parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_webhook_targets_are_refused_unless_the_operator_allows_them() {
        let allowed = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Serve {
                allow_private_webhooks,
                ..
            }) => allow_private_webhooks,
            other => panic!("not a serve command: {other:?}"),
        };
        assert!(!allowed(&["scimd", "serve"]));
        assert!(allowed(&["scimd", "serve", "--allow-private-webhooks"]));
    }

    #[test]
    fn limits_default_to_the_documented_values_and_take_seconds() {
        let serve = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Serve {
                limits,
                sqlite_synchronous,
                ..
            }) => (limits, sqlite_synchronous),
            other => panic!("not a serve command: {other:?}"),
        };
        let (limits, synchronous) = serve(&["scimd", "serve"]);
        assert_eq!(limits.header_timeout, app::DEFAULT_HEADER_TIMEOUT);
        assert_eq!(limits.idle_timeout, app::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(limits.request_timeout, app::DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(limits.body_timeout, app::DEFAULT_BODY_TIMEOUT);
        assert_eq!(limits.write_timeout, app::DEFAULT_WRITE_TIMEOUT);
        assert_eq!(limits.shutdown_timeout, app::DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(synchronous, Synchronous::Full);
        let (limits, synchronous) = serve(&[
            "scimd",
            "serve",
            "--header-timeout",
            "0.5",
            "--sqlite-synchronous",
            "normal",
        ]);
        assert_eq!(limits.header_timeout, Duration::from_millis(500));
        assert_eq!(synchronous, Synchronous::Normal);
        assert!(Cli::try_parse_from(["scimd", "serve", "--idle-timeout", "0"]).is_err());
        assert!(Cli::try_parse_from(["scimd", "serve", "--sqlite-synchronous", "off"]).is_err());
    }

    #[test]
    fn metrics_listen_on_loopback_by_default_and_an_empty_address_turns_them_off() {
        let metrics = |args: &[&str]| match Cli::try_parse_from(args).map(|cli| cli.command) {
            Ok(Command::Serve { metrics_listen, .. }) => metrics_listen,
            other => panic!("not a serve command: {other:?}"),
        };
        assert_eq!(metrics(&["scimd", "serve"]), app::DEFAULT_METRICS_LISTEN);
        assert_eq!(metrics(&["scimd", "serve", "--metrics-listen", ""]), "");
    }

    #[test]
    fn logs_are_text_unless_json_is_asked_for() {
        let format = |args: &[&str]| Cli::try_parse_from(args).map(|cli| cli.log_format);
        assert_eq!(format(&["scimd", "migrate"]).ok(), Some(LogFormat::Text));
        assert_eq!(
            format(&["scimd", "serve", "--log-format", "json"]).ok(),
            Some(LogFormat::Json)
        );
        assert!(format(&["scimd", "migrate", "--log-format", "yaml"]).is_err());
    }
}
