//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas` (RFC 7644 §4).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::AppState;
use super::body::scim_json;
use super::error::ApiError;
use super::resources::ResourceId;
use crate::domain::{CURSOR_TIMEOUT_SECONDS, MAX_BULK_OPERATIONS};
use scim::ScimError;
use scim::discovery;
use scim::list::{DEFAULT_COUNT, MAX_COUNT, Page, list_response};

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    let base = state.domain.scim_base();
    let limits = discovery::Limits {
        default_page_size: DEFAULT_COUNT,
        max_page_size: MAX_COUNT,
        cursor_timeout_seconds: CURSOR_TIMEOUT_SECONDS,
        bulk_max_operations: MAX_BULK_OPERATIONS,
        bulk_max_payload_size: state.max_body_bytes,
    };
    scim_json(
        StatusCode::OK,
        &discovery::service_provider_config(base, limits),
    )
}

pub async fn resource_types(State(state): State<AppState>) -> Response {
    let base = state.domain.scim_base();
    let all: Vec<Value> = discovery::resource_types(state.domain.schemas())
        .iter()
        .map(|r| discovery::resource_type(base, r))
        .collect();
    scim_json(StatusCode::OK, &whole_list(all))
}

pub async fn resource_type(
    State(state): State<AppState>,
    ResourceId(name): ResourceId,
) -> Result<Response, ApiError> {
    let base = state.domain.scim_base();
    let found = discovery::resource_types(state.domain.schemas())
        .into_iter()
        .find(|r| r.name.eq_ignore_ascii_case(&name))
        .ok_or_else(|| ScimError::not_found(format!("no resource type is called {name}")))?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::resource_type(base, found),
    ))
}

pub async fn schemas(State(state): State<AppState>) -> Response {
    let base = state.domain.scim_base();
    let all: Vec<Value> = state
        .domain
        .schemas()
        .documents()
        .map(|d| discovery::schema_document(base, d))
        .collect();
    scim_json(StatusCode::OK, &whole_list(all))
}

pub async fn schema(
    State(state): State<AppState>,
    ResourceId(urn): ResourceId,
) -> Result<Response, ApiError> {
    let base = state.domain.scim_base();
    let found = state
        .domain
        .schemas()
        .documents()
        .find(|d| {
            d.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(&urn))
        })
        .ok_or_else(|| ScimError::not_found(format!("no schema has id {urn}")))?;
    Ok(scim_json(
        StatusCode::OK,
        &discovery::schema_document(base, found),
    ))
}

/// Discovery lists are never paged (RFC 7644 §4: paging parameters are ignored).
fn whole_list(resources: Vec<Value>) -> Value {
    let page = Page {
        start_index: 1,
        count: resources.len() as u64,
    };
    list_response(resources.len() as u64, page, resources)
}
