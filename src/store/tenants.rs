//! Tenants and their settings.

use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, LockType, Query, UpdateStatement, WithClause,
    WithQuery,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};
use sha2::{Digest, Sha256};

use super::entity::{tenant, user};
use super::exec::Row;
use super::run::{ExecIn, SelectIn};
use super::users::{LOCKED_USER_FACTS, locked_user, locked_user_facts, locked_user_select};
use super::{AdminSource, LockedUser, Policy, Store, StoreError, Tx, by_key};

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

/// The advisory lock of tenant `id` in `lock`'s mode, as a filter
/// (PostgreSQL): in a scan's filter, it is taken before the row lock.
fn advisory_lock(id: &str, lock: TenantLock) -> Expr {
    let advisory = match lock {
        TenantLock::Exclusive => "pg_advisory_xact_lock",
        TenantLock::Shared => "pg_advisory_xact_lock_shared",
    };
    Expr::cust_with_values(
        format!("{advisory}($1, $2) IS NOT NULL"),
        [TENANT_LOCK_CLASS, tenant_lock_key(id)],
    )
}

/// The select of a shared [`Tx::lock_tenant`] on PostgreSQL.
fn shared_lock_select(id: &str) -> Select<tenant::Entity> {
    tenant::Entity::find_by_id(id.to_owned())
        .lock(LockType::Share)
        .filter(advisory_lock(id, TenantLock::Shared))
}

/// An exclusive [`Tx::lock_tenant`] on PostgreSQL: it raises the tenant's
/// write generation, which locks the row as `FOR NO KEY UPDATE` does and
/// tells shared writes that an exclusive one committed
/// ([`Tx::lock_tenant_with_user`]).
fn exclusive_lock_update(id: &str) -> UpdateStatement {
    let generation = tenant::Column::WriteGeneration;
    tenant::Entity::update_many()
        .col_expr(generation, Expr::col(generation).add(1))
        .filter(tenant::Column::Id.eq(id))
        .filter(advisory_lock(id, TenantLock::Exclusive))
        .into_query()
        .returning_all()
        .to_owned()
}

/// The settings' columns, in the order [`settings_at`] reads them.
const SETTINGS: [tenant::Column; 5] = [
    tenant::Column::DeprovisionPolicy,
    tenant::Column::FallbackOwnerId,
    tenant::Column::SeatLimit,
    tenant::Column::AuditRetentionDays,
    tenant::Column::AdminSource,
];

/// The settings of tenant `id` in `row`, from column `at` on ([`SETTINGS`]).
fn settings_at(row: &dyn Row, at: usize, id: &str) -> Result<TenantSettings, StoreError> {
    let corrupt = || StoreError::Corrupt(id.to_owned());
    Ok(TenantSettings {
        deprovision_policy: Policy::from_text(&row.text(at)?).ok_or_else(corrupt)?,
        fallback_owner_id: row.opt_text(at + 1)?,
        seat_limit: row.opt_int(at + 2)?,
        audit_retention_days: i32::try_from(row.int(at + 3)?).map_err(|_| corrupt())?,
        admin_source: AdminSource::from_text(&row.text(at + 4)?).ok_or_else(corrupt)?,
    })
}

