//! SCIM request bodies and responses.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::Value;

use super::AppState;
use super::admin::admin_error;
use super::error::{ApiError, SCIM_MEDIA_TYPE};
use crate::domain::Resource;
use scim::ScimError;

/// Least number of bytes of an oversized body read and discarded before
/// its 413 is sent (see [`drain_bound`]).
const MIN_DRAIN_BYTES: usize = 16 * 1024 * 1024;

/// How much of an oversized body is read and discarded so that a client
/// still writing it receives the 413 instead of a reset: four times the
/// limit, at least 16 MiB. Past this the connection is closed.
pub fn drain_bound(limit: usize) -> usize {
    limit.saturating_mul(4).max(MIN_DRAIN_BYTES)
}

/// Why a request body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than the limit; `drained` says whether the whole body was
    /// read (the connection stays usable) or the client was cut off.
    TooLarge { limit: usize, drained: bool },
    /// No part of the body arrived within the body timeout.
    TimedOut(std::time::Duration),
    /// The connection failed while the body was read.
    Broken(String),
}

impl BodyError {
    fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn detail(&self) -> String {
        match self {
            BodyError::TooLarge { limit, .. } => {
                format!("the request body is larger than this server's limit of {limit} bytes")
            }
            BodyError::TimedOut(timeout) => format!(
                "no part of the request body arrived for {} s; send it without pausing",
                timeout.as_secs_f64()
            ),
            BodyError::Broken(error) => format!("the request body could not be read: {error}"),
        }
    }

    /// Closes the connection after the answer unless the body was read.
    fn finish(&self, mut response: Response) -> Response {
        if !matches!(self, BodyError::TooLarge { drained: true, .. }) {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }

    /// The answer under `/scim/v2`: a SCIM error.
    pub fn scim_response(&self) -> Response {
        let error = match self {
            BodyError::Broken(_) => ScimError::invalid_syntax(self.detail()),
            BodyError::TooLarge { .. } | BodyError::TimedOut(_) => {
                ScimError::status(self.status().as_u16(), self.detail())
            }
        };
        self.finish(ApiError::from(error).into_response())
    }

    /// The answer under `/api/v1`: `{"error","detail"}`.
    pub fn admin_response(&self) -> Response {
        let code = match self {
            BodyError::TooLarge { .. } | BodyError::Broken(_) => "invalid_request",
            BodyError::TimedOut(_) => "request_timeout",
        };
        self.finish(admin_error(self.status(), code, self.detail()))
    }
}

/// Reads the body of `request` into memory, at most `max_body_bytes`,
/// each part within `body_timeout`, and returns the request with that
/// body. An oversized body is read to its end and discarded, up to
/// [`drain_bound`], so that the client gets its 413.
pub async fn buffer(request: Request, state: &AppState) -> Result<Request, BodyError> {
    let limit = state.max_body_bytes;
    let too_large = |drained| BodyError::TooLarge { limit, drained };
    let (parts, mut body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > drain_bound(limit) as u64) {
        return Err(too_large(false));
    }
    let mut kept = Vec::new();
    let mut received = 0usize;
    loop {
        let frame = match tokio::time::timeout(state.body_timeout, body.frame()).await {
            Err(_) => return Err(BodyError::TimedOut(state.body_timeout)),
            Ok(None) => break,
            Ok(Some(Err(error))) => return Err(BodyError::Broken(error.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        received = received.saturating_add(data.len());
        if received > drain_bound(limit) {
            return Err(too_large(false));
        }
        if received > limit {
            // Discarded from here on; only the count matters.
            kept = Vec::new();
        } else {
            kept.extend_from_slice(&data);
        }
    }
    if received > limit {
        return Err(too_large(true));
    }
    Ok(Request::from_parts(parts, Body::from(kept)))
}

/// A JSON request body. Accepts `application/scim+json`, `application/json`
/// or no content type at all, as IdPs send all three; rejections become
/// SCIM errors (413 past the size limit, 400 `invalidSyntax` for bad JSON).
#[derive(Debug)]
pub struct ScimBody(pub Value);

impl FromRequest<AppState> for ScimBody {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let request = buffer(request, state)
            .await
            .map_err(|error| error.scim_response())?;
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::from(ScimError::invalid_syntax(format!(
                    "the request body could not be read: {rejection}"
                )))
                .into_response()
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::from(ScimError::invalid_syntax(format!(
                "the request body is not valid JSON: {e}"
            )))
            .into_response()
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
