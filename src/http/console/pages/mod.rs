//! The console's pages, one file each. A page handler takes a
//! [`super::Session`] (or a [`super::SignedForm`] for a POST), calls the
//! domain, and renders a template whose layout reads its
//! [`super::Chrome`].

pub(super) mod overview;
pub(super) mod sign_in;

use axum::Router;

use super::super::AppState;

/// The routes of the pages beside the overview and sign-in, relative to
/// the console's base path: each page adds its own here.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}
