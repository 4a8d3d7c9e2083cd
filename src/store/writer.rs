//! SQLite's write transactions on the calling thread (issue 16).
//!
//! sqlx runs every SQLite statement on a worker thread of its own and
//! hands each one over and back: a guarded deactivation is about ten
//! statements, and the hand-offs cost more than SQLite's work
//! (BENCHMARKS.md). Here a [`Tx`](super::Tx) on an SQLite file runs its
//! statements on one `rusqlite` connection, on the thread of the request
//! that owns the transaction; only `COMMIT`, which waits for the disk,
//! goes to a blocking thread.
//!
//! The statements are the ones sea-orm builds for both databases; only
//! their execution differs, behind [`TxConn`](super::run::TxConn)
//! (`run.rs`), and rows are read by position ([`Row`]) or into an
//! entity's model by the entity's column definitions
//! ([`model_from_row`]).
//!
//! One connection writes, as the single-connection sqlx pool did: a
//! transaction waits for it in an async queue (fair, first come first
//! served), then takes SQLite's write lock with `BEGIN IMMEDIATE`. Only
//! when another process holds that lock does the wait move to a blocking
//! thread. The few writes made outside a transaction through sqlx's
//! writing connection wait in the same queue ([`Writer::turn`]), so the
//! two connections never fight over SQLite's lock in one process.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::ValueRef;
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, DbErr, EntityTrait, RuntimeErr, Statement,
    TryIntoModel,
};
use tokio::sync::OwnedMutexGuard;

use super::exec::{self, Row, sqlite_error};
use super::pool::ACQUIRE_TIMEOUT;
use super::{StoreError, Synchronous};

/// How long a transaction waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept on the writing connection.
const STATEMENT_CACHE: usize = 128;

/// The process's one writing connection to an SQLite file.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    connection: Arc<tokio::sync::Mutex<rusqlite::Connection>>,
}

impl Writer {
    /// Opens the writing connection to the SQLite file at `path` (which
    /// sqlx's pool has opened in WAL mode already).
    pub(crate) fn open(path: &Path, synchronous: Synchronous) -> Result<Writer, StoreError> {
        let connection = rusqlite::Connection::open(path).map_err(failure)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(failure)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // As on the inline readers (`exec.rs`): each statement is planned
        // once, not again for every new value bound to it.
        connection
            .set_db_config(
                rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
                true,
            )
            .map_err(failure)?;
        // As on sqlx's connections (`connect.rs`).
        connection
            .execute_batch(&format!(
                "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; \
                 PRAGMA case_sensitive_like = ON;",
                synchronous.as_str()
            ))
            .map_err(failure)?;
        Ok(Writer {
            connection: Arc::new(tokio::sync::Mutex::new(connection)),
        })
    }

    /// Waits for this process's turn to write, at most
    /// [`ACQUIRE_TIMEOUT`] (then the process is overloaded: 503). While
    /// the turn is held, no transaction of this process holds SQLite's
    /// write lock: a write outside a transaction, through sqlx's writing
    /// connection, holds it meanwhile.
    pub(crate) async fn turn(&self) -> Result<Turn, StoreError> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.connection).lock_owned())
            .await
            .map(Turn)
            .map_err(|_| StoreError::Exhausted)
    }

    /// Waits for the connection (see [`Writer::turn`]), then begins a
    /// transaction that holds SQLite's write lock.
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let Turn(connection) = self.turn().await?;
        if !connection.is_autocommit() {
            // Never expected (every transaction ends in `commit` or
            // `drop`), but a connection left inside one would refuse every
            // later `BEGIN`.
            connection.execute_batch("ROLLBACK").map_err(failure)?;
        }
        // `BEGIN IMMEDIATE` without waiting on the calling thread: when
        // another process holds the write lock, the wait for it runs on a
        // blocking thread.
        connection.busy_timeout(Duration::ZERO).map_err(failure)?;
        let begun = connection.execute_batch("BEGIN IMMEDIATE");
        connection.busy_timeout(BUSY_TIMEOUT).map_err(failure)?;
        match begun {
            Ok(()) => Ok(WriteTx::new(connection)),
            Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                tokio::task::spawn_blocking(move || {
                    connection
                        .execute_batch("BEGIN IMMEDIATE")
                        .map_err(failure)?;
                    // Made here: a request gone meanwhile drops it, which
                    // rolls back.
                    Ok::<_, StoreError>(WriteTx::new(connection))
                })
                .await
                .map_err(|error| DbErr::Conn(RuntimeErr::Internal(error.to_string())))?
            }
            Err(error) => Err(failure(error)),
        }
    }
}

