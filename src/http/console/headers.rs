//! The headers every console response carries, pages and errors alike
//! (DESIGN §7): a strict Content-Security-Policy (no inline script or
//! style, no framing), no caching (a page read after sign-out must not
//! come back from the cache), no MIME sniffing, no referrer outside.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::is_console_path;

/// The Content-Security-Policy of every console response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'";

/// The headers, in the order they are set.
const HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Sets the console's headers on every response to a console path,
/// whatever answered it (a page, the error pages, the edge's limits).
pub async fn secure_console_responses(request: Request, next: Next) -> Response {
    let console = is_console_path(request.uri().path());
    let mut response = next.run(request).await;
    if console {
        let headers = response.headers_mut();
        for (name, value) in HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}
