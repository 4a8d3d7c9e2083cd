//! Webhooks (DESIGN §5): the endpoints a tenant registered, the outbox of
//! events written in the same transaction as the change, and one delivery
//! per (event, endpoint) that the delivery worker claims, sends and
//! retries.

use sea_orm_migration::prelude::*;

use crate::{index, tenant_fk, text_column};
use sea_orm_migration::schema::{
    big_integer, big_integer_null, integer, integer_null, string, string_null, text, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let postgres = m.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        let string = |name: &'static str| text_column(string(name), postgres);
        let string_null = |name: &'static str| text_column(string_null(name), postgres);

        m.create_table(
            Table::create()
                .table("webhooks")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(text("url"))
                // Event type names, comma-separated.
                .col(text("events"))
                // HMAC keys must be kept as they are to sign; never shown
                // after creation or rotation, never logged.
                .col(string("secret"))
                .col(string_null("previous_secret"))
                .col(big_integer_null("previous_secret_expires_at"))
                .col(big_integer("created_at"))
                .foreign_key(&mut tenant_fk("webhooks"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "webhooks",
            "webhooks_tenant",
            &["tenant_id", "created_at"],
        )
        .await?;

        // The outbox: one row per event, its payload exactly as sent.
        m.create_table(
            Table::create()
                .table("webhook_events")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("type"))
                .col(text("payload"))
                .col(big_integer("occurred_at"))
                .foreign_key(&mut tenant_fk("webhook_events"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("webhook_deliveries")
                .col(string("id").primary_key())
                .col(string("tenant_id"))
                .col(string("webhook_id"))
                .col(string("event_id"))
                // "pending", "delivered" or "failed".
                .col(string("state"))
                .col(integer("attempts").default(0))
                // For a pending delivery: when it is due, or until when a
                // worker holds it (the lease).
                .col(big_integer("next_attempt_at"))
                .col(integer_null("last_status"))
                .col(text_null("last_error"))
                .col(big_integer_null("last_attempt_at"))
                .col(big_integer("created_at"))
                .foreign_key(&mut tenant_fk("webhook_deliveries"))
                .foreign_key(
                    ForeignKey::create()
                        .name("webhook_deliveries_webhook_fk")
                        .from("webhook_deliveries", "webhook_id")
                        .to("webhooks", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("webhook_deliveries_event_fk")
                        .from("webhook_deliveries", "event_id")
                        .to("webhook_events", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Claiming: the due deliveries of one tenant, oldest due first.
        index(
            m,
            "webhook_deliveries",
            "webhook_deliveries_due",
            &["state", "tenant_id", "next_attempt_at"],
        )
        .await?;
        // The deliveries page of one endpoint, newest first.
        index(
            m,
            "webhook_deliveries",
            "webhook_deliveries_webhook",
            &["webhook_id", "created_at"],
        )
        .await?;
        Ok(())
    }
}
