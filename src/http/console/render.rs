//! Rendering: a page is a template struct whose layout reads its
//! [`Chrome`]; errors are [`ConsoleError`], rendered as the console's own
//! error page (never JSON, never a stack trace).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::flash::Flash;
use super::session::Session;
use crate::domain::DomainError;

/// The console's sections, in the order the navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Deprovisionings,
    Users,
    Audit,
    Settings,
    Connect,
    Webhooks,
}

impl Section {
    /// Every section, in navigation order.
    pub const ALL: [Section; 7] = [
        Section::Overview,
        Section::Deprovisionings,
        Section::Users,
        Section::Audit,
        Section::Settings,
        Section::Connect,
        Section::Webhooks,
    ];

    /// The section's page.
    pub fn href(self) -> &'static str {
        match self {
            Section::Overview => "/console",
            Section::Deprovisionings => "/console/deprovisionings",
            Section::Users => "/console/users",
            Section::Audit => "/console/audit",
            Section::Settings => "/console/settings",
            Section::Connect => "/console/connect",
            Section::Webhooks => "/console/webhooks",
        }
    }

    /// The section's name in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Deprovisionings => "Pending deprovisionings",
            Section::Users => "Users",
            Section::Audit => "Audit log",
            Section::Settings => "Settings",
            Section::Connect => "Connect your IdP",
            Section::Webhooks => "Webhooks",
        }
    }
}

/// One link of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// Whether it is the section shown (`aria-current="page"`).
    pub current: bool,
}

/// What the layout of a signed-in page needs: the section shown, the
/// CSRF token of the sign-out form (and of the page's own forms), and the
/// one-shot message of the redirect that led here.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub section: Section,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// Whether the session's admin token was issued to a user (it cannot
    /// mint tokens).
    pub user_bound: bool,
}

impl Chrome {
    /// The chrome of a page of `section` for `session`, with the message
    /// of `flash` if the redirect carried one.
    pub fn new(session: &Session, section: Section, flash: Option<Flash>) -> Chrome {
        Chrome {
            section,
            csrf: session.csrf_token.clone(),
            flash,
            user_bound: session.user_bound,
        }
    }

    /// The navigation, with the current section marked.
    pub fn nav(&self) -> Vec<NavItem> {
        Section::ALL
            .into_iter()
            .map(|s| NavItem {
                href: s.href(),
                label: s.label(),
                current: s == self.section,
            })
            .collect()
    }

    /// The flash message's text, if any.
    pub fn flash_text(&self) -> Option<&'static str> {
        self.flash.map(Flash::text)
    }

    /// [`human_time`], for templates: `{{ chrome.when(x.at.as_str()) }}`.
    pub fn when(&self, rfc3339: &str) -> String {
        human_time(rfc3339)
    }
}

/// An RFC 3339 instant as people read it: `1 Jun 2026, 09:30 UTC`
/// (the text as it is when it is no instant).
pub fn human_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%-d %b %Y, %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// A rendered page with status 200.
pub fn page(template: &impl Template) -> Response {
    page_with_status(StatusCode::OK, template)
}

/// A rendered page with `status`; a template that fails to render is the
/// 500 page (and logged).
pub fn page_with_status(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => html_response(status, html),
        Err(error) => {
            tracing::error!(%error, "a console template failed to render");
            internal_error_page(None)
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The console's error page.
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// An error page with `status`, a title and a message (escaped).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    match (ErrorPage { title, message }).render() {
        Ok(html) => html_response(status, html),
        Err(error) => {
            tracing::error!(%error, "the console's error page failed to render");
            (status, title.to_owned()).into_response()
        }
    }
}

/// The 500 page: it says nothing of the cause, which is logged, but
/// gives the request's correlation id when known.
pub fn internal_error_page(request_id: Option<&str>) -> Response {
    let quote = request_id
        .map(|id| format!(" (quote correlation id {id})"))
        .unwrap_or_default();
    let message = format!(
        "scimd could not finish this request. Try again, and if it keeps failing, ask the \
         service's operators to check scimd's log{quote}."
    );
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &message,
    )
}

/// Any path under `/console` that no page serves.
pub async fn not_found() -> Response {
    ConsoleError::NotFound.into_response()
}

/// A method a console page does not support.
pub async fn method_not_allowed() -> Response {
    error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not allowed",
        "This page cannot be used that way.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_day_month_year_and_utc_time() {
        assert_eq!(
            human_time("2026-06-01T09:30:00.000Z"),
            "1 Jun 2026, 09:30 UTC"
        );
        assert_eq!(human_time("soon"), "soon");
    }
}

/// Why a console request fails, rendered as a page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: off to the sign-in page.
    SignIn,
    /// No such page, or nothing of this tenant has the id.
    NotFound,
    /// A form without this session's CSRF token, or posted from another
    /// origin.
    Forged,
    /// What the domain said: its detail is the page's message.
    Domain(DomainError),
}

impl From<DomainError> for ConsoleError {
    fn from(error: DomainError) -> Self {
        ConsoleError::Domain(error)
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let error = match self {
            ConsoleError::SignIn => return Redirect::to("/console/sign-in").into_response(),
            ConsoleError::NotFound => {
                return error_page(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is nothing here. It may have been removed, or the link is wrong.",
                );
            }
            ConsoleError::Forged => {
                return error_page(
                    StatusCode::FORBIDDEN,
                    "Form refused",
                    "This form was not sent from a page of this console, or the page is too old. \
                     Go back, reload the page and try again.",
                );
            }
            ConsoleError::Domain(error) => error,
        };
        let retry_after = super::super::error::retry_after_of(&error);
        let (status, title, message) = match error {
            DomainError::Unauthorized | DomainError::WrongScope(..) => {
                return Redirect::to("/console/sign-in").into_response();
            }
            DomainError::Forbidden(detail) => (StatusCode::FORBIDDEN, "Not allowed", detail),
            DomainError::Invalid { detail, .. } => {
                (StatusCode::BAD_REQUEST, "That did not work", detail)
            }
            DomainError::NotFound(_) => {
                return ConsoleError::NotFound.into_response();
            }
            DomainError::Taken(detail) | DomainError::Conflict(detail) => {
                (StatusCode::CONFLICT, "That did not work", detail)
            }
            DomainError::PreconditionFailed(detail) => {
                (StatusCode::PRECONDITION_FAILED, "Changed meanwhile", detail)
            }
            DomainError::TooLarge(detail) => (StatusCode::PAYLOAD_TOO_LARGE, "Too large", detail),
            DomainError::Refused(refusal) => (StatusCode::CONFLICT, "Refused", refusal.detail),
            ref error @ DomainError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                error.to_string(),
            ),
            ref error @ DomainError::Unavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "Busy", error.to_string())
            }
            DomainError::Storage(error) => {
                tracing::error!(error = %error, "storage failure");
                return internal_error_page(None);
            }
        };
        let mut response = error_page(status, title, &message);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The result of a console handler.
pub type ConsoleResult<T = Response> = Result<T, ConsoleError>;
