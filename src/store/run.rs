//! How a [`Tx`] runs its statements: one seam between the statements,
//! which sea-orm builds once for both databases, and the two ways they
//! are executed (sqlx's transaction, or SQLite's writer on the calling
//! thread, `writer.rs`).
//!
//! `Tx` methods build a query with sea-orm and finish it with one of the
//! extension methods here instead of sea-orm's own: `exec_in(tx)` for an
//! insert, update or delete, `all_in`, `one_in` and `count_in` for a
//! select of an entity, and [`Tx::rows`] for any other select, read by
//! position through [`Row`].

use std::future::Future;

use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QueryTrait,
    Select, Statement, TryIntoModel,
};

use super::exec::Row;
use super::writer::WriteTx;
use super::{StoreError, Tx};

/// The connection of a [`Tx`].
pub(super) enum TxConn {
    Sqlx(DatabaseTransaction),
    Inline(WriteTx),
}

impl TxConn {
    /// Commits the transaction; `held` is dropped once no later
    /// transaction can miss its writes: after the commit, or on SQLite's
    /// writer once it is in its batch (before the batch's `COMMIT`, so
    /// that the next transaction of the tenant can join the batch).
    pub(super) async fn commit(self, held: impl Sized) -> Result<(), StoreError> {
        match self {
            TxConn::Sqlx(inner) => {
                inner.commit().await?;
                drop(held);
            }
            TxConn::Inline(inner) => {
                let durable = inner.finish().await?;
                drop(held);
                durable.wait().await?;
            }
        }
        Ok(())
    }
}

impl Tx {
    /// The database the statements are built for.
    pub(super) fn backend(&self) -> DbBackend {
        match &self.inner {
            TxConn::Sqlx(inner) => inner.get_database_backend(),
            TxConn::Inline(_) => DbBackend::Sqlite,
        }
    }

    /// How many rows an `INSERT` of many should write per statement:
    /// `batch` through sqlx, where each statement is a round trip; one on
    /// SQLite's writer, where a statement costs no round trip and a
    /// statement that writes several rows keeps a statement journal (a
    /// copy of every existing page it modifies, written to a temporary
    /// file past 64 KiB) that a one-row `INSERT` does without
    /// (BENCHMARKS.md, issue 16: a thousand members added to a group of
    /// 100,000).
    pub(super) fn rows_per_insert(&self, batch: usize) -> usize {
        match &self.inner {
            TxConn::Sqlx(_) => batch,
            TxConn::Inline(_) => 1,
        }
    }

    /// Runs a statement whose rows, if any, are not read; how many rows
    /// it changed.
    pub(super) async fn execute(&self, statement: Statement) -> Result<u64, StoreError> {
        Ok(match &self.inner {
            TxConn::Sqlx(inner) => inner.execute_raw(statement).await?.rows_affected(),
            TxConn::Inline(inner) => {
                yield_sometimes().await;
                inner.execute(statement)?
            }
        })
    }

    /// Runs SQL text without parameters.
    pub(super) async fn execute_unprepared(&self, sql: &str) -> Result<(), StoreError> {
        match &self.inner {
            TxConn::Sqlx(inner) => {
                inner.execute_unprepared(sql).await?;
            }
            TxConn::Inline(inner) => inner.execute_unprepared(sql)?,
        }
        Ok(())
    }

    /// The rows `statement` returns, each mapped by `map` by position.
    pub(super) async fn rows<T>(
        &self,
        statement: Statement,
        map: impl Fn(&dyn Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match &self.inner {
            TxConn::Sqlx(inner) => {
                let rows = inner.query_all_raw(statement).await?;
                rows.iter().map(|row| map(row)).collect()
            }
            TxConn::Inline(inner) => {
                yield_sometimes().await;
                inner.rows(statement, map)
            }
        }
    }

    /// The models of entity `E` in the rows `statement` returns (a select
    /// of the entity's columns, or a write `RETURNING` them).
    pub(super) async fn models<E>(&self, statement: Statement) -> Result<Vec<E::Model>, StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let found = self.models_with::<E, ()>(statement, |_, _| Ok(())).await?;
        Ok(found.into_iter().map(|(model, ())| model).collect())
    }

