//! `POST /Bulk` (RFC 7644 §3.7): the domain runs the operations; this
//! renders the BulkResponse, each failure through the same error table as
//! a single request.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::AppState;
use super::body::{ScimBody, scim_json};
use super::error::{ApiError, scim_error_body, scim_error_of};
use crate::domain::{Principal, etag};

/// URN of the BulkResponse message.
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

pub async fn bulk(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ScimBody(body): ScimBody,
) -> Result<Response, ApiError> {
    let outcomes = state.domain.bulk(&who, &body).await?;
    let operations: Vec<Value> = outcomes
        .into_iter()
        .map(|outcome| {
            let mut out = Map::new();
            out.insert("method".into(), json!(outcome.method.as_str()));
            if let Some(bulk_id) = outcome.bulk_id {
                out.insert("bulkId".into(), json!(bulk_id));
            }
            if let Some(version) = outcome.version {
                out.insert("version".into(), json!(etag(version)));
            }
            if let Some(location) = outcome.location {
                out.insert("location".into(), json!(location));
            }
            match outcome.error {
                None => {
                    out.insert("status".into(), json!(outcome.status.to_string()));
                }
                Some(error) => {
                    let error = scim_error_of(error);
                    out.insert("status".into(), json!(error.status.to_string()));
                    out.insert("response".into(), scim_error_body(&error));
                }
            }
            Value::Object(out)
        })
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE], "Operations": operations}),
    ))
}
