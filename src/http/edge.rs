//! The edge of every request, before routing: limits on the request head
//! (answered here, below hyper's own limits, so that the answer carries a
//! body), the request deadline, the request id, and the answers for paths
//! and methods no route knows. Every refusal has the shape of the API the
//! path belongs to: a SCIM error, the admin API's `{"error","detail"}`,
//! or under `/console` the console's error page.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::admin::{ADMIN_BASE_PATH, admin_error};
use super::error::scim_error_response;
use scim::ScimError;

/// Longest path and query accepted, in bytes (hyper's own limit, whose
/// answer has no body, is 65,534).
pub const MAX_URI_BYTES: usize = 16 * 1024;
/// Most bytes of header fields (names and values) accepted (hyper's own
/// limit is its read buffer, about 400 KiB).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most header fields accepted (hyper's own limit is twice this).
pub const MAX_HEADER_FIELDS: usize = 100;
/// Longest client-supplied `x-request-id` kept.
pub const MAX_REQUEST_ID_BYTES: usize = 128;
/// `Retry-After` of a request that ran out of time, in seconds.
const RETRY_AFTER_SECONDS: &str = "5";

/// An error answer in the shape of the API `path` belongs to.
pub fn refusal(path: &str, status: StatusCode, code: &str, detail: String) -> Response {
    if super::console::is_console_path(path) {
        return super::console::error_page(status, "Request refused", &detail);
    }
    if path.starts_with(ADMIN_BASE_PATH) {
        admin_error(status, code, detail)
    } else {
        scim_error_response(&ScimError::status(status.as_u16(), detail))
    }
}

/// Refuses, with a body, a URI or header block past scimd's limits.
pub async fn limit_request_head(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        let detail = format!(
            "the request URI is {uri_bytes} bytes long; this server accepts at most {MAX_URI_BYTES}"
        );
        return refusal(path, StatusCode::URI_TOO_LONG, "uri_too_long", detail);
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        let detail = format!(
            "the request has {} header fields of {header_bytes} bytes; this server accepts at most {MAX_HEADER_FIELDS} fields of {MAX_HEADER_BYTES} bytes",
            headers.len()
        );
        return refusal(
            path,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            detail,
        );
    }
    next.run(request).await
}

/// Answers 503 with `Retry-After` when a request is not answered within
/// `deadline` (reading its body included); the handler is dropped, which
/// rolls back a transaction it had open.
pub async fn enforce_deadline(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                deadline_seconds = deadline.as_secs_f64(),
                "the request ran past its deadline"
            );
            let detail = format!(
                "the request was not answered within this server's deadline of {} s; retry later",
                deadline.as_secs_f64()
            );
            let mut response = refusal(
                &path,
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                detail,
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
            response
        }
    }
}

/// Drops a client's `x-request-id` unless it is short and made of
/// `[A-Za-z0-9._:-]`, so that a fresh one replaces it: the id reaches
/// logs and error details.
pub fn keep_safe_request_id(mut request: Request) -> Request {
    let unsafe_id = request
        .headers()
        .get_all("x-request-id")
        .iter()
        .enumerate()
        .any(|(index, id)| index > 0 || !is_safe_request_id(id.as_bytes()));
    if unsafe_id {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// Whether a request id may be kept as the client sent it.
fn is_safe_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(b))
}

/// A path no route knows.
pub async fn unknown_path(request: Request) -> Response {
    let path = request.uri().path();
    refusal(
        path,
        StatusCode::NOT_FOUND,
        "not_found",
        format!("nothing is served at {path}"),
    )
}

/// A method a route does not support.
pub async fn unsupported_method(request: Request) -> Response {
    let path = request.uri().path();
    refusal(
        path,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not supported on {path}", request.method()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_short_and_plain() {
        for kept in ["abc", "A-1.b_2:c", &"x".repeat(MAX_REQUEST_ID_BYTES)] {
            assert!(is_safe_request_id(kept.as_bytes()), "{kept}");
        }
        let too_long = "x".repeat(MAX_REQUEST_ID_BYTES + 1);
        for replaced in ["", "a b", "a\"b", "a\nb", "é", "a/b", "%41", &too_long] {
            assert!(!is_safe_request_id(replaced.as_bytes()), "{replaced}");
        }
    }
}
