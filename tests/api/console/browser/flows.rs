//! The flows, end to end in Chromium. Flows 1 and 2 are the smoke
//! flow that also runs on PostgreSQL.

use super::{Browser, NARROW, skip_on_postgres};
use crate::console::SESSION_COOKIE;
use crate::console::fixtures::{leaver_owning_a_number_and_a_workflow, scim_active};
use crate::helpers::spawn_app;

/// Flow 1: sign in with the token; a wrong token shows an error and no
/// session cookie.
#[tokio::test]
async fn flow_1_signing_in_with_the_token_and_a_wrong_token_showing_an_error() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in("scimd_this-is-not-a-token").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    let text = browser.text().await;
    assert!(text.contains("not a live admin token"), "{text}");
    assert_eq!(browser.cookie(SESSION_COOKIE).await, None);
    browser.assert_no_alert("the refused sign-in").await;

    browser.sign_in(&app.admin_token).await;
    assert_eq!(browser.path().await, "/console");
    assert_eq!(browser.heading().await, "Overview");
    assert!(browser.cookie(SESSION_COOKIE).await.is_some());
    let text = browser.text().await;
    assert!(!text.contains(&app.admin_token));
    browser.close().await;
}

/// Flow 2: an Okta-shaped `PATCH active=false` of a user who owns a
/// number and a workflow → the leaver is under Pending deprovisionings
/// with both blockers → "New owner" → "Reassign and finish" → the page
/// says done, and SCIM reads `active: false`.
#[tokio::test]
async fn flow_2_a_refused_okta_deactivation_is_finished_from_the_pending_page() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.follow("Pending deprovisionings").await;
    assert_eq!(browser.heading().await, "Pending deprovisionings");
    browser.follow("leaver@example.com Display").await;
    assert_eq!(
        browser.path().await,
        format!("/console/deprovisionings/{}", l.pending)
    );
    let text = browser.text().await;
    for blocker in ["Phone number", "+1 555 0100", "Workflow", "Night routing"] {
        assert!(text.contains(blocker), "{blocker}: {text}");
    }
    browser
        .choose("New owner", "heir@example.com Display (heir@example.com)")
        .await;
    browser.press("Reassign and finish").await;
    let text = browser.text().await;
    assert!(
        text.contains("Done: everything was reassigned and the deprovisioning is finished."),
        "{text}"
    );
    assert_eq!(scim_active(&app, &l.leaver).await, Some(false));
    browser.close().await;
}

/// Flow 6: sign out, then the back button shows no data.
#[tokio::test]
async fn flow_6_after_signing_out_the_back_button_shows_no_data() {
    if skip_on_postgres() {
        return;
    }
    let app = spawn_app().await;
    leaver_owning_a_number_and_a_workflow(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.goto("/console/deprovisionings").await;
    assert!(browser.text().await.contains("leaver@example.com"));
    browser.press("Sign out").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    assert_eq!(browser.cookie(SESSION_COOKIE).await, None);

    browser.client.back().await.expect("back");
    browser.settle().await;
    // The page is fetched again (no-store), and without a session the
    // server sends the sign-in page.
    assert_eq!(browser.path().await, "/console/sign-in");
    assert_eq!(browser.heading().await, "Sign in");
    let text = browser.text().await;
    assert!(!text.contains("leaver@example.com"), "{text}");
    browser.close().await;
}

/// The pages fit a 360 px wide window and are used by keyboard alone.
#[tokio::test]
async fn the_pages_fit_a_narrow_window_and_work_by_keyboard() {
    if skip_on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.resize(NARROW).await;
    // Keyboard only: type the token and press Enter.
    browser.goto("/console/sign-in").await;
    let field = browser.by_label("Admin token").await;
    field
        .send_keys(&format!("{}\u{e007}", app.admin_token))
        .await
        .expect("type and Enter");
    browser.settle().await;
    assert_eq!(browser.heading().await, "Overview");
    for path in [
        "/console".to_owned(),
        "/console/deprovisionings".to_owned(),
        format!("/console/deprovisionings/{}", l.pending),
        "/console/sign-in".to_owned(),
    ] {
        browser.goto(&path).await;
        assert!(!browser.overflows().await, "{path} is wider than 360 px");
    }
    // Every control has a label.
    browser
        .goto(&format!("/console/deprovisionings/{}", l.pending))
        .await;
    let unlabelled = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
               .filter(e => !(e.id && document.querySelector('label[for=\"' + e.id + '\"]')))\
               .map(e => e.outerHTML)",
            Vec::new(),
        )
        .await
        .expect("script");
    assert_eq!(unlabelled, serde_json::json!([]));
    browser.close().await;
}
