//! `/console/users`: search the tenant's users (name, e-mail, status),
//! and one page per user (`/console/users/{id}`) with its status, what it
//! owns, its groups and its audit trail, and the admin API's actions on
//! it: deactivate, reactivate, reassign everything to a new owner, and,
//! with `admin_source: scimd`, grant or remove admin.

use askama::Template;
use axum::extract::State;
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{
    Chrome, Done, Flash, Section, Session, SignedForm, UserPicker, page_with_status,
};
use super::choice::{Choice, choices};
use super::problem::Problem;
use super::query::{NoFields, PageId, PageQuery, query_string};
use crate::domain::{
    Access, AdminSource, AuditEvent, AuditListQuery, UserListQuery, UserProfile, UserView,
};

/// Users listed per page.
const USERS_PER_PAGE: u64 = 50;
/// Audit events on a user's page; the audit log has the rest.
const TRAIL_EVENTS: u64 = 10;
/// The field of the "New owner" control.
const NEW_OWNER: &str = "new_owner";

/// The search of the user list, as the page's address carries it.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    /// The start of a userName, displayName or e-mail.
    q: Option<String>,
    /// `active`, `suspended`, `deactivated`, or empty for any.
    access: Option<String>,
    /// `yes`, `no`, or empty for any.
    admin: Option<String>,
    cursor: Option<String>,
}

/// How a user's access reads on the page.
fn status_of(user: &UserView) -> &'static str {
    match user.access {
        Access::Active => "active",
        Access::Suspended => "suspended (deprovisioning pending)",
        Access::Deactivated => "deactivated",
    }
}

/// A user as a row of the list.
pub struct UserRow {
    pub user: UserView,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    access: Vec<Choice>,
    admin: Vec<Choice>,
    rows: Vec<UserRow>,
    /// The next page, with the same search.
    next: Option<String>,
    /// The first page of the same search, when this is a later one.
    first: Option<String>,
    error: Option<Problem>,
}

/// `GET /console/users`: the search and one page of its results.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
    PageQuery(query): PageQuery<UsersQuery>,
) -> ConsoleResult {
    let q = query.q.unwrap_or_default();
    let access = query.access.unwrap_or_default();
    let admin = query.admin.unwrap_or_default();
    let cursor = query.cursor.unwrap_or_default();
    let search = UserListQuery {
        q: Some(q.trim().to_owned()),
        access: Some(access.clone()).filter(|a| !a.is_empty()),
        admin: match admin.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        limit: Some(USERS_PER_PAGE),
        cursor: Some(cursor.clone()),
        user_name: None,
    };
    let (rows, next, error) = match state.domain.admin_users(&session.tenant_id, search).await {
        Ok(found) => {
            let next = found.next_cursor.map(|next| {
                query_string(
                    "/console/users",
                    &[
                        ("q", &q),
                        ("access", &access),
                        ("admin", &admin),
                        ("cursor", &next),
                    ],
                )
            });
            let rows = found
                .users
                .into_iter()
                .map(|user| UserRow {
                    status: status_of(&user),
                    user,
                })
                .collect();
            (rows, next, None)
        }
        Err(error) => (Vec::new(), None, Some(Problem::of(error)?)),
    };
    let status = error
        .as_ref()
        .map_or(axum::http::StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &UsersPage {
            chrome: Chrome::new(&session, Section::Users, flash),
            access: choices(
                &[
                    ("", "Any"),
                    ("active", "Active"),
                    ("suspended", "Suspended"),
                    ("deactivated", "Deactivated"),
                ],
                &access,
            ),
            admin: choices(
                &[("", "Any"), ("yes", "Admins"), ("no", "Not admins")],
                &admin,
            ),
            first: (!cursor.is_empty()).then(|| {
                query_string(
                    "/console/users",
                    &[("q", &q), ("access", &access), ("admin", &admin)],
                )
            }),
            q,
            rows,
            next,
            error,
        },
    ))
}

/// The query of a user's page: the "New owner" control's search.
#[derive(Debug, Default, Deserialize)]
pub struct UserQuery {
    owner_q: Option<String>,
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: Chrome,
    profile: UserProfile,
    status: &'static str,
    /// Whether "Reactivate" applies: the user is deactivated or
    /// suspended.
    can_reactivate: bool,
    /// Whether admin rights are granted here (`admin_source: scimd`).
    admin_here: bool,
    trail: Vec<AuditEvent>,
    /// Whether the trail has more than is shown.
    more_trail: bool,
    picker: UserPicker,
    error: Option<Problem>,
}

