//! userName keys shared by several users: the legacy collisions that
//! migration 000008 found (userNames equal by NFKC_Casefold but not by
//! `to_lowercase()`), kept so no user was lost.
//!
//! Each (tenant, key) has exactly one row with `user_name_collision = 0`;
//! the unique index on `(tenant_id, user_name_key, user_name_collision)`
//! then refuses every new or renamed user (written with 0) that takes a
//! key already in use, legacy group or not. [`Tx::settle_user_name_key`]
//! keeps that true when the 0 of a group is renamed or deleted.

use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Alias, Expr, ExprTrait},
};

use super::entity::user;
use super::run::ExecIn;
use super::users::user_name_is;
use super::{Store, StoreError, Tx};

/// One user of a collision group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollidingUser {
    pub id: String,
    pub user_name: String,
    pub created_at: i64,
}

/// Users whose userNames share one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub key: String,
    /// Oldest first.
    pub users: Vec<CollidingUser>,
}

/// The condition of the partial index `users_user_name_collisions`
/// (migration 000008), spelled literally: SQLite uses a partial index only
/// for a query that states its condition with the same constant, never
/// with a bound parameter.
const COLLISIONS: &str = "user_name_collision <> 0";

impl Tx {
    /// After a user left `key` (renamed or deleted): if others still
    /// share it and none of them holds 0, the oldest marker becomes 0, so
    /// the unique index goes on refusing newcomers to `key`.
    pub(super) async fn settle_user_name_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        // Served by the unique index: its first entry under (tenant, key).
        let first = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            // An `i64` on both databases (the column is PostgreSQL's
            // `integer`), as rows read by position hold integers.
            .column_as(
                Expr::col(user::Column::UserNameCollision).cast_as(Alias::new("BIGINT")),
                "marker",
            )
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user_name_is(key))
            .order_by_asc(user::Column::UserNameCollision)
            .limit(1);
        let first = self
            .rows(first.build(self.backend()), |row| {
                Ok((row.text(0)?, row.int(1)?))
            })
            .await?;
        if let Some((id, marker)) = first.into_iter().next()
            && marker != 0
        {
            user::Entity::update_many()
                .col_expr(user::Column::UserNameCollision, Expr::value(0))
                .filter(user::Column::Id.eq(id))
                .filter(user::Column::TenantId.eq(tenant_id))
                .exec_in(self)
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// The tenant's userName keys shared by more than one user, with their
    /// users, keys in order; at most `limit` keys.
    pub async fn user_name_collisions(
        &self,
        tenant_id: &str,
        limit: u64,
    ) -> Result<Vec<Collision>, StoreError> {
        // Every shared key has a row with a marker other than 0.
        let keys: Vec<String> = user::Entity::find()
            .select_only()
            .column(user::Column::UserNameKey)
            .distinct()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(Expr::cust(COLLISIONS))
            .order_by_asc(user::Column::UserNameKey)
            .limit(limit)
            .into_tuple()
            .all(&self.read)
            .await?;
        let mut collisions = Vec::with_capacity(keys.len());
        for key in keys {
            let users: Vec<(String, String, i64)> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::UserName)
                .column(user::Column::CreatedAt)
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user_name_is(&key))
                .order_by_asc(user::Column::CreatedAt)
                .order_by_asc(user::Column::Id)
                .into_tuple()
                .all(&self.read)
                .await?;
            collisions.push(Collision {
                key,
                users: users
                    .into_iter()
                    .map(|(id, user_name, created_at)| CollidingUser {
                        id,
                        user_name,
                        created_at,
                    })
                    .collect(),
            });
        }
        Ok(collisions)
    }

    /// How many users, in all tenants, share their userName key with an
    /// older user: what start-up warns about.
    pub async fn count_user_name_collisions(&self) -> Result<u64, StoreError> {
        Ok(user::Entity::find()
            .filter(Expr::cust(COLLISIONS))
            .count(&self.read)
            .await?)
    }
}
