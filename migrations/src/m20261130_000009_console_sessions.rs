//! Console sessions (DESIGN §7): one row per signed-in browser, found by
//! the SHA-256 of the cookie's random id (the id itself is never stored),
//! tied to the admin token that signed in, so that revoking the token ends
//! its sessions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string};

use crate::{index, tenant_fk, text_column};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let string = |name: &'static str| text_column(string(name), postgres);
        m.create_table(
            Table::create()
                .table("console_sessions")
                // Hex SHA-256 of the 256-bit session id the cookie carries.
                .col(string("id_hash").primary_key())
                .col(string("tenant_id"))
                // The admin token that signed in; checked on every request.
                .col(string("token_id"))
                // Random; every form of the session carries it.
                .col(string("csrf_secret"))
                .col(big_integer("created_at"))
                .col(big_integer("last_seen_at"))
                // Past it the session is over whatever its use (absolute).
                .col(big_integer("expires_at"))
                // Past it the session is over unless used again (idle).
                .col(big_integer("idle_expires_at"))
                .foreign_key(&mut tenant_fk("console_sessions"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "console_sessions",
            "console_sessions_token",
            &["token_id"],
        )
        .await?;
        index(
            m,
            "console_sessions",
            "console_sessions_expiry",
            &["expires_at"],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("console_sessions").to_owned())
            .await
    }
}
