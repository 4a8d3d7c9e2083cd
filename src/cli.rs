//! The command line (DESIGN.md §6). Every flag has an environment
//! equivalent; secrets go to stdout once and never to the log.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{self, Application, Config};
use crate::clock::{SharedClock, SystemClock};
use crate::domain::{CreatedTenant, Domain, Scope};

/// scimd: a SCIM 2.0 provisioning server with safe deprovisioning.
#[derive(Debug, Parser)]
#[command(name = "scimd", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "SCIMD_DATABASE_URL", default_value = app::DEFAULT_DATABASE_URL)]
    pub database_url: String,
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
        #[arg(long, env = "SCIMD_PUBLIC_URL")]
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
            tenant_rate_limit,
            tenant_rate_burst,
            tenant_max_waiting,
        } => {
            let config = Config {
                listen,
                database_url: cli.database_url,
                public_url,
                max_body_bytes,
                scan_limit,
                allow_private_webhooks,
                tenant_rate_limit,
                tenant_rate_burst,
                tenant_max_waiting,
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
    let (domain, _store) = app::open_domain(database_url, "http://localhost", clock).await?;
    Ok(domain)
}

async fn serve(config: &Config, clock: SharedClock) -> anyhow::Result<()> {
    let mut application = Application::build(config, clock).await?;
    let address = application.local_addr()?;
    if let Some(created) = application.take_bootstrap() {
        print_tenant("default", &created, Some(application.scim_base()));
    }
    let shutdown = shutdown_signal()?;
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
}
