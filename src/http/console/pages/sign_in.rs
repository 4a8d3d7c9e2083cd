//! Sign-in and sign-out.
//!
//! The sign-in form has no session yet, so its CSRF defence is a
//! double-submit token: a random `__Host-scimd_csrf` cookie (HttpOnly,
//! SameSite=Strict) that the form repeats in a hidden field, plus the
//! same-origin check of every console POST. The admin token travels only
//! in the POST body: never in a URL, a page or a log. A refused token
//! sets no session cookie; a good one gets a fresh session id, and a
//! session cookie the browser still sent is ended (rotation).

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::super::AppState;
use super::super::SignedForm;
use super::super::csrf::{same_origin, tokens_match};
use super::super::render::{ConsoleError, ConsoleResult, page_with_status};
use super::super::session::{SESSION_COOKIE, clear_cookie, cookie, set_cookie};
use super::super::throttle::client_address;
use crate::domain::{SignIn, random_secret};

/// The double-submit cookie of the sign-in form.
pub const CSRF_COOKIE: &str = "__Host-scimd_csrf";

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    csrf: String,
    error: Option<&'static str>,
}

/// The messages the sign-in page can show.
const WRONG_TOKEN: &str = "That is not a live admin token. Check that you pasted the whole \
     token, and that it has scope admin and has not been revoked.";
const EXPIRED_FORM: &str = "The sign-in form had expired. Paste the token again and sign in.";
const TOO_MANY: &str = "Too many failed sign-ins. Wait 15 minutes, then try again.";

/// The sign-in page with `error`, setting a fresh double-submit token.
fn sign_in_page(status: StatusCode, error: Option<&'static str>) -> ConsoleResult {
    let csrf = random_secret()?;
    let mut response = page_with_status(
        status,
        &SignInPage {
            csrf: csrf.clone(),
            error,
        },
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &csrf));
    Ok(response)
}

/// `GET /console/sign-in`: the form, or the overview when signed in.
pub async fn form(State(state): State<AppState>, request: Request) -> ConsoleResult {
    if let Some(id) = cookie(request.headers(), SESSION_COOKIE)
        && state.domain.console_session(&id).await?.is_some()
    {
        return Ok(Redirect::to("/console").into_response());
    }
    sign_in_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

/// `POST /console/sign-in`.
pub async fn submit(State(state): State<AppState>, request: Request) -> ConsoleResult {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts.headers, state.console.public_origin.as_deref()) {
        return Err(ConsoleError::Forged);
    }
    let address = client_address(&parts, state.console.trust_proxy);
    let throttle = &state.console.throttle;
    if throttle.address_over(address) {
        tracing::warn!(client = ?address, "console sign-in refused: too many failures");
        return sign_in_page(StatusCode::TOO_MANY_REQUESTS, Some(TOO_MANY));
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| ConsoleError::Forged)?;
    let form: SignInForm =
        serde_urlencoded::from_bytes(&bytes).map_err(|_| ConsoleError::Forged)?;
    let expected = cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
    if !tokens_match(&form.csrf, &expected) {
        return sign_in_page(StatusCode::FORBIDDEN, Some(EXPIRED_FORM));
    }
    match state.domain.sign_in(&form.token).await? {
        SignIn::Accepted { id, session } => {
            // Rotation: whatever session this browser had is over.
            if let Some(old) = cookie(&parts.headers, SESSION_COOKIE) {
                state.domain.sign_out(&old).await?;
            }
            tracing::info!(
                tenant_id = session.principal.tenant_id.as_str(),
                token_id = session.principal.token_id.as_str(),
                "console sign-in"
            );
            let mut response = Redirect::to("/console").into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &id));
            headers.append(header::SET_COOKIE, clear_cookie(CSRF_COOKIE));
            Ok(response)
        }
        SignIn::Refused { tenant_id } => {
            let over = tenant_id
                .as_deref()
                .is_some_and(|tenant| throttle.tenant_over(tenant));
            throttle.fail(address, tenant_id.as_deref());
            tracing::warn!(client = ?address, tenant_id = ?tenant_id, "console sign-in failed");
            if over {
                return sign_in_page(StatusCode::TOO_MANY_REQUESTS, Some(TOO_MANY));
            }
            sign_in_page(StatusCode::UNAUTHORIZED, Some(WRONG_TOKEN))
        }
    }
}

/// The sign-out form's fields: only its CSRF token.
#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /console/sign-out`: the session ends on the server and its
/// cookie is cleared.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult<Response> {
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.domain.sign_out(&id).await?;
    }
    tracing::info!(tenant_id = session.tenant_id.as_str(), "console sign-out");
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
    Ok(response)
}
