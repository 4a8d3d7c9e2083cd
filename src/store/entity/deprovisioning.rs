use sea_orm::entity::prelude::*;

use crate::store::states::{PendingState, Reason, Requested};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deprovisionings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub requested: Requested,
    pub reason: Reason,
    pub state: PendingState,
    pub requested_by: String,
    pub requested_at: i64,
    pub attempts: i64,
    pub blockers: String,
    pub last_idp_signal: Option<String>,
    pub last_idp_signal_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
