//! How many requests of each tenant are under way at once, checked with
//! the rate limit right after authentication.
//!
//! The rate limit bounds how often a tenant may start requests; this
//! bounds how many of them may be running, which is what a slow query or
//! a slow reader piles up. Every read waits for a pooled connection and
//! every write for its tenant's turn; with at most `max` requests of one
//! tenant under way, at most `max` of them can wait for either, so one
//! tenant can never fill the pool's queue for everyone. A request counts
//! from its authentication until its response body has been written (or
//! the client has gone). Past the bound, the answer is 429 with
//! `Retry-After`. Limits are per process.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;
use http_body::{Frame, SizeHint};

use crate::domain::DomainError;

/// Default bound on the requests of one tenant under way at once.
pub const DEFAULT_TENANT_MAX_IN_FLIGHT: usize = 64;

/// What a refused request is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The count of requests under way of every tenant that has one.
#[derive(Debug)]
pub struct TenantInFlight {
    max: usize,
    counts: Mutex<HashMap<String, usize>>,
}

/// One request under way; its tenant's count goes down when it drops.
#[derive(Debug)]
pub struct InFlight {
    tenant_id: String,
    owner: Arc<TenantInFlight>,
}

impl TenantInFlight {
    /// At most `max` requests of one tenant under way; `None` when `max`
    /// is 0 (no bound).
    pub fn new(max: usize) -> Option<TenantInFlight> {
        (max > 0).then(|| TenantInFlight {
            max,
            counts: Mutex::default(),
        })
    }

    /// Counts one more request of tenant `tenant_id`, or refuses it when
    /// `max` are already under way.
    pub fn enter(self: &Arc<Self>, tenant_id: &str) -> Result<InFlight, DomainError> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(tenant_id.to_owned()).or_default();
        if *count >= self.max {
            return Err(DomainError::TooManyRequests {
                detail: format!(
                    "{count} requests of this tenant are already under way (at most {} at once, \
                     per process); retry after {RETRY_AFTER_SECS} s",
                    self.max
                ),
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        *count += 1;
        Ok(InFlight {
            tenant_id: tenant_id.to_owned(),
            owner: Arc::clone(self),
        })
    }

    /// How many tenants have a request under way now (for tests).
    #[cfg(test)]
    fn tenants(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = self
            .owner
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map holds only tenants with a request under way.
        if let Some(count) = counts.get_mut(&self.tenant_id) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.tenant_id);
            }
        }
    }
}

impl InFlight {
    /// `response`, whose body keeps this request counted until it has
    /// been written to the end or dropped.
    pub fn hold_until_written(self, response: Response) -> Response {
        response.map(|inner| {
            Body::new(Holding {
                inner,
                _in_flight: self,
            })
        })
    }
}

/// A response body that holds its request's [`InFlight`].
struct Holding {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_past_the_bound_are_refused_until_one_ends() {
        let bound = Arc::new(TenantInFlight::new(2).expect("a bound"));
        let first = bound.enter("a").expect("first");
        let second = bound.enter("a").expect("second");
        let Err(DomainError::TooManyRequests {
            detail,
            retry_after_secs,
        }) = bound.enter("a")
        else {
            panic!("the third is over the bound");
        };
        assert_eq!(retry_after_secs, 1);
        assert!(detail.contains("at most 2 at once"), "{detail}");
        let other = bound.enter("b").expect("another tenant goes");
        drop(first);
        let third = bound.enter("a").expect("a slot is free again");
        drop((second, third, other));
        assert_eq!(bound.tenants(), 0, "idle tenants leave the map");
    }

    #[test]
    fn a_bound_of_zero_turns_it_off() {
        assert!(TenantInFlight::new(0).is_none());
    }

    #[tokio::test]
    async fn a_response_body_holds_its_request_until_written() {
        use http_body_util::BodyExt;
        let bound = Arc::new(TenantInFlight::new(1).expect("a bound"));
        let held = bound.enter("a").expect("first");
        let response = held.hold_until_written(Response::new(Body::from("hello")));
        assert!(bound.enter("a").is_err(), "counted while the body waits");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body")
            .to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert!(bound.enter("a").is_ok(), "released once written");
    }
}
