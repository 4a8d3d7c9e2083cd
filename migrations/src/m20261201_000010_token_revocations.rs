//! The revocation generation (issue 16): a counter that every transaction
//! revoking a token raises, so processes that cache token lookups and
//! cannot be told by `NOTIFY` (SQLite, or a PostgreSQL-compatible database
//! without it) notice a revocation by reading one row, at most a second
//! late.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("token_revocations")
                // Always 1: the table has one row.
                .col(integer("id").primary_key())
                .col(big_integer("generation"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared("INSERT INTO token_revocations (id, generation) VALUES (1, 0)")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("token_revocations").to_owned())
            .await
    }
}
