//! Tenants, tokens, users (with their e-mail index), groups and memberships.

use sea_orm_migration::prelude::*;

use crate::{index, tenant_fk, text_column, unique_index};
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, integer, string, string_null, text,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Text compares by code point on every backend, as the filter
        // evaluator does: SQLite's default, and `COLLATE "C"` on PostgreSQL
        // (whose database collation may be a locale's).
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let string = |name: &'static str| text_column(string(name), postgres);
        let string_null = |name: &'static str| text_column(string_null(name), postgres);
        m.create_table(
            Table::create()
                .table("tenants")
                .col(string("id").primary_key())
                .col(string("name"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "tenants", "tenants_name", &["name"]).await?;

        m.create_table(
            Table::create()
                .table("tokens")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                // SHA-256 of the token, hex; the token itself is never stored.
                .col(string("hash"))
                .col(string("scope"))
                .col(string("label"))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .col(big_integer_null("revoked_at"))
                .foreign_key(&mut tenant_fk("tokens"))
                .to_owned(),
        )
        .await?;
        unique_index(m, "tokens", "tokens_hash", &["hash"]).await?;
        index(m, "tokens", "tokens_tenant", &["tenant_id"]).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("user_name"))
                // Lowercased copies of caseExact=false attributes, for unique
                // indexes and equality filters that use an index.
                .col(string("user_name_lc"))
                .col(string_null("external_id"))
                .col(string_null("display_name_lc"))
                .col(boolean("active"))
                .col(text("document"))
                .col(big_integer("version"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("users"))
                .to_owned(),
        )
        .await?;
        unique_index(
            m,
            "users",
            "users_tenant_user_name",
            &["tenant_id", "user_name_lc"],
        )
        .await?;
        index(
            m,
            "users",
            "users_tenant_external_id",
            &["tenant_id", "external_id"],
        )
        .await?;
        index(
            m,
            "users",
            "users_tenant_display_name",
            &["tenant_id", "display_name_lc"],
        )
        .await?;
        index(
            m,
            "users",
            "users_tenant_created",
            &["tenant_id", "created_at", "id"],
        )
        .await?;
        index(
            m,
            "users",
            "users_tenant_updated",
            &["tenant_id", "updated_at", "id"],
        )
        .await?;
        index(m, "users", "users_tenant_active", &["tenant_id", "active"]).await?;

        m.create_table(
            Table::create()
                .table("user_emails")
                .col(string("user_id"))
                // The e-mail's index in the user's `emails`.
                .col(integer("position"))
                .col(string("tenant_id"))
                .col(string_null("value_lc"))
                .col(string_null("type_lc"))
                .primary_key(Index::create().col("user_id").col("position"))
                .foreign_key(
                    ForeignKey::create()
                        .name("user_emails_user_fk")
                        .from("user_emails", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "user_emails",
            "user_emails_tenant_value",
            &["tenant_id", "value_lc"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("groups")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("display_name"))
                .col(string("display_name_lc"))
                .col(string_null("external_id"))
                .col(text("document"))
                .col(big_integer("version"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .foreign_key(&mut tenant_fk("groups"))
                .to_owned(),
        )
        .await?;
        unique_index(
            m,
            "groups",
            "groups_tenant_display_name",
            &["tenant_id", "display_name_lc"],
        )
        .await?;
        index(
            m,
            "groups",
            "groups_tenant_external_id",
            &["tenant_id", "external_id"],
        )
        .await?;
        index(
            m,
            "groups",
            "groups_tenant_created",
            &["tenant_id", "created_at", "id"],
        )
        .await?;
        index(
            m,
            "groups",
            "groups_tenant_updated",
            &["tenant_id", "updated_at", "id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("group_members")
                .col(string("group_id"))
                .col(string("tenant_id"))
                .col(string("member_id"))
                // "User" or "Group" (RFC 7643 §4.2: nested groups are allowed).
                .col(string("member_type"))
                .primary_key(Index::create().col("group_id").col("member_id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("group_members_group_fk")
                        .from("group_members", "group_id")
                        .to("groups", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "group_members",
            "group_members_tenant_member",
            &["tenant_id", "member_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("server_secrets")
                .col(string("name").primary_key())
                .col(string("value"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
