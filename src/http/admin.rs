//! The admin API (DESIGN §5), under `/api/v1`, for a token with scope
//! `admin`: JSON in and out, errors as `{"error","detail"}` with a fitting
//! status. Every write goes through the same domain functions, and so the
//! same guard, as SCIM.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use scim::ScimType;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::{
    AuditListQuery, DomainError, NewCallRecord, Principal, Reason, Scope, SettingsUpdate,
    UserListQuery,
};

/// Base path of the admin API.
pub const ADMIN_BASE_PATH: &str = "/api/v1";

/// An error leaving an admin handler.
#[derive(Debug)]
pub struct AdminError(pub DomainError);

impl From<DomainError> for AdminError {
    fn from(error: DomainError) -> Self {
        AdminError(error)
    }
}

/// An admin error response: `{"error","detail"}`.
pub fn admin_error(status: StatusCode, error: &str, detail: impl Into<String>) -> Response {
    let body = json!({"error": error, "detail": detail.into()});
    (status, Json(body)).into_response()
}

impl IntoResponse for AdminError {
    /// The one table from domain errors to admin API errors.
    fn into_response(self) -> Response {
        let (status, error, detail) = match self.0 {
            DomainError::Unauthorized => {
                let mut response = admin_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send `Authorization: Bearer <token>` with a scimd admin token",
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scimd admin\""),
                );
                return response;
            }
            error @ DomainError::WrongScope(..) => {
                (StatusCode::FORBIDDEN, "forbidden", error.to_string())
            }
            DomainError::Forbidden(detail) => (StatusCode::FORBIDDEN, "forbidden", detail),
            DomainError::Invalid { scim_type, detail } => (
                StatusCode::BAD_REQUEST,
                scim_type.map_or("invalid_request", ScimType::as_str),
                detail,
            ),
            DomainError::NotFound(detail) => (StatusCode::NOT_FOUND, "not_found", detail),
            DomainError::Taken(detail) => (StatusCode::CONFLICT, "uniqueness", detail),
            DomainError::Conflict(detail) => (StatusCode::CONFLICT, "conflict", detail),
            DomainError::PreconditionFailed(detail) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                detail,
            ),
            DomainError::TooLarge(detail) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", detail)
            }
            DomainError::Refused(refusal) => {
                let error = match refusal.reason {
                    Reason::SeatLimit => "seat_limit",
                    Reason::OwnsAssets | Reason::LastAdmin => "deprovision_blocked",
                };
                let body = json!({
                    "error": error,
                    "detail": refusal.detail,
                    "reason": refusal.reason,
                    "blockers": refusal.blockers,
                    "pending_id": refusal.pending_id,
                    "resolve_url": refusal.resolve_url,
                });
                return (StatusCode::CONFLICT, Json(body)).into_response();
            }
            ref error @ (DomainError::TooManyRequests { .. } | DomainError::Unavailable { .. }) => {
                let (status, kind) = match error {
                    DomainError::TooManyRequests { .. } => {
                        (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
                    }
                    _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                };
                let mut response = admin_error(status, kind, error.to_string());
                if let Some(seconds) = super::error::retry_after_of(error) {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                return response;
            }
            DomainError::Storage(error) => {
                tracing::error!(error = %error, "storage failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error".to_owned(),
                )
            }
        };
        admin_error(status, error, detail)
    }
}

/// A JSON body whose rejection is an admin error. Text may not contain
/// NUL, which PostgreSQL cannot store: both databases refuse it alike.
pub struct AdminJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AdminJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Extracted<Self> {
        let request = super::body::buffer(request, state)
            .await
            .map_err(|error| error.admin_response())?;
        let Json(value) = Json::<Value>::from_request(request, state)
            .await
            .map_err(|rejection| json_rejection(&rejection))?;
        if holds_nul(&value) {
            return Err(nul_rejection());
        }
        serde_json::from_value(value)
            .map(AdminJson)
            .map_err(|error| {
                admin_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    format!("the JSON body does not fit this endpoint: {error}"),
                )
            })
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn nul_rejection() -> Response {
    admin_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "text may not contain NUL characters",
    )
}

