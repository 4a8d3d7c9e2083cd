//! `/console/deprovisionings`: the pending (or finished, or cancelled)
//! deprovisioning requests, oldest first, a page at a time.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{Chrome, Done, Section, Session, page};
use super::wording;
use crate::domain::{DeprovisioningView, PendingState};

/// Requests listed per page.
const PAGE_SIZE: u64 = 50;

/// One request as the list shows it.
pub struct Row {
    pub id: String,
    /// The leaver's display name, else userName.
    pub name: String,
    pub user_name: String,
    pub asked: &'static str,
    pub why: &'static str,
    pub requested_at: String,
    pub attempts: i64,
    pub blockers: usize,
}

impl From<DeprovisioningView> for Row {
    fn from(r: DeprovisioningView) -> Self {
        Row {
            name: wording::person(&r.user),
            user_name: r.user.user_name,
            asked: wording::asked(r.requested),
            why: wording::why_short(r.reason),
            requested_at: r.requested_at,
            attempts: r.attempts,
            blockers: r.blockers.len(),
            id: r.id,
        }
    }
}

/// A link to another state's list.
pub struct StateLink {
    pub state: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/deprovisionings.html")]
struct ListPage {
    chrome: Chrome,
    state: PendingState,
    states: Vec<StateLink>,
    rows: Vec<Row>,
    /// The query string of the next page, if any.
    next: Option<String>,
}

impl ListPage {
    fn state_label(&self) -> &'static str {
        wording::state(self.state)
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    cursor: Option<String>,
}

/// The list page.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
    Query(query): Query<ListQuery>,
) -> ConsoleResult {
    let shown = match query.state.as_deref() {
        Some("completed") => PendingState::Completed,
        Some("cancelled") => PendingState::Cancelled,
        _ => PendingState::Pending,
    };
    let cursor = query.cursor.filter(|c| !c.is_empty());
    let (views, next) = state
        .domain
        .deprovisionings(
            &session.tenant_id,
            (Some(shown.as_str()), None),
            Some(PAGE_SIZE),
            cursor.as_deref(),
        )
        .await?;
    let next = next.map(|cursor| {
        serde_urlencoded::to_string([("state", shown.as_str()), ("cursor", cursor.as_str())])
            .unwrap_or_default()
    });
    let states = [
        PendingState::Pending,
        PendingState::Completed,
        PendingState::Cancelled,
    ]
    .into_iter()
    .map(|s| StateLink {
        state: s.as_str(),
        label: wording::state(s),
        current: s == shown,
    })
    .collect();
    Ok(page(&ListPage {
        chrome: Chrome::new(&session, Section::Deprovisionings, flash),
        state: shown,
        states,
        rows: views.into_iter().map(Row::from).collect(),
        next,
    }))
}
