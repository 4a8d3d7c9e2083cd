//! The admin API's pending deprovisionings (DESIGN §5): list, read,
//! cancel, and retry under the current policy.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{AdminId, AdminQuery, Result};
use crate::domain::Principal;

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

async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(query): AdminQuery<ListQuery>,
) -> Result<Json<Value>> {
    let user_id = query.user_id.as_deref().filter(|u| !u.is_empty());
    let (page, next) = state
        .domain
        .deprovisionings(
            &who.tenant_id,
            (query.state.as_deref(), user_id),
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(
        json!({ "deprovisionings": page, "next_cursor": next }),
    ))
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
