//! The one table from errors to HTTP responses. Every failure under
//! `/scim/v2` leaves as a SCIM error body (RFC 7644 §3.12) with
//! `Content-Type: application/scim+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::{DEPROVISION_BLOCKED, DomainError};
use scim::{ScimError, ScimType};

/// URN of the SCIM error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// An error leaving a SCIM handler: the domain's, or one the HTTP edge
/// found itself (an unknown endpoint, a method, a body it cannot read).
#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    Protocol(ScimError),
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        ApiError::Domain(error)
    }
}

impl From<ScimError> for ApiError {
    fn from(error: ScimError) -> Self {
        ApiError::Protocol(error)
    }
}

/// The one table from domain errors to SCIM errors (status and
/// `scimType`). Storage faults are logged here, inside the request's span,
/// and answered with a bare 500 whose body `hide_internal_errors` replaces
/// with the request's correlation id.
pub fn scim_error_of(error: DomainError) -> ScimError {
    match error {
        DomainError::Unauthorized => ScimError::status(
            401,
            "authentication required: send `Authorization: Bearer <token>` with a scimd SCIM token",
        ),
        error @ DomainError::WrongScope(..) => ScimError::status(403, error.to_string()),
        DomainError::Forbidden(detail) => ScimError::status(403, detail),
        DomainError::Invalid { scim_type, detail } => ScimError::new(
            400,
            Some(scim_type.unwrap_or(ScimType::InvalidValue)),
            detail,
        ),
        DomainError::NotFound(detail) => ScimError::not_found(detail),
        DomainError::Taken(detail) => ScimError::uniqueness(detail),
        DomainError::Conflict(detail) => ScimError::status(409, detail),
        DomainError::PreconditionFailed(detail) => ScimError::status(412, detail),
        DomainError::TooLarge(detail) => ScimError::status(413, detail),
        // A refused deprovisioning or demotion is 409 `mutability` (the
        // user's state forbids the change) with the extension object; a
        // full tenant is a plain 409.
        DomainError::Refused(refusal) if refusal.is_deprovisioning() => {
            let extension = json!({
                "reason": refusal.reason,
                "blockers": refusal.blockers,
                "pending_id": refusal.pending_id,
                "resolve_url": refusal.resolve_url,
            });
            ScimError::conflicting_state(refusal.detail)
                .with_extension(DEPROVISION_BLOCKED, extension)
        }
        DomainError::Refused(refusal) => ScimError::status(409, refusal.detail),
        // RFC 7644 defines no scimType for 429 or 503 (§3.12): a plain
        // error whose detail says which limit and when to come back; the
        // response carries `Retry-After` too.
        DomainError::TooManyRequests { detail, .. } => ScimError::status(429, detail),
        DomainError::Unavailable { detail, .. } => ScimError::status(503, detail),
        DomainError::Storage(error) => {
            tracing::error!(error = %error, "storage failure");
            ScimError::status(500, "internal error")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = match self {
            ApiError::Protocol(error) => return scim_error_response(&error),
            ApiError::Domain(error) => error,
        };
        let unauthorized = matches!(error, DomainError::Unauthorized);
        let retry_after = retry_after_of(&error);
        let mut response = scim_error_response(&scim_error_of(error));
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if unauthorized {
            let challenges = response.headers_mut();
            challenges.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scimd\""),
            );
            challenges.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"scimd\""),
            );
        }
        response
    }
}

/// The `Retry-After` (whole seconds) of an error that tells the client to
/// come back later: 429 and 503.
pub fn retry_after_of(error: &DomainError) -> Option<u64> {
    match error {
        DomainError::TooManyRequests {
            retry_after_secs, ..
        }
        | DomainError::Unavailable {
            retry_after_secs, ..
        } => Some((*retry_after_secs).max(1)),
        _ => None,
    }
}

