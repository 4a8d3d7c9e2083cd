//! The admin API's webhook endpoints (DESIGN §5): register, list, remove,
//! ping, rotate the secret, and the deliveries with a manual retry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::admin::{AdminError, AdminId, AdminJson, admin_error};
use crate::domain::Principal;

type Result<T> = std::result::Result<T, AdminError>;

/// The webhook routes, relative to the admin base path.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", axum::routing::delete(remove))
        .route("/webhooks/{id}/ping", post(ping))
        .route("/webhooks/{id}/rotate-secret", post(rotate))
        .route("/webhooks/{id}/deliveries", get(deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/retry", post(retry))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminJson(body): AdminJson<NewWebhook>,
) -> Result<(StatusCode, Json<Value>)> {
    let (webhook, secret) = state
        .domain
        .create_webhook(&who, &body.url, &body.events)
        .await?;
    let mut created = json!(webhook);
    created["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(created)))
}

async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>> {
    let webhooks = state.domain.webhooks(&who.tenant_id).await?;
    Ok(Json(json!({ "webhooks": webhooks })))
}

async fn remove(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<StatusCode> {
    state.domain.delete_webhook(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ping(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<(StatusCode, Json<Value>)> {
    let event_id = state.domain.ping_webhook(&who, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "event_id": event_id }))))
}

async fn rotate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let secret = state.domain.rotate_webhook_secret(&who, &id).await?;
    Ok(Json(json!({ "id": id, "secret": secret })))
}

async fn deliveries(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let deliveries = state.domain.webhook_deliveries(&who.tenant_id, &id).await?;
    Ok(Json(json!({ "deliveries": deliveries })))
}

async fn retry(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> std::result::Result<StatusCode, Response> {
    if !super::plausible_id(&id) || !super::plausible_id(&delivery_id) {
        return Err(admin_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "nothing has this id",
        ));
    }
    state
        .domain
        .retry_delivery(&who, &id, &delivery_id)
        .await
        .map_err(|e| axum::response::IntoResponse::into_response(AdminError(e)))?;
    Ok(StatusCode::ACCEPTED)
}
