//! Webhooks end to end: a receiver started by the test on 127.0.0.1 (so
//! the servers run with `allow_private_webhooks`), signatures checked the
//! way a receiver would, retries, rotation, the SSRF refusals and a
//! restart that loses nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::*;

/// Checks a Standard Webhooks signature header against one secret, as a
/// receiver does (README, "Webhooks").
fn verify(secret: &str, id: &str, timestamp: &str, body: &str, header: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    header.split(' ').any(|signature| {
        signature
            .strip_prefix("v1,")
            .and_then(|s| STANDARD.decode(s).ok())
            .is_some_and(|s| mac.clone().verify_slice(&s).is_ok())
    })
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; then 200.
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

/// A webhook receiver on 127.0.0.1, stopped when dropped.
struct Receiver {
    url: String,
    inbox: Inbox,
    _stop: oneshot::Sender<()>,
}

async fn hook(State(inbox): State<Inbox>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    inbox.received.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body,
    });
    let status = inbox.statuses.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").await.unwrap(), statuses)
    }

    fn on(listener: TcpListener, statuses: &[u16]) -> Receiver {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let inbox = Inbox::default();
        inbox.statuses.lock().unwrap().extend(statuses);
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(inbox.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Receiver {
            url,
            inbox,
            _stop: stop,
        }
    }

    /// Waits (up to 10 s) until `n` requests have arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.inbox.received.lock().unwrap().clone();
            if received.len() >= n {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "waited 10 s for {n} webhook requests, got {}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn count(&self) -> usize {
        self.inbox.received.lock().unwrap().len()
    }
}

/// The wall clock, in Unix seconds, as a receiver reads it.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn private_app() -> TestApp {
    spawn_app_with(|config| config.allow_private_webhooks = true).await
}

/// Registers an endpoint; returns its id and secret.
async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    register_as(app, &app.admin_token, url, events).await
}

/// Registers an endpoint with an admin token of any tenant.
async fn register_as(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let body = json!({"url": url, "events": events});
    let (status, created) = app
        .call_admin(token, Method::POST, "/webhooks", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["url"], url);
    assert_eq!(created["events"], json!(events));
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (created["id"].as_str().expect("id").to_owned(), secret)
}

/// Creates a user who owns a number; returns its id.
async fn number_owner(app: &TestApp, user_name: &str) -> String {
    let user = app.create_user(user_name).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let asset = json!({"kind": "number", "name": "+1 555 0100", "owner_id": id});
    let (status, body) = app
        .call_admin(&app.admin_token, Method::POST, "/assets", Some(&asset))
        .await;
    assert_eq!(status, 201, "{body}");
    id
}

/// Deactivates a user by SCIM PATCH; returns the status.
async fn deactivate(app: &TestApp, id: &str) -> u16 {
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    });
    let (status, _) = app
        .call_scim(
            &app.scim_token,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(&patch),
        )
        .await;
    status
}

