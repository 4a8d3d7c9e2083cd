//! The command line (README, "Command line"). Every flag has an
//! environment equivalent and may be set in the `--config` file
//! (`config_file.rs`); secrets go to stdout or a private file once and
//! never to the log, and `--help` never shows them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::app::{self, Application, BootstrapReport, Config};
use crate::clock::{SharedClock, SystemClock};
use crate::config_file::{self, ConfigFile};
use crate::domain::{CreatedTenant, Domain, Scope};
use crate::logging::LogFormat;
use crate::secrets;
use crate::store::Synchronous;

/// The environment variable of `--database-url-file`.
const DATABASE_URL_FILE_ENV: &str = "SCIMD_DATABASE_URL_FILE";

/// scimd: a SCIM 2.0 provisioning server with safe deprovisioning.
#[derive(Debug, Parser)]
#[command(name = "scimd", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://FILE?mode=rwc` or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`. Prefer
    /// --database-url-file for one with a password.
    #[arg(
        long,
        global = true,
        env = "SCIMD_DATABASE_URL",
        hide_env_values = true,
        default_value = app::DEFAULT_DATABASE_URL
    )]
    pub database_url: String,
    /// A file holding the database URL (a trailing line break is
    /// ignored), e.g. a container or systemd secret; instead of
    /// --database-url, never beside it.
    #[arg(
        long,
        global = true,
        env = DATABASE_URL_FILE_ENV,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub database_url_file: Option<PathBuf>,
    /// A TOML file of settings: keys are flag names without `--`
    /// (`listen = "0.0.0.0:8080"`); flags and environment variables
    /// override it.
    #[arg(long, global = true, env = config_file::CONFIG_ENV, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the database URL came from, once parsed: decides between
    /// --database-url and --database-url-file.
    #[arg(skip)]
    database_url_origins: Origins,
    /// How log lines on stderr are written: `text`, or `json` (one object
    /// per line) for log pipelines.
    #[arg(long, global = true, env = "SCIMD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the two database URL settings came from, highest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Origins {
    url: Origin,
    file: Origin,
}

/// Where a setting came from, in clap's order of precedence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    /// Not set (or only scimd's own default).
    #[default]
    Unset,
    /// The `--config` file.
    ConfigFile,
    /// The environment.
    Environment,
    /// The command line.
    Flag,
}

// Parsed once at start: the size of `Serve` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database (unless --no-migrate), then serve the SCIM API.
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
        #[command(flatten)]
        console: ConsoleFlags,
        #[command(flatten)]
        database: DatabaseFlags,
        #[command(flatten)]
        bootstrap: BootstrapFlags,
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
    /// Copy a live SQLite database to FILE (never overwritten); for
    /// PostgreSQL, use pg_dump.
    Backup(crate::backup::BackupArgs),
    /// Exit 0 when the server's /healthz answers 200 (for container health
    /// checks).
    Healthcheck(crate::healthcheck::HealthcheckArgs),
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

/// The console's flags (DESIGN §7).
#[derive(Debug, clap::Args)]
pub struct ConsoleFlags {
    /// Seconds a console session may go unused before it ends.
    #[arg(long, env = "SCIMD_CONSOLE_SESSION_IDLE", default_value = "1800", value_parser = seconds)]
    console_session_idle: Duration,
    /// Longest life of a console session in seconds, however much it is
    /// used; then the admin signs in again.
    #[arg(long, env = "SCIMD_CONSOLE_SESSION_MAX", default_value = "43200", value_parser = seconds)]
    console_session_max: Duration,
    /// Behind a reverse proxy you run: take a console client's address
    /// (for the limit on failed sign-ins) from the last entry of
    /// `X-Forwarded-For` instead of the connection's peer.
    #[arg(long, env = "SCIMD_TRUST_PROXY")]
    trust_proxy: bool,
}

impl ConsoleFlags {
    fn config(&self) -> app::ConsoleConfig {
        app::ConsoleConfig {
            sessions: app::SessionLifetimes {
                idle: self.console_session_idle,
                absolute: self.console_session_max,
            },
            trust_proxy: self.trust_proxy,
        }
    }
}

