//! What the operator's metrics read from the database and the pools.
//!
//! These are the store's only reads across every tenant besides start-up
//! checks: totals for the whole process, never one tenant's rows.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseConnectionType, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
};

use super::entity::{deprovisioning, user};
use super::{Access, PendingState, Store, StoreError};

/// Pending deprovisionings and suspended users, in every tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeprovisioningTotals {
    /// Deprovisionings in state `pending`.
    pub pending: u64,
    /// When the oldest of them was first requested (Unix milliseconds).
    pub oldest_requested_at: Option<i64>,
    /// Users whose access is `suspended`.
    pub suspended_users: u64,
}

/// How full one connection pool is, as sqlx reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `read` or `write` on SQLite; `shared` on PostgreSQL (one pool).
    pub pool: &'static str,
    /// Connections open.
    pub size: u32,
    /// Open connections nobody holds.
    pub idle: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

impl Store {
    /// Counts pending deprovisionings (with the oldest one's request time)
    /// and suspended users, in every tenant.
    pub async fn deprovisioning_totals(&self) -> Result<DeprovisioningTotals, StoreError> {
        let pending: Option<(i64, Option<i64>)> = deprovisioning::Entity::find()
            .select_only()
            .column_as(deprovisioning::Column::Id.count(), "n")
            .column_as(deprovisioning::Column::RequestedAt.min(), "oldest")
            .filter(deprovisioning::Column::State.eq(PendingState::Pending))
            .into_tuple()
            .one(&self.read)
            .await?;
        let (pending, oldest_requested_at) = pending.unwrap_or_default();
        let suspended_users = user::Entity::find()
            .filter(user::Column::Access.eq(Access::Suspended))
            .count(&self.read)
            .await?;
        Ok(DeprovisioningTotals {
            pending: u64::try_from(pending).unwrap_or_default(),
            oldest_requested_at,
            suspended_users,
        })
    }

    /// The pools' sizes now; no statement runs. sqlx does not say how many
    /// tasks wait for a connection.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        if matches!(
            self.write.inner,
            DatabaseConnectionType::SqlxPostgresPoolConnection(_)
        ) {
            return pool_stats("shared", &self.write).into_iter().collect();
        }
        [
            pool_stats("read", &self.read.pool),
            pool_stats("write", &self.write),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The sizes of `connection`'s pool, when it is an sqlx pool (scimd's
/// always are; the accessors sea-orm offers panic on anything else).
fn pool_stats(name: &'static str, connection: &DatabaseConnection) -> Option<PoolStats> {
    let (size, idle, max) = match &connection.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = connection.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = connection.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseConnectionType::Disconnected => return None,
    };
    Some(PoolStats {
        pool: name,
        size,
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        max,
    })
}
