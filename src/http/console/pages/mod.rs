//! The console's pages, one file each. A page handler takes a
//! [`super::Session`] (or a [`super::SignedForm`] for a POST), calls the
//! domain, and renders a template whose layout reads its
//! [`super::Chrome`].

pub(super) mod deprovisioning;
pub(super) mod deprovisioning_actions;
pub(super) mod deprovisionings;
pub(super) mod overview;
pub(super) mod sign_in;
mod wording;

use axum::Router;
use axum::routing::{get, post};

use super::super::AppState;

/// The routes of the pages beside the overview and sign-in, relative to
/// the console's base path: each page adds its own here.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
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
