//! The user picker: a control that chooses an active user of the tenant
//! without JavaScript. A GET search field (name or e-mail, matched by the
//! admin API's user search) narrows a server-rendered `<select>`; the
//! optional `console.js` filters the listed options as you type.
//!
//! In a template: `{% import "console/macros.html" as ui %}`, then
//! `{% call ui::user_picker_search(picker, "/console/…", "owner_q") %}{% endcall %}`
//! outside the POST form and `{% call ui::user_picker_select(picker, "New
//! owner") %}{% endcall %}` inside it (askama wants the `endcall`); the POST carries the chosen id in the field
//! named by [`UserPicker::select_id`].

use crate::domain::{Domain, DomainError, UserListQuery};

/// Most users the picker lists at once.
pub const PICKER_LIMIT: u64 = 50;

/// One user to choose.
#[derive(Debug, Clone)]
pub struct Choice {
    pub id: String,
    /// "Display Name (userName)", or the userName alone.
    pub label: String,
}

/// The picker's state for one page.
#[derive(Debug, Clone)]
pub struct UserPicker {
    /// The `id` and field name of the `<select>`.
    pub select_id: &'static str,
    /// What was searched for ("" lists the first active users).
    pub query: String,
    pub choices: Vec<Choice>,
    /// Whether more users match than are listed.
    pub more: bool,
}

impl UserPicker {
    /// The active users of tenant `tenant_id` whose userName,
    /// displayName or an e-mail starts with `query` (all of them when it
    /// is empty), but `exclude`, for a `<select>` named `select_id`.
    pub async fn load(
        domain: &Domain,
        tenant_id: &str,
        select_id: &'static str,
        query: Option<&str>,
        exclude: Option<&str>,
    ) -> Result<UserPicker, DomainError> {
        let query = query.map(str::trim).unwrap_or_default().to_owned();
        let page = domain
            .admin_users(
                tenant_id,
                UserListQuery {
                    q: Some(query.clone()).filter(|q| !q.is_empty()),
                    access: Some("active".to_owned()),
                    limit: Some(PICKER_LIMIT + 1),
                    ..UserListQuery::default()
                },
            )
            .await?;
        let mut choices: Vec<Choice> = page
            .users
            .into_iter()
            .filter(|u| u.active && Some(u.id.as_str()) != exclude)
            .map(|u| Choice {
                label: match u
                    .display_name
                    .filter(|d| !d.is_empty() && *d != u.user_name)
                {
                    Some(display) => format!("{display} ({})", u.user_name),
                    None => u.user_name,
                },
                id: u.id,
            })
            .collect();
        let more = choices.len() > usize::try_from(PICKER_LIMIT).unwrap_or(usize::MAX);
        choices.truncate(usize::try_from(PICKER_LIMIT).unwrap_or(usize::MAX));
        Ok(UserPicker {
            select_id,
            query,
            choices,
            more,
        })
    }
}
