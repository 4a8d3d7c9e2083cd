//! Operations endpoints and the middleware that keeps 5xx details private.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::admin::{ADMIN_BASE_PATH, admin_error};
use super::error::scim_error_response;
use scim::ScimError;

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
/// with an error that carries only the request id, so clients can quote it
/// and operators can find the logged cause: a SCIM error, under the admin
/// API its `{"error","detail"}`, under the console its 500 page.
pub async fn hide_internal_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let admin = request.uri().path().starts_with(ADMIN_BASE_PATH);
    let console = super::console::is_console_path(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    tracing::error!(%request_id, "request failed with an internal error");
    if console {
        return super::console::internal_error_page(Some(&request_id));
    }
    let detail =
        format!("internal error; quote correlation id {request_id} to the service's operators");
    if admin {
        return admin_error(status, "internal", detail);
    }
    scim_error_response(&ScimError::status(status.as_u16(), detail))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::middleware;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn body_of(path: &str) -> serde_json::Value {
        let boom = || async { StatusCode::INTERNAL_SERVER_ERROR };
        let app = Router::new()
            .route("/api/v1/boom", get(boom))
            .route("/scim/v2/boom", get(boom))
            .layer(middleware::from_fn(hide_internal_errors));
        let request = Request::builder()
            .uri(path)
            .header("x-request-id", "r-1")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = to_bytes(response.into_body(), 1 << 16).await.expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn internal_errors_under_the_console_are_its_html_page_with_the_request_id() {
        let boom = || async { StatusCode::INTERNAL_SERVER_ERROR };
        let app = Router::new()
            .route("/console/boom", get(boom))
            .layer(middleware::from_fn(hide_internal_errors));
        let request = Request::builder()
            .uri("/console/boom")
            .header("x-request-id", "r-2")
            .body(Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = to_bytes(response.into_body(), 1 << 16).await.expect("body");
        let html = String::from_utf8_lossy(&bytes);
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("Something went wrong"), "{html}");
        assert!(html.contains("r-2"), "{html}");
    }

    #[tokio::test]
    async fn internal_errors_keep_the_shape_of_their_api_and_only_the_request_id() {
        let admin = body_of("/api/v1/boom").await;
        assert_eq!(admin["error"], "internal");
        assert!(admin["detail"].as_str().is_some_and(|d| d.contains("r-1")));
        let scim = body_of("/scim/v2/boom").await;
        assert_eq!(scim["status"], "500");
        assert!(scim["detail"].as_str().is_some_and(|d| d.contains("r-1")));
    }
}
