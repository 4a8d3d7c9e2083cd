//! The Settings page over HTTP: what it shows, saving, and refusals.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::default_tenant;
use super::markup::input_value;
use crate::deprovisioning::user;
use crate::helpers::spawn_app;

/// The settings form's fields, complete, as a browser posts them.
fn fields<'a>(
    csrf: &'a str,
    policy: &'a str,
    fallback: &'a str,
    seats: &'a str,
    source: &'a str,
    retention: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("deprovision_policy", policy),
        ("fallback_owner", fallback),
        ("seat_limit", seats),
        ("admin_source", source),
        ("audit_retention_days", retention),
    ]
}

#[tokio::test]
async fn saving_the_settings_form_changes_what_the_admin_api_reads() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let mut visitor = Visitor::signed_in(&app).await;

    let page = visitor.get("/console/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "<legend>Deprovisioning policy</legend>",
        "value=\"block\" checked",
        ">Reassign to the manager</label>",
        "if that manager is active",
        "<label for=\"fallback_owner\">Fallback owner</label>",
        "<label for=\"seat_limit\">Seat limit</label>",
        "<legend>Admin source</legend>",
        "value=\"idp\" checked",
        "<label for=\"audit_retention_days\">Audit retention (days)</label>",
        "ann@example.com Display (ann@example.com)",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert_eq!(input_value(&page.body, "audit_retention_days"), "365");
    assert_eq!(input_value(&page.body, "seat_limit"), "");

    let csrf = page.hidden("csrf");
    let saved = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "reassign_to_fallback", &ann, "25", "scimd", "30"),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some("/console/settings?done=settings-saved")
    );
    let (status, settings) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        settings,
        json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": ann,
               "seat_limit": 25, "admin_source": "scimd", "audit_retention_days": 30})
    );
    let page = visitor.get(saved.location().unwrap()).await;
    assert!(page.body.contains("The settings were saved."));
    assert!(page.body.contains("value=\"reassign_to_fallback\" checked"));
    assert!(
        page.body
            .contains(&format!("<option value=\"{ann}\" selected>"))
    );
    assert_eq!(input_value(&page.body, "seat_limit"), "25");

    // Blank fields: no fallback owner, no seat limit.
    let cleared = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "block", "", "", "scimd", "30"),
        )
        .await;
    assert_eq!(cleared.status, 303, "{}", cleared.body);
    let (_, settings) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(settings["fallback_owner_id"], json!(null));
    assert_eq!(settings["seat_limit"], json!(null));
}

#[tokio::test]
async fn a_refused_save_shows_why_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let bob = user(&app, &t, "bob@example.com", false, None).await;
    let gone = user(&app, &t, "gone@example.com", false, None).await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{gone}/deactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let retention = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "block", "", "7", "idp", "0"),
        )
        .await;
    assert_eq!(retention.status, 400, "{}", retention.body);
    assert!(retention.body.contains("audit_retention_days must be 1 to"));
    assert_eq!(input_value(&retention.body, "seat_limit"), "7");
    assert_eq!(input_value(&retention.body, "audit_retention_days"), "0");

    let words = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "block", "", "ten", "idp", "90"),
        )
        .await;
    assert_eq!(words.status, 400, "{}", words.body);
    assert!(words.body.contains("The seat limit must be a whole number"));

    let inactive = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "reassign_to_fallback", &gone, "", "idp", "90"),
        )
        .await;
    assert_eq!(inactive.status, 409, "{}", inactive.body);
    assert!(inactive.body.contains("is not active"), "{}", inactive.body);
    // The chosen fallback owner stays chosen, though no longer active.
    assert!(
        inactive
            .body
            .contains(&format!("<option value=\"{gone}\" selected>"))
    );
    assert!(
        inactive
            .body
            .contains("value=\"reassign_to_fallback\" checked")
    );

    // scimd → idp when no user's roles say admin: the last-admin rule.
    let to_scimd = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "block", "", "", "scimd", "90"),
        )
        .await;
    assert_eq!(to_scimd.status, 303, "{}", to_scimd.body);
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            &format!("/users/{bob}/admin"),
            Some(&json!({"admin": true})),
        )
        .await;
    assert_eq!(status, 200);
    let to_idp = visitor
        .post(
            "/console/settings",
            &fields(&csrf, "block", "", "", "idp", "90"),
        )
        .await;
    assert_eq!(to_idp.status, 409, "{}", to_idp.body);
    assert!(to_idp.body.contains("role=\"alert\""));
    let (_, settings) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(settings["admin_source"], "scimd", "nothing changed");
}

#[tokio::test]
async fn the_fallback_owner_search_narrows_the_list_without_javascript() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    user(&app, &t, "ann@example.com", false, None).await;
    user(&app, &t, "zed@example.com", false, None).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/settings?owner_q=ze").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("zed@example.com"));
    assert!(!page.body.contains("ann@example.com"), "{}", page.body);
}
