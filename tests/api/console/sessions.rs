//! Sign-in, sign-out and the life of a session.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use reqwest::Method;

use super::{SESSION_COOKIE, Visitor};
use crate::helpers::{ManualClock, spawn_app, spawn_app_on};

#[tokio::test]
async fn signing_in_with_the_admin_token_opens_the_overview_with_a_host_only_cookie() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/console/sign-in").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body
            .contains("<label for=\"token\">Admin token</label>")
    );
    assert!(form.body.contains("type=\"password\""));
    assert!(form.body.contains(">Sign in</button>"));

    let answer = visitor.sign_in(&app.admin_token).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/console"));
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(SESSION_COOKIE))
        .expect("a session cookie");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(!answer.body.contains(&app.admin_token));

    let overview = visitor.get("/console").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("<h1>Overview</h1>"));
    assert!(!overview.body.contains(&app.admin_token));
    // Signed in, the sign-in page leads to the overview.
    let again = visitor.get("/console/sign-in").await;
    assert_eq!(again.location(), Some("/console"));
}

#[tokio::test]
async fn a_wrong_token_shows_an_error_and_sets_no_session_cookie() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);
    for wrong in [
        "scimd_not-a-token".to_owned(),
        "nonsense".to_owned(),
        app.scim_token.clone(),
    ] {
        let answer = visitor.sign_in(&wrong).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
        assert!(
            answer.body.contains("not a live admin token"),
            "{}",
            answer.body
        );
        assert!(!answer.body.contains(&wrong), "the token is echoed");
        assert!(
            answer
                .set_cookies()
                .iter()
                .all(|c| !c.starts_with(SESSION_COOKIE)),
            "{:?}",
            answer.set_cookies()
        );
        assert!(!visitor.cookies.contains_key(SESSION_COOKIE));
    }
    visitor.get("/console").await.assert_sign_in_redirect();
}

#[tokio::test]
async fn pages_without_a_session_lead_to_the_sign_in_page() {
    let app = spawn_app().await;
    let mut visitor = Visitor::new(&app);
    visitor.get("/console").await.assert_sign_in_redirect();
    visitor
        .cookies
        .insert(SESSION_COOKIE.into(), "forged".into());
    visitor.get("/console").await.assert_sign_in_redirect();
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_too() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let cookie = visitor.cookies[SESSION_COOKIE].clone();
    let csrf = visitor.csrf().await;
    let answer = visitor.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), Some("/console/sign-in"));
    assert!(
        answer
            .set_cookies()
            .iter()
            .any(|c| c.starts_with(SESSION_COOKIE) && c.contains("Max-Age=0"))
    );
    // The old cookie, replayed, is worth nothing.
    let mut replay = Visitor::new(&app);
    replay.cookies.insert(SESSION_COOKIE.into(), cookie);
    replay.get("/console").await.assert_sign_in_redirect();
}

#[tokio::test]
async fn signing_in_again_replaces_the_session_the_browser_had() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let first = visitor.cookies[SESSION_COOKIE].clone();
    // A sign-in form open from before (signed in, the page redirects),
    // posted while the browser still sends its session cookie.
    visitor.cookies.remove(SESSION_COOKIE);
    let form = visitor.get("/console/sign-in").await;
    visitor.cookies.insert(SESSION_COOKIE.into(), first.clone());
    let csrf = form.hidden("csrf");
    let answer = visitor
        .post(
            "/console/sign-in",
            &[("csrf", &csrf), ("token", &app.admin_token)],
        )
        .await;
    assert_eq!(answer.status, 303);
    let second = visitor.cookies[SESSION_COOKIE].clone();
    assert_ne!(first, second, "the session id is rotated");
    let mut old = Visitor::new(&app);
    old.cookies.insert(SESSION_COOKIE.into(), first);
    old.get("/console").await.assert_sign_in_redirect();
    assert_eq!(visitor.get("/console").await.status, 200);
}

#[tokio::test]
async fn revoking_the_admin_token_ends_its_sessions() {
    let app = spawn_app().await;
    let tenant = app.new_tenant().await;
    let mut visitor = Visitor::signed_in(&app).await;
    // A second admin token of the tenant, with its own session.
    let (status, created) = app
        .call_admin(
            &app.admin_token,
            Method::POST,
            "/tokens",
            Some(&serde_json::json!({"label": "second", "scope": "admin"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let mut second = Visitor::new(&app);
    assert_eq!(
        second
            .sign_in(created["token"].as_str().unwrap())
            .await
            .status,
        303
    );
    let id = created["id"].as_str().unwrap();
    let (status, _) = app
        .call_admin(
            &app.admin_token,
            Method::DELETE,
            &format!("/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    second.get("/console").await.assert_sign_in_redirect();
    assert_eq!(visitor.get("/console").await.status, 200);
    // A token of another tenant signs in to that tenant only.
    let mut other = Visitor::new(&app);
    assert_eq!(other.sign_in(&tenant.admin).await.status, 303);
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_absolute_end() {
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000_000)));
    let app = spawn_app_on(|_| {}, clock.clone()).await;

    let mut idle = Visitor::signed_in(&app).await;
    clock.advance_seconds(29 * 60);
    assert_eq!(idle.get("/console").await.status, 200, "29 minutes idle");
    clock.advance_seconds(31 * 60);
    idle.get("/console").await.assert_sign_in_redirect();

    let mut busy = Visitor::signed_in(&app).await;
    // Used every 20 minutes: alive for 12 hours, not a minute more.
    for _ in 0..35 {
        clock.advance_seconds(20 * 60);
        assert_eq!(busy.get("/console").await.status, 200);
    }
    clock.advance_seconds(20 * 60);
    busy.get("/console").await.assert_sign_in_redirect();
}

#[tokio::test]
async fn session_lifetimes_come_from_the_configuration() {
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000_000)));
    let app = spawn_app_on(
        |config| {
            config.console.sessions.idle = std::time::Duration::from_secs(120);
        },
        clock.clone(),
    )
    .await;
    let mut visitor = Visitor::signed_in(&app).await;
    clock.advance_seconds(100);
    assert_eq!(visitor.get("/console").await.status, 200);
    clock.advance_seconds(121);
    visitor.get("/console").await.assert_sign_in_redirect();
}
