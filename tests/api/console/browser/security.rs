//! The security checks, in Chromium: hostile names stay text,
//! forged forms change nothing, another tenant sees nothing, sessions end.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use reqwest::Method;
use serde_json::json;

use super::{Browser, skip_on_postgres};
use crate::console::fixtures::{BLOCKED, default_tenant, leaver_owning_a_number_and_a_workflow};
use crate::deprovisioning::{Deprovision, deprovision, give};
use crate::helpers::{ManualClock, TestApp, USER_SCHEMA, spawn_app, spawn_app_on};

/// The hostile names.
pub const XSS_DISPLAY_NAME: &str = "<img src=x onerror=alert(1)>";
pub const XSS_USER_NAME: &str = "\"><script>alert(1)</script>@x";

/// A user with the hostile names, created through SCIM, owning a number,
/// whose deactivation was refused; returns (user id, pending id).
pub async fn seed_xss_user(app: &TestApp) -> (String, String) {
    let (status, user) = app
        .call_scim(
            &app.scim_token,
            Method::POST,
            "/Users",
            Some(&json!({
                "schemas": [USER_SCHEMA],
                "userName": XSS_USER_NAME,
                "displayName": XSS_DISPLAY_NAME,
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let t = default_tenant(app);
    give(app, &t, "number", "+1 555 0666", &id).await;
    let answer = deprovision(app, &t, Deprovision::OktaPatch, &id, "", false).await;
    assert_eq!(answer.status, 409);
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, pending)
}

#[tokio::test]
async fn hostile_names_render_as_text_on_every_page() {
    if skip_on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let (_, pending) = seed_xss_user(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    for path in [
        "/console".to_owned(),
        "/console/deprovisionings".to_owned(),
        format!("/console/deprovisionings/{pending}"),
        format!("/console/deprovisionings/{}", l.pending),
    ] {
        browser.goto(&path).await;
        browser.assert_no_alert(&path).await;
        let injected = browser
            .client
            .execute(
                "return document.querySelectorAll('img[src=x], script:not([src])').length",
                Vec::new(),
            )
            .await
            .expect("script");
        assert_eq!(injected, json!(0), "{path}");
    }
    browser
        .goto(&format!("/console/deprovisionings/{pending}"))
        .await;
    let text = browser.text().await;
    assert!(text.contains(XSS_DISPLAY_NAME), "{text}");
    assert!(text.contains(XSS_USER_NAME), "{text}");
    browser.close().await;
}

#[tokio::test]
async fn forged_forms_change_nothing() {
    if skip_on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    browser.goto(&path).await;
    let csrf = browser
        .by_label("New owner")
        .await
        .attr("id")
        .await
        .expect("id");
    assert_eq!(csrf.as_deref(), Some("new_owner"));

    // A form without its CSRF token (removed from the page).
    browser
        .client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())",
            Vec::new(),
        )
        .await
        .expect("script");
    browser.press("Cancel request").await;
    assert_eq!(browser.heading().await, "Form refused");

    // A page of another origin posting the real token.
    browser.goto(&path).await;
    let token = browser
        .client
        .find(fantoccini::Locator::Css("input[name=csrf]"))
        .await
        .expect("csrf field")
        .attr("value")
        .await
        .expect("value")
        .expect("a token");
    let attack = format!(
        "data:text/html,<form method=post action='{}{path}/cancel'>\
         <input name=csrf value='{token}'><button>Win a prize</button></form>",
        browser.base
    );
    browser.client.goto(&attack).await.expect("the attack page");
    browser.press("Win a prize").await;
    assert_ne!(
        browser.heading().await,
        "Deprovisioning of leaver@example.com Display"
    );

    let (_, request) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            &format!("/deprovisionings/{}", l.pending),
            None,
        )
        .await;
    assert_eq!(request["state"], "pending", "{request}");
    browser.close().await;
}

#[tokio::test]
async fn another_tenants_session_sees_nothing_of_this_one() {
    if skip_on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let other = app.new_tenant().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&other.admin).await;
    assert_eq!(browser.heading().await, "Overview");
    browser
        .goto(&format!("/console/deprovisionings/{}", l.pending))
        .await;
    assert_eq!(browser.heading().await, "Not found");
    browser.goto("/console/deprovisionings").await;
    let text = browser.text().await;
    assert!(!text.contains("leaver@example.com"), "{text}");
    browser.close().await;
}

#[tokio::test]
async fn an_idle_session_ends_and_the_next_page_asks_to_sign_in() {
    if skip_on_postgres() {
        return;
    }
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000_000)));
    let app = spawn_app_on(|_| {}, clock.clone()).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    assert_eq!(browser.heading().await, "Overview");
    clock.advance_seconds(31 * 60);
    browser.goto("/console/deprovisionings").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    assert_eq!(browser.heading().await, "Sign in");
    browser.close().await;
}
