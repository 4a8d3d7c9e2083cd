//! Tenants and their settings.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr, sea_query::LockType,
};

use super::entity::tenant;
use super::run::{ExecIn, SelectIn};
use super::{AdminSource, Policy, Store, StoreError, Tx, by_key};

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
    /// for it or deadlock with it. SQLite has no row locks and
    /// builds the same select without its lock clause: the transaction
    /// already holds the database's write lock, taken by its `BEGIN
    /// IMMEDIATE` (`writer.rs`) before anything was read, so another
    /// process cannot slip in between the rules' reads and the write.
    /// (An in-memory SQLite database, written through sqlx's one
    /// connection, has no other process.) SQLite's writes are therefore
    /// all exclusive, whatever `lock` says.
    pub async fn lock_tenant(
        &self,
        id: &str,
        lock: TenantLock,
    ) -> Result<Option<TenantSettings>, StoreError> {
        let lock = match lock {
            TenantLock::Exclusive => LockType::NoKeyUpdate,
            TenantLock::Shared => LockType::Share,
        };
        let found = tenant::Entity::find_by_id(id.to_owned())
            .lock(lock)
            .one_in(self)
            .await?;
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
