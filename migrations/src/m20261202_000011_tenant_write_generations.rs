//! A tenant's write generation (issue 16): raised by every write that
//! holds the tenant's lock alone, so that on PostgreSQL a shared write can
//! take the lock and read its user in one statement, and tell from the
//! generation whether an exclusive write committed while it waited.
//! Servers older than this migration do not raise it: stop them before a
//! newer one serves writes (README, Upgrading).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(big_integer("write_generation").default(0).to_owned())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenants")
                .drop_column("write_generation")
                .to_owned(),
        )
        .await
    }
}
