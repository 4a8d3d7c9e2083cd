//! Where a hot read runs: the one place SQLite and PostgreSQL differ in
//! how a statement is executed (issue 16).
//!
//! The statements themselves are sea-query's, built once for both
//! databases, and rows are mapped once, through [`Row`]. On PostgreSQL a
//! read goes through the sqlx pool like every other statement. On SQLite
//! it runs right here, on the calling thread, through `rusqlite` on one of
//! a few reading connections kept by [`InlineReaders`]: sqlx runs every
//! SQLite statement on a worker thread of its own per connection, and the
//! hand-offs to and from it cost more than the read (BENCHMARKS.md,
//! issue 16). Only reads of a few rows go this way (a token, a user, a
//! page of up to 16 resources), so the thread is never held for long;
//! `rusqlite` links the same `libsqlite3-sys` as sqlx.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::Value as SqliteValue;
use sea_orm::sea_query::Value;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, RuntimeErr, Statement};

use super::StoreError;
use super::pool::ReadPool;

/// How long an inline read waits for a lock (WAL readers rarely do).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept per reading connection.
const STATEMENT_CACHE: usize = 64;

/// One row of a hot read, from either database: columns by position.
pub(crate) trait Row {
    fn text(&self, index: usize) -> Result<String, StoreError>;
    fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, index: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError>;
    /// A boolean, such as an `EXISTS` (an integer on SQLite).
    fn flag(&self, index: usize) -> Result<bool, StoreError>;
}

impl Row for QueryResult {
    fn text(&self, index: usize) -> Result<String, StoreError> {
        Ok(self.try_get_by_index(index)?)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get_by_index(index)?)
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        Ok(self.try_get_by_index(index)?)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get_by_index(index)?)
    }
    fn flag(&self, index: usize) -> Result<bool, StoreError> {
        Ok(self.try_get_by_index(index)?)
    }
}

impl Row for rusqlite::Row<'_> {
    fn text(&self, index: usize) -> Result<String, StoreError> {
        self.get(index).map_err(failure)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        self.get(index).map_err(failure)
    }
    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.get(index).map_err(failure)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        self.get(index).map_err(failure)
    }
    fn flag(&self, index: usize) -> Result<bool, StoreError> {
        self.get(index).map_err(failure)
    }
}

/// Most rows a read may return to run inline; longer reads (scans,
/// pages of keys) go through the pool, so a thread is never held long.
pub(crate) const INLINE_ROWS: u64 = 16;

/// The rows `statement` finds on the reading pool, each mapped by `map`.
pub(crate) async fn pooled_rows<T>(
    pool: &ReadPool,
    statement: Statement,
    map: impl Fn(&dyn Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let rows = pool.query_all_raw(statement).await?;
    rows.iter().map(|row| map(row)).collect()
}

/// SQLite reading connections used on the calling thread: taken from the
/// idle list, used, put back. At most as many exist as threads read at
/// once.
#[derive(Debug)]
pub(crate) struct InlineReaders {
    path: PathBuf,
    idle: Mutex<Vec<Reading>>,
    /// Raised by [`InlineReaders::reload_statistics`]: a connection opened
    /// under an older one is replaced (a new connection reads the
    /// planner's statistics when it first reads the schema).
    statistics: AtomicU64,
}

#[derive(Debug)]
struct Reading {
    connection: rusqlite::Connection,
    statistics: u64,
}

impl InlineReaders {
    /// Readers of the SQLite file at `path` (which the writing pool has
    /// opened and migrated already).
    pub(crate) fn new(path: PathBuf) -> InlineReaders {
        InlineReaders {
            path,
            idle: Mutex::new(Vec::new()),
            statistics: AtomicU64::new(0),
        }
    }

    /// Makes every connection be replaced before its next read, so that
    /// it plans with the statistics of the `ANALYZE` just run.
    pub(crate) fn reload_statistics(&self) {
        self.statistics.fetch_add(1, Ordering::AcqRel);
    }

    /// The rows `statement` (built for SQLite) finds, each mapped by
    /// `map`, read on the calling thread.
    pub(crate) fn rows<T>(
        &self,
        statement: Statement,
        map: impl Fn(&dyn Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let reading = self.take()?;
        let found = query(&reading.connection, statement, |row| map(row));
        // A connection whose read failed is closed, not reused.
        if found.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(reading);
        }
        found
    }

    fn take(&self) -> Result<Reading, StoreError> {
        let statistics = self.statistics.load(Ordering::Acquire);
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            // Opened since the last `ANALYZE`: its statistics are current.
            Some(reading) if reading.statistics == statistics => Ok(reading),
            // A new connection loads them; the old one is closed.
            _ => self.open(),
        }
    }

    fn open(&self) -> Result<Reading, StoreError> {
        use rusqlite::OpenFlags;
        let statistics = self.statistics.load(Ordering::Acquire);
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failure)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(failure)?;
        // The query planner stability guarantee: a statement is planned
        // once, from the statistics, not again for each bound value.
        // Without it, STAT4 samples (the bundled SQLite has them) mark
        // every value compared with an index's leading columns, and
        // binding a new one (a lookup's userName key) makes SQLite parse
        // and plan the statement again on its next step.
        connection
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(failure)?;
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // As on sqlx's connections (`connect.rs`); never a write here; and
        // 16 MiB of page cache (SQLite's default is 2 MiB): an index walk
        // of a million users otherwise reads most of its pages with a
        // `pread` each time.
        connection
            .execute_batch(
                "PRAGMA case_sensitive_like = ON; PRAGMA query_only = ON; \
                 PRAGMA cache_size = -16384;",
            )
            .map_err(failure)?;
        Ok(Reading {
            connection,
            statistics,
        })
    }
}

