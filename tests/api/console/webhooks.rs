//! The Webhooks page over HTTP: add (secret shown once), list with
//! deliveries, test event, delete, refusals.

use reqwest::Method;

use super::Visitor;
use super::markup::input_value;
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn an_endpoint_added_here_shows_its_secret_once_and_lists_its_deliveries() {
    let app = spawn_app_with(|config| config.allow_private_webhooks = true).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/webhooks").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "<label for=\"url\">Endpoint URL</label>",
        "<legend>Events</legend>",
        "name=\"event.deprovisioning.blocked\" value=\"on\" checked",
        "No endpoint yet.",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(
        !page.body.contains("event.webhook.ping"),
        "pings are not subscribed to"
    );
    let csrf = page.hidden("csrf");

    // A receiver that never answers: its deliveries stay listed.
    let url = "http://127.0.0.1:9/hooks/scimd";
    let added = visitor
        .post(
            "/console/webhooks",
            &[
                ("csrf", &csrf),
                ("url", url),
                ("event.deprovisioning.blocked", "on"),
                ("event.user.suspended", "on"),
            ],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let secret = input_value(&added.body, "new-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(added.body.contains("it is not shown again"));

    let (_, listed) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    let webhook = &listed["webhooks"][0];
    assert_eq!(webhook["url"], url);
    assert_eq!(
        webhook["events"],
        serde_json::json!(["deprovisioning.blocked", "user.suspended"])
    );
    let id = webhook["id"].as_str().unwrap().to_owned();

    let page = visitor.get("/console/webhooks").await;
    assert!(!page.body.contains(&secret), "shown once only");
    assert!(page.body.contains(url));
    assert!(page.body.contains("deprovisioning.blocked, user.suspended"));

    let pinged = visitor
        .post(&format!("/console/webhooks/{id}/ping"), &[("csrf", &csrf)])
        .await;
    assert_eq!(pinged.status, 303, "{}", pinged.body);
    assert_eq!(
        pinged.location(),
        Some("/console/webhooks?done=webhook-pinged")
    );
    let page = visitor.get(pinged.location().unwrap()).await;
    assert!(page.body.contains("Recent deliveries"), "{}", page.body);
    assert!(page.body.contains("webhook.ping"), "{}", page.body);
    assert!(page.body.contains("class=\"delivery delivery-"));

    let deleted = visitor
        .post(
            &format!("/console/webhooks/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    let (_, listed) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    assert_eq!(listed["webhooks"], serde_json::json!([]));
    let again = visitor
        .post(
            &format!("/console/webhooks/{id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn a_refused_endpoint_shows_why_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let private = visitor
        .post(
            "/console/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "http://127.0.0.1:8080/hook"),
                ("event.deprovisioning.completed", "on"),
            ],
        )
        .await;
    assert_eq!(private.status, 400, "{}", private.body);
    assert!(private.body.contains("role=\"alert\""));
    assert_eq!(
        input_value(&private.body, "url"),
        "http://127.0.0.1:8080/hook"
    );
    assert!(
        private
            .body
            .contains("name=\"event.deprovisioning.completed\" value=\"on\" checked")
    );
    assert!(
        !private
            .body
            .contains("name=\"event.deprovisioning.blocked\" value=\"on\" checked")
    );

    let no_events = visitor
        .post(
            "/console/webhooks",
            &[("csrf", &csrf), ("url", "https://hooks.example.com/x")],
        )
        .await;
    assert_eq!(no_events.status, 400, "{}", no_events.body);
    assert!(no_events.body.contains("events may not be empty"));
    let (_, listed) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    assert_eq!(listed["webhooks"], serde_json::json!([]));
}

#[tokio::test]
async fn the_add_form_sent_twice_adds_one_endpoint() {
    let app = spawn_app_with(|config| config.allow_private_webhooks = true).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/webhooks").await;
    let csrf = page.hidden("csrf");
    let since = page.hidden("since");
    let form = [
        ("csrf", csrf.as_str()),
        ("since", since.as_str()),
        ("url", "http://127.0.0.1:9/twice"),
        ("event.user.suspended", "on"),
    ];
    let added = visitor.post("/console/webhooks", &form).await;
    assert_eq!(added.status, 200, "{}", added.body);
    // A reload of that answer sends the same form again.
    let again = visitor.post("/console/webhooks", &form).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already sent"), "{}", again.body);
    let (_, listed) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    let endpoints = listed["webhooks"].as_array().expect("a list");
    assert_eq!(endpoints.len(), 1, "{listed}");
}
