//! The domain's one error type, and which error type is used where.
//!
//! | layer | type | becomes |
//! |-------|------|---------|
//! | `scim` crate (parsers, schema validation, PATCH engine) | `ScimError`, always a 400 with its `scimType` | [`DomainError::Invalid`] through `From` |
//! | `store` | `StoreError` | [`DomainError::Taken`] for unique values, [`DomainError::Invalid`] for filters SQL cannot answer, [`DomainError::Unavailable`] for an exhausted pool or a broken connection, else [`DomainError::Storage`] |
//! | `domain` | [`DomainError`] | everything a domain function returns |
//! | `http` | `ApiError` (SCIM) and `AdminError` (admin API) | the response: `http::error::scim_error_of` is the one table for SCIM bodies, `AdminError::into_response` the one for admin JSON |
//!
//! A storage fault (including a stored state no enum names) is never
//! shown: it is logged inside the request's span and answered with a 500
//! that carries only the request's correlation id.

use scim::{ScimError, ScimType};

use super::guard::Refusal;
use crate::store::{Scope, StoreError, UniqueField};

/// What a request refused because the database is unavailable is told to
/// wait, in seconds.
const RETRY_AFTER_SECS: u64 = 2;

/// Errors of the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The credentials are missing, unknown or revoked.
    #[error("the token is missing, unknown or revoked")]
    Unauthorized,
    /// The token is valid but not for this API.
    #[error("this token's scope is `{0}`; this API needs a token with scope `{1}`")]
    WrongScope(Scope, Scope),
    /// The token is valid for this API but may not do this (a token issued
    /// to a user minting tokens).
    #[error("{0}")]
    Forbidden(String),
    /// The request is malformed or a value is invalid; `scim_type` is the
    /// SCIM keyword that names the problem, when SCIM has one.
    #[error("{detail}")]
    Invalid {
        scim_type: Option<ScimType>,
        detail: String,
    },
    /// A named thing (user, group, tenant, token, asset) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value that must be unique (a userName, a group's displayName) is
    /// taken.
    #[error("{0}")]
    Taken(String),
    /// The change conflicts with the current state (an asset name is
    /// taken, an owner is not active, a Bulk reference cannot resolve).
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` names a version the resource no longer has.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The request is larger than the service accepts (Bulk operations).
    #[error("{0}")]
    TooLarge(String),
    /// Too many requests of this tenant: over its rate limit, or too many
    /// of its writes already waiting for their turn. Answered 429 with
    /// `Retry-After`.
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    /// The service cannot take the request now: the process's database
    /// pool is exhausted, or the database connection broke. Answered 503
    /// with `Retry-After`.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    /// The deprovisioning guard refused the change.
    #[error("{}", .0.detail)]
    Refused(Box<Refusal>),
    /// A storage fault; never shown to clients.
    #[error(transparent)]
    Storage(StoreError),
}

impl DomainError {
    /// Invalid input with no more specific SCIM keyword.
    pub fn invalid(detail: impl Into<String>) -> Self {
        DomainError::Invalid {
            scim_type: None,
            detail: detail.into(),
        }
    }
}

impl From<ScimError> for DomainError {
    /// The protocol crate reports only bad requests (400): what it says is
    /// kept as the keyword and detail of an invalid request.
    fn from(error: ScimError) -> Self {
        DomainError::Invalid {
            scim_type: error.scim_type,
            detail: error.detail,
        }
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Taken(UniqueField::UserName) => DomainError::Taken(
                "a user with this userName already exists (userNames are compared by their \
                 NFKC_Casefold key: case, compatibility forms such as full-width letters, \
                 white space at either end and invisible characters are ignored)"
                    .into(),
            ),
            StoreError::Taken(UniqueField::GroupDisplayName) => {
                DomainError::Taken("a group with this displayName already exists".into())
            }
            StoreError::Taken(UniqueField::TenantName) => {
                DomainError::invalid("a tenant with this name already exists")
            }
            StoreError::Taken(UniqueField::AssetName) => {
                DomainError::Conflict("an asset of this kind and name already exists".into())
            }
            StoreError::UnsupportedFilter(detail) => DomainError::Invalid {
                scim_type: Some(ScimType::InvalidFilter),
                detail,
            },
            StoreError::Exhausted => {
                tracing::warn!("no database connection came free in time");
                DomainError::Unavailable {
                    detail: format!(
                        "the service is overloaded: {error}; retry after {RETRY_AFTER_SECS} s",
                        error = StoreError::Exhausted
                    ),
                    retry_after_secs: RETRY_AFTER_SECS,
                }
            }
            StoreError::Disconnected(error) => {
                tracing::warn!(%error, "the database connection broke");
                DomainError::Unavailable {
                    detail: format!(
                        "the connection to the database was lost (a restart or failover), \
                         so the request did not complete; retry after {RETRY_AFTER_SECS} s"
                    ),
                    retry_after_secs: RETRY_AFTER_SECS,
                }
            }
            other @ (StoreError::Taken(UniqueField::Other)
            | StoreError::Corrupt(_)
            | StoreError::Unreachable { .. }
            | StoreError::Database(_)) => DomainError::Storage(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_become_taken_and_faults_stay_opaque() {
        assert!(matches!(
            DomainError::from(StoreError::Taken(UniqueField::UserName)),
            DomainError::Taken(_)
        ));
        let fault = DomainError::from(StoreError::Corrupt("u1".into()));
        assert!(matches!(fault, DomainError::Storage(_)));
    }

    #[test]
    fn protocol_errors_keep_their_keyword_and_detail() {
        let error = DomainError::from(ScimError::invalid_filter("at position 3: …"));
        let DomainError::Invalid { scim_type, detail } = error else {
            panic!("expected an invalid request");
        };
        assert_eq!(scim_type, Some(ScimType::InvalidFilter));
        assert_eq!(detail, "at position 3: …");
    }
}