async fn deliveries(app: &TestApp, webhook_id: &str) -> Vec<Value> {
    let path = format!("/webhooks/{webhook_id}/deliveries");
    let (status, body) = app
        .call_admin(&app.admin_token, Method::GET, &path, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Waits (up to 10 s) until the newest delivery satisfies `done`.
async fn wait_for_delivery(
    app: &TestApp,
    webhook_id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let list = deliveries(app, webhook_id).await;
        if let Some(newest) = list.first().filter(|d| done(d)) {
            return newest.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited 10 s; deliveries: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_refusal_that_suspends_a_user_delivers_one_signed_user_suspended_event() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    let (webhook_id, secret) = register(&app, &receiver.url, &["user.suspended"]).await;
    let user_id = number_owner(&app, "alice@example.com").await;

    assert_eq!(deactivate(&app, &user_id).await, 409);

    let received = receiver.wait_for(1).await;
    let request = &received[0];
    assert!(
        verify(
            &secret,
            &request.id,
            &request.timestamp,
            &request.body,
            &request.signature
        ),
        "{request:?}"
    );
    assert!(!verify(
        &secret,
        &request.id,
        "1",
        &request.body,
        &request.signature
    ));
    assert_eq!(request.content_type, "application/json");
    let timestamp: i64 = request.timestamp.parse().unwrap();
    let now = unix_now();
    assert!((now - timestamp).abs() < 60, "{timestamp} vs {now}");
    let event = request.json();
    assert_eq!(event["id"], request.id.as_str());
    assert_eq!(event["type"], "user.suspended");
    assert_eq!(event["tenant_id"], app.tenant_id.as_str());
    assert!(
        chrono::DateTime::parse_from_rfc3339(event["occurred_at"].as_str().unwrap()).is_ok(),
        "{event}"
    );
    assert_eq!(
        event["data"]["user"],
        json!({"id": user_id, "user_name": "alice@example.com", "display_name": "alice@example.com"})
    );
    let blockers = event["data"]["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 1, "{event}");
    assert_eq!(blockers[0]["kind"], "number");
    assert_eq!(blockers[0]["name"], "+1 555 0100");

    let delivery = wait_for_delivery(&app, &webhook_id, |d| d["state"] == "delivered").await;
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["last_status"], 200);
    assert_eq!(delivery["event_id"], request.id.as_str());
    assert_eq!(delivery["event_type"], "user.suspended");

    // The IdP retries the deactivation: refused again, but the user was
    // already suspended, so no second event.
    assert_eq!(deactivate(&app, &user_id).await, 409);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 1);

    // Secrets are shown once, never listed.
    let (status, list) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["webhooks"][0]["id"], webhook_id.as_str());
    assert!(!list.to_string().contains("whsec_"), "{list}");
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_until_it_answers_200_and_attempts_are_recorded() {
    let app = private_app().await;
    let receiver = Receiver::start(&[500]).await;
    let (webhook_id, secret) = register(&app, &receiver.url, &["user.suspended"]).await;
    let path = format!("/webhooks/{webhook_id}/ping");
    let (status, ping) = app
        .call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    assert_eq!(status, 202, "{ping}");

    let failed = wait_for_delivery(&app, &webhook_id, |d| d["attempts"] == 1).await;
    assert_eq!(failed["state"], "pending", "{failed}");
    assert_eq!(failed["last_status"], 500);
    assert!(
        failed["last_error"].as_str().unwrap().contains("500"),
        "{failed}"
    );
    assert!(failed["next_attempt_at"].is_string());

    // The first retry comes after 5 to 6 seconds.
    let delivered = wait_for_delivery(&app, &webhook_id, |d| d["state"] == "delivered").await;
    assert_eq!(delivered["attempts"], 2, "{delivered}");
    assert_eq!(delivered["last_status"], 200);
    assert_eq!(delivered["last_error"], Value::Null);
    let received = receiver.wait_for(2).await;
    // Both attempts carry the same event id, so receivers can deduplicate.
    assert_eq!(received[0].id, received[1].id);
    assert_eq!(received[1].json()["type"], "webhook.ping");
    assert_eq!(
        received[1].json()["data"]["webhook_id"],
        webhook_id.as_str()
    );
    for request in &received {
        assert!(verify(
            &secret,
            &request.id,
            &request.timestamp,
            &request.body,
            &request.signature
        ));
    }
}

#[tokio::test]
async fn a_manual_retry_makes_a_delivery_due_at_once() {
    let app = private_app().await;
    let receiver = Receiver::start(&[503]).await;
    let (webhook_id, _) = register(&app, &receiver.url, &["user.suspended"]).await;
    let path = format!("/webhooks/{webhook_id}/ping");
    app.call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    let failed = wait_for_delivery(&app, &webhook_id, |d| d["attempts"] == 1).await;
    assert_eq!(failed["state"], "pending");

    let retried = Instant::now();
    let path = format!(
        "/webhooks/{webhook_id}/deliveries/{}/retry",
        failed["id"].as_str().unwrap()
    );
    let (status, body) = app
        .call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    assert_eq!(status, 202, "{body}");
    let delivered = wait_for_delivery(&app, &webhook_id, |d| d["state"] == "delivered").await;
    assert_eq!(delivered["attempts"], 2);
    // Sooner than the 5-second backoff would have allowed.
    assert!(retried.elapsed() < Duration::from_millis(4500));

    let unknown = format!(
        "/webhooks/{webhook_id}/deliveries/{}/retry",
        uuid::Uuid::new_v4()
    );
    let (status, _) = app
        .call_admin(&app.admin_token, Method::POST, &unknown, None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn webhook_attempts_are_counted_by_how_they_ended() {
    let app = spawn_app_with(|config| {
        config.allow_private_webhooks = true;
        config.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let receiver = Receiver::start(&[500]).await;
    let (webhook_id, _) = register(&app, &receiver.url, &["user.suspended"]).await;
    let path = format!("/webhooks/{webhook_id}/ping");
    app.call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    let failed = wait_for_delivery(&app, &webhook_id, |d| d["attempts"] == 1).await;
    let path = format!(
        "/webhooks/{webhook_id}/deliveries/{}/retry",
        failed["id"].as_str().unwrap()
    );
    app.call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    wait_for_delivery(&app, &webhook_id, |d| d["state"] == "delivered").await;

    // The worker counts an attempt right after recording it.
    let started = Instant::now();
    let counted = |text: &str, result: &str| {
        crate::metrics::sample(
            text,
            &format!("scimd_webhook_attempts_total{{result=\"{result}\"}}"),
        )
    };
    loop {
        let text = crate::metrics::scrape(&app).await;
        if counted(&text, "delivered") == Some(1.0) {
            assert_eq!(counted(&text, "retrying"), Some(1.0), "{text}");
            assert_eq!(counted(&text, "failed"), Some(0.0), "{text}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the delivery was never counted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_each_delivery() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    let (webhook_id, old) = register(&app, &receiver.url, &["user.suspended"]).await;
    let path = format!("/webhooks/{webhook_id}/rotate-secret");
    let (status, rotated) = app
        .call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);

    let path = format!("/webhooks/{webhook_id}/ping");
    app.call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.signature.split(' ').count(), 2, "{request:?}");
    for secret in [&old, &new] {
        assert!(verify(
            secret,
            &request.id,
            &request.timestamp,
            &request.body,
            &request.signature
        ));
    }
    let (_, list) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    assert!(list["webhooks"][0]["previous_secret_expires_at"].is_string());
    assert!(!list.to_string().contains("whsec_"), "{list}");

    let (_, audit) = app
        .call_admin(&app.admin_token, Method::GET, "/audit", None)
        .await;
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"webhook.create") && actions.contains(&"webhook.rotate"));
    assert!(!audit.to_string().contains("whsec_"));

    let path = format!("/webhooks/{webhook_id}");
    let (status, _) = app
        .call_admin(&app.admin_token, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call_admin(&app.admin_token, Method::DELETE, &path, None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn private_targets_and_other_schemes_are_refused_without_the_operator_flag() {
    let app = spawn_app().await;
    let cases = [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://10.0.0.1/", "private address (RFC 1918)"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::ffff:192.168.1.1]/", "private address"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("ftp://example.com/hook", "http or https"),
        ("file:///etc/passwd", "http or https"),
    ];
    for (url, named) in cases {
        let body = json!({"url": url, "events": ["user.suspended"]});
        let (status, answer) = app
            .call_admin(&app.admin_token, Method::POST, "/webhooks", Some(&body))
            .await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(named),
            "{url}: {answer}"
        );
    }
    for events in [json!([]), json!(["user.created"]), json!(["webhook.ping"])] {
        let body = json!({"url": "https://93.184.216.34/hook", "events": events});
        let (status, answer) = app
            .call_admin(&app.admin_token, Method::POST, "/webhooks", Some(&body))
            .await;
        assert_eq!(status, 400, "{events}: {answer}");
    }
    let (_, list) = app
        .call_admin(&app.admin_token, Method::GET, "/webhooks", None)
        .await;
    assert_eq!(list, json!({"webhooks": []}));
}

#[tokio::test]
async fn an_event_committed_while_the_receiver_is_down_is_delivered_after_a_restart() {
    // Reserve a port for the receiver, which is down for now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let app = private_app().await;
    let (webhook_id, secret) = register(&app, &url, &["user.suspended"]).await;
    let user_id = number_owner(&app, "bob@example.com").await;
    assert_eq!(deactivate(&app, &user_id).await, 409);

    let app = app
        .restart(|config| config.allow_private_webhooks = true)
        .await;
    let receiver = Receiver::on(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), &[]);
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.json()["type"], "user.suspended");
    assert_eq!(request.json()["data"]["user"]["id"], user_id.as_str());
    assert!(verify(
        &secret,
        &request.id,
        &request.timestamp,
        &request.body,
        &request.signature
    ));
    let delivered = wait_for_delivery(&app, &webhook_id, |d| d["state"] == "delivered").await;
    assert!(delivered["attempts"].as_i64().unwrap() >= 1, "{delivered}");
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_at_send_time_is_refused_and_recorded() {
    let receiver = Receiver::start(&[]).await;
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/hook");
    let url = format!("http://localhost:{port}/hook");
    // Registered while private targets were allowed; the operator has
    // since turned the flag off, as a rebinding name would look.
    let app = private_app().await;
    let (webhook_id, _) = register(&app, &url, &["user.suspended"]).await;
    let app = app.restart(|_| {}).await;
    let path = format!("/webhooks/{webhook_id}/ping");
    app.call_admin(&app.admin_token, Method::POST, &path, None)
        .await;
    let failed = wait_for_delivery(&app, &webhook_id, |d| d["attempts"] == 1).await;
    assert_eq!(failed["state"], "pending", "{failed}");
    assert_eq!(failed["last_status"], Value::Null);
    let error = failed["last_error"].as_str().unwrap();
    assert!(
        error.contains("localhost resolves to") && error.contains("loopback"),
        "{error}"
    );
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn a_tenant_whose_receiver_hangs_does_not_delay_another_tenants_deliveries() {
    let app = private_app().await;
    // Accepts connections and never answers.
    let hanging = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_url = format!("http://{}/hook", hanging.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            held.push(socket);
        }
    });
    let (stuck, _) = register(&app, &hanging_url, &["user.suspended"]).await;
    for _ in 0..12 {
        let path = format!("/webhooks/{stuck}/ping");
        app.call_admin(&app.admin_token, Method::POST, &path, None)
            .await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let other = app.new_tenant().await;
    let receiver = Receiver::start(&[]).await;
    let (webhook_id, _) = register_as(&app, &other.admin, &receiver.url, &["user.suspended"]).await;
    let sent = Instant::now();
    let path = format!("/webhooks/{webhook_id}/ping");
    let (status, _) = app
        .call_admin(&other.admin, Method::POST, &path, None)
        .await;
    assert_eq!(status, 202);
    receiver.wait_for(1).await;
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "the other tenant waited {:?}",
        sent.elapsed()
    );
    // The stuck tenant's deliveries are still waiting on their receiver.
    let stuck_deliveries = deliveries(&app, &stuck).await;
    assert!(stuck_deliveries.iter().all(|d| d["state"] == "pending"));
}

/// Issue 11's "done means": a leaver who owns a number, deprovisioned by
/// Okta, is suspended at once; the admin is told by webhook, finds the
/// request, and one reassign finishes the deactivation with no Retry in
/// Okta; each state change is one event.
#[tokio::test]
async fn the_deprovisioning_loop_is_told_by_webhook_from_refusal_to_completion() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    let events = [
        "deprovisioning.blocked",
        "deprovisioning.completed",
        "deprovisioning.cancelled",
        "user.suspended",
    ];
    let (_, secret) = register(&app, &receiver.url, &events).await;
    let boss = app.create_user("boss@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let leaver = number_owner(&app, "leaver@example.com").await;
    assert_eq!(deactivate(&app, &leaver).await, 409);
    // Okta's retries change nothing: no new events.
    assert_eq!(deactivate(&app, &leaver).await, 409);

    let received = receiver.wait_for(2).await;
    let types: Vec<Value> = received.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(
        types,
        [json!("deprovisioning.blocked"), json!("user.suspended")]
    );
    for request in &received {
        assert!(verify(
            &secret,
            &request.id,
            &request.timestamp,
            &request.body,
            &request.signature
        ));
    }
    let blocked = received[0].json();
    let pending_id = blocked["data"]["pending_id"].as_str().unwrap().to_owned();
    assert_eq!(blocked["data"]["user"]["id"], json!(leaver));
    assert_eq!(blocked["data"]["blockers"][0]["name"], "+1 555 0100");
    assert_eq!(received[1].json()["data"]["pending_id"], json!(pending_id));

    let (_, list) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            "/deprovisionings?state=pending",
            None,
        )
        .await;
    assert_eq!(list["deprovisionings"][0]["id"], json!(pending_id));
    let (status, moved) = app
        .call_admin(
            &app.admin_token,
            Method::POST,
            &format!("/users/{leaver}/reassign"),
            Some(&json!({"to_user_id": boss})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["completed"], json!(pending_id));
    let received = receiver.wait_for(3).await;
    let completed = received[2].json();
    assert_eq!(completed["type"], "deprovisioning.completed");
    assert_eq!(completed["data"]["pending_id"], json!(pending_id));
    assert_eq!(completed["data"]["state"], "completed");
    let (_, user) = app
        .call_scim(
            &app.scim_token,
            Method::GET,
            &format!("/Users/{leaver}"),
            None,
        )
        .await;
    assert_eq!(user["active"], false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 3, "one event per state change");
}

/// At least once across a crash: the event is committed with the refusal,
/// the server is killed with SIGKILL before it can deliver, and a new
/// server process on the same database delivers it.
#[tokio::test]
async fn an_event_survives_a_sigkill_of_the_server_between_commit_and_delivery() {
    use crate::cli::create_tenant;
    use crate::races::serve_with_env;

    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let scim = created["scim_token"].as_str().unwrap().to_owned();
    let admin = created["admin_token"].as_str().unwrap().to_owned();
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let env = [("SCIMD_ALLOW_PRIVATE_WEBHOOKS", "true")];
    let client = reqwest::Client::new();
    let server = serve_with_env(&db.url, &env);
    let call = |base: &str, token: &str, method: Method, path: &str, body: Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let hook = json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["deprovisioning.blocked"]});
    let answer = call(&server.base, &admin, Method::POST, "/api/v1/webhooks", hook)
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let user: Value = call(
        &server.base,
        &scim,
        Method::POST,
        "/scim/v2/Users",
        json!({"schemas": [USER_SCHEMA], "userName": "leaver@example.com"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    let asset = json!({"kind": "number", "name": "+1 555 0100", "owner_id": id});
    let answer = call(&server.base, &admin, Method::POST, "/api/v1/assets", asset)
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}],
    });
    let answer = call(
        &server.base,
        &scim,
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        patch,
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 409);
    // SIGKILL at once: the receiver is not even up yet.
    drop(server);

    let receiver = Receiver::on(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), &[]);
    let _second = serve_with_env(&db.url, &env);
    let request = receiver.wait_for(1).await.remove(0);
    let event = request.json();
    assert_eq!(event["type"], "deprovisioning.blocked");
    assert_eq!(event["data"]["user"]["id"], json!(id));
}

/// Two server processes share the database and both run the delivery
/// worker: every event is delivered, and claims keep them from sending
/// the same delivery twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_deliver_every_event_once_between_them() {
    use std::collections::HashSet;

    use crate::cli::create_tenant;
    use crate::races::serve_with_env;

    const USERS: usize = 12;
    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let scim = created["scim_token"].as_str().unwrap().to_owned();
    let admin = created["admin_token"].as_str().unwrap().to_owned();
    let receiver = Receiver::start(&[]).await;
    let env = [("SCIMD_ALLOW_PRIVATE_WEBHOOKS", "true")];
    let servers = [serve_with_env(&db.url, &env), serve_with_env(&db.url, &env)];
    let client = reqwest::Client::new();
    let call = |base: &str, token: &str, method: Method, path: &str, body: Value| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let hook = json!({"url": receiver.url, "events": ["deprovisioning.blocked"]});
    let answer = call(
        &servers[0].base,
        &admin,
        Method::POST,
        "/api/v1/webhooks",
        hook,
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), 201);
    for n in 0..USERS {
        let base = &servers[n % 2].base;
        let user: Value = call(
            base,
            &scim,
            Method::POST,
            "/scim/v2/Users",
            json!({"schemas": [USER_SCHEMA], "userName": format!("leaver{n}@example.com")}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let id = user["id"].as_str().unwrap().to_owned();
        let asset = json!({"kind": "number", "name": format!("+1 555 01{n:02}"), "owner_id": id});
        let answer = call(base, &admin, Method::POST, "/api/v1/assets", asset)
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}],
        });
        let answer = call(
            base,
            &scim,
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            patch,
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 409);
    }
    let received = receiver.wait_for(USERS).await;
    // Give a duplicate, if any, time to arrive.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ids: HashSet<String> = received.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), USERS);
    assert_eq!(receiver.count(), USERS, "no delivery sent twice");
}

