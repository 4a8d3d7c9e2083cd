//! `/console/deprovisionings/{id}`: one request — the leaver, what the
//! IdP asked and why scimd refused, when, how often, the IdP's last word,
//! every blocker — and what resolves it: "Reassign and finish" under a
//! "New owner", a new owner per blocker, "Make admin" for a last admin,
//! and "Cancel request" (the actions are in `deprovisioning_actions.rs`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::{ConsoleError, ConsoleResult};
use super::super::{Chrome, Done, Flash, Section, Session, UserPicker, page_with_status};
use super::wording;
use crate::domain::{AdminSource, DeprovisioningView, PendingState, Reason, Requested};

/// The `<select>` of "Reassign and finish".
pub const NEW_OWNER: &str = "new_owner";
/// The `<select>` of "Make admin".
pub const NEW_ADMIN: &str = "new_admin";

/// One blocker as the page shows it.
pub struct BlockerRow {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    /// Whether it can be given a new owner here (an asset or a group).
    pub movable: bool,
}

/// The IdP's last word.
pub struct SignalView {
    pub at: String,
    pub text: String,
    pub hint: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console/deprovisioning.html")]
pub struct DetailPage {
    chrome: Chrome,
    request: DeprovisioningView,
    name: String,
    asked: &'static str,
    why: &'static str,
    state: &'static str,
    pending: bool,
    is_delete: bool,
    last_admin: bool,
    /// Whether admins are made in scimd (`admin_source: scimd`).
    scimd_admins: bool,
    signal: Option<SignalView>,
    blockers: Vec<BlockerRow>,
    picker: UserPicker,
    admin_picker: UserPicker,
    /// What went wrong with the last action, shown above the forms.
    error: Option<String>,
}

impl DetailPage {
    fn movable(&self) -> bool {
        self.blockers.iter().any(|b| b.movable)
    }

    fn base(&self) -> String {
        format!("/console/deprovisionings/{}", self.request.id)
    }
}

/// The query of the request's page: the user picker's search.
#[derive(Deserialize, Default)]
pub struct DetailQuery {
    pub owner_q: Option<String>,
}

/// The request `id` of the session's tenant, or the 404 page.
pub async fn request_of(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<DeprovisioningView, ConsoleError> {
    if !super::super::super::plausible_id(id) {
        return Err(ConsoleError::NotFound);
    }
    Ok(state.domain.deprovisioning(&session.tenant_id, id).await?)
}

/// The page of request `id`, with `error` (and `status`) after an action
/// that failed.
pub async fn detail_page(
    state: &AppState,
    session: &Session,
    id: &str,
    (search, flash): (Option<&str>, Option<Flash>),
    error: Option<(StatusCode, String)>,
) -> ConsoleResult {
    let request = request_of(state, session, id).await?;
    let settings = state.domain.tenant_settings(&session.tenant_id).await?;
    let domain = &state.domain;
    let leaver = Some(request.user.id.as_str());
    let picker = UserPicker::load(domain, &session.tenant_id, NEW_OWNER, search, leaver).await?;
    let admin_picker = UserPicker {
        select_id: NEW_ADMIN,
        ..picker.clone()
    };
    let blockers = request
        .blockers
        .iter()
        .map(|b| {
            let text = |key: &str| b[key].as_str().unwrap_or_default().to_owned();
            let kind = text("kind");
            BlockerRow {
                movable: kind != "user",
                kind: wording::kind(&kind),
                id: text("id"),
                name: text("name"),
            }
        })
        .collect();
    let signal = request.last_idp_signal.as_ref().map(|s| {
        let (text, hint) = wording::signal(&s.detail);
        SignalView {
            at: s.at.clone(),
            text,
            hint,
        }
    });
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let detail = DetailPage {
        chrome: Chrome::new(session, Section::Deprovisionings, flash),
        name: wording::person(&request.user),
        asked: wording::asked(request.requested),
        why: wording::why(request.reason),
        state: wording::state(request.state),
        pending: request.state == PendingState::Pending,
        is_delete: request.requested == Requested::Delete,
        last_admin: request.reason == Reason::LastAdmin,
        scimd_admins: settings.admin_source == AdminSource::Scimd,
        signal,
        blockers,
        picker,
        admin_picker,
        error,
        request,
    };
    Ok(page_with_status(status, &detail))
}

/// `GET /console/deprovisionings/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Done(flash): Done,
    Query(query): Query<DetailQuery>,
) -> ConsoleResult<Response> {
    detail_page(
        &state,
        &session,
        &id,
        (query.owner_q.as_deref(), flash),
        None,
    )
    .await
}
