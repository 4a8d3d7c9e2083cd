//! Closed-loop load: C connections, each sending its next request as soon
//! as the previous one is answered, for a warm-up and then D measured
//! seconds; latencies of the requests started in the measured window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::client::{Call, Connection};

/// Produces one connection's requests.
pub trait Generator: Send + 'static {
    /// The next request.
    fn next(&mut self) -> Call;
}

/// How long and how wide to drive a workload.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Least time between the starts of two requests of one connection
    /// (a client that paces itself); `None`: closed loop, as fast as
    /// answered.
    pub pace: Option<Duration>,
}

/// What one workload measured.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Requests started in the measured window.
    pub requests: u64,
    /// Requests sent in all, warm-up included.
    pub sent: u64,
    pub errors: u64,
    /// The first unexpected answer, for the report.
    pub first_error: Option<String>,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

struct Outcome {
    latencies_us: Vec<u32>,
    sent: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Drives `shape.connections` connections, each with the generator
/// `make(i)` returns, and collects the figures.
pub async fn drive(
    address: SocketAddr,
    token: &str,
    shape: Shape,
    make: impl Fn(usize) -> Box<dyn Generator>,
) -> anyhow::Result<Figures> {
    let token: Arc<str> = token.into();
    let start = Instant::now();
    let measure_from = start + shape.warmup;
    let end = measure_from + shape.duration;
    let mut tasks = Vec::with_capacity(shape.connections);
    for i in 0..shape.connections {
        let mut generator = make(i);
        let token = Arc::clone(&token);
        let pace = shape.pace;
        tasks.push(tokio::spawn(async move {
            one_connection(
                address,
                &token,
                generator.as_mut(),
                (measure_from, end),
                pace,
            )
            .await
        }));
    }
    let mut latencies_us = Vec::new();
    let mut sent = 0;
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let outcome = task.await??;
        latencies_us.extend(outcome.latencies_us);
        sent += outcome.sent;
        errors += outcome.errors;
        first_error = first_error.or(outcome.first_error);
    }
    let mut figures = figures(latencies_us, errors, first_error, shape.duration);
    figures.sent = sent;
    Ok(figures)
}

async fn one_connection(
    address: SocketAddr,
    token: &str,
    generator: &mut dyn Generator,
    (measure_from, end): (Instant, Instant),
    pace: Option<Duration>,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome {
        latencies_us: Vec::with_capacity(16_384),
        sent: 0,
        errors: 0,
        first_error: None,
    };
    let mut connection = Connection::open(address, Some(token)).await?;
    loop {
        let started = Instant::now();
        if started >= end {
            return Ok(outcome);
        }
        let call = generator.next();
        let answer = connection.send(&call).await;
        let elapsed = started.elapsed();
        if let Some(pace) = pace {
            tokio::time::sleep_until((started + pace).into()).await;
        }
        outcome.sent += 1;
        let measured = started >= measure_from;
        let failure = match answer {
            Ok((status, _)) if status == call.expect => None,
            Ok((status, body)) => Some(format!(
                "{} {} answered {status}: {}",
                call.method,
                call.path,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            Err(error) => {
                // The connection is unusable; open another one.
                connection = Connection::open(address, Some(token)).await?;
                Some(format!("{} {} failed: {error:#}", call.method, call.path))
            }
        };
        if !measured {
            continue;
        }
        outcome
            .latencies_us
            .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
        if let Some(failure) = failure {
            outcome.errors += 1;
            outcome.first_error.get_or_insert(failure);
        }
    }
}

fn figures(
    mut latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
    duration: Duration,
) -> Figures {
    latencies_us.sort_unstable();
    let seconds = duration.as_secs_f64();
    let requests = latencies_us.len() as u64;
    let at = |p: f64| -> f64 {
        if latencies_us.is_empty() {
            return 0.0;
        }
        let index = ((latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(latencies_us[index]) / 1000.0
    };
    Figures {
        requests,
        sent: requests,
        errors,
        first_error,
        seconds,
        per_second: requests as f64 / seconds,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// A small, fast, seedable random number generator (xorshift64*); the
/// load needs spread, not cryptographic quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_sorted_latencies() {
        let figures = figures(
            (1..=100).rev().map(|ms| ms * 1000).collect(),
            0,
            None,
            Duration::from_secs(2),
        );
        assert_eq!(figures.requests, 100);
        assert!((figures.per_second - 50.0).abs() < 1e-9);
        assert!((figures.p50_ms - 51.0).abs() < 1e-9);
        assert!((figures.p99_ms - 99.0).abs() < 1e-9);
        assert!((figures.max_ms - 100.0).abs() < 1e-9);
    }

    #[test]
    fn random_numbers_stay_below_the_bound() {
        let mut rng = Rng::new(7);
        assert!((0..10_000).all(|_| rng.below(13) < 13));
    }
}
