//! The actions of a request's page, each a form that posts and redirects
//! back with a fixed message, through the same domain functions as the
//! admin API: "Reassign and finish" (`POST /users/{id}/reassign`; a delete
//! request asks for confirmation first), a new owner per blocker (`PATCH
//! /assets/{id}`, `PUT /groups/{id}/owner`), "Make admin" (`PUT
//! /users/{id}/admin`) and "Cancel request" (`POST
//! /deprovisionings/{id}/cancel`). A refusal or a mistake shows the
//! request's page again with the domain's own words.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::{ConsoleError, ConsoleResult};
use super::super::{Chrome, Flash, Section, Session, SignedForm, page};
use super::deprovisioning::{detail_page, request_of};
use super::wording;
use crate::domain::{BlockerKind, DomainError, PendingState, Requested};

/// What went wrong, for the page: a refusal or a mistake is shown on the
/// request's page; anything else is the error page.
fn shown(error: DomainError) -> Result<(StatusCode, String), ConsoleError> {
    match error {
        DomainError::Refused(refusal) => Ok((StatusCode::CONFLICT, refusal.detail)),
        DomainError::Conflict(detail) | DomainError::Taken(detail) => {
            Ok((StatusCode::CONFLICT, detail))
        }
        DomainError::Invalid { detail, .. } | DomainError::NotFound(detail) => {
            Ok((StatusCode::BAD_REQUEST, detail))
        }
        DomainError::Forbidden(detail) => Ok((StatusCode::FORBIDDEN, detail)),
        other => Err(other.into()),
    }
}

/// The request's page again, showing `error`.
async fn again(
    state: &AppState,
    session: &Session,
    id: &str,
    error: (StatusCode, String),
) -> ConsoleResult {
    detail_page(state, session, id, (None, None), Some(error)).await
}

/// The request's page with a fixed message.
fn back_to(id: &str, flash: Flash) -> axum::response::Response {
    flash.redirect(&format!("/console/deprovisionings/{id}"))
}

/// Refuses an action on a request that is no longer pending.
async fn require_pending(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<Result<crate::domain::DeprovisioningView, (StatusCode, String)>, ConsoleError> {
    let request = request_of(state, session, id).await?;
    if request.state != PendingState::Pending {
        let message = format!(
            "This request is already {}; there is nothing left to do.",
            wording::state(request.state).to_lowercase()
        );
        return Ok(Err((StatusCode::CONFLICT, message)));
    }
    Ok(Ok(request))
}

#[derive(Deserialize)]
pub struct ReassignForm {
    #[serde(default)]
    new_owner: String,
    #[serde(default)]
    confirmed: String,
}

#[derive(Template)]
#[template(path = "console/deprovisioning_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    id: String,
    name: String,
    new_owner_id: String,
    new_owner: String,
    owned: usize,
}

/// `POST /console/deprovisionings/{id}/reassign`: "Reassign and finish".
pub async fn reassign(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session, form }: SignedForm<ReassignForm>,
) -> ConsoleResult {
    let request = match require_pending(&state, &session, &id).await? {
        Ok(request) => request,
        Err(error) => return again(&state, &session, &id, error).await,
    };
    let new_owner = form.new_owner.trim();
    if new_owner.is_empty() || !super::super::super::plausible_id(new_owner) {
        let error = (
            StatusCode::BAD_REQUEST,
            "Choose the new owner under \u{201c}New owner\u{201d} first.".to_owned(),
        );
        return again(&state, &session, &id, error).await;
    }
    if request.requested == Requested::Delete && form.confirmed != "yes" {
        let heir = match state.domain.admin_user(&session.tenant_id, new_owner).await {
            Ok(heir) => heir,
            Err(error) => return again(&state, &session, &id, shown(error)?).await,
        };
        let new_owner_label = match heir.display_name.filter(|d| !d.is_empty()) {
            Some(display) => format!("{display} ({})", heir.user_name),
            None => heir.user_name,
        };
        return Ok(page(&ConfirmPage {
            chrome: Chrome::new(&session, Section::Deprovisionings, None),
            name: wording::person(&request.user),
            owned: request.blockers.len(),
            id,
            new_owner_id: heir.id,
            new_owner: new_owner_label,
        }));
    }
    match state
        .domain
        .reassign(&session.principal, &request.user.id, new_owner)
        .await
    {
        Ok(_) => Ok(back_to(
            &id,
            finished_or(&state, &session, &id, Flash::Reassigned).await?,
        )),
        Err(error) => again(&state, &session, &id, shown(error)?).await,
    }
}

