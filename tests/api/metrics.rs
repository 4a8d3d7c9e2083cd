//! `GET /metrics` on the metrics listener: requests by route template,
//! refusals by reason, throttled requests and the database gauges, after
//! real traffic; never on the public listener.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use reqwest::Method;
use scimd::app::{Application, Config};

use crate::deprovisioning::{give, user};
use crate::helpers::*;

/// The value of the sample `name{labels}` (or `name` alone) in a scrape.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// One scrape of `app`'s metrics listener, checked for its media type.
pub async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_deref().expect("a metrics listener");
    let response = app
        .client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.expect("body")
}

#[tokio::test]
async fn metrics_count_requests_by_route_refusals_by_reason_and_throttled_requests() {
    let clock = Arc::new(ManualClock(AtomicI64::new(1_795_000_000_000)));
    let app = spawn_app_on(
        |config| {
            config.metrics_listen = Some("127.0.0.1:0".into());
            // A burst large enough for the traffic below, then one a second.
            config.tenant_rate_limit = 1;
            config.tenant_rate_burst = 20;
        },
        clock.clone(),
    )
    .await;
    let t = app.new_tenant().await;

    // A leaver who owns an asset: the deletion is refused and the user
    // suspended while the deprovisioning waits.
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    give(&app, &t, "number", "+91 80 4000 1234", &leaver).await;
    let (status, _) = app
        .call_scim(&t.scim, Method::DELETE, &format!("/Users/{leaver}"), None)
        .await;
    assert_eq!(status, 409);
    let (status, _) = app
        .call_scim(&t.scim, Method::GET, &format!("/Users/{leaver}"), None)
        .await;
    assert_eq!(status, 200);
    let unknown = app
        .client
        .get(format!("{}/nowhere/{}", app.address, uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    // Past the burst, the tenant's requests are answered 429.
    let mut throttled = false;
    for _ in 0..200 {
        let (status, _) = app
            .call_scim(&t.scim, Method::GET, "/Users?count=1", None)
            .await;
        if status == 429 {
            throttled = true;
            break;
        }
        assert_eq!(status, 200);
    }
    assert!(throttled, "the rate limit answered 429");

    clock.advance_seconds(90);

    let text = scrape(&app).await;
    let requests = |route: &str, method: &str, status: u16| {
        sample(
            &text,
            &format!(
                "scimd_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("/scim/v2/Users", "POST", 201), Some(1.0), "{text}");
    assert_eq!(requests("/api/v1/assets", "POST", 201), Some(1.0), "{text}");
    assert_eq!(
        requests("/scim/v2/Users/{id}", "DELETE", 409),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests("/scim/v2/Users/{id}", "GET", 200),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests("/scim/v2/Users", "GET", 429), Some(1.0), "{text}");
    assert_eq!(requests("unmatched", "GET", 404), Some(1.0), "{text}");
    assert!(
        !text.contains("nowhere") && !text.contains(&leaver),
        "paths and ids never become labels: {text}"
    );
    assert!(
        sample(
            &text,
            "scimd_http_request_duration_seconds_count{route=\"/scim/v2/Users/{id}\"}"
        ) == Some(2.0),
        "{text}"
    );

    assert_eq!(
        sample(&text, "scimd_refusals_total{reason=\"owns_assets\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "scimd_refusals_total{reason=\"last_admin\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "scimd_throttled_total{cause=\"rate\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "scimd_throttled_total{cause=\"write_queue\"}"),
        Some(0.0)
    );

    // Read from the database at scrape time.
    assert_eq!(
        sample(&text, "scimd_pending_deprovisionings"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "scimd_suspended_users"), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "scimd_oldest_pending_deprovisioning_age_seconds"),
        Some(90.0),
        "{text}"
    );

    // Writes waited for their tenant's lock: the user, the asset and the
    // refused deletion at least.
    let lock_waits = sample(&text, "scimd_tenant_lock_wait_seconds_count").expect("lock waits");
    assert!(lock_waits >= 3.0, "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("scimd_db_pool_max_connections{pool=")),
        "{text}"
    );
    assert!(text.contains("scimd_build_info{version=\""), "{text}");
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener() {
    let app = spawn_app_with(|config| config.metrics_listen = Some("127.0.0.1:0".into())).await;
    for token in [None, Some(&app.admin_token), Some(&app.scim_token)] {
        let mut request = app.client.get(format!("{}/metrics", app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404);
        let body = response.text().await.unwrap();
        assert!(!body.contains("scimd_http_requests_total"), "{body}");
    }
    // And the metrics listener serves nothing else.
    let metrics = app.metrics_address.as_deref().unwrap();
    let response = app
        .client
        .get(format!("{metrics}/scim/v2/Users"))
        .bearer_auth(&app.scim_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn without_a_metrics_address_no_metrics_listener_runs() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
}

#[tokio::test]
async fn a_metrics_address_already_taken_stops_the_server_at_start_and_says_so() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let db = test_db().await;
    let mut config = Config::new("127.0.0.1:0", &db.url);
    config.metrics_listen = Some(address.clone());
    let error = match Application::build(&config, Arc::new(scimd::clock::SystemClock)).await {
        Ok(_) => panic!("the server started without its metrics listener"),
        Err(error) => format!("{error:#}"),
    };
    assert!(
        error.contains(&format!("cannot listen for metrics on {address}"))
            && error.contains("--metrics-listen"),
        "{error}"
    );
}
