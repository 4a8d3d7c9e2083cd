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
//!
//! **Group commit.** A transaction's `COMMIT` waits for an fsync, and the
//! writer is idle meanwhile. So transactions run as savepoints inside
//! one SQLite transaction (a batch): a finished transaction releases its
//! savepoint and lets the next one in at once (its tenant's turn passes
//! on too, `Tx::commit`), and one `COMMIT` makes the whole batch durable.
//! Nobody is answered before that `COMMIT`, so a client never sees a
//! write that could still be lost, and a failed `COMMIT` fails every
//! transaction of its batch. A transaction that finds no other write on
//! its way (none waiting for the writer, none announced with
//! [`Writer::intent`]) commits at once, as before; otherwise a task
//! commits once they have joined, at most [`BATCH_WINDOW`] later. An
//! unfinished transaction rolls back to its savepoint, leaving the rest
//! of the batch as it was.
//!
//! **Checkpoints.** SQLite copies the WAL into the database file inside
//! the commit that passes 1,000 WAL pages, and the writer waits for it.
//! Here a thread of its own checkpoints while writes go on
//! ([`checkpointer`]); the writer's own checkpoint is only a backstop.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::ValueRef;
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ColumnType, DbErr, EntityTrait, RuntimeErr, Statement,
    TryIntoModel,
};
use tokio::sync::{Notify, OwnedMutexGuard, watch};

use super::exec::{self, Row, sqlite_error};
use super::pool::ACQUIRE_TIMEOUT;
use super::{StoreError, Synchronous};

/// How long a transaction waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Prepared statements kept on the writing connection.
const STATEMENT_CACHE: usize = 128;
/// The writing connection's page cache, in KiB (SQLite's default is 2
/// MiB). A change of a thousand members of a large group touches a few
/// thousand pages; past the cache, SQLite writes dirty pages to the WAL
/// before the `COMMIT` and reads evicted ones again (BENCHMARKS.md, issue
/// 16: 8 MiB did about as well as 16 MiB).
const PAGE_CACHE_KIB: u32 = 8 * 1024;
/// Most transactions one `COMMIT` makes durable together.
const BATCH_MOST: usize = 64;
/// Longest a finished transaction waits for others to join its batch
/// (only while other writes are on their way; measured in BENCHMARKS.md,
/// issue 16: 1, 2, 4, 8 and 16 ms).
const BATCH_WINDOW: Duration = Duration::from_millis(8);
/// WAL pages past which a commit on the writer checkpoints the WAL itself;
/// the checkpointer thread ([`checkpointer`]) normally does it long
/// before (SQLite's own default is 1,000).
const WAL_BACKSTOP_PAGES: u32 = 10_000;
/// Transactions committed between two checkpoints of the checkpointer.
/// Small, frequent checkpoints keep the tail short (each one's fsync of
/// the database file delays the writer's next fsync of the WAL), but one
/// after every commit costs CPU (BENCHMARKS.md, issue 16).
const CHECKPOINT_EVERY: usize = 64;

/// The process's one writing connection to an SQLite file.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Arc<tokio::sync::Mutex<State>>,
    /// Writes on their way to the writer: waiting for it, or announced
    /// ([`Writer::intent`]) and waiting for their tenant's turn.
    coming: AtomicUsize,
    /// Told whenever `coming` falls.
    fewer_coming: Notify,
}

/// The connection and the batch of transactions it has open.
#[derive(Debug)]
struct State {
    connection: rusqlite::Connection,
    batch: Option<Batch>,
    batches: u64,
    /// Wakes the checkpointer.
    checkpoint: std::sync::mpsc::SyncSender<()>,
    /// Transactions committed since the checkpointer was last woken.
    uncheckpointed: usize,
}