/// A receiver that answers every request with a redirect to `target` is
/// not followed: the attempt is recorded as failed with the 3xx status,
/// and `target` never hears of the event.
#[tokio::test]
async fn a_redirecting_receiver_is_not_followed() {
    let app = private_app().await;
    let target = Receiver::start(&[]).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let location = target.url.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let location = location.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", location)]) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (webhook_id, _) = register(&app, &url, &["user.suspended"]).await;
    let user_id = number_owner(&app, "carol@example.com").await;
    assert_eq!(deactivate(&app, &user_id).await, 409);
    let delivery = wait_for_delivery(&app, &webhook_id, |d| d["last_status"] == 307).await;
    assert_eq!(
        delivery["state"], "pending",
        "retried later, never followed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(target.count(), 0);
}

/// An admin's cancel is told once, as `deprovisioning.cancelled`.
#[tokio::test]
async fn a_cancelled_request_is_told_once() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    register(&app, &receiver.url, &["deprovisioning.cancelled"]).await;
    let user_id = number_owner(&app, "dave@example.com").await;
    assert_eq!(deactivate(&app, &user_id).await, 409);
    let (_, list) = app
        .call_admin(&app.admin_token, Method::GET, "/deprovisionings", None)
        .await;
    let pending = list["deprovisionings"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .call_admin(
            &app.admin_token,
            Method::POST,
            &format!("/deprovisionings/{pending}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let event = receiver.wait_for(1).await.remove(0).json();
    assert_eq!(event["type"], "deprovisioning.cancelled");
    assert_eq!(event["data"]["pending_id"], json!(pending));
    assert_eq!(event["data"]["resolved_by"], "initial admin token");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 1);
}
