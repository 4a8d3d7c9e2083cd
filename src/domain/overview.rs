//! The console's overview of a tenant: seats, pending deprovisionings,
//! recent refusals, and whether the tenant hangs on one admin.

use super::admin::Seats;
use super::pending::DeprovisioningView;
use super::{Domain, DomainError};
use crate::store::{Outcome, PendingFilter, PendingState};

/// Days of refusals the overview counts.
pub const REFUSAL_WINDOW_DAYS: i64 = 7;
const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// What the overview page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub seats: Seats,
    /// How many deprovisioning requests are pending.
    pub pending: u64,
    /// The oldest pending request, if any.
    pub oldest_pending: Option<DeprovisioningView>,
    /// Refused changes (audit outcome `blocked`) in the last
    /// [`REFUSAL_WINDOW_DAYS`] days.
    pub recent_refusals: u64,
    /// How many users are active admins now.
    pub active_admins: u64,
}

impl Overview {
    /// Whether the tenant has exactly one active admin: that admin can be
    /// neither deactivated nor demoted until another exists.
    pub fn last_admin_warning(&self) -> bool {
        self.active_admins == 1
    }
}

impl Domain {
    /// The overview of tenant `tenant_id` now.
    pub async fn overview(&self, tenant_id: &str) -> Result<Overview, DomainError> {
        let seats = self.seats(tenant_id).await?;
        let pending = self.store.count_pending(tenant_id).await?;
        let filter = PendingFilter {
            state: Some(PendingState::Pending),
            user_id: None,
            after: None,
        };
        let oldest_pending = self
            .store
            .deprovisionings(tenant_id, &filter, 1)
            .await?
            .into_iter()
            .next()
            .map(|r| self.deprovisioning_view(r));
        let since = self.now().saturating_sub(REFUSAL_WINDOW_DAYS * DAY_MILLIS);
        let recent_refusals = self
            .store
            .count_audit_since(tenant_id, Outcome::Blocked, since)
            .await?;
        let active_admins = self.store.count_active_admins_now(tenant_id).await?;
        Ok(Overview {
            seats,
            pending,
            oldest_pending,
            recent_refusals,
            active_admins,
        })
    }
}
