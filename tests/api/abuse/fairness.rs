//! Hostile and faulty clients (issue 13): one tenant's flood or queue
//! never reaches another tenant, every limit answers with a body and
//! `Retry-After`, and a database failover costs no 500.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::*;

/// The `Retry-After` of a response, in whole seconds.
fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds")
}

fn new_user(name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": name})
}

#[tokio::test]
async fn a_tenant_far_over_its_rate_gets_429s_while_another_tenant_gets_only_2xx() {
    let app = spawn_app_with(|config| {
        config.tenant_rate_limit = 1;
        config.tenant_rate_burst = 5;
    })
    .await;
    let other = app.new_tenant().await;
    let flood = (0..40).map(|_| app.scim(Method::GET, "/Users?count=1").send());
    let bystander = (0..4).map(|_| app.scim_as(&other.scim, Method::GET, "/Users").send());
    let (flooded, served) = tokio::join!(
        futures_join_all(flood.collect()),
        futures_join_all(bystander.collect())
    );
    let mut refused = 0;
    for response in flooded {
        let response = response.expect("response");
        match response.status().as_u16() {
            200 => {}
            429 => {
                refused += 1;
                assert!(retry_after(&response) >= 1);
                let body = assert_scim_error(response, 429, None).await;
                let detail = body["detail"].as_str().unwrap_or_default();
                assert!(detail.contains("1 requests a second"), "{detail}");
                assert!(detail.contains("retry after"), "{detail}");
            }
            status => panic!("unexpected {status}"),
        }
    }
    assert!(refused >= 10, "only {refused} of 40 were refused");
    for response in served {
        assert_eq!(response.expect("response").status(), 200);
    }
}

#[tokio::test]
async fn the_admin_api_answers_its_429_as_json() {
    let app = spawn_app_with(|config| {
        config.tenant_rate_limit = 1;
        config.tenant_rate_burst = 2;
    })
    .await;
    let responses = futures_join_all(
        (0..10)
            .map(|_| {
                app.admin_as(&app.admin_token, Method::GET, "/tokens")
                    .send()
            })
            .collect(),
    )
    .await;
    let refused: Vec<Response> = responses
        .into_iter()
        .map(|r| r.expect("response"))
        .filter(|r| r.status() == 429)
        .collect();
    assert!(refused.len() >= 3, "{} refused", refused.len());
    for response in refused {
        assert!(retry_after(&response) >= 1);
        let (_, body) = status_and_json(response).await;
        assert_eq!(body["error"], "too_many_requests", "{body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("retry after"))
        );
    }
}

#[tokio::test]
async fn with_the_rate_limit_off_nothing_is_throttled() {
    let app = spawn_app_with(|config| {
        config.tenant_rate_limit = 0;
        config.tenant_rate_burst = 1;
    })
    .await;
    let responses = futures_join_all(
        (0..60)
            .map(|_| app.scim(Method::GET, "/Users?count=1").send())
            .collect(),
    )
    .await;
    for response in responses {
        assert_eq!(response.expect("response").status(), 200);
    }
}

#[tokio::test]
async fn writes_past_the_waiting_bound_get_429_and_another_tenant_writes_meanwhile() {
    let app = spawn_app_with(|config| {
        config.tenant_rate_limit = 0;
        config.tenant_max_waiting = 3;
    })
    .await;
    let other = app.new_tenant().await;
    // A long write of the default tenant: its other writes queue behind it.
    let hold = app
        .domain
        .hold_write_turn(&app.tenant_id)
        .await
        .expect("the tenant's turn");
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let request = app
                .scim(Method::POST, "/Users")
                .header("content-type", "application/scim+json")
                .body(new_user(&format!("queued{i}")).to_string());
            tokio::spawn(request.send())
        })
        .collect();
    // The waiting writes hold no connection: another tenant's write (on
    // SQLite through the one write connection) goes through meanwhile.
    let (status, _) = app
        .call_scim(
            &other.scim,
            Method::POST,
            "/Users",
            Some(&new_user("bystander")),
        )
        .await;
    assert_eq!(status, 201);
    let mut answered = Vec::new();
    let mut pending = Vec::new();
    for write in writes {
        if write.is_finished() {
            answered.push(write.await.expect("join").expect("response"));
        } else {
            pending.push(write);
        }
    }
    // Five of eight are past the bound of three; wait for their answers
    // while the turn is still held.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while answered.len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writes past the bound were never answered"
        );
        let (finished, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|w| w.is_finished());
        pending = rest;
        for write in finished {
            answered.push(write.await.expect("join").expect("response"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for response in answered.drain(..) {
        assert_eq!(response.status(), 429);
        assert!(retry_after(&response) >= 1);
        let body = assert_scim_error(response, 429, None).await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("at most 3 may wait")),
            "{body}"
        );
    }
    drop(hold);
    for write in pending {
        let response = write.await.expect("join").expect("response");
        assert_eq!(response.status(), 201, "a queued write goes in its turn");
    }
}

/// Opens a request of `app`'s default tenant that stays under way: its
/// head and half its body are sent, so it waits inside its handler.
async fn stalled_request(app: &TestApp, i: usize) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = app.address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let body = new_user(&format!("stalled{i}")).to_string();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
        app.scim_token,
        body.len()
    );
    socket.write_all(head.as_bytes()).await.expect("head");
    socket
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .expect("half a body");
    socket
}

/// Whether the server has answered `socket` (a stalled request that
/// lost the race for a slot to a probe is answered 429 at once).
async fn answered(socket: &mut tokio::net::TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(std::time::Duration::from_millis(50), socket.peek(&mut byte)).await,
        Ok(Ok(_))
    )
}

