//! Health, readiness and request ids.

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = spawn_app().await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/Users").await;
    assert!(response.headers().get("x-request-id").is_some());
    let response = app
        .client
        .get(format!("{}/scim/v2/Users", app.address))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("x-request-id").is_some());
}
