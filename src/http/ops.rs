//! Operations endpoints and the middleware that keeps 5xx details private.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::scim_error_response;
use crate::scim::ScimError;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.domain.ready().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database not reachable").into_response()
        }
    }
}

/// Replaces the body of every 500 response (an error, or a caught panic)
/// with a SCIM error that carries only the request id, so clients can
/// quote it and operators can find the logged cause.
pub async fn hide_internal_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    tracing::error!(%request_id, "request failed with an internal error");
    scim_error_response(&ScimError::status(
        status.as_u16(),
        format!("internal error; quote correlation id {request_id} to the service's operators"),
    ))
}
