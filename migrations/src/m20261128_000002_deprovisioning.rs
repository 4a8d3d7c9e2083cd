//! Deprovisioning: tenant settings, each user's admin flag and access
//! state, group owners, token holders, assets, call records and audit
//! events.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;

use crate::{index, tenant_fk, text_column, unique_index};
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, pk_auto, string, string_null, text,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let string = |name: &'static str| text_column(string(name), postgres);
        let string_null = |name: &'static str| text_column(string_null(name), postgres);

        // SQLite adds one column per ALTER TABLE statement.
        add_column(
            m,
            "tenants",
            string("deprovision_policy").default("block").to_owned(),
        )
        .await?;
        add_column(m, "tenants", string_null("fallback_owner_id")).await?;
        add_column(m, "tenants", big_integer_null("seat_limit")).await?;

        // `is_admin` mirrors the document's `roles`; `access` is
        // "active", "suspended" or "deactivated".
        add_column(m, "users", boolean("is_admin").default(false).to_owned()).await?;
        add_column(m, "users", string("access").default("active").to_owned()).await?;
        index(m, "users", "users_tenant_admin", &["tenant_id", "is_admin"]).await?;
        backfill_users(m).await?;

        add_column(m, "groups", string_null("owner_id")).await?;
        index(
            m,
            "groups",
            "groups_tenant_owner",
            &["tenant_id", "owner_id"],
        )
        .await?;

        // A token may be issued to a user; it is revoked when the user's
        // access is suspended or removed.
        add_column(m, "tokens", string_null("user_id")).await?;

        m.create_table(
            Table::create()
                .table("assets")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                // "number" or "workflow".
                .col(string("kind"))
                .col(string("name"))
                .col(string("owner_id"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("assets"))
                // No cascade: an owner is never deleted with assets left;
                // the guard moves or refuses first, and this is the net.
                .foreign_key(
                    ForeignKey::create()
                        .name("assets_owner_fk")
                        .from("assets", "owner_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique_index(
            m,
            "assets",
            "assets_tenant_kind_name",
            &["tenant_id", "kind", "name"],
        )
        .await?;
        index(
            m,
            "assets",
            "assets_tenant_owner",
            &["tenant_id", "owner_id"],
        )
        .await?;

        // Call records outlive their user: no foreign key, and a snapshot
        // of the user's names.
        m.create_table(
            Table::create()
                .table("call_records")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("user_id"))
                .col(string("user_name"))
                .col(string_null("display_name"))
                .col(string("number"))
                .col(string("direction"))
                .col(big_integer("started_at"))
                .col(big_integer("duration_seconds"))
                .foreign_key(&mut tenant_fk("call_records"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "call_records",
            "call_records_tenant_user",
            &["tenant_id", "user_id", "started_at"],
        )
        .await?;
        index(
            m,
            "call_records",
            "call_records_tenant_started",
            &["tenant_id", "started_at"],
        )
        .await?;

        // Audit events outlive their target too; `id` orders them.
        m.create_table(
            Table::create()
                .table("audit_events")
                .col(pk_auto("id").big_integer())
                .col(string("tenant_id"))
                .col(big_integer("at"))
                .col(string("actor"))
                .col(string("action"))
                // "user", "group", "asset", "settings" or "token".
                .col(string("target_type"))
                .col(string_null("target_id"))
                .col(string_null("target_name"))
                .col(string("outcome"))
                .col(text("detail"))
                // Names of the attributes changed, comma-separated; never values.
                .col(text("attributes"))
                .foreign_key(&mut tenant_fk("audit_events"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "audit_events",
            "audit_events_tenant_target",
            &["tenant_id", "target_id", "id"],
        )
        .await?;
        index(
            m,
            "audit_events",
            "audit_events_tenant",
            &["tenant_id", "id"],
        )
        .await?;
        Ok(())
    }
}

/// Sets `is_admin` from the stored documents and `access` from `active`
/// for users written before this migration.
async fn backfill_users(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = db.get_database_backend();
    db.execute_unprepared("UPDATE users SET access = 'deactivated' WHERE active = false")
        .await?;
    // Only documents that mention "admin" at all can hold the role.
    let candidates = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT id, document FROM users WHERE lower(document) LIKE '%admin%'",
        ))
        .await?;
    for row in candidates {
        let id: String = row.try_get("", "id")?;
        let document: String = row.try_get("", "document")?;
        let admin = serde_json::from_str::<serde_json::Value>(&document)
            .ok()
            .and_then(|doc| doc.get("roles").and_then(|r| r.as_array()).cloned())
            .is_some_and(|roles| {
                roles.iter().any(|role| {
                    role.get("value")
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| v.eq_ignore_ascii_case("admin"))
                })
            });
        if admin {
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DatabaseBackend::Postgres => {
                        "UPDATE users SET is_admin = true WHERE id = $1"
                    }
                    _ => "UPDATE users SET is_admin = true WHERE id = ?",
                },
                [id.into()],
            ))
            .await?;
        }
    }
    Ok(())
}

async fn add_column(
    m: &SchemaManager<'_>,
    table: &'static str,
    column: ColumnDef,
) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}