/// [`Flash::Finished`] when request `id` is no longer pending, else
/// `otherwise`.
async fn finished_or(
    state: &AppState,
    session: &Session,
    id: &str,
    otherwise: Flash,
) -> Result<Flash, ConsoleError> {
    let request = request_of(state, session, id).await?;
    Ok(match request.state {
        PendingState::Completed => Flash::Finished,
        PendingState::Pending | PendingState::Cancelled => otherwise,
    })
}

#[derive(Deserialize)]
pub struct OwnerForm {
    #[serde(default)]
    owner: String,
}

/// `POST /console/deprovisionings/{id}/blockers/{blocker}/owner`: one
/// asset or group gets a new owner.
pub async fn move_blocker(
    State(state): State<AppState>,
    Path((id, blocker)): Path<(String, String)>,
    SignedForm { session, form }: SignedForm<OwnerForm>,
) -> ConsoleResult {
    let request = match require_pending(&state, &session, &id).await? {
        Ok(request) => request,
        Err(error) => return again(&state, &session, &id, error).await,
    };
    let kind = request
        .blockers
        .iter()
        .find(|b| b["id"].as_str() == Some(blocker.as_str()))
        .and_then(|b| b["kind"].as_str())
        .and_then(BlockerKind::from_text)
        .ok_or(ConsoleError::NotFound)?;
    let owner = form.owner.trim();
    if owner.is_empty() || !super::super::super::plausible_id(owner) {
        let error = (
            StatusCode::BAD_REQUEST,
            "Choose a new owner first.".to_owned(),
        );
        return again(&state, &session, &id, error).await;
    }
    let who = &session.principal;
    let moved = match kind {
        BlockerKind::Number | BlockerKind::Workflow => state
            .domain
            .update_asset(who, &blocker, None, Some(owner))
            .await
            .map(|_| ()),
        BlockerKind::Group => state
            .domain
            .set_group_owner(who, &blocker, Some(owner))
            .await
            .map(|_| ()),
        BlockerKind::User => return Err(ConsoleError::NotFound),
    };
    match moved {
        Ok(()) => Ok(back_to(
            &id,
            finished_or(&state, &session, &id, Flash::Moved).await?,
        )),
        Err(error) => again(&state, &session, &id, shown(error)?).await,
    }
}

#[derive(Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    new_admin: String,
}

/// `POST /console/deprovisionings/{id}/make-admin`: another user becomes
/// an admin (with `admin_source: scimd`), which lets a last admin go.
pub async fn make_admin(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session, form }: SignedForm<AdminForm>,
) -> ConsoleResult {
    if let Err(error) = require_pending(&state, &session, &id).await? {
        return again(&state, &session, &id, error).await;
    }
    let new_admin = form.new_admin.trim();
    if new_admin.is_empty() || !super::super::super::plausible_id(new_admin) {
        let error = (
            StatusCode::BAD_REQUEST,
            "Choose the user to make an admin first.".to_owned(),
        );
        return again(&state, &session, &id, error).await;
    }
    match state
        .domain
        .set_admin(&session.principal, new_admin, true)
        .await
    {
        Ok(_) => Ok(back_to(
            &id,
            finished_or(&state, &session, &id, Flash::MadeAdmin).await?,
        )),
        Err(error) => again(&state, &session, &id, shown(error)?).await,
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /console/deprovisionings/{id}/cancel`: the leaver stays.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    request_of(&state, &session, &id).await?;
    match state
        .domain
        .cancel_deprovisioning(&session.principal, &id)
        .await
    {
        Ok(_) => Ok(back_to(&id, Flash::Cancelled)),
        Err(error) => again(&state, &session, &id, shown(error)?).await,
    }
}
