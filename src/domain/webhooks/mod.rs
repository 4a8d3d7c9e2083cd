//! Webhooks (DESIGN §5, the Standard Webhooks conventions): endpoints a
//! tenant registers, events written to an outbox in the transaction of the
//! change they report ([`Domain::emit`]), and the deliveries the worker
//! (`crate::delivery`) claims and records (`delivery.rs`).

pub mod address;
mod delivery;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::{Value, json};

use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{
    Action, DeliveryRecord, DeliveryState, EventType, NewEvent, Outcome, TargetType, Tx,
    WebhookRecord,
};
pub use delivery::{Attempt, DueDelivery, RETRY_WINDOW_MILLIS, backoff_millis};

/// Prefix of a signing secret (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a signing secret.
const SECRET_BYTES: usize = 24;
/// How long a rotated-out secret keeps signing beside the new one.
pub const PREVIOUS_SECRET_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// Most deliveries one `GET /webhooks/{id}/deliveries` lists.
const DELIVERIES_LISTED: u64 = 100;

/// An endpoint as the admin API shows it: never its secrets.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub created_at: String,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<String>,
}

/// A delivery as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: EventType,
    pub state: DeliveryState,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    /// When a pending delivery is next tried.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

impl From<&WebhookRecord> for WebhookView {
    fn from(w: &WebhookRecord) -> Self {
        WebhookView {
            id: w.id.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            created_at: format_millis(w.created_at),
            previous_secret_expires_at: w.previous_secret_expires_at.map(format_millis),
        }
    }
}

impl DeliveryView {
    fn new(d: DeliveryRecord, event_type: EventType) -> Self {
        let next_attempt_at = match d.state {
            DeliveryState::Pending => Some(format_millis(d.next_attempt_at)),
            DeliveryState::Delivered | DeliveryState::Failed => None,
        };
        DeliveryView {
            id: d.id,
            event_id: d.event_id,
            event_type,
            state: d.state,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at.map(format_millis),
            next_attempt_at,
            created_at: format_millis(d.created_at),
        }
    }
}

