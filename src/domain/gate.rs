//! Each tenant's queue for writing, inside the process.
//!
//! Writes of one tenant run one at a time (the tenant lock, see
//! [`super::Domain::begin_tenant_write`]), except shared writes: writes of
//! one user that change no fact another write of the tenant reads (see
//! [`TenantLock::Shared`]), which run side by side, up to the queue's
//! width, and never beside an exclusive write. Without this queue, each waiting
//! write would first take a pooled connection and then wait for the lock
//! in the database, holding the connection all the while: one tenant's
//! burst could empty the pool for everyone. Here a write waits for its
//! tenant's turn first, holding nothing, and only the write whose turn it
//! is asks for a connection. The queue is bounded: past
//! `max_waiting` waiting writes, the next is refused with 429 and
//! `Retry-After` (Entra backs off on 429, but counts 5xx toward
//! quarantine). The database lock stays, for writes of other processes.
//!
//! The queue is fair: a write waits behind every write that came before
//! it, so shared writes arriving one after another never starve an
//! exclusive write waiting for all of them to finish.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DomainError;
use crate::store::TenantLock;

/// Default bound on the writes of one tenant waiting for their turn.
pub const DEFAULT_TENANT_MAX_WAITING: usize = 32;

/// What a refused write is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The queues of every tenant with a write under way or waiting.
#[derive(Debug, Clone)]
pub(crate) struct Gates {
    /// Most writes of one tenant that may wait at once; 0: no bound.
    max_waiting: usize,
    /// Most shared writes of one tenant that run at once (at least 1); an
    /// exclusive write takes all of them.
    width: u32,
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
    /// Queues of at most `max_waiting` waiting writes each (0: no bound),
    /// letting at most `width` shared writes of a tenant run at once.
    pub(crate) fn new(max_waiting: usize, width: u32) -> Gates {
        Gates {
            max_waiting,
            width: width.max(1),
            queues: Arc::default(),
        }
    }

    /// Most shared writes of one tenant that run at once; 1 when every
    /// write of a tenant runs alone.
    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    /// Waits for tenant `tenant_id`'s turn to write, alone or beside other
    /// shared writes as `lock` says, or refuses at once when
    /// `max_waiting` writes of the tenant already wait.
    pub(crate) async fn enter(
        &self,
        tenant_id: &str,
        lock: TenantLock,
    ) -> Result<Turn, DomainError> {
        let permits = match lock {
            TenantLock::Exclusive => self.width,
            TenantLock::Shared => 1,
        };
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            let queue = queues.entry(tenant_id.to_owned()).or_insert_with(|| {
                Arc::new(Queue {
                    turn: Arc::new(Semaphore::new(self.width as usize)),
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
        if let Ok(permit) = Arc::clone(&turn).try_acquire_many_owned(permits) {
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
            .acquire_many_owned(permits)
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

    const EXCLUSIVE: TenantLock = TenantLock::Exclusive;
    const SHARED: TenantLock = TenantLock::Shared;

    /// Whether `enter` is still waiting after the scheduler has run
    /// everything else it can.
    async fn still_waiting(enter: &tokio::task::JoinHandle<Turn>) -> bool {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        !enter.is_finished()
    }

    #[tokio::test]
    async fn shared_writes_run_together_up_to_the_width_and_never_beside_an_exclusive_one() {
        let gates = Gates::new(0, 2);
        let enter = |lock| {
            let gates = gates.clone();
            tokio::spawn(async move { gates.enter("a", lock).await.expect("no bound") })
        };
        let first = gates.enter("a", SHARED).await.expect("goes at once");
        let second = gates
            .enter("a", SHARED)
            .await
            .expect("goes beside the first");
        let third = enter(SHARED);
        assert!(still_waiting(&third).await, "the width is 2");
        drop(first);
        let third = third.await.expect("join");
        // An exclusive write waits for both shared ones; a shared write
        // that comes after it waits behind it, though a place is free.
        let exclusive = enter(EXCLUSIVE);
        assert!(still_waiting(&exclusive).await);
        drop(second);
        let late = enter(SHARED);
        assert!(still_waiting(&exclusive).await, "third still writes");
        assert!(still_waiting(&late).await, "the exclusive write came first");
        drop(third);
        let exclusive = exclusive.await.expect("join");
        assert!(
            still_waiting(&late).await,
            "nothing runs beside an exclusive write"
        );
        drop(exclusive);
        drop(late.await.expect("join"));
        assert_eq!(gates.tenants(), 0);
    }

    #[tokio::test]
    async fn writes_past_the_bound_are_refused_and_other_tenants_go_on() {
        let gates = Gates::new(2, 1);
        let first = gates
            .enter("a", EXCLUSIVE)
            .await
            .expect("the first write goes");
        let mut waiting = Vec::new();
        for _ in 0..2 {
            let gates = gates.clone();
            waiting.push(tokio::spawn(async move {
                gates.enter("a", EXCLUSIVE).await.is_ok()
            }));
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
        let refused = gates.enter("a", EXCLUSIVE).await;
        assert!(matches!(
            refused,
            Err(DomainError::TooManyRequests {
                retry_after_secs: 1,
                ..
            })
        ));
        let other = gates
            .enter("b", EXCLUSIVE)
            .await
            .expect("another tenant goes at once");
        drop(other);
        drop(first);
        for waiter in waiting {
            assert!(waiter.await.expect("join"));
        }
        assert_eq!(gates.tenants(), 0, "idle tenants leave the map");
    }

    #[tokio::test]
    async fn no_bound_when_max_waiting_is_zero() {
        let gates = Gates::new(0, 1);
        let first = gates.enter("a", EXCLUSIVE).await.expect("first");
        let waiters: Vec<_> = (0..50)
            .map(|_| {
                let gates = gates.clone();
                tokio::spawn(async move { gates.enter("a", EXCLUSIVE).await.is_ok() })
            })
            .collect();
        drop(first);
        for waiter in waiters {
            assert!(waiter.await.expect("join"));
        }
    }
}
