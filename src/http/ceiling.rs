//! `GET /bench/ceiling`: a static SCIM user document, compiled in only
//! with the `bench-ceiling` feature. It goes through the same middleware
//! as every route (request id, tracing, panic catching) but reads no
//! token and no database, so the load tool can give every workload as a
//! fraction of what the HTTP stack alone serves.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::SCIM_MEDIA_TYPE;

/// A user as `GET /Users/{id}` returns a seeded one, byte for byte in shape.
const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"0b6a52b3-8a8c-4d1e-9a57-2f4ef5c1d9a0","userName":"user42@bench.test","externalId":"ext-42","displayName":"Bench User 42","name":{"givenName":"Bench","familyName":"User 42"},"emails":[{"value":"user42@bench.test","type":"work","primary":true}],"active":true,"meta":{"resourceType":"User","created":"2026-11-28T18:00:00.000Z","lastModified":"2026-11-28T18:00:00.000Z","location":"http://127.0.0.1:8080/scim/v2/Users/0b6a52b3-8a8c-4d1e-9a57-2f4ef5c1d9a0","version":"W/\"1\""}}"#;

/// Answers the static user.
pub async fn user() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_MEDIA_TYPE),
        )],
        USER,
    )
        .into_response()
}
