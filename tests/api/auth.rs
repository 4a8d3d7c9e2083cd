//! Authentication: Bearer, Basic, scopes and revocation.

use base64::Engine;
use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn requests_without_or_with_a_bad_token_are_401_with_a_challenge() {
    let app = spawn_app().await;
    let no_token = app
        .client
        .get(format!("{}/Users", app.scim_base))
        .send()
        .await
        .unwrap();
    assert!(no_token.headers().get("www-authenticate").is_some());
    assert_scim_error(no_token, 401, None).await;

    let forged = format!("{}x", app.scim_token);
    let bad = app
        .scim_as(&forged, Method::GET, "/Users")
        .send()
        .await
        .unwrap();
    assert_scim_error(bad, 401, None).await;

    let garbage = app
        .client
        .get(format!("{}/Users", app.scim_base))
        .header("authorization", "Bearer")
        .send()
        .await
        .unwrap();
    assert_scim_error(garbage, 401, None).await;
}

#[tokio::test]
async fn http_basic_with_the_token_as_password_is_accepted() {
    let app = spawn_app().await;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("okta:{}", app.scim_token));
    let response = app
        .client
        .get(format!("{}/Users", app.scim_base))
        .header("authorization", format!("Basic {credentials}"))
        .send()
        .await
        .unwrap();
    json_of(response, 200).await;
}

#[tokio::test]
async fn an_admin_token_cannot_use_the_scim_api() {
    let app = spawn_app().await;
    let response = app
        .scim_as(&app.admin_token, Method::GET, "/Users")
        .send()
        .await
        .unwrap();
    let error = assert_scim_error(response, 403, None).await;
    assert!(error["detail"].as_str().unwrap().contains("scim"));
}
