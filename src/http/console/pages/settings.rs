//! `/console/settings`: the deprovisioning policy (each with a line that
//! says what it does), the fallback owner, the seat limit, where admin
//! rights come from and how long audit events are kept; saved through
//! the same domain function as `PUT /api/v1/settings`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{
    Chrome, Done, Flash, Section, Session, SignedForm, UserPicker, page_with_status,
};
use super::choice::{Choice, explained};
use super::problem::Problem;
use super::query::PageQuery;
use crate::domain::{Settings, SettingsUpdate};

/// The field of the fallback owner's control.
const FALLBACK_OWNER: &str = "fallback_owner";

/// The policies, each with what it does.
const POLICIES: &[(&str, &str, &str)] = &[
    (
        "block",
        "Block",
        "Refuse the IdP's deactivation or deletion and list what the leaver owns; you reassign it \
         here, and the leaver is suspended meanwhile.",
    ),
    (
        "reassign_to_manager",
        "Reassign to the manager",
        "Move the leaver's numbers, workflows and groups to their manager (as the IdP sends it), \
         if that manager is active; otherwise refuse.",
    ),
    (
        "reassign_to_fallback",
        "Reassign to the fallback owner",
        "Move them to the fallback owner chosen below, if active; otherwise refuse.",
    ),
];

/// Where admin rights come from, each with what it means.
const ADMIN_SOURCES: &[(&str, &str, &str)] = &[
    (
        "idp",
        "The IdP",
        "A user is an admin when the IdP's SCIM roles hold a role whose value is admin.",
    ),
    (
        "scimd",
        "scimd",
        "Admins are granted and removed on the Users page; SCIM roles are stored but change nothing.",
    ),
];

/// The settings form, as typed: what the page shows and posts.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    deprovision_policy: String,
    #[serde(default)]
    fallback_owner: String,
    #[serde(default)]
    seat_limit: String,
    #[serde(default)]
    admin_source: String,
    #[serde(default)]
    audit_retention_days: String,
}

impl From<&Settings> for SettingsForm {
    fn from(settings: &Settings) -> Self {
        SettingsForm {
            deprovision_policy: settings.deprovision_policy.as_str().to_owned(),
            fallback_owner: settings.fallback_owner_id.clone().unwrap_or_default(),
            seat_limit: settings
                .seat_limit
                .map(|limit| limit.to_string())
                .unwrap_or_default(),
            admin_source: settings.admin_source.as_str().to_owned(),
            audit_retention_days: settings.audit_retention_days.to_string(),
        }
    }
}

/// A whole number typed in field `label`; blank is `None`.
fn number(label: &str, text: &str) -> Result<Option<i64>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("{label} must be a whole number, not “{text}”."),
        )
    })
}

impl SettingsForm {
    /// The admin API's update this form asks for.
    fn update(&self) -> Result<SettingsUpdate, Problem> {
        Ok(SettingsUpdate {
            deprovision_policy: self.deprovision_policy.clone(),
            fallback_owner_id: Some(self.fallback_owner.clone()).filter(|id| !id.is_empty()),
            seat_limit: number("The seat limit", &self.seat_limit)?,
            audit_retention_days: number("The audit retention", &self.audit_retention_days)?,
            admin_source: Some(self.admin_source.clone()).filter(|s| !s.is_empty()),
        })
    }
}

/// An option of the fallback owner's `<select>`.
pub struct OwnerOption {
    pub id: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    form: SettingsForm,
    policies: Vec<Choice>,
    admin_sources: Vec<Choice>,
    picker: UserPicker,
    /// The fallback owner's choices: the chosen one first, then the
    /// picker's.
    owners: Vec<OwnerOption>,
    error: Option<Problem>,
}

/// The settings page showing `form`, with the problem of a save if one
/// failed.
async fn settings_page(
    state: &AppState,
    session: &Session,
    flash: Option<Flash>,
    owner_q: Option<&str>,
    form: SettingsForm,
    error: Option<Problem>,
) -> ConsoleResult {
    let domain = &state.domain;
    let picker =
        UserPicker::load(domain, &session.tenant_id, FALLBACK_OWNER, owner_q, None).await?;
    let mut owners = Vec::new();
    if !form.fallback_owner.is_empty()
        && !picker.choices.iter().any(|c| c.id == form.fallback_owner)
    {
        // The chosen owner stays listed whatever the search, even when it
        // is no longer active (the save then says so).
        let label = match domain
            .admin_user(&session.tenant_id, &form.fallback_owner)
            .await
        {
            Ok(user) => match user.display_name {
                Some(display) if display != user.user_name => {
                    format!("{display} ({})", user.user_name)
                }
                Some(_) | None => user.user_name,
            },
            Err(_) => format!("user {}", form.fallback_owner),
        };
        owners.push(OwnerOption {
            id: form.fallback_owner.clone(),
            label,
            selected: true,
        });
    }
    owners.extend(picker.choices.iter().map(|c| OwnerOption {
        id: c.id.clone(),
        label: c.label.clone(),
        selected: c.id == form.fallback_owner,
    }));
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &SettingsPage {
            chrome: Chrome::new(session, Section::Settings, flash),
            policies: explained(POLICIES, &form.deprovision_policy),
            admin_sources: explained(ADMIN_SOURCES, &form.admin_source),
            form,
            picker,
            owners,
            error,
        },
    ))
}

/// The query of the settings page: the fallback owner's search.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    owner_q: Option<String>,
}

/// `GET /console/settings`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
    PageQuery(query): PageQuery<SettingsQuery>,
) -> ConsoleResult {
    let settings = state.domain.tenant_settings(&session.tenant_id).await?;
    let form = SettingsForm::from(&settings);
    settings_page(
        &state,
        &session,
        flash,
        query.owner_q.as_deref(),
        form,
        None,
    )
    .await
}

/// `POST /console/settings`: saves the whole form; a refusal (a switch
/// of the admin source that would leave no admin, a fallback owner who
/// is not active, a value out of range) shows on the page with what was
/// typed.
pub async fn save(
    State(state): State<AppState>,
    SignedForm { session, form }: SignedForm<SettingsForm>,
) -> ConsoleResult {
    let saved = match form.update() {
        Ok(update) => state
            .domain
            .update_settings(&session.principal, update)
            .await
            .map_err(Problem::of),
        Err(problem) => Err(Ok(problem)),
    };
    match saved {
        Ok(_) => Ok(Flash::SettingsSaved.redirect("/console/settings")),
        Err(problem) => {
            let problem = problem?;
            settings_page(&state, &session, None, None, form, Some(problem)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_numbers_are_absent_and_others_must_be_whole() {
        assert_eq!(number("x", " ").ok(), Some(None));
        assert_eq!(number("x", "25").ok(), Some(Some(25)));
        assert!(number("x", "2.5").is_err());
        assert!(number("x", "ten").is_err());
    }

    #[test]
    fn every_policy_and_admin_source_is_explained() {
        for policy in crate::domain::Policy::ALL {
            assert!(
                POLICIES
                    .iter()
                    .any(|(value, _, _)| *value == policy.as_str())
            );
        }
        for source in crate::domain::AdminSource::ALL {
            assert!(
                ADMIN_SOURCES
                    .iter()
                    .any(|(value, _, _)| *value == source.as_str())
            );
        }
    }
}
