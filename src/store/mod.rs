//! Persistence on sea-orm, for SQLite and PostgreSQL.
//!
//! Reads go through [`Store`]; every write happens inside a [`Tx`] so a
//! resource, its index rows and (later) its audit event commit together.
//! Errors are [`StoreError`]; the ORM's own error never leaves this layer
//! in a form a client could see.

mod assets;
mod audit;
mod backup;
mod call_records;
mod connect;
mod deliveries;
mod deprovisionings;
mod entity;
mod exec;
mod groups;
mod operations;
mod overview;
mod plan;
mod pool;
mod query;
mod revocations;
mod run;
mod secrets;
mod seed;
mod sessions;
mod states;
mod tenants;
mod tokens;
mod user_names;
mod user_search;
mod users;
mod versioned;
mod webhooks;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use migrations::MigratorTrait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlErr, TransactionTrait};

use scim::resource::Document;

use pool::{ACQUIRE_TIMEOUT, Fault, Health, ReadPool};

pub use assets::{AssetRecord, Owned};
pub use audit::{AuditRecord, AuditSearch};
pub use backup::{CopySummary, copy_sqlite, sqlite_file};
pub use call_records::CallRecord;
pub use connect::{
    DEFAULT_POSTGRES_POOL_SIZE, DEFAULT_SQLITE_READ_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT,
    DatabaseSettings,
};
pub use deliveries::{AttemptRecord, DeliveryRecord, NewEvent};
pub use deprovisionings::{PendingFilter, PendingRecord};
pub use groups::{GroupRow, Member};
pub use plan::{Plan, plan};
pub use query::{Key, Kind, Listed, Order, Placed, SortColumn, Window, sort_column};
pub use revocations::Revocations;
pub use sessions::SessionRecord;
pub use states::{
    Access, Action, AdminSource, AssetKind, BlockerKind, DeliveryState, Direction, EventType,
    Outcome, PendingState, Policy, Reason, Requested, Scope, StoredState, TargetType,
};
pub use tenants::{TenantLock, TenantSettings};
pub use tokens::{NewToken, TokenRecord};
pub use user_search::UserSearch;
pub use users::{AdminCandidate, LockedUser, Membership, UserRow, UserState};
pub use webhooks::WebhookRecord;

/// `tenant_id = ?` on `column`, written so that no index can serve it
/// (`COALESCE(tenant_id, '')`; the column is never null): for a lookup by
/// primary key (`id IN (…)`) that must also stay inside the tenant.
/// Without planner statistics SQLite prefers any `(tenant_id, …)` index
/// over the primary key, and then reads every row of the tenant: at
/// 100,000 users, tens of milliseconds per statement instead of one.
pub(crate) fn in_tenant(
    column: impl sea_orm::sea_query::IntoColumnRef,
    tenant_id: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func};
    Expr::expr(Func::coalesce([Expr::col(column), Expr::val("")])).eq(tenant_id)
}

/// Whether an SQLite URL opens its file read-only (`mode=ro`).
fn read_only(url: &str) -> bool {
    url.contains("mode=ro")
}

/// Key of the advisory lock that serializes migrations on PostgreSQL.
const MIGRATION_LOCK: i64 = 0x5c1d_0001;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused the write.
    #[error("{0} is already taken")]
    Taken(UniqueField),
    /// The filter cannot be answered by this version of scimd.
    #[error("{0}")]
    UnsupportedFilter(String),
    /// A stored document could not be read back.
    #[error("the stored document of {0} is not valid JSON")]
    Corrupt(String),
    /// No pooled connection came free within the acquire timeout: the
    /// process as a whole is overloaded.
    #[error("no database connection came free within {} s", ACQUIRE_TIMEOUT.as_secs())]
    Exhausted,
    /// The database connection broke (a restart or failover): the write
    /// did not happen, or was rolled back by the server.
    #[error("the database connection was lost: {0}")]
    Disconnected(#[source] DbErr),
    /// The database server could not be reached at start-up: `address`
    /// names its host and port (never the URL, which may hold a password).
    #[error("cannot connect to {address}: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

impl StoreError {
    /// Whether the database cannot serve now but may shortly: answered 503
    /// with `Retry-After`, never 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Exhausted | StoreError::Disconnected(_))
    }
}