/// A new signing secret: `whsec_` and the base64 of 24 random bytes.
fn mint_secret() -> Result<String, DomainError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::invalid(format!("the system random source failed: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The event types an endpoint subscribes to: known, not the ping, at
/// least one; duplicates are dropped.
fn parse_events(names: &[String]) -> Result<Vec<EventType>, DomainError> {
    let mut events = Vec::new();
    for name in names {
        let event = EventType::from_text(name).ok_or_else(|| {
            DomainError::invalid(format!(
                "unknown event `{name}`; events are {}",
                subscribable()
            ))
        })?;
        if event == EventType::WebhookPing {
            return Err(DomainError::invalid(
                "webhook.ping is sent by POST /webhooks/{id}/ping only; it cannot be subscribed to",
            ));
        }
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(DomainError::invalid(format!(
            "events may not be empty; choose from {}",
            subscribable()
        )));
    }
    Ok(events)
}

fn subscribable() -> String {
    let names: Vec<&str> = EventType::ALL
        .iter()
        .filter(|e| **e != EventType::WebhookPing)
        .map(|e| e.as_str())
        .collect();
    names.join(", ")
}

fn no_webhook(id: &str) -> DomainError {
    DomainError::NotFound(format!("no webhook has id {id}"))
}

impl Domain {
    /// Writes event `event` of tenant `tenant_id` to the outbox, in the
    /// caller's transaction `tx`, with one pending delivery per endpoint
    /// subscribed to it (none subscribed: nothing is written). The payload
    /// is `{"id","type","tenant_id","occurred_at","data"}`; the worker
    /// sends it after the transaction commits.
    pub(crate) async fn emit(
        &self,
        tx: &Tx,
        tenant_id: &str,
        event: EventType,
        data: Value,
    ) -> Result<(), DomainError> {
        let subscribed = tx.subscribed_webhooks(tenant_id, event).await?;
        if subscribed.is_empty() {
            return Ok(());
        }
        self.write_event(tx, tenant_id, event, data, &subscribed)
            .await?;
        Ok(())
    }

    async fn write_event(
        &self,
        tx: &Tx,
        tenant_id: &str,
        event: EventType,
        data: Value,
        webhook_ids: &[String],
    ) -> Result<String, DomainError> {
        let id = uuid::Uuid::new_v4().to_string();
        let occurred_at = self.now();
        let payload = json!({
            "id": id,
            "type": event,
            "tenant_id": tenant_id,
            "occurred_at": format_millis(occurred_at),
            "data": data,
        })
        .to_string();
        let new = NewEvent {
            id: &id,
            event_type: event,
            payload: &payload,
            occurred_at,
        };
        tx.insert_event(tenant_id, &new, webhook_ids).await?;
        Ok(id)
    }

    /// Registers an endpoint for `events`; returns it and its signing
    /// secret, which is shown this once.
    pub async fn create_webhook(
        &self,
        who: &Principal,
        url: &str,
        events: &[String],
    ) -> Result<(WebhookView, String), DomainError> {
        let events = parse_events(events)?;
        let url = address::check_url(url, self.allow_private_webhooks).await?;
        let record = WebhookRecord {
            id: uuid::Uuid::new_v4().to_string(),
            url: url.to_string(),
            events,
            secret: mint_secret()?,
            previous_secret: None,
            previous_secret_expires_at: None,
            created_at: self.now(),
        };
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        tx.insert_webhook(&who.tenant_id, &record).await?;
        let names: Vec<&str> = record.events.iter().map(|e| e.as_str()).collect();
        let detail = format!(
            "webhook to {} for {}",
            url.host_str().unwrap_or_default(),
            names.join(", ")
        );
        self.audit_webhook(&tx, who, Action::WebhookCreate, &record.id, detail)
            .await?;
        tx.commit().await?;
        Ok((WebhookView::from(&record), record.secret))
    }

    /// The tenant's endpoints, oldest first.
    pub async fn webhooks(&self, tenant_id: &str) -> Result<Vec<WebhookView>, DomainError> {
        let records = self.store.webhooks(tenant_id).await?;
        Ok(records.iter().map(WebhookView::from).collect())
    }

    /// Removes an endpoint and its deliveries.
    pub async fn delete_webhook(&self, who: &Principal, id: &str) -> Result<(), DomainError> {
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        let webhook = tx
            .webhook(&who.tenant_id, id)
            .await?
            .ok_or_else(|| no_webhook(id))?;
        tx.delete_webhook(&who.tenant_id, id).await?;
        let detail = format!("webhook to {} removed", host_of(&webhook.url));
        self.audit_webhook(&tx, who, Action::WebhookDelete, id, detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a `webhook.ping` event to endpoint `id` only; returns the
    /// event's id.
    pub async fn ping_webhook(&self, who: &Principal, id: &str) -> Result<String, DomainError> {
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        tx.webhook(&who.tenant_id, id)
            .await?
            .ok_or_else(|| no_webhook(id))?;
        let data = json!({ "webhook_id": id });
        let event_id = self
            .write_event(
                &tx,
                &who.tenant_id,
                EventType::WebhookPing,
                data,
                &[id.to_owned()],
            )
            .await?;
        tx.commit().await?;
        self.wake_deliveries();
        Ok(event_id)
    }

    /// Gives endpoint `id` a new signing secret, shown this once; the old
    /// one keeps signing beside it for 24 hours.
    pub async fn rotate_webhook_secret(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<String, DomainError> {
        let secret = mint_secret()?;
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        let expires = self.now() + PREVIOUS_SECRET_MILLIS;
        if !tx
            .rotate_webhook_secret(&who.tenant_id, id, &secret, expires)
            .await?
        {
            return Err(no_webhook(id));
        }
        let detail = format!(
            "signing secret rotated; the previous one signs too until {}",
            format_millis(expires)
        );
        self.audit_webhook(&tx, who, Action::WebhookRotate, id, detail)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The newest deliveries to endpoint `id`.
    pub async fn webhook_deliveries(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Vec<DeliveryView>, DomainError> {
        self.store
            .webhook(tenant_id, id)
            .await?
            .ok_or_else(|| no_webhook(id))?;
        let rows = self
            .store
            .deliveries(tenant_id, id, DELIVERIES_LISTED)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(d, event_type)| DeliveryView::new(d, event_type))
            .collect())
    }

    /// Makes a delivery pending and due now (a failed one gets one more
    /// attempt).
    pub async fn retry_delivery(
        &self,
        who: &Principal,
        webhook_id: &str,
        delivery_id: &str,
    ) -> Result<(), DomainError> {
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        let now = self.now();
        if !tx
            .retry_delivery(&who.tenant_id, webhook_id, delivery_id, now)
            .await?
        {
            return Err(DomainError::NotFound(format!(
                "webhook {webhook_id} has no delivery {delivery_id}"
            )));
        }
        tx.commit().await?;
        self.wake_deliveries();
        Ok(())
    }

    async fn audit_webhook(
        &self,
        tx: &Tx,
        who: &Principal,
        action: Action,
        id: &str,
        detail: String,
    ) -> Result<(), DomainError> {
        let event = self.audit_event(
            who,
            action,
            (TargetType::Webhook, Some(id), None),
            Outcome::Allowed,
            detail,
            Vec::new(),
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        Ok(())
    }
}

/// The host of a stored URL, for audit details (never its path or query,
/// which may carry a receiver's own token).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_24_random_bytes() {
        let a = mint_secret().expect("secret");
        let b = mint_secret().expect("secret");
        assert_ne!(a, b);
        let raw = a.strip_prefix(SECRET_PREFIX).expect("prefix");
        assert_eq!(STANDARD.decode(raw).expect("base64").len(), SECRET_BYTES);
    }

    #[test]
    fn events_must_be_known_subscribable_and_not_empty() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            parse_events(&names(&["user.suspended", "user.suspended"])).ok(),
            Some(vec![EventType::UserSuspended])
        );
        assert!(parse_events(&names(&[])).is_err());
        assert!(parse_events(&names(&["user.created"])).is_err());
        assert!(parse_events(&names(&["webhook.ping"])).is_err());
    }
}
