//! The SCIM error type of RFC 7644 §3.12, shared by every layer above.
//!
//! `ScimError` is protocol-level and knows nothing of HTTP: it carries the
//! status as a number and the `scimType` keyword; `http::error` renders it.

use std::fmt;

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9) and RFC 9865.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865 §2.1: the cursor is malformed, forged or for another query.
    InvalidCursor,
    /// RFC 9865 §2.1: the cursor is older than `cursorTimeout`.
    ExpiredCursor,
}

impl ScimType {
    /// The keyword as it appears in the `scimType` member of an error body.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

/// A SCIM protocol error: an HTTP status, an optional `scimType` and a
/// `detail` written for the IT admin who reads it in the IdP's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// An extension object for machines: its schema URN (listed in the
    /// body's `schemas`) and the object carried under that key.
    pub extension: Option<Box<(String, serde_json::Value)>>,
}

impl fmt::Display for ScimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl ScimError {
    /// An error with any status and `scimType`.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            extension: None,
        }
    }

    /// 409 `mutability`: the change conflicts with the resource's current
    /// state (RFC 7644 §3.12), e.g. a refused deprovisioning.
    pub fn conflicting_state(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Mutability), detail)
    }

    /// Adds an extension object under schema `urn`.
    pub fn with_extension(mut self, urn: &str, object: serde_json::Value) -> Self {
        self.extension = Some(Box::new((urn.to_owned(), object)));
        self
    }

    /// 400 `invalidSyntax`: the request body or a parameter could not be parsed.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidSyntax), detail)
    }

    /// 400 `invalidValue`: a required value is missing or a value has the wrong type.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidValue), detail)
    }

    /// 400 `invalidFilter`: the `filter` parameter is malformed or unsupported.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::InvalidFilter), detail)
    }

    /// 400 `mutability`: the request tried to change an immutable attribute.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::Mutability), detail)
    }

    /// 409 `uniqueness`: a value that must be unique is already taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    /// 400 `tooMany`: the query would return more results than the server will process.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(400, Some(ScimType::TooMany), detail)
    }

    /// 400 with a `scimType` of RFC 9865 (cursors).
    pub fn cursor(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 404 without a `scimType`: the resource or endpoint does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// Any other status without a `scimType` (401, 403, 405, 413, 501, …).
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self::new(status, None, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_pair_each_scim_type_with_its_rfc_status() {
        assert_eq!(ScimError::invalid_syntax("x").status, 400);
        assert_eq!(ScimError::uniqueness("x").status, 409);
        assert_eq!(
            ScimError::uniqueness("x").scim_type.map(ScimType::as_str),
            Some("uniqueness")
        );
        assert_eq!(ScimError::not_found("x").scim_type, None);
        assert_eq!(ScimError::mutability("m").to_string(), "m");
    }
}