/// Which unique value a write collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    UserName,
    GroupDisplayName,
    TenantName,
    AssetName,
    Other,
}

impl std::fmt::Display for UniqueField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UniqueField::UserName => "userName",
            UniqueField::GroupDisplayName => "displayName",
            UniqueField::TenantName => "the tenant name",
            UniqueField::AssetName => "the asset's kind and name",
            UniqueField::Other => "a unique value",
        })
    }
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        match Fault::of(&error) {
            Fault::Exhausted => return StoreError::Exhausted,
            Fault::Disconnected => return StoreError::Disconnected(error),
            Fault::Other => {}
        }
        let message = match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => Some(message),
            _ => exec::unique_violation(&error).map(str::to_owned),
        };
        if let Some(message) = message {
            // SQLite names the columns, PostgreSQL the index; both contain these.
            let field = if message.contains("assets") {
                UniqueField::AssetName
            } else if message.contains("user_name") {
                UniqueField::UserName
            } else if message.contains("display_name") {
                UniqueField::GroupDisplayName
            } else if message.contains("tenants") {
                UniqueField::TenantName
            } else {
                UniqueField::Other
            };
            return StoreError::Taken(field);
        }
        StoreError::Database(error)
    }
}

/// A stored SCIM resource: its document and bookkeeping columns.
#[derive(Debug, Clone)]
pub struct ResourceRecord {
    pub id: String,
    pub document: Document,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ResourceRecord {
    fn parse(
        id: String,
        document: &str,
        version: i64,
        created_at: i64,
        updated_at: i64,
    ) -> Result<Self, StoreError> {
        let document =
            serde_json::from_str(document).map_err(|_| StoreError::Corrupt(id.clone()))?;
        Ok(ResourceRecord {
            id,
            document,
            version,
            created_at,
            updated_at,
        })
    }
}

/// The database: a reading pool and a writing pool.
///
/// On SQLite the writing pool has one connection, for the few writes made
/// outside a transaction; a [`Tx`] on an SQLite file writes on the
/// process's one inline writer (`writer.rs`), which serializes
/// transactions in the process instead of letting them fail with
/// `SQLITE_BUSY`. On PostgreSQL both pools are the same pool. Reads that
/// meet a broken connection run again on another (`pool.rs`).
#[derive(Debug, Clone)]
pub struct Store {
    read: ReadPool,
    write: DatabaseConnection,
    health: Arc<Health>,
    /// SQLite's readers on the calling thread (`exec.rs`); `None` on
    /// PostgreSQL and for an in-memory SQLite database.
    inline: Option<Arc<exec::InlineReaders>>,
    /// SQLite's writer on the calling thread (`writer.rs`); `None` where
    /// `inline` is.
    writer: Option<writer::Writer>,
    revocations: Arc<Revocations>,
    /// PostgreSQL's URL, for the revocation listener.
    listen_url: Option<revocations::ListenUrl>,
    /// Most shared writes of one tenant this process runs at once
    /// ([`Store::shared_tenant_writes`]).
    shared_writes: u32,
}

/// How SQLite makes a commit durable (`PRAGMA synchronous`, in WAL
/// mode); PostgreSQL ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is synced to disk before it is acknowledged.
    #[default]
    Full,
    /// Commits are synced at checkpoints: faster, but commits acknowledged
    /// since the last one can roll back on a power loss or OS crash (not
    /// on a crash of scimd alone).
    Normal,
}

impl std::str::FromStr for Synchronous {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            _ => Err(format!("`{text}` is neither `full` nor `normal`")),
        }
    }
}

impl Synchronous {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "full",
            Synchronous::Normal => "normal",
        }
    }
}