/// Transactions run one after another inside one SQLite transaction, each
/// as a savepoint, and made durable by one `COMMIT` (group commit: one
/// fsync for many writes).
#[derive(Debug)]
struct Batch {
    id: u64,
    /// Transactions that finished in this batch and wait for its outcome.
    finished: usize,
    /// Whether a task will commit the batch ([`commit_later`]).
    committer: bool,
    outcome: watch::Sender<Option<Outcome>>,
}

/// How a batch ended: committed, or the reason it was not.
type Outcome = Result<(), Arc<str>>;

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
                 PRAGMA case_sensitive_like = ON; PRAGMA cache_size = -{PAGE_CACHE_KIB};",
                synchronous.as_str()
            ))
            .map_err(failure)?;
        connection
            .pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)
            .map_err(failure)?;
        let state = State {
            connection,
            batch: None,
            batches: 0,
            checkpoint: checkpointer(path)?,
            uncheckpointed: 0,
        };
        Ok(Writer {
            shared: Arc::new(Shared {
                state: Arc::new(tokio::sync::Mutex::new(state)),
                coming: AtomicUsize::new(0),
                fewer_coming: Notify::new(),
            }),
        })
    }

    /// Announces a transaction that will begin soon (after its tenant's
    /// turn), until dropped: a finished transaction waits for it to join
    /// its batch instead of committing alone.
    pub(crate) fn intent(&self) -> Intent {
        Intent::new(&self.shared)
    }

    /// Waits for this process's turn to write, at most
    /// [`ACQUIRE_TIMEOUT`] (then the process is overloaded: 503). While
    /// the turn is held, no transaction of this process holds SQLite's
    /// write lock (an open batch is committed first): a write outside a
    /// transaction, through sqlx's writing connection, holds it
    /// meanwhile.
    pub(crate) async fn turn(&self) -> Result<Turn, StoreError> {
        let state = self.shared.lock().await?;
        let state = commit_batch(state, true).await.0.ok_or_else(lost)?;
        Ok(Turn { _connection: state })
    }

    /// Waits for the connection (see [`Writer::turn`]), then begins a
    /// transaction: a savepoint in the open batch, or a new batch that
    /// takes SQLite's write lock (its first transaction needs no
    /// savepoint: undoing it is rolling back the batch).
    pub(crate) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let coming = Intent::new(&self.shared);
        let state = self.shared.lock().await;
        drop(coming);
        let mut state = state?;
        state.settle_rolled_back();
        let joins = state.batch.is_some();
        if !joins {
            state = begin_batch(state).await?;
        }
        let id = state.batch.as_ref().map_or(0, |batch| batch.id);
        let begun = if joins {
            state
                .connection
                .prepare_cached("SAVEPOINT member")
                .and_then(|mut savepoint| savepoint.execute([]))
                .map(drop)
        } else {
            Ok(())
        };
        let tx = WriteTx {
            state: Mutex::new(Some(state)),
            shared: Arc::clone(&self.shared),
            batch: id,
            savepoint: joins,
        };
        begun.map_err(failure)?;
        Ok(tx)
    }
}

impl Shared {
    /// The connection, waited for at most [`ACQUIRE_TIMEOUT`].
    async fn lock(&self) -> Result<OwnedMutexGuard<State>, StoreError> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.state).lock_owned())
            .await
            .map_err(|_| StoreError::Exhausted)
    }
}

impl State {
    /// Ends the open batch if SQLite rolled its transaction back on its
    /// own (after an I/O error or a full disk): its finished transactions
    /// are told they were lost.
    fn settle_rolled_back(&mut self) {
        if self.connection.is_autocommit()
            && let Some(batch) = self.batch.take()
        {
            batch.outcome.send_replace(Some(Err(
                "the transaction was rolled back by SQLite".into()
            )));
        }
    }
}

