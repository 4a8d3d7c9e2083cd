//! `cargo bench --bench group_patch`: a PATCH adding 1,000 members to a
//! group of 100,000, and one removing them, through the real HTTP server.
//! Member changes write only the named rows, so the time should not depend
//! on the group's size.
//!
//! Environment: `SCIMD_BENCH_GROUP_SIZE` (default 100000),
//! `SCIMD_BENCH_DATABASE_URL` (PostgreSQL, measured after SQLite when set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use scimd::app::{Application, Config, DEFAULT_MAX_BODY_BYTES};
use scimd::clock::SystemClock;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn measure(postgres: Option<&str>, group_size: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (url, label) = match postgres {
        None => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            "SQLite",
        ),
        Some(admin_url) => {
            let admin = Database::connect(admin_url).await.unwrap();
            admin
                .execute_unprepared("DROP DATABASE IF EXISTS scimd_bench_group WITH (FORCE)")
                .await
                .unwrap();
            admin
                .execute_unprepared("CREATE DATABASE scimd_bench_group")
                .await
                .unwrap();
            (
                format!(
                    "{}/scimd_bench_group",
                    admin_url.rsplit_once('/').unwrap().0
                ),
                "PostgreSQL",
            )
        }
    };
    let config = Config {
        max_body_bytes: 4 * DEFAULT_MAX_BODY_BYTES,
        // Measures the server, not its limits.
        tenant_rate_limit: 0,
        tenant_rate_burst: 0,
        tenant_max_waiting: 0,
        tenant_max_in_flight: 0,
        ..Config::new("127.0.0.1:0", &url)
    };
    let mut app = Application::build(&config, Arc::new(SystemClock))
        .await
        .unwrap();
    let tenant = app.take_bootstrap().unwrap();
    let domain = app.domain();
    let total = group_size + 1000;
    let mut ids = Vec::with_capacity(total);
    for start in (0..total).step_by(5000) {
        let bodies: Vec<Value> = (start..(start + 5000).min(total))
            .map(|i| json!({"userName": format!("member{i}@bench.test")}))
            .collect();
        ids.extend(
            domain
                .import_users(&tenant.tenant_id, &bodies)
                .await
                .unwrap(),
        );
    }
    let base = app.scim_base().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let send = |path: String, body: Value| {
        let request = client
            .request(reqwest::Method::PATCH, format!("{base}{path}"))
            .bearer_auth(&tenant.scim_token)
            .json(&body);
        async move {
            let started = Instant::now();
            let response = request.send().await.unwrap();
            assert!(
                response.status().is_success(),
                "{}",
                response.text().await.unwrap()
            );
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    let created: Value = client
        .post(format!("{base}/Groups"))
        .bearer_auth(&tenant.scim_token)
        .json(&json!({"displayName": "Everyone"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!("/Groups/{}", created["id"].as_str().unwrap());
    let fill = Instant::now();
    for chunk in ids[..group_size].chunks(5000) {
        let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        send(path.clone(), json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": members}]})).await;
    }
    let fill_seconds = fill.elapsed().as_secs_f64();
    let newcomers: Vec<Value> = ids[group_size..]
        .iter()
        .map(|id| json!({"value": id}))
        .collect();
    let add = send(path.clone(), json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": newcomers}]})).await;
    let remove = send(path.clone(), json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members", "value": newcomers}]})).await;
    let again = send(path.clone(), json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": newcomers}]})).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    format!(
        "| {label} | {group_size} | {fill_seconds:.1} s | {add:.0} ms | {remove:.0} ms | {again:.0} ms |"
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let size: usize = std::env::var("SCIMD_BENCH_GROUP_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let postgres = std::env::var("SCIMD_BENCH_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("### PATCH of 1,000 members on a large group (one request each)\n");
    println!(
        "| database | group size | filling it (5,000 per PATCH) | add 1,000 | remove 1,000 | add 1,000 again |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!("{}", runtime.block_on(measure(None, size)));
    if let Some(url) = postgres.as_deref() {
        println!("{}", runtime.block_on(measure(Some(url), size)));
    }
}