/// How `serve` uses its database (per process).
#[derive(Debug, clap::Args)]
pub struct DatabaseFlags {
    /// Do not migrate: refuse to start while the database needs a
    /// migration (run `scimd migrate` once instead, e.g. before rolling
    /// out several processes).
    #[arg(long, env = "SCIMD_NO_MIGRATE")]
    no_migrate: bool,
    /// Connections of the PostgreSQL pool (default 16), or of SQLite's
    /// reading pool (default 8; SQLite writes on one).
    #[arg(long, env = "SCIMD_DB_POOL_SIZE", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool_size: Option<u32>,
    /// PostgreSQL `statement_timeout` of every pooled connection, in
    /// seconds; 0 leaves the server's own. SQLite ignores it.
    #[arg(long, env = "SCIMD_DB_STATEMENT_TIMEOUT", default_value = "30",
          value_name = "SECONDS", value_parser = seconds_or_zero)]
    db_statement_timeout: Duration,
}

/// Where `serve` puts the tokens of tenant `default` on an empty database.
#[derive(Debug, clap::Args)]
pub struct BootstrapFlags {
    /// Write the first start's tokens as JSON to FILE (created with mode
    /// 0600; an existing file is never overwritten) instead of stdout.
    #[arg(long, env = "SCIMD_BOOTSTRAP_OUTPUT", value_name = "FILE")]
    bootstrap_output: Option<PathBuf>,
    /// Print the first start's tokens as one JSON object
    /// {"tenant_id","scim_token","admin_token","scim_base_url"} on stdout.
    #[arg(long, conflicts_with = "bootstrap_output")]
    json: bool,
}

/// A number of seconds as [`seconds`] reads it, or `0` (for "off").
fn seconds_or_zero(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => seconds(text),
    }
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
    /// List the tenants, oldest first: id, name, created.
    List {
        /// Print a JSON array of {"id","name","created_at"}.
        #[arg(long)]
        json: bool,
    },
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
        /// The tenant's name (`scimd tenant list`; the first start's is
        /// `default`).
        #[arg(long)]
        tenant: String,
        /// What the token may be used for.
        #[arg(long, value_parser = ScopeParser)]
        scope: TokenScope,
        #[arg(long, default_value = "created with the command line")]
        label: String,
        /// Print one JSON object {"id","token","scope","label"}.
        #[arg(long)]
        json: bool,
    },
    /// List a tenant's tokens (never their secrets).
    List {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke { id: String },
}

/// What a token may be used for, as `token create --scope` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenScope {
    /// The SCIM API, for the identity provider.
    Scim,
    /// The admin API, for the IT admin and tooling.
    Admin,
}

impl From<TokenScope> for Scope {
    fn from(scope: TokenScope) -> Self {
        match scope {
            TokenScope::Scim => Scope::Scim,
            TokenScope::Admin => Scope::Admin,
        }
    }
}

/// clap's parser of [`TokenScope`], with an error that says what a scope
/// is; `--help` lists the values.
#[derive(Debug, Clone, Copy)]
struct ScopeParser;

