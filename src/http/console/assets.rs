//! The console's static files, compiled into the binary: one hand-written
//! stylesheet and one optional script (every page works without it).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::super::AppState;

const STYLESHEET: &str = include_str!("static/console.css");
const SCRIPT: &str = include_str!("static/console.js");

/// The static routes, relative to the console's base path.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/console.css", get(stylesheet))
        .route("/static/console.js", get(script))
}

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

async fn stylesheet() -> Response {
    file(STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    file(SCRIPT, "text/javascript; charset=utf-8")
}
