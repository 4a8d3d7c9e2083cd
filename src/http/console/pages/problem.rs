//! A domain error shown on the page whose form caused it: a refusal, a
//! conflict or an invalid value is the form's answer, rendered beside the
//! form with the guard's or the check's own text; anything else (not
//! found, overload, a storage fault) is the console's error page.

use axum::http::StatusCode;

use super::super::ConsoleError;
use crate::domain::DomainError;

/// What went wrong with a form, for its page.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// The domain's detail text, as the admin API would send it.
    pub message: String,
    /// The pending deprovisioning a refusal recorded, if any.
    pub pending_id: Option<String>,
}

impl Problem {
    /// A problem with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Problem {
        Problem {
            status,
            message: message.into(),
            pending_id: None,
        }
    }

    /// The problem `error` is, when it is the form's to show; otherwise
    /// the error page it is.
    pub fn of(error: DomainError) -> Result<Problem, ConsoleError> {
        let (status, message) = match error {
            DomainError::Refused(refusal) => {
                return Ok(Problem {
                    status: StatusCode::CONFLICT,
                    message: refusal.detail,
                    pending_id: refusal.pending_id,
                });
            }
            DomainError::Conflict(detail) | DomainError::Taken(detail) => {
                (StatusCode::CONFLICT, detail)
            }
            DomainError::Invalid { detail, .. } => (StatusCode::BAD_REQUEST, detail),
            DomainError::Forbidden(detail) => (StatusCode::FORBIDDEN, detail),
            DomainError::TooLarge(detail) => (StatusCode::PAYLOAD_TOO_LARGE, detail),
            error @ (DomainError::Unauthorized
            | DomainError::WrongScope(..)
            | DomainError::NotFound(_)
            | DomainError::PreconditionFailed(_)
            | DomainError::TooManyRequests { .. }
            | DomainError::Unavailable { .. }
            | DomainError::Storage(_)) => return Err(ConsoleError::Domain(error)),
        };
        Ok(Problem::new(status, message))
    }
}
