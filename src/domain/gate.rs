//! Each tenant's queue for writing, inside the process.
//!
//! Writes of one tenant run one at a time (the tenant lock, see
//! [`super::Domain::begin_tenant_write`]). Without this queue, each waiting
//! write would first take a pooled connection and then wait for the lock
//! in the database, holding the connection all the while: one tenant's
//! burst could empty the pool for everyone. Here a write waits for its
//! tenant's turn first, holding nothing, and only the write whose turn it
//! is asks for a connection. The queue is bounded: past
//! `max_waiting` waiting writes, the next is refused with 429 and
//! `Retry-After` (Entra backs off on 429, but counts 5xx toward
//! quarantine). The database lock stays, for writes of other processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DomainError;

/// Default bound on the writes of one tenant waiting for their turn.
pub const DEFAULT_TENANT_MAX_WAITING: usize = 32;

/// What a refused write is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The queues of every tenant with a write under way or waiting.
#[derive(Debug, Clone)]
pub(crate) struct Gates {
    /// Most writes of one tenant that may wait at once; 0: no bound.
    max_waiting: usize,
    queues: Arc<Mutex<HashMap<String, Arc<Queue>>>>,
}

#[derive(Debug)]
struct Queue {
    turn: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A tenant's turn to write; the next waiting write goes when it drops.
#[derive(Debug)]
pub(crate) struct Turn {
    _permit: OwnedSemaphorePermit,
    _leave: Leave,
}

/// Removes a tenant's queue from the map once nobody holds or waits on it,
/// so the map holds only tenants writing now.
#[derive(Debug)]
struct Leave {
    tenant_id: String,
    queue: Arc<Queue>,
    queues: Arc<Mutex<HashMap<String, Arc<Queue>>>>,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and this one: nobody else holds or waits.
        if Arc::strong_count(&self.queue) == 2 {
            queues.remove(&self.tenant_id);
        }
    }
}

/// Takes one off a queue's waiting count when the wait ends, however it
/// ends (a client that hangs up drops the waiting future).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gates {
    /// Queues of at most `max_waiting` waiting writes each (0: no bound).
    pub(crate) fn new(max_waiting: usize) -> Gates {
        Gates {
            max_waiting,
            queues: Arc::default(),
        }
    }

    /// Waits for tenant `tenant_id`'s turn to write, or refuses at once
    /// when `max_waiting` writes of the tenant already wait.
    pub(crate) async fn enter(&self, tenant_id: &str) -> Result<Turn, DomainError> {
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            let queue = queues.entry(tenant_id.to_owned()).or_insert_with(|| {
                Arc::new(Queue {
                    turn: Arc::new(Semaphore::new(1)),
                    waiting: AtomicUsize::new(0),
                })
            });
            Arc::clone(queue)
        };
        // From here on the one reference this call holds is `leave`'s.
        let leave = Leave {
            tenant_id: tenant_id.to_owned(),
            queue,
            queues: Arc::clone(&self.queues),
        };
        let turn = Arc::clone(&leave.queue.turn);
        if let Ok(permit) = Arc::clone(&turn).try_acquire_owned() {
            return Ok(Turn {
                _permit: permit,
                _leave: leave,
            });
        }
        let waiting = Waiting(&leave.queue.waiting);
        let before = waiting.0.fetch_add(1, Ordering::Relaxed);
        if self.max_waiting > 0 && before >= self.max_waiting {
            return Err(DomainError::TooManyRequests {
                detail: format!(
                    "{before} writes of this tenant are already waiting for their turn \
                     (at most {} may wait at once, per process); retry after {RETRY_AFTER_SECS} s",
                    self.max_waiting
                ),
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        // The semaphore is never closed.
        let permit = turn
            .acquire_owned()
            .await
            .map_err(|_| DomainError::invalid("the tenant's write queue was closed"))?;
        drop(waiting);
        Ok(Turn {
            _permit: permit,
            _leave: leave,
        })
    }

    /// How many tenants have a queue now (for tests).
    #[cfg(test)]
    fn tenants(&self) -> usize {
        self.queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_past_the_bound_are_refused_and_other_tenants_go_on() {
        let gates = Gates::new(2);
        let first = gates.enter("a").await.expect("the first write goes");
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let gates = gates.clone();
            waiting.push(tokio::spawn(async move { gates.enter("a").await.is_ok() }));
        }
        // Let both waiters queue up.
        while gates
            .queues
            .lock()
            .expect("lock")
            .get("a")
            .is_none_or(|q| q.waiting.load(Ordering::Relaxed) < 2)
        {
            tokio::task::yield_now().await;
        }
        let refused = gates.enter("a").await;
        assert!(matches!(
            refused,
            Err(DomainError::TooManyRequests {
                retry_after_secs: 1,
                ..
            })
        ));
        let other = gates.enter("b").await.expect("another tenant goes at once");
        drop(other);
        drop(first);
        for waiter in waiting {
            assert!(waiter.await.expect("join"));
        }
        assert_eq!(gates.tenants(), 0, "idle tenants leave the map");
    }

    #[tokio::test]
    async fn no_bound_when_max_waiting_is_zero() {
        let gates = Gates::new(0);
        let first = gates.enter("a").await.expect("first");
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let gates = gates.clone();
                tokio::spawn(async move { gates.enter("a").await.is_ok() })
            })
            .collect();
        drop(first);
        for waiter in waiters {
            assert!(waiter.await.expect("join"));
        }
    }
}