/// A shared [`Tx::lock_tenant`] and [`Tx::user_for_update`] as one
/// statement (PostgreSQL): the tenant's lock in a `WITH` query, the user
/// with its facts, the settings as locked, and the tenant's write
/// generation twice, as locked and as the statement's snapshot saw it.
fn shared_lock_with_user(tenant_id: &str, user_id: &str, with_groups: bool) -> WithQuery {
    let locked = Alias::new("locked");
    let tenant_lock = CommonTableExpression::new()
        .query(shared_lock_select(tenant_id).into_query())
        .table_name(locked.clone())
        .to_owned();
    let backend = DbBackend::Postgres;
    let mut select = locked_user_select(backend, tenant_id, user_id, with_groups);
    select.cross_join(locked.clone());
    for column in SETTINGS {
        let value = Expr::col((locked.clone(), column));
        // `Row::int` reads a BIGINT; the retention is an INTEGER.
        select.expr(match column {
            tenant::Column::AuditRetentionDays => value.cast_as("BIGINT"),
            _ => value,
        });
    }
    let generation = tenant::Column::WriteGeneration;
    select.expr(Expr::col((locked, generation)));
    let seen = Query::select()
        .column(generation)
        .from(tenant::Entity)
        .and_where(tenant::Column::Id.eq(tenant_id))
        .to_owned();
    select.expr(Expr::SubQuery(None, Box::new(seen.into())));
    select.with(WithClause::new().cte(tenant_lock).to_owned())
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
    /// row with an `UPDATE` of its write generation (exclusive: the lock of
    /// `FOR NO KEY UPDATE`) or `SELECT … FOR SHARE` (shared). Neither
    /// excludes the key-share locks that every insert
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
    /// again), which the advisory lock alone would not. The lock
    /// statements are built only here (`advisory_lock`, `shared_lock_select`,
    /// `exclusive_lock_update`), for this function and for
    /// [`Tx::lock_tenant_with_user`]: a PostgreSQL-compatible database
    /// without advisory locks needs only them changed.
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
        let found = match (self.backend(), lock) {
            (DbBackend::Postgres, TenantLock::Exclusive) => {
                let update = DbBackend::Postgres.build(&exclusive_lock_update(id));
                self.models::<tenant::Entity>(update).await?.pop()
            }
            (DbBackend::Postgres, TenantLock::Shared) => {
                shared_lock_select(id).one_in(self).await?
            }
            // SQLite: see above.
            _ => {
                tenant::Entity::find_by_id(id.to_owned())
                    .one_in(self)
                    .await?
            }
        };
        Ok(found.map(TenantSettings::from))
    }

    /// [`Tx::lock_tenant`], then [`Tx::user_for_update`] of `user_id`: the
    /// tenant's settings and the user (`None` when there is no such
    /// user), or `None` when there is no such tenant.
    ///
    /// A shared write on PostgreSQL does both in one statement, one round
    /// trip less. That statement's snapshot is taken before the lock is
    /// granted, so the user's facts could miss an exclusive write that
    /// committed while it waited. Every exclusive write raises the
    /// tenant's write generation ([`exclusive_lock_update`]), and the
    /// statement reads it both as locked (as committed when the lock was
    /// granted) and as its snapshot saw it; when they differ, the user is
    /// read again, under the lock now held. Shared writes change no fact
    /// but one: a shared deactivation revokes the user's tokens, so
    /// `tokens` may be stale, and only ever as `true`. That is harmless:
    /// the revocation it leads to changes nothing, and a user's row lock
    /// returns the user's own row as committed.
    pub async fn lock_tenant_with_user(
        &self,
        tenant_id: &str,
        user_id: &str,
        lock: TenantLock,
        with_groups: bool,
    ) -> Result<Option<(TenantSettings, Option<LockedUser>)>, StoreError> {
        if lock == TenantLock::Shared && self.backend() == DbBackend::Postgres {
            let select = shared_lock_with_user(tenant_id, user_id, with_groups);
            let found = self
                .models_with::<user::Entity, _>(DbBackend::Postgres.build(&select), |row, at| {
                    let facts = locked_user_facts(row, at, user_id)?;
                    let at = at + LOCKED_USER_FACTS;
                    let settings = settings_at(row, at, tenant_id)?;
                    let seen = row.int(at + SETTINGS.len() + 1)?;
                    Ok((facts, settings, row.int(at + SETTINGS.len())? == seen))
                })
                .await?;
            // No row: no such user, or no such tenant; the lock may not
            // have been taken. Both are told below.
            if let Some((model, (facts, settings, current))) = found.into_iter().next() {
                let user = if current {
                    Some(locked_user(model, facts)?)
                } else {
                    self.user_for_update(tenant_id, user_id, with_groups)
                        .await?
                };
                return Ok(Some((settings, user)));
            }
        }
        let Some(settings) = self.lock_tenant(tenant_id, lock).await? else {
            return Ok(None);
        };
        let user = self.user_for_update(tenant_id, user_id, with_groups);
        Ok(Some((settings, user.await?)))
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
        let key = tenant_lock_key("t1");
        let shared = shared_lock_select("t1")
            .build(DbBackend::Postgres)
            .to_string();
        assert!(
            shared.contains(&format!(
                "pg_advisory_xact_lock_shared({TENANT_LOCK_CLASS}, {key}) IS NOT NULL"
            )),
            "{shared}"
        );
        assert!(shared.ends_with("FOR SHARE"), "{shared}");
        let exclusive = DbBackend::Postgres
            .build(&exclusive_lock_update("t1"))
            .to_string();
        assert!(
            exclusive.starts_with(
                r#"UPDATE "tenants" SET "write_generation" = "write_generation" + 1 WHERE"#
            ),
            "{exclusive}"
        );
        assert!(
            exclusive.contains(&format!(
                "pg_advisory_xact_lock({TENANT_LOCK_CLASS}, {key}) IS NOT NULL"
            )),
            "{exclusive}"
        );
        assert!(exclusive.ends_with("RETURNING *"), "{exclusive}");
        assert_ne!(tenant_lock_key("t1"), tenant_lock_key("t2"));
    }

    #[test]
    fn a_shared_lock_with_its_user_reads_the_write_generation_as_locked_and_as_seen() {
        let sql = DbBackend::Postgres
            .build(&shared_lock_with_user("t1", "u1", true))
            .to_string();
        let key = tenant_lock_key("t1");
        let lock = format!(
            r#"WITH "locked" AS (SELECT "tenants"."id", "tenants"."name", "tenants"."created_at", "tenants"."deprovision_policy", "tenants"."fallback_owner_id", "tenants"."seat_limit", "tenants"."audit_retention_days", "tenants"."admin_source", "tenants"."write_generation" FROM "tenants" WHERE "tenants"."id" = 't1' AND (pg_advisory_xact_lock_shared({TENANT_LOCK_CLASS}, {key}) IS NOT NULL) FOR SHARE) SELECT "users"."id""#
        );
        assert!(sql.starts_with(&lock), "{sql}");
        let settings = r#""locked"."deprovision_policy", "locked"."fallback_owner_id", "locked"."seat_limit", CAST("locked"."audit_retention_days" AS BIGINT), "locked"."admin_source", "locked"."write_generation", (SELECT "write_generation" FROM "tenants" WHERE "tenants"."id" = 't1') FROM "users" CROSS JOIN "locked" WHERE "users"."id" = 'u1' AND "users"."tenant_id" = 't1' FOR UPDATE"#;
        assert!(sql.ends_with(settings), "{sql}");
    }
}
