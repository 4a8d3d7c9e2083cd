//! Users keep their `displayName` as given (beside the lowercased copy the
//! filters use), so a group's members can be listed with each member's
//! current name (`members.display`) by a join, without reading documents.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

use crate::text_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let backend = m.get_database_backend();
        let postgres = backend == sea_orm::DatabaseBackend::Postgres;
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(text_column(string_null("display_name"), postgres))
                .to_owned(),
        )
        .await?;
        // One statement per backend: a row-by-row backfill would take a
        // statement per user. Only users with a display name have the
        // lowercased column set.
        let backfill = if postgres {
            "UPDATE users SET display_name = (document::jsonb) ->> 'displayName' \
             WHERE display_name_lc IS NOT NULL"
        } else {
            "UPDATE users SET display_name = json_extract(document, '$.displayName') \
             WHERE display_name_lc IS NOT NULL"
        };
        m.get_connection().execute_unprepared(backfill).await?;
        Ok(())
    }
}
