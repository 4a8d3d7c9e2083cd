//! The flows 3, 4 and 5 in Chromium, a leaver handled from the
//! Users page, hostile names on the Users, Audit log, Settings and
//! Connect pages, and those pages at 360 px. On PostgreSQL these are
//! skipped: the browser suite runs only its smoke flow there.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Browser, NARROW};
use crate::console::fixtures::default_tenant;
use crate::deprovisioning::{give, give_group, user};
use crate::helpers::{TestApp, USER_SCHEMA, spawn_app};

/// Whether the suite runs on PostgreSQL, where only the smoke flow runs.
fn on_postgres() -> bool {
    std::env::var("SCIMD_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
}

/// Okta's deactivation: a path-less `replace` of `active`.
fn okta_deactivation() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
           "Operations": [{"op": "replace", "value": {"active": false}}]})
}

/// Flow 3: create a SCIM token on "Connect your IdP" and use it.
#[tokio::test]
async fn flow_3_a_scim_token_created_on_connect_your_idp_works_for_scim() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.follow("Connect your IdP").await;
    assert_eq!(browser.heading().await, "Connect your IdP");
    let base = browser.by_label("SCIM base URL").await;
    assert_eq!(
        base.prop("value").await.expect("value").as_deref(),
        Some(app.scim_base.as_str())
    );
    browser.fill("Token label", "Okta production").await;
    browser.press("Create SCIM token").await;
    assert_eq!(browser.path().await, "/console/connect/tokens");
    let field = browser.by_label("New SCIM token").await;
    let token = field.prop("value").await.expect("value").expect("a token");
    assert!(token.starts_with("scimd_"), "{token}");
    assert_eq!(
        field.attr("readonly").await.expect("attribute").as_deref(),
        Some("true")
    );
    browser.assert_no_alert("the new token").await;

    let (status, body) = app
        .call_scim(&token, Method::GET, "/Users?count=1", None)
        .await;
    assert_eq!(status, 200, "{body}");
    // Not in a URL, and not shown again.
    assert!(!browser.path().await.contains(&token));
    browser.goto("/console/connect").await;
    let text = browser.text().await;
    assert!(!text.contains(&token));
    assert!(text.contains("Okta production"), "{text}");
    browser.close().await;
}

/// Flow 4: change the policy in Settings and see it in the admin API.
#[tokio::test]
async fn flow_4_a_policy_changed_in_settings_is_what_the_admin_api_reads() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let t = default_tenant(&app);
    user(&app, &t, "ann@example.com", false, None).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.follow("Settings").await;
    assert_eq!(browser.heading().await, "Settings");
    browser
        .by_label("Reassign to the fallback owner")
        .await
        .click()
        .await
        .expect("click");
    browser
        .choose(
            "Fallback owner",
            "ann@example.com Display (ann@example.com)",
        )
        .await;
    browser.fill("Seat limit", "25").await;
    browser.fill("Audit retention (days)", "30").await;
    browser.press("Save settings").await;
    assert!(
        browser.text().await.contains("The settings were saved."),
        "{}",
        browser.text().await
    );
    let (status, settings) = app
        .call_admin(&app.admin_token, Method::GET, "/settings", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["deprovision_policy"], "reassign_to_fallback");
    assert_eq!(settings["seat_limit"], 25);
    assert_eq!(settings["audit_retention_days"], 30);
    assert!(settings["fallback_owner_id"].is_string(), "{settings}");
    browser.close().await;
}

/// Flow 5: the audit log filtered by outcome=blocked shows the refusal.
#[tokio::test]
async fn flow_5_the_audit_log_filtered_by_blocked_shows_the_refusal() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0123", &leaver).await;
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{leaver}"),
            Some(&okta_deactivation()),
        )
        .await;
    assert_eq!(status, 409);
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.follow("Audit log").await;
    browser.choose("Outcome", "blocked").await;
    browser.press("Filter").await;
    assert!(browser.path().await.contains("outcome=blocked"));
    let text = browser.text().await;
    // The table, after the filters (whose lists name every action).
    let table = &text[text.find("Detail").expect("a table")..];
    assert!(table.contains("user.deactivate"), "{table}");
    assert!(table.contains("leaver@example.com"), "{table}");
    assert!(table.contains("+1 555 0123"), "{table}");
    assert!(!table.contains("user.create"), "{table}");
    browser.follow("leaver@example.com").await;
    assert_eq!(browser.heading().await, "leaver@example.com Display");
    browser.close().await;
}

