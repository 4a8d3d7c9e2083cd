//! (h) Fairness: how much one tenant's flood slows another tenant.
//!
//! Tenant B (a second tenant, `<tenant>-bystander`, with no users) looks
//! up userNames over one connection, as an IdP sync does: first alone,
//! then while tenant A (the seeded tenant) floods the server with
//! `GET /Users/{id}` over C connections. The figure is B's p99 during the
//! flood as a ratio of B's p99 alone, in the same run. Run the server with
//! a rate limit (`--tenant-rate-limit`): A's requests past it are answered
//! 429, which the report counts as A's refusals, not as errors.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::client::{Call, encode_query_value};
use crate::load::{Figures, Generator, Rng, Shape, drive};
use crate::seed::Fixture;
use crate::workloads::Workload;

/// Connections of the bystander tenant B.
const BYSTANDER_CONNECTIONS: usize = 1;
/// Most requests a second B sends: a steady sync, well inside any limit.
const BYSTANDER_RATE: u32 = 50;

/// What the fairness workload measured.
#[derive(Debug, Clone, Serialize)]
pub struct FairnessFigures {
    /// B alone.
    pub idle: Figures,
    /// B during A's flood.
    pub flooded: Figures,
    /// A's flood; its `errors` are its refused requests (429) and any
    /// other unexpected answer.
    pub flood: Figures,
    /// B's p99 during the flood divided by B's p99 alone.
    pub p99_ratio: f64,
}

/// Runs B alone, then B beside A's flood.
pub async fn fairness(
    address: SocketAddr,
    fixture: &Fixture,
    bystander_token: &str,
    shape: Shape,
    rate_limit: u32,
    nonce: u64,
) -> anyhow::Result<FairnessFigures> {
    let rate = match rate_limit {
        0 => BYSTANDER_RATE,
        limit => (limit / 2).clamp(1, BYSTANDER_RATE),
    };
    let bystander = Shape {
        connections: BYSTANDER_CONNECTIONS,
        pace: Some(Duration::from_secs(1) / rate),
        ..shape
    };
    let lookups = |i: usize| -> Box<dyn Generator> {
        Box::new(Lookups {
            rng: Rng::new(nonce ^ (i as u64 + 7)),
        })
    };
    let idle = drive(address, bystander_token, bystander, lookups).await?;
    let (flood, flooded) = tokio::join!(
        drive(address, &fixture.token, shape, |i| {
            Workload::Get.generator(fixture, i, shape.connections, nonce)
        }),
        drive(address, bystander_token, bystander, lookups),
    );
    let (flood, flooded) = (flood?, flooded?);
    let p99_ratio = if idle.p99_ms > 0.0 {
        flooded.p99_ms / idle.p99_ms
    } else {
        0.0
    };
    Ok(FairnessFigures {
        idle,
        flooded,
        flood,
        p99_ratio,
    })
}

/// B's requests: userName lookups on its own (empty) tenant.
struct Lookups {
    rng: Rng,
}

impl Generator for Lookups {
    fn next(&mut self) -> Call {
        let n = self.rng.below(1_000_000);
        let filter = format!("userName eq \"user{n}@bench.test\"");
        Call::get(format!(
            "/scim/v2/Users?filter={}",
            encode_query_value(&filter)
        ))
    }
}