/// Opens a new batch: `BEGIN IMMEDIATE`, which takes SQLite's write lock.
/// When another process holds it, the wait moves to a blocking thread.
async fn begin_batch(state: OwnedMutexGuard<State>) -> Result<OwnedMutexGuard<State>, StoreError> {
    if !state.connection.is_autocommit() {
        // Never expected (every batch ends in `COMMIT` or `ROLLBACK`),
        // but a connection left inside a transaction would refuse every
        // later `BEGIN`.
        state
            .connection
            .execute_batch("ROLLBACK")
            .map_err(failure)?;
    }
    state
        .connection
        .busy_timeout(Duration::ZERO)
        .map_err(failure)?;
    let begun = state.connection.execute_batch("BEGIN IMMEDIATE");
    state
        .connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(failure)?;
    let mut state = match begun {
        Ok(()) => state,
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            tokio::task::spawn_blocking(move || {
                state
                    .connection
                    .execute_batch("BEGIN IMMEDIATE")
                    .map_err(failure)?;
                Ok::<_, StoreError>(state)
            })
            .await
            .map_err(|error| DbErr::Conn(RuntimeErr::Internal(error.to_string())))??
        }
        Err(error) => return Err(failure(error)),
    };
    state.batches += 1;
    state.batch = Some(Batch {
        id: state.batches,
        finished: 0,
        committer: false,
        outcome: watch::Sender::new(None),
    });
    Ok(state)
}

/// Commits the open batch, if any, on a blocking thread (the disk is
/// waited for); the connection back if `keep` (`None` if not, or if the
/// blocking thread panicked) and the outcome. Unless kept, the connection
/// passes to the next transaction as soon as the `COMMIT` returns, not
/// once the waiting task runs again (BENCHMARKS.md, issue 16).
async fn commit_batch(
    state: OwnedMutexGuard<State>,
    keep: bool,
) -> (Option<OwnedMutexGuard<State>>, Outcome) {
    if state.batch.is_none() {
        return (Some(state), Ok(()));
    }
    let committed = tokio::task::spawn_blocking(move || {
        let mut state = state;
        let outcome = commit_in_place(&mut state);
        (keep.then_some(state), outcome)
    })
    .await;
    match committed {
        Ok((state, outcome)) => (state, outcome.unwrap_or(Ok(()))),
        // The batch's transactions learn it from its dropped outcome.
        Err(error) => (None, Err(error.to_string().into())),
    }
}

/// Commits the open batch, if any, on this thread, and tells its
/// transactions the outcome (a failed `COMMIT` is rolled back).
fn commit_in_place(state: &mut State) -> Option<Outcome> {
    state.settle_rolled_back();
    let batch = state.batch.take()?;
    let committed = state.connection.execute_batch("COMMIT");
    if committed.is_err() && !state.connection.is_autocommit() {
        let _ = state.connection.execute_batch("ROLLBACK");
    }
    let outcome: Outcome = committed.map_err(|error| sqlite_error(error).to_string().into());
    batch.outcome.send_replace(Some(outcome.clone()));
    state.uncheckpointed += batch.finished;
    if state.uncheckpointed >= CHECKPOINT_EVERY {
        state.uncheckpointed = 0;
        // Full: the checkpointer is at work and will see these pages.
        let _ = state.checkpoint.try_send(());
    }
    Some(outcome)
}

/// Starts the thread that checkpoints the WAL of the SQLite file at
/// `path` into the database file while writes go on, so that a commit
/// does not (SQLite's default runs the checkpoint inside the commit that
/// passes 1,000 WAL pages, and the writer waits for it: BENCHMARKS.md,
/// issue 16). Its connection only checkpoints, `PASSIVE`: it never waits
/// for a writer or a reader. The thread ends once the writer is dropped.
fn checkpointer(path: &Path) -> Result<std::sync::mpsc::SyncSender<()>, StoreError> {
    let connection = rusqlite::Connection::open(path).map_err(failure)?;
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("scimd-checkpoint".to_owned())
        .spawn(move || {
            while woken.recv().is_ok() {
                let checkpointed =
                    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                if let Err(error) = checkpointed {
                    tracing::warn!(%error, "checkpointing SQLite's WAL failed");
                }
            }
        })
        .map_err(|error| DbErr::Custom(format!("cannot start the checkpointer: {error}")))?;
    Ok(wake)
}

