//! Bulk reads for the load tool: every user of a tenant at once, which no
//! SCIM request needs.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::entity::user;
use super::{Store, StoreError};

impl Store {
    /// Every user of the tenant as `(id, userName)`, in no particular order.
    pub async fn user_names(&self, tenant_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::UserName)
            .filter(user::Column::TenantId.eq(tenant_id))
            .into_tuple()
            .all(&self.read)
            .await?)
    }
}
