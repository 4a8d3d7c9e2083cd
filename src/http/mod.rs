//! The HTTP edge: axum routers, authentication, body limits, the SCIM
//! media type, and the error table. Handlers extract, call the domain and
//! map the result; nothing here knows a business rule.

mod admin;
mod admin_deprovisionings;
mod admin_webhooks;
mod auth;
mod body;
mod bulk;
#[cfg(feature = "bench-ceiling")]
mod ceiling;
pub mod console;
mod discovery;
mod edge;
pub mod error;
pub mod in_flight;
pub mod metrics;
mod ops;
mod paths;
mod pieces;
pub mod rate;
mod resources;
mod server;

pub use server::{ConnectionLimits, serve};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware;
use axum::routing::{MethodRouter, any, get, post};
use axum::{Extension, Router};
use tower::util::{MapRequest, MapRequestLayer};
use tower::{Layer, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::domain::{Domain, Kind};
use error::ApiError;
use scim::ScimError;

/// Base path of the SCIM API.
pub const SCIM_BASE_PATH: &str = "/scim/v2";

/// Longest id accepted in a path; scimd's ids are UUIDs.
const MAX_ID_BYTES: usize = 256;

/// Whether `id` could be an id scimd issued: none contains NUL or is this
/// long, so the database need not be asked (PostgreSQL refuses NUL).
fn plausible_id(id: &str) -> bool {
    !id.contains('\0') && id.len() <= MAX_ID_BYTES
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub domain: Arc<Domain>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest wait for the next part of a request body.
    pub body_timeout: Duration,
    /// Longest time from a request's head to its response's head.
    pub request_timeout: Duration,
    /// Each tenant's request rate; `None`: no limit.
    pub limiter: Option<Arc<rate::TenantLimiter>>,
    /// Each tenant's requests under way; `None`: no bound.
    pub in_flight: Option<Arc<in_flight::TenantInFlight>>,
    /// The console's sign-in limits and proxy settings.
    pub console: Arc<console::ConsoleState>,
}

/// Rewrites a request's path before routing.
type Rewrite = fn(axum::extract::Request) -> axum::extract::Request;

/// The application as served (see [`service`]).
pub type App = NormalizePath<MapRequest<Router, Rewrite>>;

/// The application as served: the router behind trailing-slash
/// normalisation (`/scim/v2/Users/` is `/scim/v2/Users`; `/scim/v2/` is
/// the root) and case-insensitive endpoint names (`/scim/v2/users` is
/// `/scim/v2/Users`).
pub fn service(state: AppState) -> App {
    let canonical = MapRequestLayer::new(paths::canonical_endpoint as Rewrite).layer(router(state));
    NormalizePathLayer::trim_trailing_slash().layer(canonical)
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    // Each resource route knows its type through an extension.
    let collection =
        |kind| scim_route(get(resources::list).post(resources::create)).layer(Extension(kind));
    let item = |kind| {
        scim_route(
            get(resources::get)
                .put(resources::replace)
                .patch(resources::patch)
                .delete(resources::delete),
        )
        .layer(Extension(kind))
    };
    let search = |kind| scim_route(post(resources::search)).layer(Extension(kind));
    let scim = Router::new()
        .route("/", scim_route(get(resources::list_root)))
        .route("/.search", scim_route(post(resources::search_root)))
        .route("/Users", collection(Kind::Users))
        .route("/Users/.search", search(Kind::Users))
        .route("/Users/{id}", item(Kind::Users))
        .route("/Groups", collection(Kind::Groups))
        .route("/Groups/.search", search(Kind::Groups))
        .route("/Groups/{id}", item(Kind::Groups))
        .route("/Bulk", scim_route(post(bulk::bulk)))
        .route(
            "/ServiceProviderConfig",
            scim_route(get(discovery::service_provider_config)),
        )
        .route("/ResourceTypes", scim_route(get(discovery::resource_types)))
        .route(
            "/ResourceTypes/{name}",
            scim_route(get(discovery::resource_type)),
        )
        .route("/Schemas", scim_route(get(discovery::schemas)))
        .route("/Schemas/{urn}", scim_route(get(discovery::schema)))
        .route("/Me", any(me_not_implemented))
        .fallback(unknown_endpoint)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_scim_token,
        ));

    let admin = admin::routes().layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_admin_token,
    ));

    let max_body_bytes = state.max_body_bytes;
    let request_timeout = state.request_timeout;
    let metrics = state.domain.metrics().clone();
    let routes = Router::new()
        .nest(SCIM_BASE_PATH, scim)
        .nest(admin::ADMIN_BASE_PATH, admin)
        .nest(console::CONSOLE_BASE_PATH, console::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(edge::unknown_path)
        .method_not_allowed_fallback(edge::unsupported_method);
    // The load tool's ceiling: never in a build without the feature.
    #[cfg(feature = "bench-ceiling")]
    let routes = routes.route("/bench/ceiling", get(ceiling::user));
    routes.with_state(state).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(
                metrics,
                metrics::record_request,
            ))
            .layer(MapRequestLayer::new(edge::keep_safe_request_id))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_span)
                    .on_response(log_response),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn(console::secure_console_responses))
            .layer(middleware::from_fn(edge::limit_request_head))
            .layer(middleware::from_fn_with_state(
                request_timeout,
                edge::enforce_deadline,
            ))
            .layer(middleware::from_fn(ops::hide_internal_errors))
            .layer(CatchPanicLayer::new())
            .layer(DefaultBodyLimit::max(max_body_bytes)),
    )
}

/// A request's span: its id, method, route template and path (never the
/// query string, which carries filter values, nor any header); the tenant
/// id is recorded once the token names it (`auth.rs`).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        route = metrics::route_of(request),
        path = request.uri().path(),
        tenant_id = tracing::field::Empty,
    )
}

/// The one line logged per request, inside its span: status and latency
/// in microseconds.
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _span: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "request finished"
    );
}

/// A SCIM route whose unsupported methods answer 405 with a SCIM body.
fn scim_route(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(method_not_allowed)
}

async fn method_not_allowed() -> ApiError {
    ScimError::status(405, "this method is not supported on this endpoint").into()
}

async fn unknown_endpoint() -> ApiError {
    ScimError::not_found("no such SCIM endpoint").into()
}

async fn me_not_implemented() -> ApiError {
    ScimError::status(
        501,
        "/Me is not implemented: scimd's tokens belong to an IdP connection, not to a user",
    )
    .into()
}
