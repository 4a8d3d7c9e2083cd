//! `/Users` and `/Groups`: extract, call the domain, answer in SCIM.

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::AppState;
use super::body::{ScimBody, resource_response, scim_json};
use super::error::ApiError;
use super::params::ListParams;
use crate::domain::Principal;

type Pairs = Query<Vec<(String, String)>>;

pub async fn list_users(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let params = ListParams::from_pairs(pairs)?;
    let list = state
        .domain
        .list_users(&who.tenant_id, params.filter.as_deref(), params.page())
        .await?;
    Ok(scim_json(StatusCode::OK, &list))
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let user = state.domain.create_user(&who.tenant_id, &body).await?;
    Ok(resource_response(StatusCode::CREATED, &user))
}

pub async fn get_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.domain.user(&who.tenant_id, &id).await?;
    Ok(resource_response(StatusCode::OK, &user))
}

pub async fn replace_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let user = state
        .domain
        .replace_user(&who.tenant_id, &id, &body)
        .await?;
    Ok(resource_response(StatusCode::OK, &user))
}

pub async fn delete_user(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.domain.delete_user(&who.tenant_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_groups(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(pairs): Pairs,
) -> Result<Response, ApiError> {
    let params = ListParams::from_pairs(pairs)?;
    let list = state
        .domain
        .list_groups(
            &who.tenant_id,
            params.filter.as_deref(),
            params.page(),
            !params.excludes("members"),
        )
        .await?;
    Ok(scim_json(StatusCode::OK, &list))
}

pub async fn create_group(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let group = state.domain.create_group(&who.tenant_id, &body).await?;
    Ok(resource_response(StatusCode::CREATED, &group))
}

pub async fn get_group(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let group = state.domain.group(&who.tenant_id, &id).await?;
    Ok(resource_response(StatusCode::OK, &group))
}

pub async fn replace_group(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let group = state
        .domain
        .replace_group(&who.tenant_id, &id, &body)
        .await?;
    Ok(resource_response(StatusCode::OK, &group))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.domain.delete_group(&who.tenant_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
