//! One user as the console's user page shows it: its view in the admin
//! API, each thing it owns, the groups it belongs to, and its pending
//! deprovisioning request, if any.

use serde::Serialize;

use super::admin::UserView;
use super::admin_search::given;
use super::guard::Blocker;
use super::pending::DeprovisioningView;
use super::{Domain, DomainError, UserListQuery};

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

/// A user with everything it owns and belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct UserProfile {
    pub user: UserView,
    /// Numbers, workflows, then groups, each by name.
    pub owned: Vec<Blocker>,
    /// The groups that contain the user directly, by name.
    pub groups: Vec<GroupRef>,
    /// The user's pending deprovisioning request, if one waits.
    pub pending: Option<DeprovisioningView>,
}

impl Domain {
    /// The user `id` of the tenant, with what it owns, its groups and its
    /// pending request.
    pub async fn user_profile(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<UserProfile, DomainError> {
        let user = self.admin_user(tenant_id, id).await?;
        let owned = self.store.owned(tenant_id, id).await?;
        let groups = self.store.groups_of(tenant_id, id).await?;
        let (pending, _) = self
            .deprovisionings(tenant_id, (Some("pending"), Some(id)), Some(1), None)
            .await?;
        Ok(UserProfile {
            user,
            owned: owned.into_iter().map(Blocker::from).collect(),
            groups: groups
                .into_iter()
                .map(|m| GroupRef {
                    id: m.group_id,
                    display_name: m.group_display_name,
                })
                .collect(),
            pending: pending.into_iter().next(),
        })
    }

    /// The id a person means by `text` in a filter: the id of the user
    /// whose `userName` it is (exactly but for case), else `text` itself
    /// (an id, perhaps of a user since deleted). `None` when blank.
    pub async fn user_id_for(
        &self,
        tenant_id: &str,
        text: Option<String>,
    ) -> Result<Option<String>, DomainError> {
        let Some(text) = given(text.map(|t| t.trim().to_owned())) else {
            return Ok(None);
        };
        let found = self
            .admin_users(
                tenant_id,
                UserListQuery {
                    user_name: Some(text.clone()),
                    limit: Some(1),
                    ..UserListQuery::default()
                },
            )
            .await?;
        Ok(Some(
            found.users.into_iter().next().map_or(text, |user| user.id),
        ))
    }
}