/// A write transaction.
pub struct Tx {
    inner: run::TxConn,
    revocations: Arc<Revocations>,
    /// Whether this transaction revokes tokens (`revocations.rs`).
    revokes: std::sync::atomic::AtomicBool,
    /// Whatever must be held until the transaction ends (the domain's
    /// place in its tenant's queue); dropped after `inner`.
    _held: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Store {
    /// Connects to `url` (`sqlite:` or `postgres:`) with the default
    /// settings; `synchronous` sets SQLite's durability.
    pub async fn connect(url: &str, synchronous: Synchronous) -> Result<Store, StoreError> {
        Store::connect_with(url, &DatabaseSettings::with_synchronous(synchronous)).await
    }

    /// Connects to `url` (`sqlite:` or `postgres:`). An unreachable
    /// PostgreSQL is reported within [`REACH_TIMEOUT`], naming its host
    /// and port.
    pub async fn connect_with(url: &str, settings: &DatabaseSettings) -> Result<Store, StoreError> {
        let health = Health::new();
        let (read, write, inline, writer, listen_url, shared_writes) = if url.starts_with("sqlite:")
        {
            let readers = settings.pool_size.unwrap_or(DEFAULT_SQLITE_READ_POOL_SIZE);
            let write = connect::connect_sqlite(url, 1, settings.synchronous, &health).await?;
            let read = connect::connect_sqlite(url, readers, settings.synchronous, &health).await?;
            let file = sqlite_file(url);
            let writer = file
                .as_deref()
                .filter(|_| !read_only(url))
                .map(|path| writer::Writer::open(path, settings.synchronous))
                .transpose()?;
            let inline = file.map(|path| Arc::new(exec::InlineReaders::new(path)));
            // One connection writes: shared writes would only queue for it.
            (read, write, inline, writer, None, 1)
        } else {
            let pool = connect::connect_postgres(url, settings, &health).await?;
            let listen_url = revocations::ListenUrl(url.to_owned());
            let size = settings.pool_size.unwrap_or(DEFAULT_POSTGRES_POOL_SIZE);
            let shared_writes = (size / 4).clamp(1, 8);
            (
                pool.clone(),
                pool,
                None,
                None,
                Some(listen_url),
                shared_writes,
            )
        };
        Ok(Store {
            read: ReadPool {
                pool: read,
                health: Arc::clone(&health),
            },
            write,
            health,
            inline,
            writer,
            revocations: Revocations::new(),
            listen_url,
            shared_writes,
        })
    }

    /// Most shared writes of one tenant ([`TenantLock::Shared`]) that this
    /// process runs at once: a quarter of PostgreSQL's pool (at least 1,
    /// at most 8), so that one tenant's writes leave most connections to
    /// the others; 1 on SQLite, whose one connection writes.
    pub fn shared_tenant_writes(&self) -> u32 {
        self.shared_writes
    }

    /// The names of the migrations this database has not had yet, without
    /// changing anything (for `serve --no-migrate`). A database migrated
    /// by a newer scimd is an error: this build does not know its schema.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            migrations::Migrator::get_pending_migrations_read_only(&self.write)
                .await?
                .iter()
                .map(|migration| migration.name().to_owned())
                .collect(),
        )
    }

    /// Applies pending migrations. Processes starting together take
    /// turns: on PostgreSQL behind a transaction-scoped advisory lock (the
    /// one PostgreSQL-only statement, kept here), on SQLite by retrying a
    /// migration that lost the race inside its transaction.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.write.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let tx = self.write.begin().await?;
            tx.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
            // A backfill may rightly take longer than a request's
            // `statement_timeout`; for this transaction only.
            tx.execute_unprepared("SET LOCAL statement_timeout = 0")
                .await?;
            migrations::Migrator::up(&tx, None).await?;
            tx.commit().await?;
            return Ok(());
        }
        let mut attempts = 0;
        loop {
            let tx = self.write.begin().await?;
            let outcome = migrations::Migrator::up(&tx, None).await;
            match outcome {
                Ok(()) => {
                    tx.commit().await?;
                    return Ok(());
                }
                Err(error) if attempts < 20 => {
                    drop(tx);
                    attempts += 1;
                    tracing::debug!(%error, "migration raced another process; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempts)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read.pool.ping().await?;
        Ok(())
    }

    /// Starts a write transaction. A `BEGIN` that meets a broken
    /// connection is sent once more (nothing has happened yet), on a
    /// connection checked first.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match &self.writer {
            Some(writer) => run::TxConn::Inline(writer.begin().await?),
            None => run::TxConn::Sqlx(match self.write.begin().await {
                Err(error) if Fault::of(&error) == Fault::Disconnected => {
                    tracing::warn!(%error, "a database connection broke; beginning again on another");
                    self.health.broken();
                    self.write.begin().await?
                }
                other => other?,
            }),
        };
        Ok(Tx {
            inner,
            revocations: Arc::clone(&self.revocations),
            revokes: std::sync::atomic::AtomicBool::new(false),
            _held: None,
        })
    }

    /// Announces a write that will [`begin`](Store::begin) soon, until
    /// dropped: on SQLite's writer, a finished transaction then waits for
    /// it to share its `COMMIT` (`writer.rs`); nothing elsewhere.
    pub(crate) fn write_intent(&self) -> Option<writer::Intent> {
        self.writer.as_ref().map(writer::Writer::intent)
    }

    /// Waits for this process's turn to write outside a transaction (a
    /// write through `self.write`): on an SQLite file, the inline writer's
    /// turn, so that sqlx's writing connection never waits for SQLite's
    /// lock behind a transaction of this process; nothing elsewhere.
    async fn write_turn(&self) -> Result<Option<writer::Turn>, StoreError> {
        match &self.writer {
            Some(writer) => writer.turn().await.map(Some),
            None => Ok(None),
        }
    }

    /// The rows a read of at most `most` rows finds, each mapped by `map`:
    /// on SQLite a short read runs on the calling thread (`exec.rs`).
    async fn hot_rows<T>(
        &self,
        statement: sea_orm::Statement,
        most: u64,
        map: impl Fn(&dyn exec::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match &self.inline {
            Some(inline) if most <= exec::INLINE_ROWS => inline.rows(statement, map),
            _ => exec::pooled_rows(&self.read, statement, map).await,
        }
    }

    /// Closes both pools.
    pub async fn close(self) {
        let _ = self.read.pool.close().await;
        let _ = self.write.close().await;
    }
}

impl Tx {
    /// Commits the transaction; dropping a `Tx` rolls it back.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.announce_revocation().await?;
        let Tx {
            inner,
            revocations,
            revokes,
            _held,
        } = self;
        inner.commit(_held).await?;
        if revokes.load(std::sync::atomic::Ordering::Acquire) {
            revocations.advance();
        }
        Ok(())
    }

    /// Keeps `held` until this transaction commits or is dropped.
    pub fn hold(&mut self, held: impl std::any::Any + Send + Sync) {
        self._held = Some(Box::new(held));
    }
}

