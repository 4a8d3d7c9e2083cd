//! The webhook delivery worker that `scimd serve` runs beside the HTTP
//! server: every second (or when a commit wakes it) it claims due
//! deliveries through the domain, sends them concurrently, and records
//! each attempt.
//!
//! Fairness: a tenant has at most [`PER_TENANT`] deliveries in flight, so
//! a receiver that hangs until the timeout holds back only its own
//! tenant's deliveries. At least once: a claim is a lease in the database,
//! so a worker killed mid-delivery leaves the row due again after it.

mod client;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{Id, JoinSet};

use crate::clock::SharedClock;
use crate::domain::{Attempt, DeliveryState, Domain, DueDelivery};
use crate::metrics::WebhookResult;

pub use client::{MAX_RESPONSE_BYTES, REQUEST_TIMEOUT, signature};

/// Most deliveries of one tenant in flight at once.
pub const PER_TENANT: u64 = 4;
/// Most deliveries in flight at once, all tenants together.
const MAX_IN_FLIGHT: usize = 256;
/// How often due deliveries are looked for when nothing wakes the worker.
const POLL: Duration = Duration::from_secs(1);

/// The running worker; [`Worker::stop`] ends it.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the worker over `domain`.
    pub fn spawn(domain: Arc<Domain>, clock: SharedClock) -> reqwest::Result<Worker> {
        let allow_private = domain.allows_private_webhooks();
        let client = client::client(allow_private)?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(domain, clock, client, allow_private, stopped));
        Ok(Worker { stop, task })
    }

    /// Stops claiming, lets the deliveries in flight finish (each within
    /// its timeout), and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the webhook worker failed");
        }
    }
}

async fn run(
    domain: Arc<Domain>,
    clock: SharedClock,
    client: reqwest::Client,
    allow_private: bool,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut tenants: HashMap<Id, String> = HashMap::new();
    let mut in_flight: HashMap<String, u64> = HashMap::new();
    loop {
        while let Some(done) = tasks.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(error) => error.id(),
            };
            if let Some(tenant) = tenants.remove(&id)
                && let Some(count) = in_flight.get_mut(&tenant)
            {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    in_flight.remove(&tenant);
                }
            }
        }
        if tasks.len() < MAX_IN_FLIGHT {
            match domain.claim_deliveries(PER_TENANT, &in_flight).await {
                Ok(due) => {
                    for delivery in due {
                        *in_flight.entry(delivery.tenant_id.clone()).or_default() += 1;
                        let tenant = delivery.tenant_id.clone();
                        let handle = tasks.spawn(deliver(
                            Arc::clone(&domain),
                            clock.clone(),
                            client.clone(),
                            allow_private,
                            delivery,
                        ));
                        tenants.insert(handle.id(), tenant);
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot claim webhook deliveries"),
            }
        }
        tokio::select! {
            _ = stopped.changed() => break,
            () = domain.deliveries_woken() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// One attempt at one delivery, recorded.
async fn deliver(
    domain: Arc<Domain>,
    clock: SharedClock,
    client: reqwest::Client,
    allow_private: bool,
    delivery: DueDelivery,
) {
    let timestamp = clock.now_millis().div_euclid(1000);
    let attempt = client::send(&client, &delivery, timestamp, allow_private).await;
    let status = match &attempt {
        Attempt::Delivered { status } | Attempt::Rejected { status, .. } => Some(*status),
        Attempt::Unreached { .. } => None,
    };
    match domain.record_attempt(&delivery, attempt).await {
        Ok(state) => {
            let result = match state {
                DeliveryState::Pending => WebhookResult::Retrying,
                DeliveryState::Delivered => WebhookResult::Delivered,
                DeliveryState::Failed => WebhookResult::Failed,
            };
            domain.metrics().webhook_attempt(result);
            let state = result.as_str();
            tracing::debug!(
                tenant_id = %delivery.tenant_id,
                delivery_id = %delivery.id,
                status,
                state,
                "webhook attempt"
            );
        }
        Err(error) => tracing::warn!(
            tenant_id = %delivery.tenant_id,
            delivery_id = %delivery.id,
            %error,
            "cannot record a webhook attempt; the delivery is retried after its lease"
        ),
    }
}
