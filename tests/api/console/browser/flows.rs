//! The flows, end to end in Chromium.

use super::Browser;
use crate::console::SESSION_COOKIE;
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

/// Flow 6: sign out, then the back button shows no data.
#[tokio::test]
async fn flow_6_after_signing_out_the_back_button_shows_no_data() {
    let app = spawn_app().await;
    app.create_user("private.person@example.com").await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in(&app.admin_token).await;
    browser.goto("/console").await;
    assert_eq!(browser.heading().await, "Overview");
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
    assert!(!text.contains("Seats"), "{text}");
    browser.close().await;
}