/// This process's turn to write ([`Writer::turn`]), until dropped.
#[derive(Debug)]
pub(crate) struct Turn(OwnedMutexGuard<rusqlite::Connection>);

/// A write transaction on the [`Writer`]: rolled back when dropped
/// uncommitted.
#[derive(Debug)]
pub(crate) struct WriteTx {
    /// `None` once committed. A `std` mutex only to make the transaction
    /// `Sync`; statements of one transaction never run at once.
    connection: Mutex<Option<OwnedMutexGuard<rusqlite::Connection>>>,
}

impl WriteTx {
    fn new(connection: OwnedMutexGuard<rusqlite::Connection>) -> WriteTx {
        WriteTx {
            connection: Mutex::new(Some(connection)),
        }
    }

    /// Commits; the disk is waited for on a blocking thread. A failed
    /// `COMMIT` is rolled back and reported.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(connection) = connection else {
            return Err(ended());
        };
        tokio::task::spawn_blocking(move || {
            let committed = connection.execute_batch("COMMIT").map_err(failure);
            if committed.is_err() && !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            committed
        })
        .await
        .map_err(|error| DbErr::Conn(RuntimeErr::Internal(error.to_string())))??;
        Ok(())
    }

    /// Runs a statement whose rows, if any, are not read; how many rows
    /// it changed.
    pub(crate) fn execute(&self, statement: Statement) -> Result<u64, StoreError> {
        self.with(|connection| {
            exec::query(connection, statement, |_| Ok(()))?;
            Ok(connection.changes())
        })
    }

    /// Runs statements given as text, without parameters.
    pub(crate) fn execute_unprepared(&self, sql: &str) -> Result<(), StoreError> {
        self.with(|connection| connection.execute_batch(sql).map_err(failure))
    }

    /// The rows `statement` returns, each mapped by `map` by position.
    pub(crate) fn rows<T>(
        &self,
        statement: Statement,
        map: impl Fn(&dyn Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.with(|connection| exec::query(connection, statement, |row| map(row)))
    }

    /// The models of entity `E` that `statement` (a select of its
    /// columns, or a write `RETURNING` them) returns.
    pub(crate) fn models<E>(&self, statement: Statement) -> Result<Vec<E::Model>, StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.with(|connection| {
            exec::query(connection, statement, |row| Ok(model_from_row::<E>(row)?))
        })
    }

    /// Runs `run` on the connection.
    fn with<T>(
        &self,
        run: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match connection.as_deref() {
            Some(connection) => run(connection),
            None => Err(ended()),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let connection = self
            .connection
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(connection) = connection.as_deref()
            && !connection.is_autocommit()
        {
            // No disk wait: a rollback in WAL mode discards pages in memory.
            let _ = connection.execute_batch("ROLLBACK");
        }
    }
}

fn ended() -> StoreError {
    StoreError::Database(DbErr::Custom("the transaction has ended".to_owned()))
}

/// A row of entity `E`'s table as its model: each column by name, its
/// value typed as the entity declares the column (SQLite's `INTEGER` is a
/// `bool`, an `i32` or an `i64` by the entity alone).
fn model_from_row<E>(row: &rusqlite::Row<'_>) -> Result<E::Model, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let statement = row.as_ref();
    let mut model = <E::ActiveModel as ActiveModelTrait>::default();
    for position in 0..statement.column_count() {
        let name = statement.column_name(position).map_err(sqlite_error)?;
        let column = E::Column::from_str(name)
            .map_err(|_| DbErr::Custom(format!("no column `{name}` in the entity")))?;
        let value = row.get_ref(position).map_err(sqlite_error)?;
        model.try_set(column, typed(column.def().get_column_type(), value))?;
    }
    model.try_into_model()
}

/// An SQLite value as the sea-orm value of a column of type `column`.
fn typed(column: &ColumnType, value: ValueRef<'_>) -> Value {
    let integer = match value {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Null => None,
        ValueRef::Real(x) => return Value::Double(Some(x)),
        ValueRef::Text(text) => {
            return Value::String(Some(String::from_utf8_lossy(text).into_owned()));
        }
        ValueRef::Blob(bytes) => return Value::Bytes(Some(bytes.to_vec())),
    };
    match column {
        ColumnType::Boolean => Value::Bool(integer.map(|n| n != 0)),
        ColumnType::TinyInteger
        | ColumnType::SmallInteger
        | ColumnType::Integer
        | ColumnType::TinyUnsigned
        | ColumnType::SmallUnsigned => match integer.map(i32::try_from) {
            Some(Err(_)) => Value::BigInt(integer),
            Some(Ok(n)) => Value::Int(Some(n)),
            None => Value::Int(None),
        },
        ColumnType::BigInteger | ColumnType::Unsigned | ColumnType::BigUnsigned => {
            Value::BigInt(integer)
        }
        ColumnType::Double | ColumnType::Float | ColumnType::Decimal(_) => {
            Value::Double(integer.map(|n| n as f64))
        }
        _ => match integer {
            Some(n) => Value::BigInt(Some(n)),
            None => Value::String(None),
        },
    }
}

