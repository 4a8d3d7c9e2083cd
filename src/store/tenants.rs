//! Tenants and their settings.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, sea_query::Expr, sea_query::LockType,
};
use sha2::{Digest, Sha256};

use super::entity::tenant;
use super::run::{ExecIn, SelectIn};
use super::{AdminSource, Policy, Store, StoreError, Tx, by_key};

/// The first key of the advisory locks that queue a tenant's writes on
/// PostgreSQL ([`Tx::lock_tenant`]); the second is [`tenant_lock_key`].
/// Two-key advisory locks never collide with the one-key migration lock.
const TENANT_LOCK_CLASS: i32 = 0x5c1d_7e11;

/// The second key of a tenant's advisory lock: the first four bytes of the
/// SHA-256 of its id. Two tenants with the same key only share a queue.
fn tenant_lock_key(tenant_id: &str) -> i32 {
    let digest = Sha256::digest(tenant_id.as_bytes());
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The select of [`Tx::lock_tenant`].
fn lock_select(backend: DbBackend, id: &str, lock: TenantLock) -> Select<tenant::Entity> {
    let (row_lock, advisory) = match lock {
        TenantLock::Exclusive => (LockType::NoKeyUpdate, "pg_advisory_xact_lock"),
        TenantLock::Shared => (LockType::Share, "pg_advisory_xact_lock_shared"),
    };
    let select = tenant::Entity::find_by_id(id.to_owned()).lock(row_lock);
    if backend != DbBackend::Postgres {
        return select;
    }
    // In the scan's filter, so it is taken before the row lock.
    select.filter(Expr::cust_with_values(
        format!("{advisory}($1, $2) IS NOT NULL"),
        [TENANT_LOCK_CLASS, tenant_lock_key(id)],
    ))
}

/// How a write holds its tenant's lock ([`Tx::lock_tenant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantLock {
    /// Alone: every write that reads or changes a fact of the tenant
    /// beyond one user's own row (its admins, owners, seats, settings,
    /// requests, tokens, groups).
    Exclusive,
    /// Beside other shared writes: a write of one user's own row (and
    /// its audit event and token revocations) that changes no such fact.
    /// The user's row lock orders shared writes of one user.
    Shared,
}

/// A tenant.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
}

/// A tenant as `scimd tenant list` shows it.
#[derive(Debug, Clone)]
pub struct TenantListed {
    pub id: String,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A tenant's deprovisioning and seat settings, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    pub deprovision_policy: Policy,
    pub fallback_owner_id: Option<String>,
    pub seat_limit: Option<i64>,
    /// How many days audit events are kept.
    pub audit_retention_days: i32,
    /// Where admin rights come from.
    pub admin_source: AdminSource,
}

impl From<tenant::Model> for TenantSettings {
    fn from(t: tenant::Model) -> Self {
        TenantSettings {
            deprovision_policy: t.deprovision_policy,
            fallback_owner_id: t.fallback_owner_id,
            seat_limit: t.seat_limit,
            audit_retention_days: t.audit_retention_days,
            admin_source: t.admin_source,
        }
    }
}

impl Store {
    /// The tenant called `name`.
    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRecord>, StoreError> {
        let found = by_key(
            tenant::Entity::find().filter(tenant::Column::Name.eq(name)),
            &self.read,
        )
        .await?;
        Ok(found.map(|t| TenantRecord {
            id: t.id,
            name: t.name,
        }))
    }

    /// Every tenant, oldest first (by creation, then id).
    pub async fn tenants(&self) -> Result<Vec<TenantListed>, StoreError> {
        let rows = tenant::Entity::find()
            .order_by_asc(tenant::Column::CreatedAt)
            .order_by_asc(tenant::Column::Id)
            .all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|t| TenantListed {
                id: t.id,
                name: t.name,
                created_at: t.created_at,
            })
            .collect())
    }

    /// How many tenants exist.
    pub async fn tenant_count(&self) -> Result<u64, StoreError> {
        Ok(tenant::Entity::find().count(&self.read).await?)
    }

    /// The settings of tenant `id`.
    pub async fn settings(&self, id: &str) -> Result<Option<TenantSettings>, StoreError> {
        let found = by_key(tenant::Entity::find_by_id(id.to_owned()), &self.read).await?;
        Ok(found.map(TenantSettings::from))
    }

    /// Every tenant's id and audit retention in days.
    pub async fn audit_retentions(&self) -> Result<Vec<(String, i32)>, StoreError> {
        Ok(tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .column(tenant::Column::AuditRetentionDays)
            .into_tuple()
            .all(&self.read)
            .await?)
    }
}

