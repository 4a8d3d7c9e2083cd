//! The admin API's user list (DESIGN §5): search by exact `userName`, by
//! a prefix of userName, displayName or an e-mail, by access and admin
//! flag; oldest first, paged by an opaque cursor.

use serde::{Deserialize, Serialize};

use super::admin::UserView;
use super::admin_cursor::{self, AdminCursor};
use super::{Domain, DomainError};
use crate::store::{Access, UserSearch};

/// The query of `GET /users`, as the admin API receives it. Any other
/// parameter is an invalid request.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// `userName`, exactly but for case.
    pub user_name: Option<String>,
    /// The start of `userName`, `displayName` or an e-mail, ignoring case.
    pub q: Option<String>,
    /// `active`, `suspended` or `deactivated`.
    pub access: Option<String>,
    pub admin: Option<bool>,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of users, and the cursor of the next page (`None` on the
/// last).
#[derive(Debug, Clone, Serialize)]
pub struct UserPage {
    pub users: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// A text parameter, with an empty one (a form's blank field) read as
/// absent.
pub(super) fn given(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

impl Domain {
    /// A page of the tenant's users that `query` selects, oldest first.
    pub async fn admin_users(
        &self,
        tenant_id: &str,
        query: UserListQuery,
    ) -> Result<UserPage, DomainError> {
        let limit = admin_cursor::page_size(query.limit)?;
        let access = query
            .access
            .map(|text| super::parse_state::<Access>("access", &text))
            .transpose()?;
        let after = given(query.cursor)
            .map(|text| admin_cursor::decode(&text))
            .transpose()?
            .map(|position| (position.after, position.id));
        let search = UserSearch {
            user_name: given(query.user_name),
            prefix: given(query.q),
            access,
            admin: query.admin,
            after,
        };
        let states = self
            .store
            .search_users(tenant_id, &search, limit + 1)
            .await?;
        let (states, next_cursor) = admin_cursor::split_page(states, limit, |last| AdminCursor {
            after: last.created_at,
            id: last.id.clone(),
        });
        let users = self.user_views(tenant_id, states).await?;
        Ok(UserPage { users, next_cursor })
    }
}
