//! Counts for the console's overview page.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::entity::{audit_event, deprovisioning};
use super::{Outcome, PendingState, Store, StoreError};

impl Store {
    /// How many of the tenant's deprovisioning requests are pending.
    pub async fn count_pending(&self, tenant_id: &str) -> Result<u64, StoreError> {
        Ok(deprovisioning::Entity::find()
            .filter(deprovisioning::Column::TenantId.eq(tenant_id))
            .filter(deprovisioning::Column::State.eq(PendingState::Pending))
            .count(&self.read)
            .await?)
    }

    /// How many of the tenant's audit events with `outcome` happened at or
    /// after `since` (milliseconds).
    pub async fn count_audit_since(
        &self,
        tenant_id: &str,
        outcome: Outcome,
        since: i64,
    ) -> Result<u64, StoreError> {
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::TenantId.eq(tenant_id))
            .filter(audit_event::Column::At.gte(since))
            .filter(audit_event::Column::Outcome.eq(outcome))
            .count(&self.read)
            .await?)
    }

    /// How many of the tenant's users are active admins now (admin,
    /// `active` true, access not suspended).
    pub async fn count_active_admins_now(&self, tenant_id: &str) -> Result<u64, StoreError> {
        Ok(super::users::active_admins(tenant_id)
            .count(&self.read)
            .await?)
    }
}
