//! Pools that survive a database restart or failover, and the faults that
//! mean "try again later" rather than "scimd is broken".
//!
//! sqlx checks a pooled connection only once it has been idle for a while
//! (`test_before_acquire_if_idle_for`), so after PostgreSQL restarts, every
//! recently used connection in the pool is dead and fails its next
//! statement. [`Health`] remembers when a broken connection was last seen;
//! from then on, a connection that has been idle since before that moment
//! is pinged before it is handed out, and a dead one is replaced by a new
//! connection. [`ReadPool`] runs a read that failed on a broken connection
//! once more, which then gets a checked or new connection; a write
//! transaction is retried only at `BEGIN` (nothing has happened yet), and a
//! write that loses its connection later is answered 503 with
//! `Retry-After` ([`StoreError::Unavailable`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnectionMetadata;
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement,
};

/// How long a request waits for a pooled connection before it is answered
/// 503: the pool itself is exhausted (process-wide), not one tenant's
/// queue, which `domain` bounds before any connection is asked for.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What kind of fault a database error is, for the retry and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// No pooled connection came free within [`ACQUIRE_TIMEOUT`].
    Exhausted,
    /// The connection broke (the server restarted, failed over, or
    /// terminated the backend): the statement never ran, or its
    /// transaction was rolled back by the server.
    Disconnected,
    /// Anything else: a bug or a constraint, never retried.
    Other,
}

impl Fault {
    /// Classifies a database error.
    pub(crate) fn of(error: &DbErr) -> Fault {
        match error {
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => Fault::Exhausted,
            // The pool was closed: the process is shutting down.
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => Fault::Disconnected,
            DbErr::Conn(RuntimeErr::SqlxError(error))
            | DbErr::Exec(RuntimeErr::SqlxError(error))
            | DbErr::Query(RuntimeErr::SqlxError(error)) => Fault::of_sqlx(error),
            _ => Fault::Other,
        }
    }

    fn of_sqlx(error: &sea_orm::sqlx::Error) -> Fault {
        use sea_orm::sqlx::Error;
        match error {
            Error::PoolTimedOut => Fault::Exhausted,
            Error::PoolClosed | Error::Io(_) | Error::WorkerCrashed => Fault::Disconnected,
            // PostgreSQL's class 08 (connection exception) and 57P01..03
            // (admin shutdown, crash shutdown, cannot connect now), which a
            // terminated backend sends as it goes.
            Error::Database(error) => match error.code() {
                Some(code) if code.starts_with("08") || code.starts_with("57P") => {
                    Fault::Disconnected
                }
                _ => Fault::Other,
            },
            _ => Fault::Other,
        }
    }
}

/// When a broken connection was last seen, shared by a pool's `before_acquire`
/// check and the code that sees the failures.
#[derive(Debug)]
pub(crate) struct Health {
    started: Instant,
    /// Nanoseconds after `started` of the last broken connection seen; 0
    /// while none has been.
    broken_at: AtomicU64,
}

impl Health {
    pub(crate) fn new() -> Arc<Health> {
        Arc::new(Health {
            started: Instant::now(),
            broken_at: AtomicU64::new(0),
        })
    }

    /// Records that a connection was found broken: every connection idle
    /// since before now is checked before its next use.
    pub(crate) fn broken(&self) {
        let now = self.nanos(Instant::now()).max(1);
        self.broken_at.fetch_max(now, Ordering::Relaxed);
    }

    /// Whether a connection idle for `idle_for` was returned to the pool
    /// before the last broken connection was seen, so it may be dead too.
    pub(crate) fn suspect(&self, idle_for: Duration) -> bool {
        let broken_at = self.broken_at.load(Ordering::Relaxed);
        if broken_at == 0 {
            return false;
        }
        let idle_since = Instant::now()
            .checked_sub(idle_for)
            .map_or(0, |at| self.nanos(at));
        idle_since <= broken_at
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_nanos()).unwrap_or(u64::MAX)
    }

    /// The `before_acquire` check of a PostgreSQL pool: pings a suspect
    /// connection; a failed ping discards it and the pool opens another.
    pub(crate) fn check<'c>(
        &self,
        connection: &'c mut sea_orm::sqlx::PgConnection,
        meta: PoolConnectionMetadata,
    ) -> Pin<Box<dyn Future<Output = Result<bool, sea_orm::sqlx::Error>> + Send + 'c>> {
        let suspect = self.suspect(meta.idle_for);
        Box::pin(async move {
            if suspect {
                sea_orm::sqlx::Connection::ping(connection).await?;
            }
            Ok(true)
        })
    }
}

/// The reading pool: a statement that fails on a broken connection runs
/// once more, on a connection checked first (a read has no effect to
/// repeat).
#[derive(Debug, Clone)]
pub(crate) struct ReadPool {
    pub(crate) pool: DatabaseConnection,
    pub(crate) health: Arc<Health>,
}

impl ReadPool {
    /// Runs `statement` through `run`, once more if the first connection
    /// was broken.
    async fn retried<T, F, Fut>(&self, run: F) -> Result<T, DbErr>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        match run().await {
            Err(error) if Fault::of(&error) == Fault::Disconnected => {
                tracing::warn!(%error, "a database connection broke; reading again on another");
                self.health.broken();
                run().await
            }
            other => other,
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ReadPool {
    fn get_database_backend(&self) -> DbBackend {
        self.pool.get_database_backend()
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        self.retried(|| self.pool.execute_raw(statement.clone()))
            .await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.retried(|| self.pool.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.retried(|| self.pool.query_one_raw(statement.clone()))
            .await
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.retried(|| self.pool.query_all_raw(statement.clone()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connections_idle_since_before_a_break_are_suspect() {
        let health = Health::new();
        assert!(!health.suspect(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(5));
        health.broken();
        // Idle for longer than the time since the break: returned before it.
        assert!(health.suspect(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(5));
        // Returned to the pool just now, after the break.
        assert!(!health.suspect(Duration::ZERO));
    }

    #[test]
    fn pool_timeouts_and_broken_connections_are_told_apart_from_other_faults() {
        assert_eq!(
            Fault::of(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Fault::Exhausted
        );
        let io = sea_orm::sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(
            Fault::of(&DbErr::Query(RuntimeErr::SqlxError(Arc::new(io)))),
            Fault::Disconnected
        );
        assert_eq!(Fault::of(&DbErr::Custom("constraint".into())), Fault::Other);
    }
}
