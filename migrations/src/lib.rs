//! scimd's database schema: one set of migrations for SQLite and PostgreSQL.
//!
//! Column types are kept portable (text ids, integer milliseconds for
//! instants, text JSON documents) so the same statements run on SQLite,
//! PostgreSQL and PostgreSQL-compatible distributed databases.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_initial;
mod m20261128_000002_deprovisioning;
mod m20261129_000003_audit_retention;
mod m20261129_000004_webhooks;
mod m20261129_000005_pending_deprovisionings;
mod m20261129_000006_admin_source;
mod m20261129_000007_user_display_names;
mod m20261129_000008_user_name_keys;
mod m20261130_000009_console_sessions;
mod m20261201_000010_token_revocations;
mod m20261202_000011_tenant_write_generations;

/// Runs scimd's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_initial::Migration),
            Box::new(m20261128_000002_deprovisioning::Migration),
            Box::new(m20261129_000003_audit_retention::Migration),
            Box::new(m20261129_000004_webhooks::Migration),
            Box::new(m20261129_000005_pending_deprovisionings::Migration),
            Box::new(m20261129_000006_admin_source::Migration),
            Box::new(m20261129_000007_user_display_names::Migration),
            Box::new(m20261129_000008_user_name_keys::Migration),
            Box::new(m20261130_000009_console_sessions::Migration),
            Box::new(m20261201_000010_token_revocations::Migration),
            Box::new(m20261202_000011_tenant_write_generations::Migration),
        ]
    }
}

/// Text compares by code point on every backend, as the filter evaluator
/// does: SQLite's default, and `COLLATE "C"` on PostgreSQL (whose database
/// collation may be a locale's).
fn text_column(mut column: ColumnDef, postgres: bool) -> ColumnDef {
    if postgres {
        column.extra("COLLATE \"C\"");
    }
    column
}

fn tenant_fk(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("{table}_tenant_fk"))
        .from(table, "tenant_id")
        .to("tenants", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

async fn index(
    m: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    create_index(m, table, name, cols, false).await
}

async fn unique_index(
    m: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    create_index(m, table, name, cols, true).await
}

async fn create_index(
    m: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    m.create_index(index.to_owned()).await
}
