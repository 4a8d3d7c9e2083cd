//! The worker's side of the domain: claiming due deliveries fairly across
//! tenants, and recording each attempt with its retry schedule.

use std::collections::HashMap;

use super::super::{Domain, DomainError};
use crate::store::{AttemptRecord, DeliveryState};

/// How long deliveries are retried, counted from the event.
pub const RETRY_WINDOW_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// How long a claimed delivery stays out of other workers' reach: more
/// than a request's timeout, so only a crashed worker's claims expire.
const LEASE_MILLIS: i64 = 60 * 1000;
/// Most tenants served in one round.
const TENANTS_PER_ROUND: u64 = 1000;
/// Delay before attempt `n + 1` after `n` failed attempts, before jitter.
const BACKOFF_SECONDS: &[i64] = &[5, 30, 120, 600, 1800, 3600, 7200];
/// Longest error text kept per attempt.
const ERROR_CHARS: usize = 500;

/// A claimed delivery, with what the worker needs to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: String,
    pub tenant_id: String,
    /// The event's id: the `webhook-id` header.
    pub event_id: String,
    pub url: String,
    /// The secrets to sign with: the current one, then the previous one
    /// while it has not expired.
    pub secrets: Vec<String>,
    /// The body, exactly as stored in the outbox.
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// The receiver answered another status.
    Rejected { status: u16, detail: String },
    /// No answer: refused address, DNS, connection, TLS, timeout.
    Unreached { error: String },
}

/// The delay before the next attempt after `attempts` failed ones;
/// `jitter` in `[0, 1)` adds up to a fifth, so receivers that failed
/// together are not retried together.
pub fn backoff_millis(attempts: u32, jitter: f64) -> i64 {
    let index = (attempts.max(1) as usize - 1).min(BACKOFF_SECONDS.len() - 1);
    let base = BACKOFF_SECONDS[index] * 1000;
    base + (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as i64
}

fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

fn clip(text: &str) -> String {
    text.chars().take(ERROR_CHARS).collect()
}

impl Domain {
    /// Claims deliveries due now: per tenant at most `per_tenant` less
    /// those it already has `in_flight`, so one tenant's slow receiver
    /// never takes another tenant's turn.
    pub async fn claim_deliveries(
        &self,
        per_tenant: u64,
        in_flight: &HashMap<String, u64>,
    ) -> Result<Vec<DueDelivery>, DomainError> {
        let now = self.now();
        let tenants = self
            .store
            .tenants_with_due_deliveries(now, TENANTS_PER_ROUND)
            .await?;
        let mut due = Vec::new();
        for tenant_id in tenants {
            let busy = in_flight.get(&tenant_id).copied().unwrap_or(0);
            let room = per_tenant.saturating_sub(busy);
            if room == 0 {
                continue;
            }
            let claimed = self
                .store
                .claim_due_deliveries(&tenant_id, now, now + LEASE_MILLIS, room)
                .await?;
            if claimed.is_empty() {
                continue;
            }
            let webhooks = self
                .store
                .webhooks_by_id(&tenant_id, claimed.iter().map(|d| d.webhook_id.as_str()))
                .await?;
            let events = self
                .store
                .event_payloads(claimed.iter().map(|d| d.event_id.as_str()))
                .await?;
            for delivery in claimed {
                // Deleted since it was claimed: its deliveries went with it.
                let (Some(webhook), Some((_, payload))) = (
                    webhooks.get(&delivery.webhook_id),
                    events.get(&delivery.event_id),
                ) else {
                    continue;
                };
                let mut secrets = vec![webhook.secret.clone()];
                if let (Some(previous), Some(until)) =
                    (&webhook.previous_secret, webhook.previous_secret_expires_at)
                    && now < until
                {
                    secrets.push(previous.clone());
                }
                due.push(DueDelivery {
                    id: delivery.id,
                    tenant_id: tenant_id.clone(),
                    event_id: delivery.event_id,
                    url: webhook.url.clone(),
                    secrets,
                    payload: payload.clone(),
                    attempts: u32::try_from(delivery.attempts).unwrap_or(0),
                    created_at: delivery.created_at,
                });
            }
        }
        Ok(due)
    }

    /// Records an attempt at `delivery`: delivered; or pending again after
    /// a backoff; or
    /// failed once the retry window (a day from the event) is over.
    pub async fn record_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: Attempt,
    ) -> Result<DeliveryState, DomainError> {
        let now = self.now();
        let deadline = delivery.created_at + RETRY_WINDOW_MILLIS;
        let (state, next_attempt_at, status, error) = match attempt {
            Attempt::Delivered { status } => (DeliveryState::Delivered, now, Some(status), None),
            Attempt::Rejected { status, detail } => {
                let (state, next) = retry(now, deadline, delivery.attempts + 1);
                (state, next, Some(status), Some(clip(&detail)))
            }
            Attempt::Unreached { error } => {
                let (state, next) = retry(now, deadline, delivery.attempts + 1);
                (state, next, None, Some(clip(&error)))
            }
        };
        let record = AttemptRecord {
            state,
            next_attempt_at,
            status: status.map(i32::from),
            error,
            at: now,
        };
        self.store.record_attempt(&delivery.id, record).await?;
        Ok(state)
    }

    /// Wakes the delivery worker (after a commit that enqueued deliveries).
    pub(crate) fn wake_deliveries(&self) {
        self.deliveries_due.notify_one();
    }

    /// Resolves when deliveries may have become due in this process.
    pub async fn deliveries_woken(&self) {
        self.deliveries_due.notified().await;
    }

    /// Whether endpoints may reach private addresses (operator's flag).
    pub fn allows_private_webhooks(&self) -> bool {
        self.allow_private_webhooks
    }
}

/// The state and due time after failed attempt number `attempts`.
fn retry(now: i64, deadline: i64, attempts: u32) -> (DeliveryState, i64) {
    if now >= deadline {
        return (DeliveryState::Failed, now);
    }
    let next = (now + backoff_millis(attempts, jitter())).min(deadline);
    (DeliveryState::Pending, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_a_cap_with_at_most_a_fifth_of_jitter() {
        let cases: &[(u32, i64)] = &[
            (1, 5_000),
            (2, 30_000),
            (3, 120_000),
            (4, 600_000),
            (5, 1_800_000),
            (6, 3_600_000),
            (7, 7_200_000),
            (50, 7_200_000),
        ];
        for (attempts, base) in cases {
            assert_eq!(backoff_millis(*attempts, 0.0), *base, "{attempts}");
            let most = backoff_millis(*attempts, 0.999_999);
            assert!(
                most > *base && most <= base + base / 5,
                "{attempts}: {most}"
            );
        }
    }

    #[test]
    fn retries_stop_at_the_deadline_and_never_pass_it() {
        let deadline = 1_000_000;
        assert_eq!(
            retry(deadline, deadline, 3),
            (DeliveryState::Failed, deadline)
        );
        let (state, next) = retry(deadline - 1_000, deadline, 3);
        assert_eq!((state, next), (DeliveryState::Pending, deadline));
        let (state, next) = retry(0, deadline, 1);
        assert_eq!(state, DeliveryState::Pending);
        assert!((5_000..=6_000).contains(&next));
    }
}