/// Commits batch `id` once no other write is on its way to join it, or
/// after [`BATCH_WINDOW`] (unless it was committed meanwhile).
async fn commit_later(shared: Arc<Shared>, id: u64) {
    let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
    loop {
        let fewer = shared.fewer_coming.notified();
        tokio::pin!(fewer);
        fewer.as_mut().enable();
        if shared.coming.load(Ordering::Acquire) == 0 {
            break;
        }
        if tokio::time::timeout_at(deadline, fewer).await.is_err() {
            break;
        }
    }
    let state = Arc::clone(&shared.state).lock_owned().await;
    if state.batch.as_ref().is_some_and(|batch| batch.id == id) {
        // The batch's transactions are told the outcome.
        let _ = commit_batch(state, false).await;
    }
}

/// A write on its way to the writer (see [`Writer::intent`]), until
/// dropped.
#[derive(Debug)]
pub(crate) struct Intent(Arc<Shared>);

impl Intent {
    fn new(shared: &Arc<Shared>) -> Intent {
        shared.coming.fetch_add(1, Ordering::AcqRel);
        Intent(Arc::clone(shared))
    }
}

impl Drop for Intent {
    fn drop(&mut self) {
        self.0.coming.fetch_sub(1, Ordering::AcqRel);
        self.0.fewer_coming.notify_waiters();
    }
}

/// This process's turn to write ([`Writer::turn`]), until dropped.
#[derive(Debug)]
pub(crate) struct Turn {
    _connection: OwnedMutexGuard<State>,
}

/// A write transaction on the [`Writer`]: a savepoint in a batch, rolled
/// back when dropped unfinished.
#[derive(Debug)]
pub(crate) struct WriteTx {
    /// `None` once finished. A `std` mutex only to make the transaction
    /// `Sync`; statements of one transaction never run at once.
    state: Mutex<Option<OwnedMutexGuard<State>>>,
    shared: Arc<Shared>,
    /// The batch this transaction runs in.
    batch: u64,
    /// Whether it runs in a savepoint (it joined an open batch).
    savepoint: bool,
}

/// A finished transaction's wait for its batch's `COMMIT`
/// ([`WriteTx::finish`]).
#[derive(Debug)]
pub(crate) enum Durable {
    Done(Outcome),
    Batched(watch::Receiver<Option<Outcome>>),
}

impl Durable {
    /// Waits until the transaction is durable, or is known lost.
    pub(crate) async fn wait(self) -> Result<(), StoreError> {
        let outcome = match self {
            Durable::Done(outcome) => outcome,
            Durable::Batched(mut outcome) => match outcome.wait_for(Option::is_some).await {
                Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
                Err(_) => Err("the batch ended without an outcome".into()),
            },
        };
        outcome.map_err(|why| DbErr::Conn(RuntimeErr::Internal(why.to_string())).into())
    }
}