/// A leaver found on the Users page, its things given to a new owner,
/// then deactivated.
#[tokio::test]
async fn a_leaver_is_found_reassigned_and_deactivated_from_the_users_page() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let priya = user(&app, &t, "priya@example.com", false, None).await;
    user(&app, &t, "heir@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0188", &priya).await;
    give_group(&app, &t, "Support line", &priya).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.follow("Users").await;
    browser.fill("Name or e-mail", "pri").await;
    browser.press("Search").await;
    browser.follow("priya@example.com Display").await;
    let text = browser.text().await;
    assert!(text.contains("+1 555 0188"), "{text}");
    assert!(text.contains("Support line"), "{text}");
    browser
        .choose("New owner", "heir@example.com Display (heir@example.com)")
        .await;
    browser.press("Reassign everything").await;
    let text = browser.text().await;
    assert!(
        text.contains("Everything the user owned now belongs to the new owner."),
        "{text}"
    );
    assert!(text.contains("Nothing: no numbers"), "{text}");
    browser.press("Deactivate").await;
    assert!(browser.text().await.contains("The user was deactivated."));
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{priya}"), None)
        .await;
    assert_eq!(view["active"], false);
    browser.close().await;
}

/// The hostile names of the issue.
const XSS_DISPLAY_NAME: &str = "<img src=x onerror=alert(1)>";
const XSS_USER_NAME: &str = "\"><script>alert(1)</script>@x";

/// A user with the hostile names (in a group), a leaver refused a
/// deactivation for a number with a hostile name, and a token with a
/// hostile label; returns the hostile user's id.
async fn seed_hostile_names(app: &TestApp) -> String {
    let t = default_tenant(app);
    let (status, created) = app
        .call_scim(
            &t.scim,
            Method::POST,
            "/Users",
            Some(&json!({"schemas": [USER_SCHEMA], "userName": XSS_USER_NAME,
                         "displayName": XSS_DISPLAY_NAME})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    app.create_group("<b onmouseover=alert(4)>Group</b>", &[&id])
        .await;
    let leaver = user(app, &t, "leaver@example.com", false, None).await;
    give(app, &t, "number", "<svg onload=alert(3)>", &leaver).await;
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{leaver}"),
            Some(&okta_deactivation()),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "<img src=y onerror=alert(2)>", "scope": "scim"})),
        )
        .await;
    assert_eq!(status, 201);
    id
}

#[tokio::test]
async fn hostile_names_render_inert_on_the_users_audit_settings_and_connect_pages() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let id = seed_hostile_names(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    let pages = [
        (
            "/console/users".to_owned(),
            vec![XSS_DISPLAY_NAME, XSS_USER_NAME],
        ),
        (
            format!("/console/users/{id}"),
            vec![
                XSS_DISPLAY_NAME,
                XSS_USER_NAME,
                "<b onmouseover=alert(4)>Group</b>",
            ],
        ),
        ("/console/audit".to_owned(), vec![XSS_USER_NAME]),
        (
            "/console/audit?outcome=blocked".to_owned(),
            vec!["<svg onload=alert(3)>"],
        ),
        (format!("/console/audit?user={id}"), vec![XSS_USER_NAME]),
        ("/console/settings".to_owned(), vec![XSS_DISPLAY_NAME]),
        (
            "/console/connect".to_owned(),
            vec!["<img src=y onerror=alert(2)>"],
        ),
    ];
    for (path, names) in pages {
        browser.goto(&path).await;
        browser.assert_no_alert(&path).await;
        let text = browser.text().await;
        for name in names {
            assert!(text.contains(name), "{path} does not show {name}: {text}");
        }
    }
    // The user's page with the hostile name in the search field too.
    browser
        .goto("/console/users?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    browser.assert_no_alert("a hostile search").await;
    browser.close().await;
}

#[tokio::test]
async fn the_users_audit_settings_connect_and_webhooks_pages_fit_360_pixels() {
    if on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let priya = user(
        &app,
        &t,
        "priya.with.a.rather.long.address@example.com",
        false,
        None,
    )
    .await;
    give(
        &app,
        &t,
        "workflow",
        "After-hours escalation to the on-call team",
        &priya,
    )
    .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.resize(NARROW).await;
    for path in [
        "/console/users".to_owned(),
        format!("/console/users/{priya}"),
        "/console/audit".to_owned(),
        "/console/settings".to_owned(),
        "/console/connect".to_owned(),
        "/console/webhooks".to_owned(),
    ] {
        browser.goto(&path).await;
        assert!(!browser.overflows().await, "{path} is wider than 360 px");
    }
    browser.close().await;
}
