//! Audit retention: each tenant keeps its audit events for
//! `audit_retention_days` (default 365), and an index on `(tenant_id, at)`
//! serves both the pruning job and the audit log's time filters.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("tenants")
                .add_column(integer("audit_retention_days").default(365).to_owned())
                .to_owned(),
        )
        .await?;
        index(
            m,
            "audit_events",
            "audit_events_tenant_at",
            &["tenant_id", "at"],
        )
        .await
    }
}
