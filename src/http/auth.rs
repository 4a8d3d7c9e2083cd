//! Authentication: `Authorization: Bearer <token>`, or HTTP Basic with the
//! token as the password (Okta's "Basic auth" option). The tenant comes
//! from the token and nothing else; its request rate (`rate.rs`) and its
//! requests under way (`in_flight.rs`) are checked right after.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AppState;
use super::admin::AdminError;
use super::error::ApiError;
use crate::domain::{DomainError, Scope};
use crate::metrics::Throttle;

/// Admits requests that carry a live token with scope `scim`, and hands
/// the handlers its [`crate::domain::Principal`] as an extension.
pub async fn require_scim_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    Ok(admit(&state, Scope::Scim, request, next).await?)
}

/// The same for the admin API: scope `admin`, JSON errors.
pub async fn require_admin_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AdminError> {
    Ok(admit(&state, Scope::Admin, request, next).await?)
}

async fn admit(
    state: &AppState,
    scope: Scope,
    mut request: Request,
    next: Next,
) -> Result<Response, DomainError> {
    let secret = presented_token(request.headers().get(header::AUTHORIZATION))
        .ok_or(DomainError::Unauthorized)?;
    let principal = state.domain.authenticate(&secret, scope).await?;
    tracing::Span::current().record("tenant_id", principal.tenant_id.as_str());
    let metrics = state.domain.metrics();
    if let Some(limiter) = &state.limiter {
        limiter
            .check(&principal.tenant_id)
            .inspect_err(|_| metrics.throttled(Throttle::Rate))?;
    }
    let in_flight = state
        .in_flight
        .as_ref()
        .map(|bound| bound.enter(&principal.tenant_id))
        .transpose()
        .inspect_err(|_| metrics.throttled(Throttle::InFlight))?;
    request.extensions_mut().insert(principal);
    let response = next.run(request).await;
    Ok(match in_flight {
        Some(in_flight) => in_flight.hold_until_written(response),
        None => response,
    })
}

/// The token in an `Authorization` header, Bearer or Basic.
fn presented_token(value: Option<&header::HeaderValue>) -> Option<String> {
    let value = value?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(credentials).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (_user, password) = decoded.split_once(':')?;
        return Some(password.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn token(header: &str) -> Option<String> {
        presented_token(Some(&HeaderValue::from_str(header).expect("header")))
    }

    #[test]
    fn bearer_and_basic_credentials_yield_the_token() {
        assert_eq!(token("Bearer scimd_abc").as_deref(), Some("scimd_abc"));
        assert_eq!(token("bearer   scimd_abc ").as_deref(), Some("scimd_abc"));
        let basic = format!("Basic {}", STANDARD.encode("okta:scimd_abc"));
        assert_eq!(token(&basic).as_deref(), Some("scimd_abc"));
        assert_eq!(token("Digest x"), None);
        assert_eq!(token("Basic !!!"), None);
        assert_eq!(presented_token(None), None);
    }
}
