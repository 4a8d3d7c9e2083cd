//! Webhook deliveries: the outbox of events, one delivery per (event,
//! endpoint), and the claims the delivery worker takes with a lease so
//! that several processes never send the same delivery at once (and a
//! crashed one's come due again).

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::entity::{webhook_delivery, webhook_event};
use super::run::ExecIn;
use super::{DeliveryState, EventType, Store, StoreError, Tx};

/// One delivery of one event to one endpoint.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
}

impl From<webhook_delivery::Model> for DeliveryRecord {
    fn from(d: webhook_delivery::Model) -> Self {
        DeliveryRecord {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            created_at: d.created_at,
        }
    }
}

/// An event to write to the outbox.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub event_type: EventType,
    pub payload: &'a str,
    pub occurred_at: i64,
}

/// What one attempt at a delivery changed.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub state: DeliveryState,
    pub next_attempt_at: i64,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub at: i64,
}

impl Store {
    /// The newest `limit` deliveries to endpoint `webhook_id`, each with
    /// its event's type.
    pub async fn deliveries(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        limit: u64,
    ) -> Result<Vec<(DeliveryRecord, EventType)>, StoreError> {
        let rows = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::TenantId.eq(tenant_id))
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?;
        let events = self
            .events(rows.iter().map(|d| d.event_id.as_str()))
            .await?;
        rows.into_iter()
            .map(|d| {
                let event = events
                    .get(&d.event_id)
                    .ok_or_else(|| StoreError::Corrupt(format!("delivery {}", d.id)))?;
                Ok((DeliveryRecord::from(d), event.event_type))
            })
            .collect()
    }

    /// The type and payload of the events with these ids, by id.
    pub async fn event_payloads<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, (EventType, String)>, StoreError> {
        let events = self.events(ids).await?;
        Ok(events
            .into_iter()
            .map(|(id, e)| (id, (e.event_type, e.payload)))
            .collect())
    }

    /// The events with these ids, by id.
    async fn events<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, webhook_event::Model>, StoreError> {
        let ids: Vec<&str> = ids.collect();
        let mut found = HashMap::new();
        for chunk in ids.chunks(super::IDS_PER_STATEMENT) {
            let rows = webhook_event::Entity::find()
                .filter(webhook_event::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.read)
                .await?;
            found.extend(rows.into_iter().map(|e| (e.id.clone(), e)));
        }
        Ok(found)
    }

    /// Tenants that have deliveries due at `now` (at most `limit`).
    pub async fn tenants_with_due_deliveries(
        &self,
        now: i64,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::TenantId)
            .distinct()
            .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .limit(limit)
            .into_tuple::<String>()
            .all(&self.read)
            .await?)
    }

    /// Claims up to `limit` of the tenant's deliveries due at `now`,
    /// moving their `next_attempt_at` to `lease_until`: until then no other
    /// worker claims them, and after it (a crash) they are due again.
    ///
    /// On PostgreSQL, `FOR UPDATE SKIP LOCKED` in a short transaction lets
    /// concurrent workers take disjoint rows; on SQLite (one writer at a
    /// time) a conditional update of each row is the claim.
    pub async fn claim_due_deliveries(
        &self,
        tenant_id: &str,
        now: i64,
        lease_until: i64,
        limit: u64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let _turn = self.write_turn().await?;
        let due = || {
            webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
                .filter(webhook_delivery::Column::TenantId.eq(tenant_id))
                .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
                .order_by_asc(webhook_delivery::Column::NextAttemptAt)
                .limit(limit)
        };
        let mut claimed = Vec::new();
        if self.write.get_database_backend() == DatabaseBackend::Postgres {
            let tx = self.write.begin().await?;
            let rows = due()
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&tx)
                .await?;
            if !rows.is_empty() {
                webhook_delivery::Entity::update_many()
                    .col_expr(
                        webhook_delivery::Column::NextAttemptAt,
                        Expr::value(lease_until),
                    )
                    .filter(webhook_delivery::Column::Id.is_in(rows.iter().map(|d| d.id.clone())))
                    .exec(&tx)
                    .await?;
            }
            tx.commit().await?;
            claimed.extend(rows);
        } else {
            for row in due().all(&self.read).await? {
                let result = webhook_delivery::Entity::update_many()
                    .col_expr(
                        webhook_delivery::Column::NextAttemptAt,
                        Expr::value(lease_until),
                    )
                    .filter(webhook_delivery::Column::Id.eq(row.id.as_str()))
                    .filter(webhook_delivery::Column::State.eq(DeliveryState::Pending))
                    .filter(webhook_delivery::Column::NextAttemptAt.eq(row.next_attempt_at))
                    .exec(&self.write)
                    .await?;
                if result.rows_affected == 1 {
                    claimed.push(row);
                }
            }
        }
        Ok(claimed.into_iter().map(DeliveryRecord::from).collect())
    }

    /// Records one attempt at delivery `id` (its count goes up by one).
    pub async fn record_attempt(&self, id: &str, attempt: AttemptRecord) -> Result<(), StoreError> {
        let _turn = self.write_turn().await?;
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::State, Expr::value(attempt.state))
            .col_expr(
                webhook_delivery::Column::Attempts,
                Expr::col(webhook_delivery::Column::Attempts).add(1),
            )
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(attempt.next_attempt_at),
            )
            .col_expr(
                webhook_delivery::Column::LastStatus,
                Expr::value(attempt.status),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(attempt.error),
            )
            .col_expr(
                webhook_delivery::Column::LastAttemptAt,
                Expr::value(attempt.at),
            )
            .filter(webhook_delivery::Column::Id.eq(id))
            .exec(&self.write)
            .await?;
        Ok(())
    }
}

impl Tx {
    /// Writes an event to the outbox with one pending delivery, due at
    /// once, per endpoint in `webhook_ids`.
    pub async fn insert_event(
        &self,
        tenant_id: &str,
        event: &NewEvent<'_>,
        webhook_ids: &[String],
    ) -> Result<(), StoreError> {
        webhook_event::Entity::insert(webhook_event::ActiveModel {
            id: Set(event.id.to_owned()),
            tenant_id: Set(tenant_id.to_owned()),
            event_type: Set(event.event_type),
            payload: Set(event.payload.to_owned()),
            occurred_at: Set(event.occurred_at),
        })
        .exec_in(self)
        .await?;
        for chunk in webhook_ids.chunks(self.rows_per_insert(200)) {
            let models = chunk
                .iter()
                .map(|webhook_id| webhook_delivery::ActiveModel {
                    id: Set(uuid::Uuid::new_v4().to_string()),
                    tenant_id: Set(tenant_id.to_owned()),
                    webhook_id: Set(webhook_id.clone()),
                    event_id: Set(event.id.to_owned()),
                    state: Set(DeliveryState::Pending),
                    attempts: Set(0),
                    next_attempt_at: Set(event.occurred_at),
                    last_status: Set(None),
                    last_error: Set(None),
                    last_attempt_at: Set(None),
                    created_at: Set(event.occurred_at),
                });
            webhook_delivery::Entity::insert_many(models)
                .exec_in(self)
                .await?;
        }
        Ok(())
    }

    /// Makes a delivery of the endpoint pending and due at `now`; false
    /// when there is no such delivery.
    pub async fn retry_delivery(
        &self,
        tenant_id: &str,
        webhook_id: &str,
        delivery_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let changed = webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::State,
                Expr::value(DeliveryState::Pending),
            )
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .filter(webhook_delivery::Column::TenantId.eq(tenant_id))
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .filter(webhook_delivery::Column::Id.eq(delivery_id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }
}
