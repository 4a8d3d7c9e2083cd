//! Seeding large tenants for the load tool (`scimd-bench`): what no SCIM
//! request may do, such as a group of 50,000 members in one step (a
//! request's multi-valued attributes are bounded).

use super::{Domain, DomainError};

impl Domain {
    /// The id of the tenant called `name`, if there is one.
    pub async fn find_tenant(&self, name: &str) -> Result<Option<String>, DomainError> {
        Ok(self.store.tenant_by_name(name).await?.map(|t| t.id))
    }

    /// Every user of the tenant as `(id, userName)`, in no particular order.
    pub async fn user_names(&self, tenant_id: &str) -> Result<Vec<(String, String)>, DomainError> {
        Ok(self.store.user_names(tenant_id).await?)
    }

    /// Adds users to a group in one transaction, in bounded batches,
    /// without the bound a request's `members` has; returns how many were
    /// new. Every id must be a user or group of the tenant. The group's
    /// version is not bumped: this is for seeding a group no client has
    /// seen yet.
    pub async fn import_members(
        &self,
        tenant_id: &str,
        group_id: &str,
        member_ids: &[String],
    ) -> Result<u64, DomainError> {
        let tx = self.store.begin().await?;
        if tx.group_for_update(tenant_id, group_id).await?.is_none() {
            return Err(DomainError::NotFound(format!("no group has id {group_id}")));
        }
        let ids: Vec<&str> = member_ids.iter().map(String::as_str).collect();
        let members = tx.resolve_members(tenant_id, &ids).await?;
        if members.len() != ids.len() {
            return Err(DomainError::invalid(format!(
                "{} of the {} member ids are not users or groups of this tenant",
                ids.len() - members.len(),
                ids.len()
            )));
        }
        let added = tx.add_members(tenant_id, group_id, &members).await?;
        tx.commit().await?;
        Ok(added)
    }
}
