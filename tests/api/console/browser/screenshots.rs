//! Screenshots of every console page, for the README: written with
//! `SCIMD_UPDATE_SCREENSHOTS=1` from fixed data and a fixed clock; without
//! it nothing is written, and a page without its PNG fails the suite.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use reqwest::Method;
use serde_json::json;

use super::{Browser, screenshot_dir, skip_on_postgres};
use crate::console::fixtures::{BLOCKED, default_tenant};
use crate::deprovisioning::{Deprovision, deprovision, give, give_group};
use crate::helpers::{ENTERPRISE, ManualClock, TestApp, USER_SCHEMA, spawn_app_on};

/// Every console page: its screenshot's name (`docs/console/<name>.png`)
/// and its path, where `{key}` is an id from [`seed`]. Add a page here.
pub const CONSOLE_PAGES: &[(&str, &str)] = &[
    ("sign-in", "/console/sign-in"),
    ("overview", "/console"),
    ("deprovisionings", "/console/deprovisionings"),
    ("deprovisioning", "/console/deprovisionings/{pending}"),
    ("not-found", "/console/no-such-page"),
    ("users", "/console/users"),
    ("user", "/console/users/{user}"),
    ("audit", "/console/audit"),
    ("settings", "/console/settings"),
    ("connect", "/console/connect"),
    ("webhooks", "/console/webhooks"),
];

/// 2026-06-01 09:30 UTC: the fixed clock of the screenshots.
pub const FIXED_NOW_MILLIS: i64 = 1_780_306_200_000;

/// A user with a display name; returns its id.
async fn person(app: &TestApp, user_name: &str, display: &str, admin: bool) -> String {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "displayName": display,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    });
    if admin {
        body["roles"] = json!([{"value": "admin"}]);
    }
    let (status, user) = app
        .call_scim(&app.scim_token, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

/// Fixed data for the screenshots, in the default tenant; returns the ids
/// the page paths name (`pending`: Jordan Lee's request).
pub async fn seed(app: &TestApp) -> HashMap<&'static str, String> {
    // The Users, Audit log, Settings, Connect and Webhooks pages' data
    // first, so that the webhook endpoint receives the refusals below.
    let mut ids = super::seed_b::seed(app).await;
    let t = default_tenant(app);
    person(app, "ada.admin@example.com", "Ada Lovelace", true).await;
    person(app, "grace.hopper@example.com", "Grace Hopper", false).await;
    person(app, "alan.turing@example.com", "Alan Turing", false).await;
    let jordan = person(app, "jordan.lee@example.com", "Jordan Lee", false).await;
    give(app, &t, "number", "+91 80 4000 1234", &jordan).await;
    give(app, &t, "workflow", "Escalation", &jordan).await;
    give_group(app, &t, "Sales", &jordan).await;
    let sam = person(app, "sam.patel@example.com", "Sam Patel", false).await;
    give(app, &t, "number", "+91 80 4000 1235", &sam).await;

    let answer = deprovision(app, &t, Deprovision::OktaPatch, &jordan, "", false).await;
    assert_eq!(answer.status, 409);
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = deprovision(app, &t, Deprovision::ScimDelete, &sam, "", false).await;
    assert_eq!(answer.status, 409);
    super::seed_b::deliveries_done(app).await;
    ids.insert("pending", pending);
    ids
}

fn path_of(template: &str, ids: &HashMap<&'static str, String>) -> String {
    let mut path = template.to_owned();
    for (key, id) in ids {
        path = path.replace(&format!("{{{key}}}"), id);
    }
    path
}

#[test]
fn every_console_page_has_a_screenshot() {
    let missing: Vec<&str> = CONSOLE_PAGES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !screenshot_dir().join(format!("{name}.png")).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "console pages without a screenshot in docs/console/: {missing:?}; run \
         `SCIMD_UPDATE_SCREENSHOTS=1 cargo test --test api console::browser::screenshots` \
         and commit them"
    );
}

#[tokio::test]
async fn screenshots_of_every_console_page() {
    if skip_on_postgres() {
        return;
    }
    let clock = Arc::new(ManualClock(AtomicI64::new(FIXED_NOW_MILLIS)));
    // The webhooks page's endpoint is a receiver on 127.0.0.1; the public
    // URL keeps the pages' addresses the same from run to run.
    let app = spawn_app_on(
        |config| {
            config.allow_private_webhooks = true;
            config.public_url = Some("https://scim.example.com".to_owned());
        },
        clock,
    )
    .await;
    let ids = seed(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    let (sign_in, rest) = CONSOLE_PAGES.split_first().expect("pages");
    browser.goto(sign_in.1).await;
    browser.screenshot(sign_in.0).await;
    browser.sign_in(&app.admin_token).await;
    for (name, template) in rest {
        let path = path_of(template, &ids);
        browser.goto(&path).await;
        browser.assert_no_alert(name).await;
        browser.screenshot(name).await;
    }
    browser.close().await;
}