/// Renders user `id`'s page, with the problem of a form if one failed.
async fn user_page(
    state: &AppState,
    session: &Session,
    id: &str,
    flash: Option<Flash>,
    owner_q: Option<&str>,
    error: Option<Problem>,
) -> ConsoleResult {
    let domain = &state.domain;
    let tenant_id = &session.tenant_id;
    let profile = domain.user_profile(tenant_id, id).await?;
    let settings = domain.tenant_settings(tenant_id).await?;
    let trail = domain
        .audit(
            tenant_id,
            AuditListQuery {
                user_id: Some(id.to_owned()),
                limit: Some(TRAIL_EVENTS),
                ..AuditListQuery::default()
            },
        )
        .await?;
    let picker = UserPicker::load(domain, tenant_id, NEW_OWNER, owner_q, Some(id)).await?;
    let status = error
        .as_ref()
        .map_or(axum::http::StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &UserPage {
            chrome: Chrome::new(session, Section::Users, flash),
            status: status_of(&profile.user),
            can_reactivate: profile.user.access != Access::Active,
            profile,
            admin_here: settings.admin_source == AdminSource::Scimd,
            more_trail: trail.next_cursor.is_some(),
            trail: trail.events,
            picker,
            error,
        },
    ))
}

/// `GET /console/users/{id}`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
    PageId(id): PageId,
    PageQuery(query): PageQuery<UserQuery>,
) -> ConsoleResult {
    user_page(&state, &session, &id, flash, query.owner_q.as_deref(), None).await
}

/// Where a user's page is.
fn user_path(id: &str) -> String {
    format!("/console/users/{id}")
}

/// `POST /console/users/{id}/deactivate`: through the guard, as an IdP's
/// deactivation; a refusal is shown on the user's page.
pub async fn deactivate(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    match state.domain.deactivate_user(&session.principal, &id).await {
        Ok(_) => Ok(Flash::Deactivated.redirect(&user_path(&id))),
        Err(error) => {
            let problem = Problem::of(error)?;
            user_page(&state, &session, &id, None, None, Some(problem)).await
        }
    }
}

/// `POST /console/users/{id}/reactivate`: gives access back (or lifts a
/// suspension); the seat limit applies.
pub async fn reactivate(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    match state.domain.reactivate_user(&session.principal, &id).await {
        Ok(_) => Ok(Flash::Reactivated.redirect(&user_path(&id))),
        Err(error) => {
            let problem = Problem::of(error)?;
            user_page(&state, &session, &id, None, None, Some(problem)).await
        }
    }
}

/// The "Reassign" form: the new owner's id.
#[derive(Debug, Deserialize)]
pub struct ReassignForm {
    #[serde(default)]
    new_owner: String,
}

/// `POST /console/users/{id}/reassign`: moves everything the user owns
/// to the chosen user, finishing a pending deprovisioning it unblocks.
pub async fn reassign(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, form }: SignedForm<ReassignForm>,
) -> ConsoleResult {
    let problem = if form.new_owner.is_empty() {
        Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Choose the new owner first.",
        )
    } else {
        match state
            .domain
            .reassign(&session.principal, &id, &form.new_owner)
            .await
        {
            Ok((_, Some(_))) => return Ok(Flash::Finished.redirect(&user_path(&id))),
            Ok((_, None)) => return Ok(Flash::UserReassigned.redirect(&user_path(&id))),
            Err(error) => Problem::of(error)?,
        }
    };
    user_page(&state, &session, &id, None, None, Some(problem)).await
}

/// The admin form: `true` to grant, `false` to remove.
#[derive(Debug, Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    admin: String,
}

/// `POST /console/users/{id}/admin`: grants or removes admin rights in
/// scimd (only with `admin_source: scimd`; the last-admin rule applies).
pub async fn set_admin(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, form }: SignedForm<AdminForm>,
) -> ConsoleResult {
    let grant = form.admin == "true";
    match state.domain.set_admin(&session.principal, &id, grant).await {
        Ok(_) if grant => Ok(Flash::MadeAdmin.redirect(&user_path(&id))),
        Ok(_) => Ok(Flash::AdminRemoved.redirect(&user_path(&id))),
        Err(error) => {
            let problem = Problem::of(error)?;
            user_page(&state, &session, &id, None, None, Some(problem)).await
        }
    }
}
