//! `/console/audit`: the tenant's audit log, newest first, filtered by
//! user, outcome, action and time range, and paged by the admin API's
//! cursor.

use askama::Template;
use axum::extract::State;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{Chrome, Done, Section, Session, page_with_status};
use super::choice::{Choice, choices};
use super::problem::Problem;
use super::query::{PageQuery, query_string};
use crate::domain::{Action, AuditEvent, AuditListQuery, Outcome};

/// Events per page.
const EVENTS_PER_PAGE: u64 = 50;

/// The filters of the audit log, as the page's address carries them.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// A userName, or the id of a user (or of any target).
    user: Option<String>,
    outcome: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

/// A time as a person types it, as RFC 3339: RFC 3339 itself, or
/// `YYYY-MM-DD[ HH:MM[:SS]]` (a `T` instead of the space too) read as
/// UTC. Anything else is passed on for the domain to refuse with its own
/// message.
fn instant(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let utc = |at: NaiveDateTime| at.and_utc().to_rfc3339();
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .map(utc)
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .map(utc)
    })
    .or_else(|| Some(text.to_owned()))
}

/// An event as a row of the log.
pub struct EventRow {
    pub event: AuditEvent,
    /// The user's page, for an event about a user who still exists.
    pub user_link: Option<String>,
    /// What the event is about, in words.
    pub target: String,
    /// The id of what the event is about, when it is not a user.
    pub other_id: Option<String>,
}

impl From<AuditEvent> for EventRow {
    fn from(event: AuditEvent) -> Self {
        let (user_link, target, other_id) = match &event.user {
            Some(user) if user.deleted => (None, format!("{} (deleted)", user.user_name), None),
            Some(user) => (
                Some(format!("/console/users/{}", user.id)),
                user.user_name.clone(),
                None,
            ),
            None => (None, event.target_type.to_string(), event.target_id.clone()),
        };
        EventRow {
            event,
            user_link,
            target,
            other_id,
        }
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    user: String,
    outcomes: Vec<Choice>,
    actions: Vec<Choice>,
    since: String,
    until: String,
    rows: Vec<EventRow>,
    /// The next (older) page with the same filters.
    older: Option<String>,
    /// The newest page with the same filters, when this is an older one.
    newest: Option<String>,
    error: Option<Problem>,
}

/// `GET /console/audit`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
    PageQuery(query): PageQuery<AuditQuery>,
) -> ConsoleResult {
    let user = query.user.unwrap_or_default();
    let outcome = query.outcome.unwrap_or_default();
    let action = query.action.unwrap_or_default();
    let since = query.since.unwrap_or_default();
    let until = query.until.unwrap_or_default();
    let cursor = query.cursor.unwrap_or_default();
    let filters = [
        ("user", user.as_str()),
        ("outcome", outcome.as_str()),
        ("action", action.as_str()),
        ("since", since.as_str()),
        ("until", until.as_str()),
    ];
    let domain = &state.domain;
    let listed = match domain
        .user_id_for(&session.tenant_id, Some(user.clone()))
        .await
    {
        Ok(user_id) => {
            let search = AuditListQuery {
                user_id,
                outcome: Some(outcome.clone()),
                action: Some(action.clone()),
                since: instant(&since),
                until: instant(&until),
                limit: Some(EVENTS_PER_PAGE),
                cursor: Some(cursor.clone()),
            };
            domain.audit(&session.tenant_id, search).await
        }
        Err(error) => Err(error),
    };
    let (rows, older, error) = match listed {
        Ok(found) => {
            let older = found.next_cursor.map(|next| {
                let mut pairs = filters.to_vec();
                pairs.push(("cursor", &next));
                query_string("/console/audit", &pairs)
            });
            let rows = found.events.into_iter().map(EventRow::from).collect();
            (rows, older, None)
        }
        Err(error) => (Vec::new(), None, Some(Problem::of(error)?)),
    };
    let mut outcomes = vec![("", "Any")];
    outcomes.extend(Outcome::ALL.iter().map(|o| (o.as_str(), o.as_str())));
    let mut actions = vec![("", "Any")];
    actions.extend(Action::ALL.iter().map(|a| (a.as_str(), a.as_str())));
    let status = error
        .as_ref()
        .map_or(axum::http::StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &AuditPage {
            chrome: Chrome::new(&session, Section::Audit, flash),
            outcomes: choices(&outcomes, &outcome),
            actions: choices(&actions, &action),
            newest: (!cursor.is_empty()).then(|| query_string("/console/audit", &filters)),
            user,
            since,
            until,
            rows,
            older,
            error,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_are_read_as_utc_and_other_text_is_left_for_the_domain() {
        assert_eq!(instant(""), None);
        assert_eq!(
            instant("2026-11-28T09:30:00Z").as_deref(),
            Some("2026-11-28T09:30:00Z")
        );
        assert_eq!(
            instant("2026-11-28 09:30").as_deref(),
            Some("2026-11-28T09:30:00+00:00")
        );
        assert_eq!(
            instant("2026-11-28T09:30").as_deref(),
            Some("2026-11-28T09:30:00+00:00")
        );
        assert_eq!(
            instant("2026-11-28").as_deref(),
            Some("2026-11-28T00:00:00+00:00")
        );
        assert_eq!(instant("yesterday").as_deref(), Some("yesterday"));
    }
}
