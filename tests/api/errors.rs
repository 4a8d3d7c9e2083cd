//! Bad input: malformed JSON, oversized bodies, unknown routes, wrong methods.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let app = spawn_app().await;
    for body in ["{\"userName\": ", "[1, 2]", "not json", ""] {
        let response = app
            .scim(Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 400, Some("invalidSyntax")).await;
    }
}

#[tokio::test]
async fn plain_application_json_and_charset_parameters_are_accepted() {
    let app = spawn_app().await;
    for (i, content_type) in [
        "application/json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let response = app
            .scim(Method::POST, "/Users")
            .header("content-type", *content_type)
            .body(json!({"userName": format!("u{i}@example.com")}).to_string())
            .send()
            .await
            .unwrap();
        json_of(response, 201).await;
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_names_the_limit() {
    let app = spawn_app_with(|c| c.max_body_bytes = 4096).await;
    let big = json!({"userName": "big@example.com", "title": "x".repeat(5000)});
    let error = assert_scim_error(app.post("/Users", &big).await, 413, None).await;
    assert!(error["detail"].as_str().unwrap().contains("4096"));
    let small = json!({"userName": "small@example.com"});
    json_of(app.post("/Users", &small).await, 201).await;
}

#[tokio::test]
async fn unknown_scim_routes_are_404_scim_errors() {
    let app = spawn_app().await;
    assert_scim_error(app.get("/Widgets").await, 404, None).await;
    assert_scim_error(app.get("/Users/a/b").await, 404, None).await;
}

#[tokio::test]
async fn write_methods_on_discovery_endpoints_are_405() {
    let app = spawn_app().await;
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        assert_scim_error(app.post(path, &json!({})).await, 405, None).await;
        assert_scim_error(app.put(path, &json!({})).await, 405, None).await;
        assert_scim_error(app.delete(path).await, 405, None).await;
    }
}

#[tokio::test]
async fn me_is_501() {
    let app = spawn_app().await;
    assert_scim_error(app.get("/Me").await, 501, None).await;
}
