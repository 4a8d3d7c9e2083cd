//! The overview page, read over HTTP.

use serde_json::json;

use super::Visitor;
use crate::helpers::{USER_SCHEMA, spawn_app};

#[tokio::test]
async fn the_overview_shows_seats_pending_requests_refusals_and_the_last_admin() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let empty = visitor.get("/console").await;
    assert!(
        empty.body.contains("Nothing waits for you."),
        "{}",
        empty.body
    );
    assert!(!empty.body.contains("exactly one active admin"));

    let admin = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "ada@example.com", "roles": [{"value": "admin"}]}),
        )
        .await;
    assert_eq!(admin.status(), 201);
    let admin: serde_json::Value = admin.json().await.unwrap();
    let leaver = app.create_user("leaver@example.com").await;
    let (status, _) = app
        .call_admin(
            &app.admin_token,
            reqwest::Method::POST,
            "/assets",
            Some(&json!({"kind": "number", "name": "+1 555 0100", "owner_id": leaver["id"]})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .call_scim(
            &app.scim_token,
            reqwest::Method::PATCH,
            &format!("/Users/{}", leaver["id"].as_str().unwrap()),
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]}),
            ),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .call_scim(
            &app.scim_token,
            reqwest::Method::DELETE,
            &format!("/Users/{}", admin["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409, "the last admin stays");

    let page = visitor.get("/console").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("exactly one active admin"),
        "{}",
        page.body
    );
    assert!(page.body.contains("leaver@example.com"), "{}", page.body);
    // Two pending requests (the leaver's and the last admin's), two refusals.
    let figures: Vec<&str> = page
        .body
        .match_indices("<p class=\"figure\">")
        .map(|(at, m)| {
            let rest = &page.body[at + m.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    assert_eq!(figures, ["2", "2", "2", "1"], "{}", page.body);
}
