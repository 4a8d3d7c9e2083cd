//! The admin API's user search: exact `userName`, a prefix of userName,
//! displayName or an e-mail, access and admin flags, oldest first with a
//! keyset seek on `(created_at, id)`.

use sea_orm::sea_query::{Cond, Condition, LikeExpr, Query as SqlQuery};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{user, user_email};
use super::plan::escape_like;
use super::users::{user_name_is, user_name_key};
use super::{Access, Store, StoreError, UserState};

/// Which users to list; every field narrows the list. userNames are
/// compared by their key, other text lowercased, as the shadow columns
/// store them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSearch {
    /// `userName`, compared by its key (`scim::user_name::key`).
    pub user_name: Option<String>,
    /// The start of `userName`, `displayName` or any e-mail value.
    pub prefix: Option<String>,
    pub access: Option<Access>,
    pub admin: Option<bool>,
    /// The `(created_at, id)` the list starts after.
    pub after: Option<(i64, String)>,
}

impl UserSearch {
    fn condition(&self, tenant_id: &str) -> Condition {
        let mut condition = Cond::all().add(user::Column::TenantId.eq(tenant_id));
        if let Some(name) = &self.user_name {
            condition = condition.add(user_name_is(&user_name_key(name)));
        }
        if let Some(prefix) = &self.prefix {
            // `LIKE 'abc%' ESCAPE '\'`: what the user typed is literal.
            let like = |text: &str| LikeExpr::new(format!("{}%", escape_like(text))).escape('\\');
            let pattern = || like(&prefix.to_lowercase());
            let emails = SqlQuery::select()
                .column(user_email::Column::UserId)
                .from(user_email::Entity)
                .and_where(user_email::Column::TenantId.eq(tenant_id))
                .and_where(user_email::Column::ValueLc.like(pattern()))
                .to_owned();
            condition = condition.add(
                Cond::any()
                    .add(user::Column::UserNameKey.like(like(&user_name_key(prefix))))
                    .add(user::Column::DisplayNameLc.like(pattern()))
                    .add(user::Column::Id.in_subquery(emails)),
            );
        }
        if let Some(access) = self.access {
            condition = condition.add(user::Column::Access.eq(access));
        }
        if let Some(admin) = self.admin {
            condition = condition.add(user::Column::IsAdmin.eq(admin));
        }
        if let Some((created_at, id)) = &self.after {
            condition = condition.add(
                Cond::any()
                    .add(user::Column::CreatedAt.gt(*created_at))
                    .add(
                        Cond::all()
                            .add(user::Column::CreatedAt.eq(*created_at))
                            .add(user::Column::Id.gt(id.as_str())),
                    ),
            );
        }
        condition
    }
}

impl Store {
    /// Up to `limit` of the tenant's users that `search` selects, oldest
    /// first (`created_at`, then `id`).
    pub async fn search_users(
        &self,
        tenant_id: &str,
        search: &UserSearch,
        limit: u64,
    ) -> Result<Vec<UserState>, StoreError> {
        let rows = user::Entity::find()
            .filter(search.condition(tenant_id))
            .order_by_asc(user::Column::CreatedAt)
            .order_by_asc(user::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(UserState::from).collect())
    }
}
