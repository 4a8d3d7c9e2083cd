//! Console sessions: rows found by the hash of the cookie's id. They hold
//! no tenant data, so they are written outside the tenant's lock.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::entity::{console_session, token};
use super::tokens::TokenRecord;
use super::{Store, StoreError, by_key};

/// A console session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hex SHA-256 of the id the cookie carries.
    pub id_hash: String,
    pub tenant_id: String,
    pub token_id: String,
    pub csrf_secret: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The absolute end of the session.
    pub expires_at: i64,
    /// The end of the session unless it is used again.
    pub idle_expires_at: i64,
}

impl From<console_session::Model> for SessionRecord {
    fn from(s: console_session::Model) -> Self {
        SessionRecord {
            id_hash: s.id_hash,
            tenant_id: s.tenant_id,
            token_id: s.token_id,
            csrf_secret: s.csrf_secret,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            idle_expires_at: s.idle_expires_at,
        }
    }
}

impl Store {
    /// Stores a new session.
    pub async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        console_session::Entity::insert(console_session::ActiveModel {
            id_hash: Set(session.id_hash.clone()),
            tenant_id: Set(session.tenant_id.clone()),
            token_id: Set(session.token_id.clone()),
            csrf_secret: Set(session.csrf_secret.clone()),
            created_at: Set(session.created_at),
            last_seen_at: Set(session.last_seen_at),
            expires_at: Set(session.expires_at),
            idle_expires_at: Set(session.idle_expires_at),
        })
        .exec_without_returning(&self.write)
        .await?;
        Ok(())
    }

    /// The session whose id hashes to `id_hash`, with the token that
    /// signed it in (revoked or not; `None` when the token is gone).
    pub async fn session(
        &self,
        id_hash: &str,
    ) -> Result<Option<(SessionRecord, Option<TokenRecord>)>, StoreError> {
        let Some(session) = by_key(
            console_session::Entity::find_by_id(id_hash.to_owned()),
            &self.read,
        )
        .await?
        else {
            return Ok(None);
        };
        let token = by_key(
            token::Entity::find_by_id(session.token_id.clone())
                .filter(token::Column::TenantId.eq(session.tenant_id.as_str())),
            &self.read,
        )
        .await?;
        Ok(Some((session.into(), token.map(TokenRecord::from))))
    }

    /// Notes a use of the session at `now`, moving its idle end to
    /// `idle_expires_at`.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        now: i64,
        idle_expires_at: i64,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        console_session::Entity::update_many()
            .col_expr(console_session::Column::LastSeenAt, Expr::value(now))
            .col_expr(
                console_session::Column::IdleExpiresAt,
                Expr::value(idle_expires_at),
            )
            .filter(console_session::Column::IdHash.eq(id_hash))
            .exec(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes the session whose id hashes to `id_hash`, if any.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        console_session::Entity::delete_many()
            .filter(console_session::Column::IdHash.eq(id_hash))
            .exec(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes every session over at `now` (idle or absolute); returns
    /// how many.
    pub async fn delete_expired_sessions(&self, now: i64) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await?;
        let result = console_session::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(console_session::Column::ExpiresAt.lte(now))
                    .add(console_session::Column::IdleExpiresAt.lte(now)),
            )
            .exec(&self.write)
            .await?;
        Ok(result.rows_affected)
    }
}
