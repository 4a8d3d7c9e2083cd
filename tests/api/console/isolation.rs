//! The Users, Audit log, Settings, Connect and Webhooks pages: tenant
//! isolation and the forged-form defences of every form.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::default_tenant;
use super::markup::form_paths;
use crate::deprovisioning::{give, user};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn another_tenants_session_sees_none_of_this_tenants_users_tokens_or_webhooks() {
    let app = spawn_app_with(|config| config.allow_private_webhooks = true).await;
    let t = default_tenant(&app);
    let ann = user(&app, &t, "ann.secret@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0777", &ann).await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "Okta secret label", "scope": "scim"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, hook) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/webhooks",
            Some(&json!({"url": "http://127.0.0.1:9/tenant-one", "events": ["user.suspended"]})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    let token_id = tokens["tokens"][0]["id"].as_str().unwrap().to_owned();

    let other = app.new_tenant().await;
    let mut stranger = Visitor::new(&app);
    assert_eq!(stranger.sign_in(&other.admin).await.status, 303);
    for path in [
        "/console/users",
        "/console/users?q=ann",
        "/console/audit",
        &format!("/console/audit?user={ann}"),
        "/console/settings",
        "/console/connect",
        "/console/webhooks",
    ] {
        let page = stranger.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        for secret in [
            "ann.secret@example.com",
            "+1 555 0777",
            "Okta secret label",
            "tenant-one",
            ann.as_str(),
        ] {
            if path.contains(secret) {
                continue;
            }
            assert!(!page.body.contains(secret), "{path} shows {secret}");
        }
    }
    assert_eq!(
        stranger.get(&format!("/console/users/{ann}")).await.status,
        404
    );
    let csrf = stranger.csrf().await;
    for path in [
        format!("/console/users/{ann}/deactivate"),
        format!("/console/connect/tokens/{token_id}/revoke"),
        format!("/console/webhooks/{hook_id}/delete"),
        format!("/console/webhooks/{hook_id}/ping"),
    ] {
        let answer = stranger.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    let reassign = stranger
        .post(
            &format!("/console/users/{ann}/reassign"),
            &[("csrf", &csrf), ("new_owner", &ann)],
        )
        .await;
    assert!(
        [400, 404].contains(&reassign.status),
        "{}: {}",
        reassign.status,
        reassign.body
    );
    // Nothing of the first tenant changed.
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{ann}"), None)
        .await;
    assert_eq!(view["access"], "active");
    let (_, hooks) = app
        .call_admin(&t.admin, Method::GET, "/webhooks", None)
        .await;
    assert_eq!(hooks["webhooks"].as_array().unwrap().len(), 1);
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    assert!(tokens["tokens"][0]["revoked_at"].is_null());
}

#[tokio::test]
async fn every_form_refuses_a_post_without_its_csrf_token_or_from_another_origin() {
    let app = spawn_app_with(|_| {}).await;
    let t = default_tenant(&app);
    let sam = user(&app, &t, "sam@example.com", false, None).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;
    for path in form_paths(&sam) {
        let missing = visitor.post(&path, &[("label", "x")]).await;
        assert_eq!(missing.status, 403, "{path}: {}", missing.body);
        assert!(missing.body.contains("Form refused"), "{path}");
        let wrong = visitor.post(&path, &[("csrf", "forged")]).await;
        assert_eq!(wrong.status, 403, "{path}");
        let foreign = visitor
            .post_from(&path, &[("csrf", &csrf)], Some("https://evil.example"))
            .await;
        assert_eq!(foreign.status, 403, "{path}");
    }
    // None of them did anything.
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{sam}"), None)
        .await;
    assert_eq!(view["access"], "active");
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 2);
    // And text holding NUL is refused before it reaches the database.
    let nul = visitor
        .post(
            "/console/connect/tokens",
            &[("csrf", &csrf), ("label", "a\0b")],
        )
        .await;
    assert_eq!(nul.status, 400, "{}", nul.body);
    let nul_query = visitor.get("/console/users?q=a%00b").await;
    assert_eq!(nul_query.status, 400, "{}", nul_query.body);
}