impl Tx {
    /// Creates a tenant with the default settings.
    pub async fn insert_tenant(&self, id: &str, name: &str, now: i64) -> Result<(), StoreError> {
        tenant::Entity::insert(tenant::ActiveModel {
            id: Set(id.to_owned()),
            name: Set(name.to_owned()),
            created_at: Set(now),
            ..Default::default()
        })
        .exec_in(self)
        .await?;
        Ok(())
    }

    /// Takes the tenant's write lock until this transaction ends, as
    /// `lock` says, and returns its settings as of then: exclusive writes
    /// of one tenant run one at a time, across processes, and shared
    /// writes run side by side but never beside an exclusive one.
    ///
    /// PostgreSQL (and PostgreSQL-compatible databases) lock the tenant's
    /// row with `SELECT … FOR NO KEY UPDATE` (exclusive) or `FOR SHARE`
    /// (shared). Neither excludes the key-share locks that every insert
    /// referencing the tenant takes, so inserts of audit events never wait
    /// for it or deadlock with it. A row lock alone would let a stream of
    /// shared writes from other processes starve an exclusive one: a new
    /// share lock is granted at once while only share locks are held,
    /// however long an exclusive write has waited. So the same statement
    /// first takes a transaction-scoped advisory lock on the tenant, in
    /// the same mode: PostgreSQL's lock manager queues those first come,
    /// first served, so shared writes that come after a waiting exclusive
    /// one wait behind it, as they do in the process's own queue
    /// (`gate.rs`). The row lock still returns the settings as committed
    /// when it is granted (a row changed since the statement began is read
    /// again), which the advisory lock alone would not. This is the one
    /// place scimd takes a tenant lock: a PostgreSQL-compatible database
    /// without advisory locks needs only this function changed.
    ///
    /// SQLite has no row locks and builds the same select without its
    /// lock clause: the transaction already holds the database's write
    /// lock, taken by its `BEGIN IMMEDIATE` (`writer.rs`) before anything
    /// was read, so another process cannot slip in between the rules'
    /// reads and the write. (An in-memory SQLite database, written through
    /// sqlx's one connection, has no other process.) SQLite's writes are
    /// therefore all exclusive, whatever `lock` says.
    pub async fn lock_tenant(
        &self,
        id: &str,
        lock: TenantLock,
    ) -> Result<Option<TenantSettings>, StoreError> {
        let found = lock_select(self.backend(), id, lock).one_in(self).await?;
        Ok(found.map(TenantSettings::from))
    }

    /// Replaces a tenant's settings.
    pub async fn update_settings(
        &self,
        id: &str,
        settings: &TenantSettings,
    ) -> Result<(), StoreError> {
        tenant::Entity::update_many()
            .col_expr(
                tenant::Column::DeprovisionPolicy,
                Expr::value(settings.deprovision_policy),
            )
            .col_expr(
                tenant::Column::FallbackOwnerId,
                Expr::value(settings.fallback_owner_id.clone()),
            )
            .col_expr(tenant::Column::SeatLimit, Expr::value(settings.seat_limit))
            .col_expr(
                tenant::Column::AuditRetentionDays,
                Expr::value(settings.audit_retention_days),
            )
            .col_expr(
                tenant::Column::AdminSource,
                Expr::value(settings.admin_source),
            )
            .filter(tenant::Column::Id.eq(id))
            .exec_in(self)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::QueryTrait;

    #[test]
    fn on_postgresql_the_advisory_lock_is_taken_in_the_row_locks_mode_and_before_it() {
        let sql = |lock| {
            lock_select(DbBackend::Postgres, "t1", lock)
                .build(DbBackend::Postgres)
                .to_string()
        };
        let key = tenant_lock_key("t1");
        let shared = sql(TenantLock::Shared);
        assert!(
            shared.contains(&format!(
                "pg_advisory_xact_lock_shared({TENANT_LOCK_CLASS}, {key}) IS NOT NULL"
            )),
            "{shared}"
        );
        assert!(shared.ends_with("FOR SHARE"), "{shared}");
        let exclusive = sql(TenantLock::Exclusive);
        assert!(
            exclusive.contains(&format!(
                "pg_advisory_xact_lock({TENANT_LOCK_CLASS}, {key}) IS NOT NULL"
            )),
            "{exclusive}"
        );
        assert!(exclusive.ends_with("FOR NO KEY UPDATE"), "{exclusive}");
        let sqlite = lock_select(DbBackend::Sqlite, "t1", TenantLock::Shared)
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(!sqlite.contains("advisory"), "{sqlite}");
        assert_ne!(tenant_lock_key("t1"), tenant_lock_key("t2"));
    }
}
