use sea_orm::entity::prelude::*;

use crate::store::states::Access;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub tenant_id: String,
    pub user_name: String,
    /// The userName key (`scim::user_name::key`): uniqueness and filters.
    pub user_name_key: String,
    /// 0, except for the second and later users of a userName key shared
    /// before keys existed (migration 000008): part of the unique index.
    pub user_name_collision: i32,
    pub external_id: Option<String>,
    /// `displayName` as given, for `members.display`.
    pub display_name: Option<String>,
    pub display_name_lc: Option<String>,
    pub active: bool,
    pub is_admin: bool,
    pub access: Access,
    pub document: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