#[tokio::test]
async fn requests_past_a_tenants_in_flight_bound_get_429_and_another_tenant_is_served() {
    let app = spawn_app_with(|config| {
        config.tenant_rate_limit = 0;
        config.tenant_max_in_flight = 3;
        // The stalled requests below must outlast the test's steps.
        config.body_timeout = std::time::Duration::from_secs(120);
    })
    .await;
    let other = app.new_tenant().await;
    // Three requests of the default tenant stay under way.
    let mut stalled = Vec::new();
    for i in 0..3 {
        stalled.push(stalled_request(&app, i).await);
    }
    // A probe of the same tenant is refused once the three are counted.
    // A probe can also take a slot first, and a stalled request is then
    // the one refused: it is replaced, until the probe alone is refused.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut opened = 3;
    let refused = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled requests were never counted"
        );
        let response = app.get("/Users?count=1").await;
        let status = response.status();
        let mut replaced = false;
        for socket in &mut stalled {
            if answered(socket).await {
                *socket = stalled_request(&app, opened).await;
                opened += 1;
                replaced = true;
            }
        }
        if status == 429 && !replaced {
            break response;
        }
        assert!(status == 200 || status == 429, "{status}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(retry_after(&refused), 1);
    let body = assert_scim_error(refused, 429, None).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("at most 3 at once"), "{detail}");
    // The admin API of the same tenant is bounded too, and answers JSON.
    let (status, body) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "too_many_requests", "{body}");
    // Another tenant is served meanwhile, reads and writes.
    let response = app.scim_as(&other.scim, Method::GET, "/Users").send().await;
    assert_eq!(response.expect("response").status(), 200);
    let (status, body) = app
        .call_scim(
            &other.scim,
            Method::POST,
            "/Users",
            Some(&new_user("bystander")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Once the stalled clients hang up, the tenant is served again.
    drop(stalled);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let response = app.get("/Users?count=1").await;
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 429);
        assert!(
            std::time::Instant::now() < deadline,
            "the hung-up requests were never released"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, body) = app
        .call_scim(
            &app.scim_token,
            Method::POST,
            "/Users",
            Some(&new_user("after")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_read_with_a_long_idle_token_succeeds_while_a_long_write_holds_the_write_connection() {
    let clock = std::sync::Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(
        1_800_000_000_000,
    )));
    let app = spawn_app_on(|_| {}, clock.clone()).await;
    let user = app.create_user("reader").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    app.domain.flush_token_use().await.expect("flush");
    clock.advance_seconds(3600);
    // Another tenant's long write; on SQLite it holds the only write
    // connection.
    let other = app.new_tenant().await;
    let (status, tokens) = app
        .call_admin(&other.admin, Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let other_id = app
        .domain
        .authenticate(&other.admin, scimd::domain::Scope::Admin)
        .await
        .expect("token")
        .tenant_id;
    let hold = app.domain.hold_write(&other_id).await.expect("a write");
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200);
    let (status, _) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, 200);
    drop(hold);
    // The token list shows the use, written or not yet.
    let (status, tokens) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    assert_eq!(status, 200);
    let now = scimd::clock::format_millis(1_800_000_000_000 + 3_600_000);
    let scim_token = tokens["tokens"]
        .as_array()
        .expect("a token list")
        .iter()
        .find(|t| t["scope"] == "scim")
        .expect("the SCIM token")
        .clone();
    assert_eq!(scim_token["last_used_at"], json!(now), "{tokens}");
    // …and once written, it is in the database.
    app.domain.flush_token_use().await.expect("flush");
    let listed = app
        .domain
        .tenant_tokens(&app.tenant_id)
        .await
        .expect("list");
    let stored = listed
        .iter()
        .find(|t| t.id == scim_token["id"].as_str().unwrap())
        .expect("listed");
    assert_eq!(stored.last_used_at.as_deref(), Some(now.as_str()));
}

#[tokio::test]
async fn terminating_every_database_backend_loses_no_read() {
    let Ok(admin_url) = std::env::var("SCIMD_TEST_DATABASE_URL") else {
        eprintln!("skipped: SCIMD_TEST_DATABASE_URL is unset (PostgreSQL only)");
        return;
    };
    if admin_url.is_empty() {
        eprintln!("skipped: SCIMD_TEST_DATABASE_URL is empty (PostgreSQL only)");
        return;
    }
    use sea_orm::{ConnectionTrait, Database};
    let app = spawn_app().await;
    let user = app.create_user("survivor").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    // Fill the pool with used connections.
    let warm = futures_join_all(
        (0..16)
            .map(|_| app.scim(Method::GET, &path).send())
            .collect(),
    )
    .await;
    assert!(
        warm.iter()
            .all(|r| r.as_ref().expect("response").status() == 200)
    );
    let database = app.db.url.rsplit_once('/').expect("a path").1.to_owned();
    let admin = Database::connect(&admin_url)
        .await
        .expect("admin connection");
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        ))
        .await
        .expect("terminate");
    admin.close().await.ok();
    for i in 0..20 {
        let response = app.get(&path).await;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "read {i} after the failover: {body}");
    }
    let (status, body) = app
        .call_scim(
            &app.scim_token,
            Method::POST,
            "/Users",
            Some(&new_user("after")),
        )
        .await;
    assert_eq!(status, 201, "a write after the failover: {body}");
}

/// Awaits every future (no `futures` dependency for one helper).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: Vec<F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("join"));
    }
    outputs
}
