//! The console's defences: headers on every response, CSRF and origin
//! checks on every POST, the limit on failed sign-ins, HTML error pages.

use super::{SESSION_COOKIE, Visitor};
use crate::helpers::{spawn_app, spawn_app_with};

fn assert_console_headers(page: &super::Page, what: &str) {
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("content-security-policy"),
        "default-src 'self'; frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(header("cache-control"), "no-store", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);
    for path in [
        "/console/sign-in",
        "/console",
        "/console/",
        "/console/no-such-page",
        "/console/static/console.css",
        "/console/static/console.js",
    ] {
        let page = visitor.get(path).await;
        assert_console_headers(&page, path);
    }
    let wrong = visitor.sign_in("scimd_wrong").await;
    assert_console_headers(&wrong, "a refused sign-in");
    let mut signed_in = Visitor::signed_in(&app).await;
    let overview = signed_in.get("/console").await;
    assert_console_headers(&overview, "the overview");
    let long = format!("/console/{}", "x".repeat(20_000));
    let refused = signed_in.get(&long).await;
    assert_eq!(refused.status, 414);
    assert_console_headers(&refused, "a refused request head");
    assert!(refused.body.contains("<!doctype html>"), "{}", refused.body);
    // The APIs keep their own shapes and headers.
    let scim = Visitor::new(&app).get("/scim/v2/Users").await;
    assert!(scim.headers.get("content-security-policy").is_none());
}

#[tokio::test]
async fn unknown_console_pages_are_html_404s_in_the_consoles_style() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/no-such-page").await;
    assert_eq!(page.status, 404);
    assert_eq!(
        page.headers["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(page.body.contains("<h1>Not found</h1>"), "{}", page.body);
    assert!(page.body.contains("/console/static/console.css"));
    assert!(!page.body.trim_start().starts_with('{'));
}

#[tokio::test]
async fn a_form_without_the_csrf_token_or_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let missing = visitor.post("/console/sign-out", &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(missing.body.contains("Form refused"));
    let wrong = visitor.post("/console/sign-out", &[("csrf", "nope")]).await;
    assert_eq!(wrong.status, 403);
    let foreign = visitor
        .post_from(
            "/console/sign-out",
            &[("csrf", &csrf)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(foreign.status, 403);
    let no_origin = visitor
        .post_from("/console/sign-out", &[("csrf", &csrf)], None)
        .await;
    assert_eq!(no_origin.status, 403);
    // Still signed in after all of that.
    assert_eq!(visitor.get("/console").await.status, 200);

    // The sign-in form: its double-submit token, and the origin.
    let mut stranger = Visitor::new(&app);
    let form = stranger.get("/console/sign-in").await;
    let token = form.hidden("csrf");
    let cross = stranger
        .post_from(
            "/console/sign-in",
            &[("csrf", &token), ("token", &app.admin_token)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross.status, 403);
    let forged = stranger
        .post(
            "/console/sign-in",
            &[("csrf", "other"), ("token", &app.admin_token)],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(!stranger.cookies.contains_key(SESSION_COOKIE));
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_client_address() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);
    for _ in 0..10 {
        assert_eq!(visitor.sign_in("scimd_wrong").await.status, 401);
    }
    let limited = visitor.sign_in(&app.admin_token).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.body.contains("Too many failed sign-ins"));
    assert!(!visitor.cookies.contains_key(SESSION_COOKIE));
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_tenant_but_never_lock_out_its_admin_token() {
    let app = spawn_app_with(|config| config.console.trust_proxy = true).await;
    for i in 0..20 {
        let mut visitor = Visitor::new(&app);
        visitor
            .extra
            .push(("x-forwarded-for", format!("198.51.100.{i}")));
        assert_eq!(visitor.sign_in(&app.scim_token).await.status, 401);
    }
    let mut fresh = Visitor::new(&app);
    fresh
        .extra
        .push(("x-forwarded-for", "203.0.113.50".to_owned()));
    let limited = fresh.sign_in(&app.scim_token).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    let admin = fresh.sign_in(&app.admin_token).await;
    assert_eq!(admin.status, 303, "{}", admin.body);
    // Without --trust-proxy the forwarded address is ignored: the peer counts.
    let plain = spawn_app().await;
    for i in 0..10 {
        let mut visitor = Visitor::new(&plain);
        visitor
            .extra
            .push(("x-forwarded-for", format!("198.51.100.{i}")));
        assert_eq!(visitor.sign_in("scimd_wrong").await.status, 401);
    }
    assert_eq!(
        Visitor::new(&plain)
            .sign_in(&plain.admin_token)
            .await
            .status,
        429
    );
}
