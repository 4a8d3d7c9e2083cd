//! SCIM request bodies and responses.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, SCIM_MEDIA_TYPE};
use crate::domain::Resource;
use scim::ScimError;

/// A JSON request body. Accepts `application/scim+json`, `application/json`
/// or no content type at all, as IdPs send all three; rejections become
/// SCIM errors (413 past the size limit, 400 `invalidSyntax` for bad JSON).
#[derive(Debug)]
pub struct ScimBody(pub Value);

impl FromRequest<AppState> for ScimBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ScimError::status(
                        413,
                        format!(
                            "the request body is larger than this server's limit of {} bytes",
                            state.max_body_bytes
                        ),
                    )
                } else {
                    ScimError::invalid_syntax(format!(
                        "the request body could not be read: {rejection}"
                    ))
                }
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })?;
        Ok(ScimBody(value))
    }
}

/// A SCIM JSON response.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_MEDIA_TYPE),
        )],
        body.to_string(),
    )
        .into_response()
}

/// A single resource, with its `ETag` and, on create, its `Location`.
pub fn resource_response(status: StatusCode, resource: &Resource) -> Response {
    let mut response = scim_json(status, &resource.body);
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&resource.etag()) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&resource.location)
    {
        headers.insert(header::LOCATION, location);
    }
    response
}