/// Most ids one statement's `IN (…)` list carries on the read paths of
/// pages (a page's memberships or members, the members a PATCH names).
///
/// sqlx (0.9) leaves Nagle's algorithm on for its PostgreSQL TCP sockets
/// and writes a statement's messages in pieces of about 16 KiB; a
/// statement larger than one piece (1,000 ids are about 40 KiB) then waits
/// for PostgreSQL's delayed ACK, up to 40 ms on Linux, before its last
/// piece is sent. 300 ids (about 12 KiB) go out in one piece: a cursor
/// page of 1,000 users over TCP went from about 64 ms to 24 ms.
pub(crate) const IDS_PER_STATEMENT: usize = 300;

/// The row a select by a unique key (a primary key, a token hash, a
/// tenant name) finds: `Select::one` without its `LIMIT 1`.
///
/// SQLite plans a bound `LIMIT ?` with its value, so binding it again
/// expires the statement, which is then parsed and planned again on every
/// run (`sqlite3Reprepare`: a fifth of the CPU time of a `GET /Users/{id}`,
/// BENCHMARKS.md). A unique key selects at most one row anyway.
async fn by_key<E, C>(select: sea_orm::Select<E>, conn: &C) -> Result<Option<E::Model>, DbErr>
where
    E: sea_orm::EntityTrait,
    C: ConnectionTrait,
{
    Ok(select.all(conn).await?.into_iter().next())
}
