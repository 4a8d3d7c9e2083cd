//! The console's pages, one file each. A page handler takes a
//! [`super::Session`] (or a [`super::SignedForm`] for a POST), calls the
//! domain, and renders a template whose layout reads its
//! [`super::Chrome`].

pub(super) mod audit;
mod choice;
pub(super) mod connect;
pub(super) mod deprovisioning;
pub(super) mod deprovisioning_actions;
pub(super) mod deprovisionings;
pub(super) mod overview;
mod problem;
mod query;
pub(super) mod settings;
pub(super) mod sign_in;
pub(super) mod users;
pub(super) mod webhooks;
mod wording;

use axum::Router;
use axum::routing::{get, post};

use super::super::AppState;

/// The routes of the pages beside the overview and sign-in, relative to
/// the console's base path: each page adds its own here.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users::list))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/deactivate", post(users::deactivate))
        .route("/users/{id}/reactivate", post(users::reactivate))
        .route("/users/{id}/reassign", post(users::reassign))
        .route("/users/{id}/admin", post(users::set_admin))
        .route("/audit", get(audit::show))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/connect", get(connect::show))
        .route("/connect/tokens", post(connect::create_token))
        .route("/connect/tokens/{id}/revoke", post(connect::revoke_token))
        .route("/webhooks", get(webhooks::show).post(webhooks::create))
        .route("/webhooks/{id}/delete", post(webhooks::delete))
        .route("/webhooks/{id}/ping", post(webhooks::ping))
        .route("/deprovisionings", get(deprovisionings::list))
        .route("/deprovisionings/{id}", get(deprovisioning::show))
        .route(
            "/deprovisionings/{id}/reassign",
            post(deprovisioning_actions::reassign),
        )
        .route(
            "/deprovisionings/{id}/blockers/{blocker}/owner",
            post(deprovisioning_actions::move_blocker),
        )
        .route(
            "/deprovisionings/{id}/make-admin",
            post(deprovisioning_actions::make_admin),
        )
        .route(
            "/deprovisionings/{id}/cancel",
            post(deprovisioning_actions::cancel),
        )
}
