//! The console for IT admins (DESIGN §7), under `/console`: server-rendered
//! HTML (askama templates in `templates/console/`, escaped by default),
//! plain forms that post and redirect, one stylesheet, no inline script or
//! style, every page usable without JavaScript.
//!
//! # Layout
//! - `headers.rs`: the security headers every console response carries
//!   (errors included), set by path in the outer middleware stack;
//! - `session.rs`: the session cookie and the [`Session`] extractor (a
//!   page's tenant and token; no session → the sign-in page);
//! - `csrf.rs`: the same-origin check and [`SignedForm`], the extractor of
//!   every POST form of a signed-in page (CSRF token checked);
//! - `throttle.rs`: the limit on failed sign-ins, per client address and
//!   per tenant;
//! - `flash.rs`: the one-shot messages a redirect shows (`?done=…`, fixed
//!   texts only);
//! - `render.rs`: rendering a page, the layout's [`Chrome`], and
//!   [`ConsoleError`], the error page every handler may answer with;
//! - `picker.rs`: the "New owner" user picker, reusable in any form;
//! - `assets.rs`: the stylesheet and the optional script;
//! - `pages/`: one file per page.
//!
//! Pages call the same domain functions as the admin API (never the HTTP
//! API), so the same guard and audit apply.

mod assets;
mod csrf;
mod flash;
mod headers;
mod pages;
mod picker;
mod render;
mod session;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::AppState;
use crate::clock::SharedClock;

// The pages' toolkit.
pub(crate) use csrf::SignedForm;
pub(crate) use flash::{Done, Flash};
pub(crate) use headers::secure_console_responses;
pub(crate) use picker::UserPicker;
pub(crate) use render::{Chrome, Section, error_page, internal_error_page, page, page_with_status};
// Also reachable as `render::…`, where the pages take them from.
#[allow(unused_imports)]
pub(crate) use render::{ConsoleError, ConsoleResult};
pub(crate) use session::Session;

/// Base path of the console.
pub const CONSOLE_BASE_PATH: &str = "/console";

/// What the console needs beside the domain.
#[derive(Debug)]
pub struct ConsoleState {
    /// Whether the client address of a request is the last entry of its
    /// `X-Forwarded-For` (set by a proxy scimd trusts) rather than the
    /// connection's peer.
    pub trust_proxy: bool,
    /// The origin (`scheme://host[:port]`) of `--public-url`, which a form
    /// may also be posted from.
    pub public_origin: Option<String>,
    /// Failed sign-ins, per client address and per tenant.
    pub(crate) throttle: throttle::Throttle,
}

impl ConsoleState {
    /// The console's state; time for the sign-in limits comes from
    /// `clock`.
    pub fn new(trust_proxy: bool, public_url: Option<&str>, clock: SharedClock) -> Arc<Self> {
        Arc::new(ConsoleState {
            trust_proxy,
            public_origin: public_url.and_then(csrf::origin_of),
            throttle: throttle::Throttle::new(clock),
        })
    }
}

/// Whether `path` belongs to the console.
pub fn is_console_path(path: &str) -> bool {
    path == CONSOLE_BASE_PATH
        || path
            .strip_prefix(CONSOLE_BASE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The console's routes, relative to [`CONSOLE_BASE_PATH`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview::show))
        .route(
            "/sign-in",
            get(pages::sign_in::form).post(pages::sign_in::submit),
        )
        .route("/sign-out", axum::routing::post(pages::sign_in::sign_out))
        .merge(assets::routes())
        .merge(pages::routes())
        .fallback(render::not_found)
        .method_not_allowed_fallback(render::method_not_allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_under_console_are_console_paths() {
        assert!(is_console_path("/console"));
        assert!(is_console_path("/console/"));
        assert!(is_console_path("/console/deprovisionings/1"));
        assert!(!is_console_path("/consoles"));
        assert!(!is_console_path("/scim/v2/Users"));
    }
}