impl TypedValueParser for ScopeParser {
    type Value = TokenScope;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<TokenScope, clap::Error> {
        EnumValueParser::<TokenScope>::new()
            .parse_ref(command, arg, value)
            .map_err(|_| {
                clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "unknown scope `{}`: use `scim` (the SCIM API, for the IdP) or \
                         `admin` (the admin API)\n",
                        value.to_string_lossy()
                    ),
                )
                .with_cmd(command)
            })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            TokenScope::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let clock: SharedClock = Arc::new(SystemClock);
    let database_url = cli.resolved_database_url()?;
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
            console,
            database,
            bootstrap,
            metrics_listen,
        } => {
            let config = Config {
                listen,
                database_url,
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
                console: console.config(),
                db_pool_size: database.db_pool_size,
                db_statement_timeout: Some(database.db_statement_timeout)
                    .filter(|timeout| !timeout.is_zero()),
                migrate: !database.no_migrate,
                bootstrap_output: bootstrap.bootstrap_output,
                metrics_listen: Some(metrics_listen).filter(|address| !address.trim().is_empty()),
            };
            serve(&config, bootstrap.json, clock).await
        }
        Command::Migrate => {
            open(&database_url, clock).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Tenant(TenantCommand::List { json }) => {
            let tenants = open(&database_url, clock)
                .await?
                .list_tenants()
                .await
                .map_err(anyhow_of)?;
            if json {
                println!("{}", serde_json::to_string(&tenants)?);
            } else {
                println!("{:<36}  {:<24}  name", "id", "created");
                for tenant in tenants {
                    println!(
                        "{:<36}  {:<24}  {}",
                        tenant.id, tenant.created_at, tenant.name
                    );
                }
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Create { name, json }) => {
            let domain = open(&database_url, clock).await?;
            let created = domain.create_tenant(&name).await.map_err(anyhow_of)?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                print_tenant(&name, &created, None);
            }
            Ok(())
        }
        Command::Token(command) => token(command, &open(&database_url, clock).await?).await,
        Command::Backup(args) => crate::backup::run(&database_url, &args).await,
        Command::Healthcheck(args) => crate::healthcheck::run(&args).await,
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
            let scope = Scope::from(scope);
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

async fn serve(config: &Config, json: bool, clock: SharedClock) -> anyhow::Result<()> {
    let mut application = Application::build(config, clock).await?;
    let address = application.local_addr()?;
    if let Some(created) = application.take_bootstrap() {
        let scim_base = application.scim_base();
        match &config.bootstrap_output {
            Some(path) => {
                println!("Created tenant `default` ({}).", created.tenant_id);
                println!("  SCIM base URL: {scim_base}");
                println!(
                    "  Its SCIM and admin tokens are in {} (readable by its owner only).",
                    path.display()
                );
            }
            None if json => {
                let report = BootstrapReport {
                    created: &created,
                    scim_base_url: scim_base,
                };
                println!("{}", serde_json::to_string(&report)?);
            }
            None => print_tenant("default", &created, Some(scim_base)),
        }
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

impl Cli {
    /// Parses `args` as the command line, with the `--config` file (from
    /// `args`, else `config_env`, the value of `SCIMD_CONFIG`) as the
    /// flags' defaults.
    pub fn try_parse_with_config(
        args: Vec<OsString>,
        config_env: Option<OsString>,
    ) -> Result<Cli, clap::Error> {
        let mut command = Cli::command();
        let mut file = None;
        if let Some(path) = config_file::path_in(&args, config_env) {
            let loaded = ConfigFile::load(&path).map_err(config_error)?;
            command = loaded.apply(command).map_err(config_error)?;
            file = Some(loaded);
        }
        let matches = command.try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let in_file = |key: &str| file.as_ref().is_some_and(|f| f.keys().any(|k| k == key));
        cli.database_url_origins = Origins {
            url: origin(&matches, "database_url", in_file("database-url")),
            file: origin(&matches, "database_url_file", in_file("database-url-file")),
        };
        Ok(cli)
    }

    /// The database URL: from --database-url, or read from
    /// --database-url-file. Both set at the same level (or both given as
    /// flags or variables) is an error; else the higher one wins.
    pub fn resolved_database_url(&self) -> anyhow::Result<String> {
        let Origins { url, file } = self.database_url_origins;
        let path = match &self.database_url_file {
            Some(path) if file != Origin::Unset => path,
            _ => return Ok(self.database_url.clone()),
        };
        let both_explicit = url >= Origin::Environment && file >= Origin::Environment;
        if url != Origin::Unset && (url == file || both_explicit) {
            anyhow::bail!(
                "both the database URL (--database-url, SCIMD_DATABASE_URL) and a file holding \
                 it (--database-url-file, {DATABASE_URL_FILE_ENV}) are set; set only one"
            );
        }
        if url > file {
            return Ok(self.database_url.clone());
        }
        Ok(secrets::read_secret_file(DATABASE_URL_FILE_ENV, path)?)
    }
}

/// Where the value of argument `id` came from.
fn origin(matches: &ArgMatches, id: &str, in_config_file: bool) -> Origin {
    let source = matches.value_source(id).or_else(|| {
        matches
            .subcommand()
            .and_then(|(_, sub)| sub.value_source(id))
    });
    match source {
        Some(ValueSource::CommandLine) => Origin::Flag,
        Some(ValueSource::EnvVariable) => Origin::Environment,
        Some(ValueSource::DefaultValue) if in_config_file => Origin::ConfigFile,
        _ => Origin::Unset,
    }
}

fn config_error(error: config_file::ConfigFileError) -> clap::Error {
    clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{error}\n"))
}

/// Parses the command line and the `--config` file; on an error, prints
/// it and exits as clap does. Kept here so `main` stays a shim.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match Cli::try_parse_with_config(args, std::env::var_os(config_file::CONFIG_ENV)) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    }
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

    fn parsed(args: &[&str], config: Option<&std::path::Path>) -> Result<Cli, clap::Error> {
        Cli::try_parse_with_config(
            args.iter().map(OsString::from).collect(),
            config.map(|path| path.as_os_str().to_owned()),
        )
    }

    #[test]
    fn the_database_url_comes_from_one_place_only() {
        let dir = tempfile::tempdir().unwrap();
        let url_file = dir.path().join("url");
        std::fs::write(&url_file, "postgres://u:pw@db/scimd\n").unwrap();
        let url_file = url_file.to_str().unwrap();
        let url = |args: &[&str], config: Option<&std::path::Path>| {
            parsed(args, config)
                .unwrap()
                .resolved_database_url()
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            url(&["scimd", "migrate"], None).unwrap(),
            app::DEFAULT_DATABASE_URL
        );
        assert_eq!(
            url(&["scimd", "migrate", "--database-url-file", url_file], None).unwrap(),
            "postgres://u:pw@db/scimd"
        );
        let both = url(
            &[
                "scimd",
                "--database-url",
                "sqlite://a.db",
                "--database-url-file",
                url_file,
                "migrate",
            ],
            None,
        );
        assert!(both.unwrap_err().contains("set only one"));

        // A flag overrides the file's setting of the other one; the file
        // may not set both.
        let config = dir.path().join("scimd.toml");
        std::fs::write(&config, format!("database-url-file = \"{url_file}\"\n")).unwrap();
        assert_eq!(
            url(&["scimd", "migrate"], Some(&config)).unwrap(),
            "postgres://u:pw@db/scimd"
        );
        assert_eq!(
            url(
                &["scimd", "migrate", "--database-url", "sqlite://b.db"],
                Some(&config)
            )
            .unwrap(),
            "sqlite://b.db"
        );
        std::fs::write(
            &config,
            format!("database-url = \"sqlite://c.db\"\ndatabase-url-file = \"{url_file}\"\n"),
        )
        .unwrap();
        assert!(
            url(&["scimd", "migrate"], Some(&config))
                .unwrap_err()
                .contains("set only one")
        );
    }

    #[test]
    fn the_config_file_sets_serve_flags_below_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("scimd.toml");
        std::fs::write(
            &config,
            "listen = \"0.0.0.0:9000\"\ntenant-rate-limit = 7\nno-migrate = true\n\
             db-statement-timeout = 0\n",
        )
        .unwrap();
        let serve = |args: &[&str]| match parsed(args, Some(&config)).map(|cli| cli.command) {
            Ok(Command::Serve {
                listen,
                tenant_rate_limit,
                database,
                ..
            }) => (listen, tenant_rate_limit, database),
            other => panic!("not a serve command: {other:?}"),
        };
        let (listen, rate, database) = serve(&["scimd", "serve"]);
        assert_eq!((listen.as_str(), rate), ("0.0.0.0:9000", 7));
        assert!(database.no_migrate);
        assert_eq!(database.db_statement_timeout, Duration::ZERO);
        let (listen, rate, _) = serve(&["scimd", "serve", "--listen", "127.0.0.1:1"]);
        assert_eq!((listen.as_str(), rate), ("127.0.0.1:1", 7));
        // Other commands ignore the server's settings.
        assert!(parsed(&["scimd", "tenant", "list"], Some(&config)).is_ok());
        std::fs::write(&config, "tenant-rate-limt = 7\n").unwrap();
        let error = parsed(&["scimd", "serve"], Some(&config))
            .unwrap_err()
            .to_string();
        assert!(error.contains("tenant-rate-limt"), "{error}");
    }

    #[test]
    fn scopes_are_listed_in_help_and_explained_when_unknown() {
        let help = Cli::command()
            .find_subcommand_mut("token")
            .and_then(|token| token.find_subcommand_mut("create"))
            .map(|create| create.render_long_help().to_string())
            .unwrap();
        assert!(help.contains("scim") && help.contains("admin"), "{help}");
        assert!(help.contains("Possible values"), "{help}");
        let error = parsed(
            &[
                "scimd", "token", "create", "--tenant", "t", "--scope", "root",
            ],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("unknown scope `root`"), "{error}");
    }

    #[test]
    fn the_database_pool_and_statement_timeout_have_defaults_and_bounds() {
        let database = |args: &[&str]| match parsed(args, None).map(|cli| cli.command) {
            Ok(Command::Serve { database, .. }) => database,
            other => panic!("not a serve command: {other:?}"),
        };
        let defaults = database(&["scimd", "serve"]);
        assert_eq!(defaults.db_pool_size, None);
        assert_eq!(
            defaults.db_statement_timeout,
            crate::store::DEFAULT_STATEMENT_TIMEOUT
        );
        assert!(!defaults.no_migrate);
        let set = database(&[
            "scimd",
            "serve",
            "--db-pool-size",
            "4",
            "--db-statement-timeout",
            "2.5",
        ]);
        assert_eq!(set.db_pool_size, Some(4));
        assert_eq!(set.db_statement_timeout, Duration::from_millis(2500));
        assert!(parsed(&["scimd", "serve", "--db-pool-size", "0"], None).is_err());
        assert!(
            parsed(
                &["scimd", "serve", "--json", "--bootstrap-output", "f"],
                None
            )
            .is_err()
        );
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