    /// As [`Tx::models`], each model with what `rest` reads from the
    /// columns that follow the entity's (the first of them is at the
    /// index `rest` is given): facts about the row, read in the same
    /// round trip.
    pub(super) async fn models_with<E, T>(
        &self,
        statement: Statement,
        rest: impl Fn(&dyn Row, usize) -> Result<T, StoreError>,
    ) -> Result<Vec<(E::Model, T)>, StoreError>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        let first = <E::Column as sea_orm::Iterable>::iter().count();
        match &self.inner {
            TxConn::Sqlx(inner) => {
                let rows = inner.query_all_raw(statement).await?;
                rows.iter()
                    .map(|row| Ok((E::Model::from_query_result(row, "")?, rest(row, first)?)))
                    .collect()
            }
            TxConn::Inline(inner) => {
                yield_sometimes().await;
                inner.models_with::<E, T>(statement, first, rest)
            }
        }
    }
}

/// Lets other tasks of this thread run now and then: a statement on
/// SQLite's writer runs on the thread without awaiting anything, so a
/// long transaction (an import of many users) would otherwise keep the
/// thread to itself. tokio yields here only once the task has used its
/// cooperative budget.
async fn yield_sometimes() {
    tokio::task::consume_budget().await;
}

/// An insert, update or delete run in a [`Tx`].
pub(super) trait ExecIn: QueryTrait + Sized {
    /// Runs the statement in `tx`; how many rows it changed.
    fn exec_in(self, tx: &Tx) -> impl Future<Output = Result<u64, StoreError>> + Send + '_ {
        let statement = self.build(tx.backend());
        tx.execute(statement)
    }
}

impl<E: EntityTrait> ExecIn for sea_orm::UpdateMany<E> {}
impl<E: EntityTrait> ExecIn for sea_orm::DeleteMany<E> {}
impl<A: sea_orm::ActiveModelTrait> ExecIn for sea_orm::Insert<A> {}
/// Never empty: callers insert in `chunks`, which never yield an empty one.
impl<A: sea_orm::ActiveModelTrait> ExecIn for sea_orm::InsertMany<A> {}

/// A select of an entity read in a [`Tx`].
pub(super) trait SelectIn<E: EntityTrait>: Sized
where
    E::ActiveModel: TryIntoModel<E::Model>,
{
    /// Every model the select finds.
    fn all_in(self, tx: &Tx) -> impl Future<Output = Result<Vec<E::Model>, StoreError>> + Send;
    /// The model a select by a unique key finds: as `by_key` (no
    /// `LIMIT 1`).
    fn one_in(self, tx: &Tx) -> impl Future<Output = Result<Option<E::Model>, StoreError>> + Send;
    /// How many rows the select finds.
    fn count_in(self, tx: &Tx) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

impl<E> SelectIn<E> for Select<E>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    async fn all_in(self, tx: &Tx) -> Result<Vec<E::Model>, StoreError> {
        tx.models::<E>(self.build(tx.backend())).await
    }

    async fn one_in(self, tx: &Tx) -> Result<Option<E::Model>, StoreError> {
        Ok(self.all_in(tx).await?.into_iter().next())
    }

    async fn count_in(self, tx: &Tx) -> Result<u64, StoreError> {
        let count = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from_subquery(self.into_query(), Alias::new("counted"))
            .to_owned();
        let counts = tx
            .rows(tx.backend().build(&count), |row| row.int(0))
            .await?;
        Ok(counts
            .first()
            .map_or(0, |&n| u64::try_from(n).unwrap_or_default()))
    }
}
