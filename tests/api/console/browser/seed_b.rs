//! Fixed data for the screenshots of the Users, Audit log, Settings,
//! Connect your IdP and Webhooks pages: a few people, what they own, a
//! deactivated user, a SCIM token, and a webhook endpoint (a local
//! receiver that answers 204) that receives the refusals `seed` records
//! afterwards.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::fixtures::default_tenant;
use crate::deprovisioning::{give, give_group};
use crate::helpers::{ENTERPRISE, TestApp, USER_SCHEMA};

/// Creates a user with a real-looking name; returns its id.
async fn person(app: &TestApp, user_name: &str, display: &str, extra: Value) -> String {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "displayName": display,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let (status, created) = app
        .call_scim(&app.scim_token, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// A receiver on 127.0.0.1 that answers every request `204 No Content`;
/// returns its URL. It runs as long as the test's runtime.
async fn receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a receiver");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buffer).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{address}/hooks/scimd")
}

/// The data; returns `user`, the id of the user whose page is shown, and
/// `webhook`, the endpoint's.
pub async fn seed(app: &TestApp) -> HashMap<&'static str, String> {
    let t = default_tenant(app);
    let ann = person(
        app,
        "ann.lee@example.com",
        "Ann Lee",
        json!({"roles": [{"value": "admin", "primary": true}], "title": "IT admin"}),
    )
    .await;
    let priya = person(
        app,
        "priya.patel@example.com",
        "Priya Patel",
        json!({ ENTERPRISE: {"manager": {"value": ann}} }),
    )
    .await;
    let omar = person(app, "omar.haddad@example.com", "Omar Haddad", json!({})).await;
    let li = person(app, "li.wei@example.com", "Li Wei", json!({})).await;
    give(app, &t, "number", "+91 80 4000 1301", &priya).await;
    give(app, &t, "workflow", "Front desk hours", &priya).await;
    give_group(app, &t, "Support", &priya).await;
    app.create_group("Front desk", &[&priya, &omar]).await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{li}/deactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "Okta production", "scope": "scim"})),
        )
        .await;
    assert_eq!(status, 201);
    let url = receiver().await;
    let (status, webhook) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/webhooks",
            Some(
                &json!({"url": url, "events": ["deprovisioning.blocked", "user.suspended",
                                                  "deprovisioning.completed"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{webhook}");

    HashMap::from([
        ("user", priya),
        ("webhook", webhook["id"].as_str().unwrap().to_owned()),
    ])
}

/// Waits (a few seconds at most) until the worker has delivered the
/// events of the endpoint `seed` added, so the page shows them delivered.
pub async fn deliveries_done(app: &TestApp) {
    let webhooks = app.domain.webhooks(&app.tenant_id).await.expect("webhooks");
    for _ in 0..100 {
        let mut all_delivered = true;
        for webhook in &webhooks {
            let deliveries = app
                .domain
                .webhook_deliveries(&app.tenant_id, &webhook.id)
                .await
                .expect("deliveries");
            all_delivered &= !deliveries.is_empty()
                && deliveries
                    .iter()
                    .all(|d| d.state == scimd::domain::DeliveryState::Delivered);
        }
        if all_delivered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
