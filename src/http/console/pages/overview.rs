//! `/console`: seats, pending deprovisionings (count and the oldest),
//! refusals of the last 7 days, and a warning when the tenant has a
//! single active admin.

use askama::Template;
use axum::extract::State;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{Chrome, Done, Section, Session, page};
use crate::domain::Overview;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    overview: Overview,
}

/// The overview page.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
) -> ConsoleResult {
    let overview = state.domain.overview(&session.tenant_id).await?;
    Ok(page(&OverviewPage {
        chrome: Chrome::new(&session, Section::Overview, flash),
        overview,
    }))
}
