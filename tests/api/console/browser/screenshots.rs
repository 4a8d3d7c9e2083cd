//! Screenshots of every console page, for the README: written with
//! `SCIMD_UPDATE_SCREENSHOTS=1` from fixed data and a fixed clock; without
//! it nothing is written, and a page without its PNG fails the suite.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use super::{Browser, screenshot_dir};
use crate::helpers::{ManualClock, TestApp, spawn_app_on};

/// Every console page: its screenshot's name (`docs/console/<name>.png`)
/// and its path, where `{key}` is an id from [`seed`]. Add a page here.
pub const CONSOLE_PAGES: &[(&str, &str)] = &[
    ("sign-in", "/console/sign-in"),
    ("overview", "/console"),
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

/// Fixed data for the screenshots; returns the ids the page paths name.
pub async fn seed(app: &TestApp) -> HashMap<&'static str, String> {
    let mut ids = HashMap::new();
    ids.extend(super::seed_b::seed(app).await);
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
        "console pages without a screenshot in docs/console/: {missing:?}; \
         run `SCIMD_UPDATE_SCREENSHOTS=1 cargo test --test api screenshots` and commit them"
    );
}

#[tokio::test]
async fn screenshots_of_every_console_page() {
    let clock = Arc::new(ManualClock(AtomicI64::new(FIXED_NOW_MILLIS)));
    // The webhooks page's endpoint is a receiver on 127.0.0.1.
    let app = spawn_app_on(|config| config.allow_private_webhooks = true, clock).await;
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