/// Renders a `ScimError` as its response.
pub fn scim_error_response(error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_MEDIA_TYPE),
        )],
        scim_error_body(error).to_string(),
    )
        .into_response()
}

/// The SCIM error body (RFC 7644 §3.12), `status` as a string.
pub fn scim_error_body(error: &ScimError) -> serde_json::Value {
    let mut body = json!({
        "schemas": [ERROR_SCHEMA],
        "status": error.status.to_string(),
        "detail": error.detail,
    });
    if let Some(scim_type) = error.scim_type {
        body["scimType"] = json!(scim_type.as_str());
    }
    if let Some(extension) = &error.extension {
        let (urn, object) = extension.as_ref();
        body["schemas"] = json!([ERROR_SCHEMA, urn]);
        body[urn.as_str()] = object.clone();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn scim_errors_keep_their_status_and_scim_type_with_status_as_a_string() {
        let response = ApiError::from(DomainError::Taken("taken".into())).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], SCIM_MEDIA_TYPE);
        let body = body_of(response).await;
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
    }

    #[tokio::test]
    async fn missing_credentials_answer_401_with_a_challenge() {
        let response = ApiError::Domain(DomainError::Unauthorized).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_some());
        assert!(body_of(response).await.get("scimType").is_none());
    }

    #[tokio::test]
    async fn storage_faults_answer_500_without_their_details() {
        let fault = StoreError::Corrupt("secret-detail".into());
        let response = ApiError::Domain(DomainError::Storage(fault)).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert!(!body.to_string().contains("secret-detail"));
    }

    #[tokio::test]
    async fn limits_answer_429_and_503_with_retry_after_and_no_scim_type() {
        for (error, status) in [
            (
                DomainError::TooManyRequests {
                    detail: "over the rate; retry after 3 s".into(),
                    retry_after_secs: 3,
                },
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (
                DomainError::from(StoreError::Exhausted),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ] {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status(), status);
            let retry_after = response.headers()[header::RETRY_AFTER]
                .to_str()
                .expect("ascii")
                .parse::<u64>()
                .expect("whole seconds");
            assert!(retry_after >= 1);
            let body = body_of(response).await;
            assert_eq!(body["status"], status.as_u16().to_string());
            assert!(body.get("scimType").is_none());
            assert!(body["detail"].as_str().is_some_and(|d| d.contains("retry")));
        }
    }

    #[tokio::test]
    async fn a_refusal_is_409_mutability_with_its_extension_object() {
        use crate::domain::{Blocker, BlockerKind, Reason, Refusal};
        let refusal = Refusal {
            reason: Reason::OwnsAssets,
            blockers: vec![Blocker {
                kind: BlockerKind::Number,
                id: "a1".into(),
                name: "+1".into(),
            }],
            detail: "owns number +1".into(),
            user_id: "u1".into(),
            pending_id: None,
            resolve_url: None,
        };
        let response = ApiError::from(DomainError::Refused(Box::new(refusal))).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = body_of(response).await;
        assert_eq!(body["scimType"], "mutability");
        assert_eq!(body["schemas"], json!([ERROR_SCHEMA, DEPROVISION_BLOCKED]));
        assert_eq!(
            body[DEPROVISION_BLOCKED],
            json!({"reason": "owns_assets", "blockers": [{"kind": "number", "id": "a1", "name": "+1"}], "pending_id": null, "resolve_url": null})
        );
    }

    #[tokio::test]
    async fn a_full_tenant_is_a_plain_409() {
        use crate::domain::{Reason, Refusal};
        let refusal = Refusal {
            reason: Reason::SeatLimit,
            blockers: Vec::new(),
            detail: "all 1 seats are taken".into(),
            user_id: "u1".into(),
            pending_id: None,
            resolve_url: None,
        };
        let response = ApiError::from(DomainError::Refused(Box::new(refusal))).into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = body_of(response).await;
        assert!(body.get("scimType").is_none());
        assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
    }
}
