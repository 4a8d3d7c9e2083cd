use sea_orm::entity::prelude::*;

use crate::store::states::{AdminSource, Policy};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub deprovision_policy: Policy,
    pub fallback_owner_id: Option<String>,
    pub seat_limit: Option<i64>,
    pub audit_retention_days: i32,
    pub admin_source: AdminSource,
    /// Raised by every write that holds the tenant's lock alone, on
    /// PostgreSQL (`Tx::lock_tenant`).
    pub write_generation: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