fn failure(error: rusqlite::Error) -> StoreError {
    sqlite_error(error).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entity::user;
    use crate::store::exec::test_file;
    use sea_orm::{DbBackend, QueryTrait};

    #[tokio::test]
    async fn rows_become_models_typed_by_the_entity_and_a_dropped_transaction_rolls_back() {
        let (_dir, path) = test_file(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE users (id TEXT PRIMARY KEY, tenant_id TEXT, user_name TEXT,
               user_name_key TEXT, user_name_collision INTEGER, external_id TEXT,
               display_name TEXT, display_name_lc TEXT, active BOOLEAN, is_admin BOOLEAN,
               access TEXT, document TEXT, version INTEGER, created_at INTEGER,
               updated_at INTEGER);
             CREATE UNIQUE INDEX users_key ON users (tenant_id, user_name_key);
             INSERT INTO users VALUES ('u1', 't', 'Ann', 'ann', 2, NULL, 'Ann', 'ann',
               1, 0, 'active', '{}', 7, 1, 2);",
        );
        let writer = Writer::open(&path, Synchronous::Normal).expect("writer");
        let select = |id: &str| {
            <user::Entity as EntityTrait>::find_by_id(id.to_owned()).build(DbBackend::Sqlite)
        };

        let tx = writer.begin().await.expect("begin");
        let found = tx.models::<user::Entity>(select("u1")).expect("read");
        assert_eq!(found.len(), 1);
        let ann = &found[0];
        assert!(ann.active && !ann.is_admin);
        assert_eq!((ann.user_name_collision, ann.version), (2, 7));
        assert_eq!(ann.external_id, None);
        let changed = tx
            .execute(Statement::from_string(
                DbBackend::Sqlite,
                "UPDATE users SET version = 8 WHERE id = 'u1'",
            ))
            .expect("update");
        assert_eq!(changed, 1);
        // A unique index's refusal is told apart.
        let taken = tx
            .execute(Statement::from_string(
                DbBackend::Sqlite,
                "INSERT INTO users (id, tenant_id, user_name_key) VALUES ('u2', 't', 'ann')",
            ))
            .expect_err("taken");
        assert!(matches!(taken, StoreError::Taken(_)), "{taken}");
        drop(tx);

        let tx = writer.begin().await.expect("begin again");
        let versions = tx
            .rows(select("u1"), |row| row.int(12))
            .expect("read by position");
        assert_eq!(versions, vec![7], "the dropped transaction rolled back");
        tx.execute(Statement::from_string(
            DbBackend::Sqlite,
            "UPDATE users SET version = 9 WHERE id = 'u1'",
        ))
        .expect("update");
        tx.commit().await.expect("commit");
        let tx = writer.begin().await.expect("begin");
        assert_eq!(
            tx.rows(select("u1"), |row| row.int(12)).expect("read"),
            vec![9]
        );
    }

    #[tokio::test]
    async fn a_transaction_waits_for_another_process_holding_the_write_lock() {
        let (_dir, path) = test_file("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER);");
        let other = rusqlite::Connection::open(&path).expect("open");
        let writer = Writer::open(&path, Synchronous::Full).expect("writer");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            other
                .execute_batch("INSERT INTO t VALUES (1); COMMIT")
                .expect("commit");
        });
        let tx = writer.begin().await.expect("waited for the lock");
        let insert = "INSERT INTO t SELECT n + 1 FROM t";
        assert_eq!(
            tx.execute(Statement::from_string(DbBackend::Sqlite, insert))
                .expect("insert"),
            1,
            "the other process's row is seen"
        );
        tx.commit().await.expect("commit");
        release.join().expect("thread");
    }

    #[tokio::test]
    async fn a_transaction_waits_while_a_write_outside_one_has_its_turn() {
        let (_dir, path) = test_file("PRAGMA journal_mode = WAL;");
        let writer = Writer::open(&path, Synchronous::Full).expect("writer");
        let turn = writer.turn().await.expect("turn");
        let waiting = tokio::spawn({
            let writer = writer.clone();
            async move { writer.begin().await.map(drop) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "began while another write had its turn"
        );
        drop(turn);
        waiting.await.expect("task").expect("began after the turn");
    }
}
