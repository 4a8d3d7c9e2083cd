//! `/console/connect`: what an IdP needs to provision this tenant: the
//! SCIM base URL, SCIM tokens (created here and shown once, listed,
//! revoked), and the Okta and Entra ID steps, the same numbered lists as
//! the README's.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::super::super::AppState;
use super::super::render::ConsoleResult;
use super::super::{Chrome, Done, Flash, Section, Session, SignedForm, page_with_status};
use super::problem::Problem;
use super::query::{NoFields, PageId};
use crate::domain::{Scope, TokenSummary};

/// The flag Entra ID's tenant URL carries (see the README).
const ENTRA_FLAG: &str = "?aadOptscim062020";

/// Okta's steps, as the README's "Okta in short" lists them.
pub const OKTA_STEPS: &[&str] = &[
    "In the Okta admin console, open Applications → Create App Integration, choose SAML 2.0 (or SWA) and finish the wizard.",
    "On General → App Settings, set Provisioning to SCIM.",
    "On Provisioning → Integration, set the SCIM connector base URL to scimd's SCIM base URL and the unique identifier field for users to userName.",
    "Tick the provisioning actions Import New Users and Profile Updates, Push New Users, Push Profile Updates and Push Groups.",
    "Set Authentication Mode to HTTP Header, paste a SCIM token as the Bearer token, and click Test Connector Configuration.",
    "On Provisioning → To App, click Edit and enable Create Users, Update User Attributes and Deactivate Users; leave Sync Password off.",
    "If the app's profile does not map roles, set the admin source to scimd in the console's Settings and grant admins on its Users page.",
];

/// Entra ID's steps, as the README's "Entra ID in short" lists them.
pub const ENTRA_STEPS: &[&str] = &[
    "In the Entra admin center, open Enterprise applications → New application → Create your own application (non-gallery).",
    "Open Provisioning and set the Provisioning Mode to Automatic.",
    "Set the Tenant URL to scimd's SCIM base URL followed by ?aadOptscim062020, and the Secret Token to a SCIM token; click Test Connection.",
    "Under Mappings → Provision Microsoft Entra ID Users, keep userName, active, displayName, the work e-mail, the name parts, externalId and manager.",
    "To manage admins in Entra, map roles with SingleAppRoleAssignment([appRoleAssignments]) to roles[primary eq \"True\"].value and give admins an app role whose value is admin; otherwise set the admin source to scimd in the console's Settings.",
    "Assign the users and groups to provision, set Provisioning Status to On, and save.",
];

/// A token as a row of the list.
pub struct TokenRow {
    pub token: TokenSummary,
    /// Whether this session signed in with it (revoking it signs out).
    pub this_session: bool,
}

/// A token just created: its secret, shown this once.
pub struct NewToken {
    pub label: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "console/connect.html")]
struct ConnectPage {
    chrome: Chrome,
    scim_base: String,
    entra_url: String,
    tokens: Vec<TokenRow>,
    created: Option<NewToken>,
    /// The label typed when a creation failed.
    label: String,
    okta_steps: &'static [&'static str],
    entra_steps: &'static [&'static str],
    error: Option<Problem>,
    /// When the creation form was rendered (milliseconds), so that the
    /// same form sent twice (a reload of the answer) creates one token.
    form_since: i64,
}

/// The page, with a token just created or the problem of a form.
async fn connect_page(
    state: &AppState,
    session: &Session,
    flash: Option<Flash>,
    created: Option<NewToken>,
    label: String,
    error: Option<Problem>,
) -> ConsoleResult {
    let tokens = state
        .domain
        .tenant_tokens(&session.tenant_id)
        .await?
        .into_iter()
        .map(|token| TokenRow {
            this_session: token.id == session.token_id,
            token,
        })
        .collect();
    let scim_base = state.domain.scim_base().to_owned();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    Ok(page_with_status(
        status,
        &ConnectPage {
            chrome: Chrome::new(session, Section::Connect, flash),
            entra_url: format!("{scim_base}{ENTRA_FLAG}"),
            scim_base,
            tokens,
            created,
            label,
            okta_steps: OKTA_STEPS,
            entra_steps: ENTRA_STEPS,
            error,
            form_since: state.domain.now_millis(),
        },
    ))
}

/// `GET /console/connect`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Done(flash): Done,
) -> ConsoleResult {
    connect_page(&state, &session, flash, None, String::new(), None).await
}

/// The "Create a SCIM token" form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    label: String,
    /// When the form was rendered (see [`ConnectPage`]'s `form_since`).
    #[serde(default)]
    since: Option<i64>,
}

/// `POST /console/connect/tokens`: a new SCIM token, shown in this answer
/// only (never in a redirect's URL). A token issued to a user cannot mint
/// tokens: the domain refuses, and the page says why.
pub async fn create_token(
    State(state): State<AppState>,
    SignedForm { session, form }: SignedForm<TokenForm>,
) -> ConsoleResult {
    let label = form.label.trim().to_owned();
    // The secret is shown in this answer, not after a redirect (it would
    // have to be stored to survive one), so a reload sends the form
    // again: a live token of this label created since the form was
    // rendered means this form already made its token.
    if let Some(since) = form.since {
        let since = crate::clock::format_millis(since);
        let tokens = state.domain.tenant_tokens(&session.tenant_id).await?;
        if tokens.iter().any(|t| {
            t.scope == Scope::Scim
                && t.revoked_at.is_none()
                && t.label == label
                && t.created_at >= since
        }) {
            let problem = Problem::new(
                StatusCode::CONFLICT,
                format!(
                    "This form was already sent: the token “{label}” was created then and \
                     shown once. If you did not copy it, revoke it below and create a new one."
                ),
            );
            return connect_page(&state, &session, None, None, String::new(), Some(problem)).await;
        }
    }
    match state
        .domain
        .issue_token(&session.principal, Scope::Scim, &label, None)
        .await
    {
        Ok((summary, secret)) => {
            let created = NewToken {
                label: summary.label,
                secret,
            };
            connect_page(&state, &session, None, Some(created), String::new(), None).await
        }
        Err(error) => {
            let problem = Problem::of(error)?;
            connect_page(&state, &session, None, None, label, Some(problem)).await
        }
    }
}

/// `POST /console/connect/tokens/{id}/revoke`: the token stops working at
/// once (revoking this session's own token ends the session).
pub async fn revoke_token(
    State(state): State<AppState>,
    PageId(id): PageId,
    SignedForm { session, .. }: SignedForm<NoFields>,
) -> ConsoleResult {
    match state
        .domain
        .revoke_tenant_token(&session.principal, &id)
        .await
    {
        Ok(()) => Ok(Flash::TokenRevoked.redirect("/console/connect")),
        Err(error) => {
            let problem = Problem::of(error)?;
            connect_page(&state, &session, None, None, String::new(), Some(problem)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's text with its line breaks and Markdown emphasis
    /// removed, for comparing steps.
    fn readme_text() -> String {
        let readme = include_str!("../../../../README.md");
        readme
            .replace(['*', '`'], "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_okta_and_entra_steps_are_the_readmes_numbered_lists() {
        let readme = readme_text();
        for (idp, steps) in [("Okta", OKTA_STEPS), ("Entra ID", ENTRA_STEPS)] {
            for (n, step) in steps.iter().enumerate() {
                let numbered = format!("{}. {step}", n + 1);
                assert!(
                    readme.contains(&numbered),
                    "{idp} step {} is not in the README as `{numbered}`",
                    n + 1
                );
            }
        }
    }
}
