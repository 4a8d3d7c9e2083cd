//! `cargo bench --bench query`: how fast scimd parses and plans the filters
//! IdPs send, and how `GET /Users?filter=userName eq "…"` answers on tenants
//! of 10,000 and 1,000,000 users, through the real HTTP server.
//!
//! Environment:
//! - `SCIMD_BENCH_SIZES` (default `10000,1000000`): tenant sizes;
//! - `SCIMD_BENCH_DATABASE_URL`: a PostgreSQL URL whose user may create
//!   databases; when set, PostgreSQL is measured after SQLite;
//! - `SCIMD_BENCH_REQUESTS` (default 3000): sequential requests per size.
//!
//! It prints Markdown tables; BENCHMARKS.md holds a run's output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use scim::Schemas;
use scim::eval::{Unknown, compile};
use scim::filter::parse;
use scimd::app::{Application, Config, DEFAULT_MAX_BODY_BYTES};
use scimd::clock::SystemClock;
use scimd::domain::Kind;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

const IDP_FILTERS: [(&str, &str); 7] = [
    ("Okta lookup", r#"userName eq "bjensen@example.com""#),
    (
        "Entra lookup",
        r#"externalId eq "8a8b1c2d-0000-4f4f-9e9e-123456789abc""#,
    ),
    (
        "Entra work e-mail",
        r#"emails[type eq "work"].value eq "bjensen@example.com""#,
    ),
    (
        "Entra and",
        r#"userName eq "bjensen@example.com" and active eq true"#,
    ),
    (
        "group member",
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
    ),
    (
        "delta sync",
        r#"meta.lastModified gt "2026-01-23T04:56:22Z""#,
    ),
    (
        "RFC example",
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn micro() {
    let schemas = Schemas::load().unwrap();
    println!("### Parsing and planning (per filter, this machine)\n");
    println!("| filter | parse | parse + compile + plan | answered by SQL alone |");
    println!("|---|---:|---:|---|");
    for (name, text) in IDP_FILTERS {
        let schema = if name == "group member" {
            &schemas.group
        } else {
            &schemas.user
        };
        let kind = if name == "group member" {
            Kind::Groups
        } else {
            Kind::Users
        };
        let rounds = 50_000;
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(parse(std::hint::black_box(text)).unwrap());
        }
        let parse_ns = start.elapsed().as_nanos() / rounds;
        let start = Instant::now();
        let mut exact = false;
        for _ in 0..rounds {
            let filter = parse(std::hint::black_box(text)).unwrap();
            let query = compile(&filter, schema, Unknown::Reject).unwrap();
            let plan = scimd::domain::plan(kind, "tenant", Some(&query));
            exact = plan.exact;
            std::hint::black_box(plan);
        }
        let all_ns = start.elapsed().as_nanos() / rounds;
        println!(
            "| {name}: `{text}` | {:.1} µs | {:.1} µs | {} |",
            parse_ns as f64 / 1000.0,
            all_ns as f64 / 1000.0,
            if exact {
                "yes"
            } else {
                "no (evaluator finishes)"
            }
        );
    }
    println!();
}

struct BenchDatabase {
    url: String,
    label: &'static str,
    _dir: Option<tempfile::TempDir>,
    drop_from: Option<(String, String)>,
}

async fn fresh_database(postgres: Option<&str>, size: usize) -> BenchDatabase {
    match postgres {
        None => {
            let dir = tempfile::tempdir().unwrap();
            BenchDatabase {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                ),
                label: "SQLite",
                _dir: Some(dir),
                drop_from: None,
            }
        }
        Some(admin_url) => {
            let name = format!("scimd_bench_{size}");
            let admin = Database::connect(admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = admin_url.rsplit_once('/').unwrap().0;
            BenchDatabase {
                url: format!("{base}/{name}"),
                label: "PostgreSQL",
                _dir: None,
                drop_from: Some((admin_url.to_owned(), name)),
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn lookup_latency(postgres: Option<&str>, size: usize, requests: usize) -> String {
    let db = fresh_database(postgres, size).await;
    let config = Config {
        max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        // Measures the server, not its limits.
        tenant_rate_limit: 0,
        tenant_rate_burst: 0,
        tenant_max_waiting: 0,
        tenant_max_in_flight: 0,
        ..Config::new("127.0.0.1:0", &db.url.clone())
    };
    let mut app = Application::build(&config, Arc::new(SystemClock))
        .await
        .unwrap();
    let tenant = app.take_bootstrap().unwrap();
    let domain = app.domain();
    let seeding = Instant::now();
    let batch = 5_000;
    for start in (0..size).step_by(batch) {
        let bodies: Vec<Value> = (start..(start + batch).min(size))
            .map(|i| {
                json!({
                    "userName": format!("user{i}@bench.test"),
                    "externalId": format!("ext-{i}"),
                    "displayName": format!("Bench User {i}"),
                    "emails": [{"value": format!("user{i}@bench.test"), "type": "work", "primary": true}]
                })
            })
            .collect();
        domain
            .import_users(&tenant.tenant_id, &bodies)
            .await
            .unwrap();
    }
    domain.refresh_statistics().await.unwrap();
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let (_, plan) = domain
        .explain_users(&tenant.tenant_id, r#"userName eq "user1@bench.test""#)
        .await
        .unwrap();
    let base = app.scim_base().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let one = async |rng: &mut Rng| {
        let n = rng.below(size + size / 9);
        let filter = format!("userName eq \"user{n}@bench.test\"");
        let started = Instant::now();
        let response = client
            .get(format!("{base}/Users"))
            .query(&[("filter", filter.as_str())])
            .bearer_auth(&tenant.scim_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["totalResults"], json!(u64::from(n < size)));
        started.elapsed()
    };
    for _ in 0..300 {
        one(&mut rng).await;
    }
    let mut latencies = Vec::with_capacity(requests);
    let started = Instant::now();
    for _ in 0..requests {
        latencies.push(one(&mut rng).await);
    }
    let throughput = requests as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    if let Some((admin_url, name)) = &db.drop_from {
        let admin = Database::connect(admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
    }
    let plan_line = plan
        .iter()
        .find(|l| l.contains("users_tenant_user_name"))
        .cloned()
        .unwrap_or_else(|| plan.join(" / "));
    format!(
        "| {} | {size} | {seed_seconds:.0} s | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {throughput:.0}/s | `{}` |",
        db.label,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().unwrap().as_secs_f64() * 1000.0,
        plan_line.trim(),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks benches to list themselves.
        return;
    }
    micro();
    let sizes: Vec<usize> = std::env::var("SCIMD_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let requests: usize = std::env::var("SCIMD_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let postgres = std::env::var("SCIMD_BENCH_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "### `GET /Users?filter=userName eq \"…\"`, one client, {requests} sequential requests (90% hits)\n"
    );
    println!("| database | users | seeding | p50 | p90 | p99 | max | requests | plan |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut backends: Vec<Option<&str>> = vec![None];
    if let Some(url) = postgres.as_deref() {
        backends.push(Some(url));
    }
    for backend in backends {
        for &size in &sizes {
            let row = runtime.block_on(lookup_latency(backend, size, requests));
            println!("{row}");
        }
    }
}