impl WriteTx {
    /// Finishes the transaction: its savepoint is released into the
    /// batch, and the connection passes to the next transaction. The
    /// answer tells when the batch is durable. When no other write is on
    /// its way, the batch is committed here (on a blocking thread, the
    /// disk is waited for); otherwise a task commits it once the writes
    /// on their way have joined it ([`commit_later`]).
    pub(crate) async fn finish(self) -> Result<Durable, StoreError> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut state) = state else {
            return Err(ended());
        };
        if self.savepoint {
            let released = state
                .connection
                .prepare_cached("RELEASE member")
                .and_then(|mut release| release.execute([]));
            if let Err(error) = released {
                rollback_member(&mut state, &self.shared, self.savepoint);
                return Err(failure(error));
            }
        }
        state.settle_rolled_back();
        let Some(batch) = state.batch.as_mut().filter(|batch| batch.id == self.batch) else {
            return Err(lost());
        };
        batch.finished += 1;
        if self.shared.coming.load(Ordering::Acquire) == 0 || batch.finished >= BATCH_MOST {
            let (_, committed) = commit_batch(state, false).await;
            return Ok(Durable::Done(committed));
        }
        let outcome = batch.outcome.subscribe();
        commit_soon(&mut state, &self.shared);
        Ok(Durable::Batched(outcome))
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

    /// The models of entity `E` in the rows `statement` returns, from
    /// their first `first` columns, each with what `rest` reads from the
    /// columns that follow.
    pub(crate) fn models_with<E, T>(
        &self,
        statement: Statement,
        first: usize,
        rest: impl Fn(&dyn Row, usize) -> Result<T, StoreError>,
    ) -> Result<Vec<(E::Model, T)>, StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        self.with(|connection| {
            exec::query(connection, statement, |row| {
                Ok((model_from_row::<E>(row, first)?, rest(row, first)?))
            })
        })
    }

    /// Runs `run` on the connection.
    fn with<T>(
        &self,
        run: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(state) = state.as_deref_mut() else {
            return Err(ended());
        };
        let ran = run(&state.connection);
        if ran.is_err() {
            state.settle_rolled_back();
        }
        ran
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = state.as_mut() {
            rollback_member(state, &self.shared, self.savepoint);
        }
    }
}

/// Rolls back an unfinished transaction, to its `savepoint` if it has one
/// (no disk wait: a rollback in WAL mode discards pages in memory). A
/// batch that no finished transaction waits for is rolled back whole,
/// which frees SQLite's write lock; otherwise a task commits it.
fn rollback_member(state: &mut State, shared: &Arc<Shared>, savepoint: bool) {
    if savepoint && !state.connection.is_autocommit() {
        let undone = ["ROLLBACK TO member", "RELEASE member"]
            .into_iter()
            .try_for_each(|sql| state.connection.prepare_cached(sql)?.execute([]).map(drop));
        if undone.is_err() {
            let _ = state.connection.execute_batch("ROLLBACK");
        }
    }
    state.settle_rolled_back();
    let Some(batch) = state.batch.as_mut() else {
        return;
    };
    if batch.finished == 0 {
        let _ = state.connection.execute_batch("ROLLBACK");
        state.batch = None;
    } else {
        commit_soon(state, shared);
    }
}

/// Makes sure a task will commit the open batch ([`commit_later`]); one
/// task a batch. Outside the runtime (a transaction dropped there), the
/// batch is committed here, in place.
fn commit_soon(state: &mut State, shared: &Arc<Shared>) {
    let Some(batch) = state.batch.as_mut().filter(|batch| !batch.committer) else {
        return;
    };
    batch.committer = true;
    let commit = commit_later(Arc::clone(shared), batch.id);
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(commit)),
        Err(_) => drop(commit_in_place(state)),
    }
}

fn ended() -> StoreError {
    StoreError::Database(DbErr::Custom("the transaction has ended".to_owned()))
}

fn lost() -> StoreError {
    StoreError::Database(DbErr::Custom(
        "the transaction's batch was rolled back".to_owned(),
    ))
}

