//! Webhook endpoints and their signing secrets (deliveries are in
//! `deliveries.rs`).

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::{webhook, webhook_delivery};
use super::run::{ExecIn, SelectIn};
use super::{EventType, Store, StoreError, Tx, by_key};

/// A registered endpoint, with its secrets (which never leave the domain
/// except to sign).
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
}

impl TryFrom<webhook::Model> for WebhookRecord {
    type Error = StoreError;

    fn try_from(w: webhook::Model) -> Result<Self, StoreError> {
        let events = w
            .events
            .split(',')
            .map(|text| {
                EventType::from_text(text)
                    .ok_or_else(|| StoreError::Corrupt(format!("the events of webhook {}", w.id)))
            })
            .collect::<Result<_, _>>()?;
        Ok(WebhookRecord {
            id: w.id,
            url: w.url,
            events,
            secret: w.secret,
            previous_secret: w.previous_secret,
            previous_secret_expires_at: w.previous_secret_expires_at,
            created_at: w.created_at,
        })
    }
}

impl Store {
    /// The tenant's endpoints, oldest first.
    pub async fn webhooks(&self, tenant_id: &str) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = webhook::Entity::find()
            .filter(webhook::Column::TenantId.eq(tenant_id))
            .order_by_asc(webhook::Column::CreatedAt)
            .order_by_asc(webhook::Column::Id)
            .all(&self.read)
            .await?;
        rows.into_iter().map(WebhookRecord::try_from).collect()
    }

    /// The endpoint `id` of the tenant.
    pub async fn webhook(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookRecord>, StoreError> {
        let found = by_key(find_webhook(tenant_id, id), &self.read).await?;
        found.map(WebhookRecord::try_from).transpose()
    }

    /// The tenant's endpoints with these ids, by id.
    pub async fn webhooks_by_id<'a>(
        &self,
        tenant_id: &str,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, WebhookRecord>, StoreError> {
        let ids: Vec<&str> = ids.collect();
        let mut found = HashMap::new();
        for chunk in ids.chunks(super::IDS_PER_STATEMENT) {
            let rows = webhook::Entity::find()
                .filter(webhook::Column::TenantId.eq(tenant_id))
                .filter(webhook::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.read)
                .await?;
            for row in rows {
                let record = WebhookRecord::try_from(row)?;
                found.insert(record.id.clone(), record);
            }
        }
        Ok(found)
    }
}

impl Tx {
    /// The endpoint `id` of the tenant, as this transaction sees it.
    pub async fn webhook(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookRecord>, StoreError> {
        let found = find_webhook(tenant_id, id).one_in(self).await?;
        found.map(WebhookRecord::try_from).transpose()
    }

    /// Ids of the tenant's endpoints subscribed to `event`.
    pub async fn subscribed_webhooks(
        &self,
        tenant_id: &str,
        event: EventType,
    ) -> Result<Vec<String>, StoreError> {
        let rows = webhook::Entity::find()
            .filter(webhook::Column::TenantId.eq(tenant_id))
            .all_in(self)
            .await?;
        let mut ids = Vec::new();
        for row in rows {
            let record = WebhookRecord::try_from(row)?;
            if record.events.contains(&event) {
                ids.push(record.id);
            }
        }
        Ok(ids)
    }

    /// Stores an endpoint.
    pub async fn insert_webhook(
        &self,
        tenant_id: &str,
        record: &WebhookRecord,
    ) -> Result<(), StoreError> {
        let events: Vec<&str> = record.events.iter().map(|e| e.as_str()).collect();
        webhook::Entity::insert(webhook::ActiveModel {
            id: Set(record.id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            url: Set(record.url.clone()),
            events: Set(events.join(",")),
            secret: Set(record.secret.clone()),
            previous_secret: Set(record.previous_secret.clone()),
            previous_secret_expires_at: Set(record.previous_secret_expires_at),
            created_at: Set(record.created_at),
        })
        .exec_in(self)
        .await?;
        Ok(())
    }

    /// Removes an endpoint and its deliveries; false when there was none.
    pub async fn delete_webhook(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::TenantId.eq(tenant_id))
            .filter(webhook_delivery::Column::WebhookId.eq(id))
            .exec_in(self)
            .await?;
        let changed = webhook::Entity::delete_many()
            .filter(webhook::Column::TenantId.eq(tenant_id))
            .filter(webhook::Column::Id.eq(id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }

    /// Makes `secret` the endpoint's signing secret; the current one keeps
    /// signing beside it until `previous_expires_at`.
    pub async fn rotate_webhook_secret(
        &self,
        tenant_id: &str,
        id: &str,
        secret: &str,
        previous_expires_at: i64,
    ) -> Result<bool, StoreError> {
        let changed = webhook::Entity::update_many()
            .col_expr(
                webhook::Column::PreviousSecret,
                Expr::col(webhook::Column::Secret),
            )
            .col_expr(
                webhook::Column::PreviousSecretExpiresAt,
                Expr::value(previous_expires_at),
            )
            .col_expr(webhook::Column::Secret, Expr::value(secret))
            .filter(webhook::Column::TenantId.eq(tenant_id))
            .filter(webhook::Column::Id.eq(id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }
}

/// The select of endpoint `id` of the tenant.
fn find_webhook(tenant_id: &str, id: &str) -> sea_orm::Select<webhook::Entity> {
    webhook::Entity::find_by_id(id.to_owned()).filter(webhook::Column::TenantId.eq(tenant_id))
}
