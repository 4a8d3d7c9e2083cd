//! The session cookie and the [`Session`] extractor.
//!
//! The cookie `__Host-scimd_session` holds a random id (256 bits) whose
//! SHA-256 alone is stored (`domain/sessions.rs`). `__Host-` makes the
//! browser refuse it unless it is `Secure`, has `Path=/` and no `Domain`
//! (browsers accept `Secure` cookies from `http://localhost` too);
//! `HttpOnly` keeps it from scripts, `SameSite=Strict` off other sites'
//! requests.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use super::super::AppState;
use super::render::ConsoleError;
use crate::domain::Principal;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-scimd_session";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for a `__Host-` cookie holding `value` (random
/// base64url, so nothing needs quoting), for this browser session only.
pub fn set_cookie(name: &str, value: &str) -> HeaderValue {
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str) -> HeaderValue {
    let text = format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in admin of a console request. A handler that takes it
/// runs only with a live session; without one the browser is sent to the
/// sign-in page.
#[derive(Debug, Clone)]
pub struct Session {
    /// The tenant every page shows, and nothing else.
    pub tenant_id: String,
    /// The admin token that signed in.
    #[allow(dead_code)] // for pages that show or revoke tokens
    pub token_id: String,
    /// Whether that token was issued to a user (it may not mint tokens).
    pub user_bound: bool,
    /// The token every form of this session carries (field `csrf`).
    pub csrf_token: String,
    /// Who acts, for the domain functions.
    pub principal: Principal,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(session) = parts.extensions.get::<Session>() {
            return Ok(session.clone());
        }
        let id = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::SignIn)?;
        let found = state
            .domain
            .console_session(&id)
            .await?
            .ok_or(ConsoleError::SignIn)?;
        let principal = found.principal;
        tracing::Span::current().record("tenant_id", principal.tenant_id.as_str());
        if let Some(limiter) = &state.limiter {
            limiter.check(&principal.tenant_id)?;
        }
        let session = Session {
            tenant_id: principal.tenant_id.clone(),
            token_id: principal.token_id.clone(),
            user_bound: principal.user_id.is_some(),
            csrf_token: found.csrf_token,
            principal,
        };
        parts.extensions.insert(session.clone());
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("__Host-scimd_session=abc"),
        );
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn session_cookies_are_host_only_secure_http_only_and_strict() {
        let value = set_cookie(SESSION_COOKIE, "xyz");
        assert_eq!(
            value.to_str().ok(),
            Some("__Host-scimd_session=xyz; Path=/; Secure; HttpOnly; SameSite=Strict")
        );
        let cleared = clear_cookie(SESSION_COOKIE);
        assert!(cleared.to_str().is_ok_and(|v| v.contains("Max-Age=0")));
    }
}