/// An id in the path; one scimd cannot have issued is `404` at once.
pub struct AdminId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AdminId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Extracted<Self> {
        let not_found = || admin_error(StatusCode::NOT_FOUND, "not_found", "nothing has this id");
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if super::plausible_id(&id) => Ok(AdminId(id)),
            Ok(_) | Err(_) => Err(not_found()),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> Response {
    admin_error(rejection.status(), "invalid_request", rejection.body_text())
}

/// Query parameters whose rejection is an admin error. Every query type
/// denies unknown fields: DESIGN §5 makes an unknown parameter a 400.
pub struct AdminQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AdminQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Extracted<Self> {
        let query = parts.uri.query().unwrap_or_default();
        if query.contains('\0') || query.to_ascii_lowercase().contains("%00") {
            return Err(nul_rejection());
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(AdminQuery(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> Response {
    admin_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        rejection.body_text(),
    )
}

pub(super) type Result<T> = std::result::Result<T, AdminError>;
type Extracted<T> = std::result::Result<T, Response>;

/// The admin routes, relative to [`ADMIN_BASE_PATH`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list_users))
        .route("/users/name-collisions", get(name_collisions))
        .route("/users/{id}", get(get_user).delete(delete_user))
        .route("/users/{id}/deactivate", post(deactivate))
        .route("/users/{id}/reactivate", post(reactivate))
        .route("/users/{id}/deprovision-check", get(deprovision_check))
        .route("/users/{id}/reassign", post(reassign))
        .route("/users/{id}/admin", axum::routing::put(set_admin))
        .route("/assets", get(list_assets).post(create_asset))
        .route(
            "/assets/{id}",
            get(get_asset).patch(update_asset).delete(delete_asset),
        )
        .route("/groups/{id}/owner", get(group_owner).put(set_group_owner))
        .route("/call-records", get(call_records).post(record_call))
        .route("/audit", get(audit))
        .route("/seats", get(seats))
        .route("/settings", get(settings).put(update_settings))
        .route("/tokens", get(tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .merge(super::admin_deprovisionings::routes())
        .merge(super::admin_webhooks::routes())
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn unknown_endpoint() -> Response {
    admin_error(StatusCode::NOT_FOUND, "not_found", "no such admin endpoint")
}

async fn method_not_allowed() -> Response {
    admin_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not supported on this endpoint",
    )
}

/// The query of a list that takes no parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParameters {}

async fn list_users(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(query): AdminQuery<UserListQuery>,
) -> Result<Json<Value>> {
    let page = state.domain.admin_users(&who.tenant_id, query).await?;
    Ok(Json(json!(page)))
}

async fn name_collisions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>> {
    let collisions = state.domain.user_name_collisions(&who.tenant_id).await?;
    Ok(Json(json!(collisions)))
}

async fn get_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let user = state.domain.admin_user(&who.tenant_id, &id).await?;
    Ok(Json(json!(user)))
}

async fn delete_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<StatusCode> {
    state.domain.delete_user(&who, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deactivate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let user = state.domain.deactivate_user(&who, &id).await?;
    Ok(Json(json!(user)))
}

async fn reactivate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let user = state.domain.reactivate_user(&who, &id).await?;
    Ok(Json(json!(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetAdmin {
    admin: bool,
}

async fn set_admin(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
    AdminJson(body): AdminJson<SetAdmin>,
) -> Result<Json<Value>> {
    let change = state.domain.set_admin(&who, &id, body.admin).await?;
    Ok(Json(json!(change)))
}

async fn deprovision_check(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let check = state.domain.deprovision_check(&who.tenant_id, &id).await?;
    Ok(Json(json!(check)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reassign {
    to_user_id: String,
}

async fn reassign(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
    AdminJson(body): AdminJson<Reassign>,
) -> Result<Json<Value>> {
    let (moved, completed) = state.domain.reassign(&who, &id, &body.to_user_id).await?;
    Ok(Json(json!({ "moved": moved, "completed": completed })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetFilter {
    owner_id: Option<String>,
    kind: Option<String>,
}

async fn list_assets(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(filter): AdminQuery<AssetFilter>,
) -> Result<Json<Value>> {
    let assets = state
        .domain
        .assets(
            &who.tenant_id,
            filter.owner_id.as_deref(),
            filter.kind.as_deref(),
        )
        .await?;
    Ok(Json(json!({ "assets": assets })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAsset {
    kind: String,
    name: String,
    owner_id: String,
}

async fn create_asset(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminJson(body): AdminJson<NewAsset>,
) -> Result<(StatusCode, Json<Value>)> {
    let asset = state
        .domain
        .create_asset(&who, &body.kind, &body.name, &body.owner_id)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(asset))))
}

async fn get_asset(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let asset = state.domain.asset(&who.tenant_id, &id).await?;
    Ok(Json(json!(asset)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetChange {
    name: Option<String>,
    owner_id: Option<String>,
}

async fn update_asset(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
    AdminJson(body): AdminJson<AssetChange>,
) -> Result<Json<Value>> {
    let (asset, completed) = state
        .domain
        .update_asset(&who, &id, body.name.as_deref(), body.owner_id.as_deref())
        .await?;
    let mut answer = json!(asset);
    answer["completed"] = json!(completed);
    Ok(Json(answer))
}

async fn delete_asset(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let completed = state.domain.delete_asset(&who, &id).await?;
    Ok(Json(json!({ "completed": completed })))
}

async fn group_owner(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<Json<Value>> {
    let owner = state.domain.group_owner(&who.tenant_id, &id).await?;
    Ok(Json(json!({ "group_id": id, "owner_id": owner })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupOwner {
    owner_id: Option<String>,
}

async fn set_group_owner(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
    AdminJson(body): AdminJson<GroupOwner>,
) -> Result<Json<Value>> {
    let completed = state
        .domain
        .set_group_owner(&who, &id, body.owner_id.as_deref())
        .await?;
    Ok(Json(
        json!({ "group_id": id, "owner_id": body.owner_id, "completed": completed }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRecordFilter {
    user_id: Option<String>,
    limit: Option<u64>,
}

async fn call_records(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(filter): AdminQuery<CallRecordFilter>,
) -> Result<Json<Value>> {
    let records = state
        .domain
        .call_records(&who.tenant_id, filter.user_id.as_deref(), filter.limit)
        .await?;
    Ok(Json(json!({ "call_records": records })))
}

async fn record_call(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminJson(body): AdminJson<NewCallRecord>,
) -> Result<(StatusCode, Json<Value>)> {
    let record = state.domain.record_call(&who, body).await?;
    Ok((StatusCode::CREATED, Json(json!(record))))
}

async fn audit(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(query): AdminQuery<AuditListQuery>,
) -> Result<Json<Value>> {
    let page = state.domain.audit(&who.tenant_id, query).await?;
    Ok(Json(json!(page)))
}

async fn seats(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>> {
    let seats = state.domain.seats(&who.tenant_id).await?;
    Ok(Json(json!(seats)))
}

async fn settings(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>> {
    let settings = state.domain.tenant_settings(&who.tenant_id).await?;
    Ok(Json(json!(settings)))
}

async fn update_settings(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminJson(body): AdminJson<SettingsUpdate>,
) -> Result<Json<Value>> {
    let settings = state.domain.update_settings(&who, body).await?;
    Ok(Json(json!(settings)))
}

async fn tokens(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminQuery(NoParameters {}): AdminQuery<NoParameters>,
) -> Result<Json<Value>> {
    let tokens = state.domain.tenant_tokens(&who.tenant_id).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    label: String,
    scope: String,
    user_id: Option<String>,
}

async fn create_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminJson(body): AdminJson<NewToken>,
) -> Result<(StatusCode, Json<Value>)> {
    let scope: Scope = body.scope.parse()?;
    let (summary, secret) = state
        .domain
        .issue_token(&who, scope, &body.label, body.user_id.as_deref())
        .await?;
    let mut created = json!(summary);
    created["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(created)))
}

async fn revoke_token(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    AdminId(id): AdminId,
) -> Result<StatusCode> {
    state.domain.revoke_tenant_token(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
