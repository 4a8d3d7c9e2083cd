//! Opening the pools: pool sizes, SQLite pragmas, PostgreSQL's
//! `statement_timeout`, and a fast, clear error when PostgreSQL cannot be
//! reached.
//!
//! sqlx's pool retries a refused connection until its acquire timeout and
//! then reports only "pool timed out". So before the PostgreSQL pool is
//! built, one connection is tried with a deadline of [`REACH_TIMEOUT`], and
//! its failure is reported with the host and port it was for (never the
//! URL, which may hold a password).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use super::pool::{ACQUIRE_TIMEOUT, Health};
use super::{StoreError, Synchronous};

/// Connections of the PostgreSQL pool (per process) by default.
pub const DEFAULT_POSTGRES_POOL_SIZE: u32 = 16;
/// Connections of SQLite's reading pool by default (it writes on one).
pub const DEFAULT_SQLITE_READ_POOL_SIZE: u32 = 8;
/// Default PostgreSQL `statement_timeout`: as long as a request may take
/// (`--request-timeout`), so a runaway statement never outlives the
/// request that started it by much.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the first connection to PostgreSQL may take before start-up
/// gives up with the host and port named.
pub const REACH_TIMEOUT: Duration = Duration::from_secs(2);

/// How scimd connects to its database, beyond the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// How SQLite makes commits durable (PostgreSQL ignores it).
    pub synchronous: Synchronous,
    /// Connections of the PostgreSQL pool, or of SQLite's reading pool;
    /// `None`: [`DEFAULT_POSTGRES_POOL_SIZE`] or
    /// [`DEFAULT_SQLITE_READ_POOL_SIZE`].
    pub pool_size: Option<u32>,
    /// PostgreSQL's `statement_timeout` on every pooled connection;
    /// `None` leaves the server's setting (SQLite ignores it).
    pub statement_timeout: Option<Duration>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            synchronous: Synchronous::Full,
            pool_size: None,
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
        }
    }
}

impl DatabaseSettings {
    /// The defaults, with SQLite's durability `synchronous`.
    pub fn with_synchronous(synchronous: Synchronous) -> Self {
        DatabaseSettings {
            synchronous,
            ..DatabaseSettings::default()
        }
    }
}

/// Opens the PostgreSQL pool, after one connection has shown that the
/// server can be reached.
pub(super) async fn connect_postgres(
    url: &str,
    settings: &DatabaseSettings,
    health: &Arc<Health>,
) -> Result<DatabaseConnection, StoreError> {
    reach_postgres(url).await?;
    let size = settings.pool_size.unwrap_or(DEFAULT_POSTGRES_POOL_SIZE);
    let mut options = options(url, size, settings.synchronous, health);
    if let Some(timeout) = settings.statement_timeout {
        // Sent as a start-up parameter, so it costs no round trip.
        options.statement_timeout(timeout);
    }
    Ok(Database::connect(options).await?)
}

/// Opens one connection to PostgreSQL and closes it, within
/// [`REACH_TIMEOUT`]; a failure names the host and port.
async fn reach_postgres(url: &str) -> Result<(), StoreError> {
    let options: PgConnectOptions = url.parse().map_err(|error| StoreError::Unreachable {
        address: "PostgreSQL".to_owned(),
        reason: format!("the database URL is not usable: {error}"),
    })?;
    let options = options.disable_statement_logging();
    let address = match options.get_socket() {
        Some(socket) => format!("PostgreSQL at {}", socket.display()),
        None => format!(
            "PostgreSQL at {}:{}",
            options.get_host(),
            options.get_port()
        ),
    };
    match tokio::time::timeout(
        REACH_TIMEOUT,
        sea_orm::sqlx::PgConnection::connect_with(&options),
    )
    .await
    {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(StoreError::Unreachable {
            address,
            reason: error.to_string(),
        }),
        Err(_) => Err(StoreError::Unreachable {
            address,
            reason: format!("no answer within {} s", REACH_TIMEOUT.as_secs()),
        }),
    }
}

/// Opens an SQLite pool. Switching a new file to WAL takes a lock that
/// SQLite's busy timeout does not wait for, so processes opening the same
/// new file together retry for a while.
pub(super) async fn connect_sqlite(
    url: &str,
    max_connections: u32,
    synchronous: Synchronous,
    health: &Arc<Health>,
) -> Result<DatabaseConnection, StoreError> {
    let mut attempts = 0;
    loop {
        match Database::connect(options(url, max_connections, synchronous, health)).await {
            Ok(pool) => return Ok(pool),
            Err(error) if attempts < 20 && error.to_string().contains("database is locked") => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn options(
    url: &str,
    max_connections: u32,
    synchronous: Synchronous,
    health: &Arc<Health>,
) -> ConnectOptions {
    let synchronous = match synchronous {
        Synchronous::Full => SqliteSynchronous::Full,
        Synchronous::Normal => SqliteSynchronous::Normal,
    };
    let mut options = ConnectOptions::new(url.to_owned());
    let health = Arc::clone(health);
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings a connection on every acquire by default: one more
        // round trip per statement (to PostgreSQL, or to the SQLite worker
        // thread). Only a connection idle long enough to have been dropped
        // by a server or firewall is checked, and, once a broken connection
        // has been seen, every connection idle since before then.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .map_sqlx_postgres_before_acquire(move |connection, meta| health.check(connection, meta))
        // sqlx logs statements with their parameters: filter values and
        // token hashes must never reach the log.
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // `LIKE` compares case-sensitively, as on PostgreSQL: filters
                // on caseExact attributes need it, and the others compare
                // lowercased copies anyway.
                .pragma("case_sensitive_like", "ON")
        });
    options
}