/// Runs `statement` (built for SQLite) on `connection`, on the calling
/// thread, and maps each row it returns by `map`: the inline readers' and
/// the writer's (`writer.rs`) one way to run a statement.
pub(crate) fn query<T>(
    connection: &rusqlite::Connection,
    statement: Statement,
    mut map: impl FnMut(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let values = statement.values.map(|values| values.0).unwrap_or_default();
    let mut statement = connection.prepare_cached(&statement.sql).map_err(failure)?;
    for (index, value) in values.into_iter().enumerate() {
        statement
            .raw_bind_parameter(index + 1, sqlite_value(value)?)
            .map_err(failure)?;
    }
    let mut rows = statement.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(failure)? {
        found.push(map(row)?);
    }
    Ok(found)
}

/// A bound value as SQLite stores it (sqlx's SQLite encoding: booleans
/// as 0/1, text as text).
pub(crate) fn sqlite_value(value: Value) -> Result<SqliteValue, StoreError> {
    let integer = |n: Option<i64>| n.map_or(SqliteValue::Null, SqliteValue::Integer);
    Ok(match value {
        Value::Bool(b) => integer(b.map(i64::from)),
        Value::TinyInt(n) => integer(n.map(i64::from)),
        Value::SmallInt(n) => integer(n.map(i64::from)),
        Value::Int(n) => integer(n.map(i64::from)),
        Value::BigInt(n) => integer(n),
        Value::TinyUnsigned(n) => integer(n.map(i64::from)),
        Value::SmallUnsigned(n) => integer(n.map(i64::from)),
        Value::Unsigned(n) => integer(n.map(i64::from)),
        Value::BigUnsigned(Some(n)) => SqliteValue::Integer(
            i64::try_from(n).map_err(|_| unsupported("an unsigned value past i64"))?,
        ),
        Value::BigUnsigned(None) => SqliteValue::Null,
        Value::Double(n) => n.map_or(SqliteValue::Null, SqliteValue::Real),
        Value::Float(n) => n.map_or(SqliteValue::Null, |n| SqliteValue::Real(f64::from(n))),
        Value::String(text) => text.map_or(SqliteValue::Null, SqliteValue::Text),
        Value::Char(c) => c.map_or(SqliteValue::Null, |c| SqliteValue::Text(c.to_string())),
        Value::Bytes(bytes) => bytes.map_or(SqliteValue::Null, SqliteValue::Blob),
        other => return Err(unsupported(&format!("{other:?}"))),
    })
}

fn unsupported(what: &str) -> StoreError {
    StoreError::Database(DbErr::Custom(format!(
        "an inline SQLite read cannot bind {what}"
    )))
}

/// What the messages of SQLite's unique-index refusals start with here,
/// so that [`unique_violation`] can tell them apart.
const UNIQUE_VIOLATION: &str = "SQLite unique constraint: ";

/// An error of `rusqlite` as sea-orm's: a unique index's refusal keeps
/// SQLite's message (which names the columns) behind
/// [`UNIQUE_VIOLATION`].
pub(crate) fn sqlite_error(error: rusqlite::Error) -> DbErr {
    use rusqlite::ErrorCode;
    match &error {
        rusqlite::Error::SqliteFailure(code, message)
            if code.code == ErrorCode::ConstraintViolation
                && matches!(
                    code.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            let message = message.clone().unwrap_or_else(|| error.to_string());
            DbErr::Exec(RuntimeErr::Internal(format!("{UNIQUE_VIOLATION}{message}")))
        }
        _ => DbErr::Exec(RuntimeErr::Internal(format!("SQLite: {error}"))),
    }
}

/// The message of a unique index's refusal met through `rusqlite`, if
/// `error` is one (sea-orm's `sql_err` knows only sqlx's errors).
pub(crate) fn unique_violation(error: &DbErr) -> Option<&str> {
    match error {
        DbErr::Exec(RuntimeErr::Internal(message)) => message.strip_prefix(UNIQUE_VIOLATION),
        _ => None,
    }
}

fn failure(error: rusqlite::Error) -> StoreError {
    sqlite_error(error).into()
}

/// A new SQLite file in a temporary directory (kept while the `TempDir`
/// lives), made by `setup`: for tests of what runs on `rusqlite`.
#[cfg(test)]
pub(crate) fn test_file(setup: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(setup)
        .expect("setup");
    (dir, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, Values};

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement {
            sql: sql.to_owned(),
            values: Some(Values(values)),
            db_backend: DbBackend::Sqlite,
        }
    }

    #[test]
    fn inline_reads_bind_values_and_map_rows_by_position() {
        let (_dir, path) = test_file(
            "CREATE TABLE t (id TEXT, n INTEGER, flag BOOLEAN, note TEXT);
             INSERT INTO t VALUES ('a', 1, 1, NULL), ('b', 2, 0, 'x');",
        );
        let readers = InlineReaders::new(path);
        let read = |values: Vec<Value>| {
            readers.rows(
                statement(
                    "SELECT id, n, note FROM t WHERE flag = ? AND n >= ? ORDER BY id",
                    values,
                ),
                |row| {
                    Ok((
                        row.text(0)?,
                        row.int(1)?,
                        row.opt_text(2)?,
                        row.opt_int(2).is_err(),
                    ))
                },
            )
        };
        let found = read(vec![Value::Bool(Some(true)), Value::Int(Some(0))]).expect("read");
        assert_eq!(found, vec![("a".to_owned(), 1, None, false)]);
        let found =
            read(vec![Value::Bool(Some(false)), Value::BigUnsigned(Some(2))]).expect("read");
        assert_eq!(found, vec![("b".to_owned(), 2, Some("x".to_owned()), true)]);
        // A value SQLite cannot hold is refused, never truncated.
        assert!(
            read(vec![
                Value::Bool(Some(true)),
                Value::BigUnsigned(Some(u64::MAX))
            ])
            .is_err()
        );
        // Reads never write.
        let write = readers.rows(statement("DELETE FROM t RETURNING id", vec![]), |row| {
            row.text(0)
        });
        assert!(write.is_err());
    }

    #[test]
    fn connections_opened_before_an_analyze_are_replaced() {
        let (_dir, path) = test_file("CREATE TABLE t (id TEXT)");
        let readers = InlineReaders::new(path);
        let count = || {
            readers.rows(statement("SELECT count(*) FROM t", vec![]), |row| {
                row.int(0)
            })
        };
        count().expect("read");
        assert_eq!(readers.idle.lock().expect("lock")[0].statistics, 0);
        readers.reload_statistics();
        count().expect("read");
        let idle = readers.idle.lock().expect("lock");
        assert_eq!(idle.len(), 1);
        assert_eq!(idle[0].statistics, 1);
    }
}
