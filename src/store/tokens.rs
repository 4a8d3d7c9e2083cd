//! API tokens, stored as SHA-256 hashes only.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use sea_orm::{ConnectionTrait, DbBackend, QuerySelect, QueryTrait};

use super::entity::{tenant, token};
use super::exec::Row;
use super::run::ExecIn;
use super::{Scope, Store, StoreError, Tx, by_key};

/// A token row, without any secret.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub tenant_id: String,
    pub hash: String,
    pub scope: Scope,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The user the token was issued to, if any.
    pub user_id: Option<String>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub hash: &'a str,
    pub scope: Scope,
    pub label: &'a str,
    pub user_id: Option<&'a str>,
    pub created_at: i64,
}

impl From<token::Model> for TokenRecord {
    fn from(t: token::Model) -> Self {
        TokenRecord {
            id: t.id,
            tenant_id: t.tenant_id,
            hash: t.hash,
            scope: t.scope,
            label: t.label,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            user_id: t.user_id,
        }
    }
}

/// A token row read by [`Store::token_by_hash`], in the order of
/// [`TOKEN_COLUMNS`].
fn token_of(row: &dyn Row) -> Result<TokenRecord, StoreError> {
    let id = row.text(0)?;
    let scope = row.text(3)?;
    let scope =
        Scope::from_text(&scope).ok_or_else(|| StoreError::Corrupt(format!("token {id}")))?;
    Ok(TokenRecord {
        tenant_id: row.text(1)?,
        hash: row.text(2)?,
        scope,
        label: row.text(4)?,
        created_at: row.int(5)?,
        last_used_at: row.opt_int(6)?,
        revoked_at: row.opt_int(7)?,
        user_id: row.opt_text(8)?,
        id,
    })
}

const TOKEN_COLUMNS: [token::Column; 9] = [
    token::Column::Id,
    token::Column::TenantId,
    token::Column::Hash,
    token::Column::Scope,
    token::Column::Label,
    token::Column::CreatedAt,
    token::Column::LastUsedAt,
    token::Column::RevokedAt,
    token::Column::UserId,
];

impl Store {
    /// The token whose hash is `hash`, revoked or not (a hot read,
    /// `exec.rs`).
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let select = token::Entity::find()
            .select_only()
            .columns(TOKEN_COLUMNS)
            .filter(token::Column::Hash.eq(hash))
            .into_query();
        let statement = self.read.get_database_backend().build(&select);
        let found = self.hot_rows(statement, 1, token_of).await?;
        Ok(found.into_iter().next())
    }

    /// Every token of a tenant, oldest first.
    pub async fn tokens(&self, tenant_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = token::Entity::find()
            .filter(token::Column::TenantId.eq(tenant_id))
            .order_by_asc(token::Column::CreatedAt)
            .order_by_asc(token::Column::Id)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(TokenRecord::from).collect())
    }

    /// Records when tokens were last used; a stored later use is kept.
    /// Callers batch and throttle.
    ///
    /// On PostgreSQL each token is written by a statement of its own,
    /// outside a transaction, so that this never holds one token's row
    /// while waiting for another's: a revocation of a user's tokens (its
    /// deactivation) locks them in another order, and PostgreSQL would
    /// end the deadlock by failing one of the two, perhaps the
    /// deactivation. On SQLite, whose one writer runs one transaction at
    /// a time, one transaction writes them all.
    pub async fn record_token_uses(&self, uses: &[(String, i64)]) -> Result<(), StoreError> {
        let touch = |id: &str, at: i64| {
            token::Entity::update_many()
                .col_expr(token::Column::LastUsedAt, Expr::value(at))
                .filter(token::Column::Id.eq(id))
                .filter(
                    token::Column::LastUsedAt
                        .is_null()
                        .or(token::Column::LastUsedAt.lt(at)),
                )
        };
        if self.write.get_database_backend() == DbBackend::Postgres {
            for (id, at) in uses {
                touch(id, *at).exec(&self.write).await?;
            }
            return Ok(());
        }
        let tx = self.begin().await?;
        for (id, at) in uses {
            touch(id, *at).exec_in(&tx).await?;
        }
        tx.commit().await
    }

    /// Tenant names by id, for listing tokens.
    pub async fn tenant_name(&self, tenant_id: &str) -> Result<Option<String>, StoreError> {
        let found = by_key(tenant::Entity::find_by_id(tenant_id.to_owned()), &self.read).await?;
        Ok(found.map(|t| t.name))
    }
}

impl Tx {
    /// Stores a new token.
    pub async fn insert_token(&self, new: &NewToken<'_>) -> Result<(), StoreError> {
        token::Entity::insert(token::ActiveModel {
            id: Set(new.id.to_owned()),
            tenant_id: Set(new.tenant_id.to_owned()),
            hash: Set(new.hash.to_owned()),
            scope: Set(new.scope),
            label: Set(new.label.to_owned()),
            created_at: Set(new.created_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
            user_id: Set(new.user_id.map(str::to_owned)),
        })
        .exec_in(self)
        .await?;
        Ok(())
    }

    /// Revokes a token, of any tenant or of `tenant_id` only; false when
    /// no such live token exists.
    pub async fn revoke_token(
        &self,
        tenant_id: Option<&str>,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut update = token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(now))
            .filter(token::Column::Id.eq(id))
            .filter(token::Column::RevokedAt.is_null());
        if let Some(tenant_id) = tenant_id {
            update = update.filter(token::Column::TenantId.eq(tenant_id));
        }
        let changed = update.exec_in(self).await?;
        if changed == 1 {
            self.revoking();
            // Its console sessions end with it (each request checks the
            // token as well).
            super::entity::console_session::Entity::delete_many()
                .filter(super::entity::console_session::Column::TokenId.eq(id))
                .exec_in(self)
                .await?;
        }
        Ok(changed == 1)
    }

    /// Revokes every live token issued to `user_id`; returns how many.
    pub async fn revoke_user_tokens(
        &self,
        tenant_id: &str,
        user_id: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let changed = token::Entity::update_many()
            .col_expr(token::Column::RevokedAt, Expr::value(now))
            .filter(token::Column::TenantId.eq(tenant_id))
            .filter(token::Column::UserId.eq(user_id))
            .filter(token::Column::RevokedAt.is_null())
            .exec_in(self)
            .await?;
        if changed > 0 {
            self.revoking();
        }
        Ok(changed)
    }
}
