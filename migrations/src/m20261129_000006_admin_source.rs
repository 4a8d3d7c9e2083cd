//! Admin source: each tenant says where admin rights come from, `idp`
//! (SCIM `roles`, the default) or `scimd` (the admin API and console only).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string;

use crate::text_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let column = text_column(string("admin_source").default("idp").to_owned(), postgres);
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(column)
                .to_owned(),
        )
        .await
    }
}
