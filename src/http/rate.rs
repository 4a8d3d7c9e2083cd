//! Each tenant's request rate, checked right after authentication (the
//! tenant comes from the token): a token bucket per tenant (`governor`'s
//! GCRA), `rate` requests a second with bursts of `burst`. Over it, the
//! request is answered 429 with `Retry-After`. Limits are per process.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::domain::DomainError;

/// Default sustained requests a second of one tenant.
pub const DEFAULT_TENANT_RATE_LIMIT: u32 = 200;
/// Default burst of one tenant, in requests.
pub const DEFAULT_TENANT_RATE_BURST: u32 = 600;

/// Checks between two sweeps of idle tenants' buckets out of the map.
const CHECKS_PER_SWEEP: u64 = 10_000;

/// The per-tenant token buckets.
#[derive(Debug)]
pub struct TenantLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    rate: NonZeroU32,
    checks: AtomicU64,
}

impl TenantLimiter {
    /// `rate` requests a second per tenant with bursts of `burst` (at
    /// least `rate`); `None` when `rate` is 0 (no limit).
    pub fn new(rate: u32, burst: u32) -> Option<TenantLimiter> {
        let rate = NonZeroU32::new(rate)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate).max(rate);
        Some(TenantLimiter {
            limiter: DefaultKeyedRateLimiter::hashmap(Quota::per_second(rate).allow_burst(burst)),
            rate,
            checks: AtomicU64::new(0),
        })
    }

    /// Takes one request from tenant `tenant_id`'s bucket, or says how
    /// long to wait.
    pub fn check(&self, tenant_id: &str) -> Result<(), DomainError> {
        // Memory stays bounded by the tenants active lately: buckets full
        // again (idle tenants) are dropped now and then.
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let Err(not_until) = self.limiter.check_key(&tenant_id.to_owned()) else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        // Whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3).
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let retry_after_secs = retry_after_secs.max(1);
        Err(DomainError::TooManyRequests {
            detail: format!(
                "this tenant sent more than {} requests a second (per process); \
                 retry after {retry_after_secs} s",
                self.rate
            ),
            retry_after_secs,
        })
    }

    /// How many tenants have a bucket now (for tests).
    #[cfg(test)]
    fn tenants(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_over_its_burst_is_refused_and_others_are_not() {
        let limiter = TenantLimiter::new(1, 3).expect("a limit");
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let Err(DomainError::TooManyRequests {
            retry_after_secs,
            detail,
        }) = limiter.check("a")
        else {
            panic!("the fourth request is over the burst");
        };
        assert!(retry_after_secs >= 1);
        assert!(detail.contains("1 requests a second"), "{detail}");
        assert!(limiter.check("b").is_ok());
        assert_eq!(limiter.tenants(), 2);
    }

    #[test]
    fn a_rate_of_zero_turns_the_limit_off() {
        assert!(TenantLimiter::new(0, 600).is_none());
    }
}
