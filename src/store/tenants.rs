//! Tenants.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::entity::tenant;
use super::{Store, StoreError, Tx, by_key};

/// A tenant.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
}

impl Store {
    /// The tenant called `name`.
    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<TenantRecord>, StoreError> {
        let found = by_key(
            tenant::Entity::find().filter(tenant::Column::Name.eq(name)),
            &self.read,
        )
        .await?;
        Ok(found.map(|t| TenantRecord {
            id: t.id,
            name: t.name,
        }))
    }

    /// How many tenants exist.
    pub async fn tenant_count(&self) -> Result<u64, StoreError> {
        Ok(tenant::Entity::find().count(&self.read).await?)
    }
}

impl Tx {
    /// Creates a tenant.
    pub async fn insert_tenant(&self, id: &str, name: &str, now: i64) -> Result<(), StoreError> {
        tenant::Entity::insert(tenant::ActiveModel {
            id: Set(id.to_owned()),
            name: Set(name.to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(self.conn())
        .await?;
        Ok(())
    }
}
