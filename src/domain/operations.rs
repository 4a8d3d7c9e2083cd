//! What a metrics scrape reads: deprovisioning totals from the database
//! (so every process reports the same, whichever wrote them) and the
//! pools of this process.

use super::{Domain, DomainError};
use crate::metrics::{Deprovisioning, PoolUse};

impl Domain {
    /// Pending deprovisionings, the oldest one's age and suspended users,
    /// in every tenant, as the database holds them now.
    pub async fn deprovisioning_totals(&self) -> Result<Deprovisioning, DomainError> {
        let totals = self.store.deprovisioning_totals().await?;
        let age_millis = totals
            .oldest_requested_at
            .map_or(0, |at| self.now().saturating_sub(at).max(0));
        Ok(Deprovisioning {
            pending: totals.pending,
            oldest_pending_age_seconds: u64::try_from(age_millis / 1000).unwrap_or_default(),
            suspended_users: totals.suspended_users,
        })
    }

    /// How full this process's database pools are.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        self.store
            .pool_stats()
            .into_iter()
            .map(|stats| PoolUse {
                pool: stats.pool,
                size: stats.size,
                idle: stats.idle,
                max: stats.max,
            })
            .collect()
    }
}
