//! The admin API's pending deprovisionings (DESIGN §5): list, read,
//! cancel, and retry under the current policy.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{AdminId, AdminQuery, DEFAULT_LIMIT, Result};
use crate::domain::{DomainError, PendingFilter, PendingState, Principal};

/// The deprovisioning routes, relative to the admin base path.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/deprovisionings", get(list))
        .route("/deprovisionings/{id}", get(read))
        .route("/deprovisionings/{id}/cancel", post(cancel))
        .route("/deprovisionings/{id}/retry", post(retry))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    user_id: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

/// An opaque cursor: the position after the last request of a page.
fn encode_cursor((at, id): (i64, String)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(cursor: &str) -> std::result::Result<(i64, String), DomainError> {
    let invalid =
        || DomainError::invalid("the cursor is not one this server issued; start again without it");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_owned()))
}

async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(query): AdminQuery<ListQuery>,
) -> Result<Json<Value>> {
    let state_filter = match query.state.as_deref() {
        None => None,
        Some(text) => Some(PendingState::from_text(text).ok_or_else(|| {
            DomainError::invalid(format!(
                "unknown state `{text}`; use {}",
                PendingState::choices()
            ))
        })?),
    };
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = PendingFilter {
        state: state_filter,
        user_id: query.user_id.as_deref(),
        after: after.as_ref().map(|(at, id)| (*at, id.as_str())),
    };
    let (page, next) = state
        .domain
        .deprovisionings(
            &who.tenant_id,
            &filter,
            query.limit.unwrap_or(DEFAULT_LIMIT),
        )
        .await?;
    Ok(Json(json!({
        "deprovisionings": page,
        "next_cursor": next.map(encode_cursor),
    })))
}

async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    Ok(Json(json!(
        state.domain.deprovisioning(&who.tenant_id, &id).await?
    )))
}

async fn cancel(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    Ok(Json(json!(
        state.domain.cancel_deprovisioning(&who, &id).await?
    )))
}

async fn retry(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let (request, completed) = state.domain.retry_deprovisioning(&who, &id).await?;
    let mut answer = json!(request);
    answer["completed"] = json!(completed);
    Ok(Json(answer))
}