/// A row of entity `E`'s table as its model: each of its first `columns`
/// columns by name, its value typed as the entity declares the column
/// (SQLite's `INTEGER` is a `bool`, an `i32` or an `i64` by the entity
/// alone).
fn model_from_row<E>(row: &rusqlite::Row<'_>, columns: usize) -> Result<E::Model, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let statement = row.as_ref();
    let mut model = <E::ActiveModel as ActiveModelTrait>::default();
    for position in 0..columns {
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
        let columns = <user::Column as sea_orm::Iterable>::iter().count();
        let found = tx
            .models_with::<user::Entity, _>(select("u1"), columns, |_, _| Ok(()))
            .expect("read");
        assert_eq!(found.len(), 1);
        let ann = &found[0].0;
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
        commit(tx).await.expect("commit");
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
        commit(tx).await.expect("commit");
        release.join().expect("thread");
    }

    async fn commit(tx: WriteTx) -> Result<(), StoreError> {
        tx.finish().await?.wait().await
    }

    fn count(path: &Path, table: &str) -> i64 {
        let reader = rusqlite::Connection::open(path).expect("open");
        reader
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .expect("count")
    }

    /// With a write announced (the [`Intent`] returned), a transaction
    /// that runs `sql` and finishes: it waits in its batch.
    async fn finished_in_a_batch(writer: &Writer, sql: &str) -> (Intent, Durable) {
        let coming = writer.intent();
        let tx = writer.begin().await.expect("begin");
        insert(&tx, sql);
        let durable = tx.finish().await.expect("finish");
        assert!(matches!(durable, Durable::Batched(_)));
        (coming, durable)
    }

    fn insert(tx: &WriteTx, sql: &str) {
        tx.execute(Statement::from_string(DbBackend::Sqlite, sql))
            .expect("insert");
    }

    #[tokio::test]
    async fn transactions_share_a_commit_while_others_are_on_their_way_and_roll_back_alone() {
        let (_dir, path) = test_file("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER);");
        let writer = Writer::open(&path, Synchronous::Full).expect("writer");

        // Alone, a transaction commits at once.
        let tx = writer.begin().await.expect("begin");
        insert(&tx, "INSERT INTO t VALUES (1)");
        assert!(matches!(tx.finish().await, Ok(Durable::Done(Ok(())))));
        assert_eq!(count(&path, "t"), 1);

        // With another write on its way, it waits for it to join.
        let (coming, first) = finished_in_a_batch(&writer, "INSERT INTO t VALUES (2)").await;
        assert_eq!(count(&path, "t"), 1, "not committed yet");
        let second = writer.begin().await.expect("joins the batch");
        drop(coming);
        assert_eq!(
            second
                .rows(
                    Statement::from_string(DbBackend::Sqlite, "SELECT count(*) FROM t"),
                    |row| row.int(0)
                )
                .expect("count"),
            vec![2],
            "the batch's earlier writes are seen"
        );
        insert(&second, "INSERT INTO t VALUES (3)");
        // The second is dropped unfinished: only it rolls back.
        drop(second);
        first.wait().await.expect("committed by the batch's task");
        assert_eq!(count(&path, "t"), 2);
    }

    #[tokio::test]
    async fn a_failed_batch_commit_fails_every_transaction_in_it() {
        let (_dir, path) = test_file(
            "PRAGMA journal_mode = WAL; CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);
             CREATE TABLE t (n INTEGER);",
        );
        let writer = Writer::open(&path, Synchronous::Full).expect("writer");
        let (coming, first) = finished_in_a_batch(&writer, "INSERT INTO t VALUES (1)").await;
        let second = writer.begin().await.expect("begin");
        drop(coming);
        // Checked only at COMMIT: the batch's COMMIT fails.
        insert(&second, "INSERT INTO c VALUES (42)");
        let second = second.finish().await.expect("finish");
        assert!(second.wait().await.is_err());
        assert!(first.wait().await.is_err(), "the batch's other write");
        assert_eq!(count(&path, "t"), 0);
        // The writer goes on.
        let tx = writer.begin().await.expect("begin");
        insert(&tx, "INSERT INTO t VALUES (2)");
        commit(tx).await.expect("commit");
        assert_eq!(count(&path, "t"), 1);
    }

    #[tokio::test]
    async fn a_turn_commits_the_open_batch_first() {
        let (_dir, path) = test_file("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER);");
        let writer = Writer::open(&path, Synchronous::Full).expect("writer");
        let (coming, durable) = finished_in_a_batch(&writer, "INSERT INTO t VALUES (1)").await;
        let turn = writer.turn().await.expect("turn");
        assert_eq!(count(&path, "t"), 1, "committed before the turn");
        durable.wait().await.expect("durable");
        drop((turn, coming));
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
