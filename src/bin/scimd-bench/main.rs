//! `scimd-bench`: the load tool (issue 6, README "Benchmarks").
//!
//! Seeds a tenant with N users and G groups through the domain layer (or
//! reuses the one an earlier run seeded in the same database), starts the
//! real `scimd` binary against that database as a child process, drives
//! each workload over C keep-alive connections for D seconds, and reports
//! throughput, p50/p99/max latency, the server's peak RSS (`VmHWM`, reset
//! before each workload), and each workload as a fraction of the static
//! ceiling route measured in the same run.
//!
//! The ceiling route exists only in a server built with the
//! `bench-ceiling` feature; against another build the ceiling is reported
//! as unavailable and the ratios are left out.

mod client;
mod export;
mod fairness;
mod heavy;
mod load;
mod report;
mod seed;
mod server;
mod slowloris;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use client::{Call, Connection};
use load::{Shape, drive};
use report::{Measured, Report};
use server::Server;
use workloads::Workload;

/// Load tool: seeds a tenant, then measures the real scimd server over HTTP.
#[derive(Debug, Parser)]
#[command(name = "scimd-bench", version, about)]
struct Args {
    /// Database to seed and serve: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    database_url: String,
    /// Users to seed (N); an existing tenant must hold exactly this many.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Groups to seed (G), the push group included.
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Members of the push group (at most half the users).
    #[arg(long, default_value_t = 50_000)]
    group_members: usize,
    /// Concurrent connections (C).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds per workload (D).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before each workload.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Workloads, by name or letter: ceiling (g), lookup (a), get (b),
    /// deactivate (c), create (d), group-push (e), export (f), and, not
    /// run by default, heavy-patch (p) and fairness (h), which wants
    /// `--tenant-rate-limit`.
    #[arg(long, value_delimiter = ',', default_value = "g,a,b,c,d,e,f")]
    workloads: Vec<String>,
    /// E-mails of the heavy-patch workload's user (seeded once, in tenant
    /// `<tenant>-heavy`).
    #[arg(long, default_value_t = 19_000)]
    heavy_emails: usize,
    /// Tenant to seed or reuse.
    #[arg(long, default_value = "bench")]
    tenant: String,
    /// The scimd binary to start; default: `scimd` beside this program.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Where the server's log goes.
    #[arg(long, default_value = "scimd-bench-server.log")]
    server_log: PathBuf,
    /// Seed (or check) the tenant and exit without starting the server.
    #[arg(long)]
    seed_only: bool,
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
    /// SQLite durability of the server: `full` (scimd's default) or
    /// `normal`, to measure what FULL costs.
    #[arg(long, default_value = "full")]
    sqlite_synchronous: scimd::app::Synchronous,
    /// Half-header sockets held open during every workload (slowloris):
    /// e.g. 1000 with `--workloads get` gives the GET's p99 while they
    /// are held.
    #[arg(long, default_value_t = 0)]
    half_header_sockets: usize,
    /// Clients that ask for `GET /Users?count=1000`, read its first bytes
    /// and then nothing, held during every workload: the server's peak
    /// RSS shows what they cost.
    #[arg(long, default_value_t = 0)]
    stalled_readers: usize,
    /// The server's `--tenant-rate-limit` (requests a second per tenant);
    /// 0, the default, turns the limit off so that the tool measures the
    /// server, not its limit.
    #[arg(long, default_value_t = 0)]
    tenant_rate_limit: u32,
    /// The server's `--tenant-rate-burst`; 0: the rate.
    #[arg(long, default_value_t = 0)]
    tenant_rate_burst: u32,
    /// The server's `--tenant-max-in-flight`; 0, the default: no bound.
    #[arg(long, default_value_t = 0)]
    tenant_max_in_flight: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let workloads = args
        .workloads
        .iter()
        .map(|name| {
            Workload::parse(name.trim()).with_context(|| format!("unknown workload `{name}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.users < 2 || args.connections == 0 {
        bail!("--users must be at least 2 and --connections at least 1");
    }
    let plan = seed::Plan {
        tenant: args.tenant.clone(),
        users: args.users,
        groups: args.groups.max(1),
        push_members: args.group_members.min(args.users / 2),
        heavy_emails: workloads
            .contains(&Workload::HeavyPatch)
            .then_some(args.heavy_emails),
    };
    eprintln!(
        "preparing tenant `{}` with {} users…",
        plan.tenant, plan.users
    );
    let fixture = seed::prepare(&args.database_url, &plan).await?;
    match fixture.seeded_in {
        Some(seconds) => eprintln!("seeded in {seconds:.1} s"),
        None => eprintln!("reusing the tenant seeded by an earlier run"),
    }
    if args.seed_only {
        return Ok(());
    }
    let bystander = if workloads.contains(&Workload::Fairness) {
        if args.tenant_rate_limit == 0 {
            eprintln!("note: (h) fairness runs without a rate limit; pass --tenant-rate-limit");
        }
        Some(seed::bystander(&args.database_url, &args.tenant).await?)
    } else {
        None
    };
    let binary = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this program has no directory")?
            .join("scimd"),
    };
    let server = Server::start(
        &binary,
        &args.database_url,
        args.sqlite_synchronous,
        &args.server_log,
        args.tenant_rate_limit,
        args.tenant_rate_burst,
        args.tenant_max_in_flight,
    )
    .await?;
    let _half_headers = if args.half_header_sockets > 0 {
        eprintln!(
            "holding {} half-header sockets open…",
            args.half_header_sockets
        );
        Some(slowloris::hold(server.address(), args.half_header_sockets)?)
    } else {
        None
    };
    let _stalled = if args.stalled_readers > 0 {
        eprintln!("holding {} stalled readers…", args.stalled_readers);
        Some(slowloris::stall(
            server.address(),
            &fixture.token,
            args.stalled_readers,
        )?)
    } else {
        None
    };
    let shape = Shape {
        connections: args.connections,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        pace: None,
    };
    let mut report = Report::new(&args.database_url, &plan, &fixture, shape);
    report.sqlite_synchronous = args.sqlite_synchronous.as_str();
    report.half_header_sockets = args.half_header_sockets;
    report.stalled_readers = args.stalled_readers;
    report.idle_rss_kib = server.rss_kib();
    let nonce = nonce()?;
    for workload in workloads {
        eprintln!("running ({}) {}…", workload.letter(), workload.name());
        server.reset_peak();
        let cpu_before = server.cpu_seconds();
        let measured = match workload {
            Workload::Export => {
                let expected = user_count(&server, &fixture.token).await?;
                Measured::Export(export::export(&server, &fixture.token, expected).await?)
            }
            Workload::HeavyPatch => {
                let heavy = fixture
                    .heavy
                    .as_ref()
                    .context("the heavy user is prepared with the workload")?;
                Measured::Heavy(heavy::run(&server, &fixture, heavy, shape, nonce).await?)
            }
            Workload::Fairness => Measured::Fairness(
                fairness::fairness(
                    server.address(),
                    &fixture,
                    bystander
                        .as_deref()
                        .context("the bystander tenant was prepared")?,
                    shape,
                    args.tenant_rate_limit,
                    nonce,
                )
                .await?,
            ),
            Workload::Ceiling if !has_ceiling(&server).await? => Measured::Unavailable(
                "the server was built without the `bench-ceiling` feature".into(),
            ),
            _ => Measured::Load(
                drive(server.address(), &fixture.token, shape, |i| {
                    workload.generator(&fixture, i, shape.connections, nonce)
                })
                .await?,
            ),
        };
        let cpu = server
            .cpu_seconds()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        report.add(workload, measured, server.peak_kib(), cpu);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.markdown());
    }
    Ok(())
}

/// How many users the tenant has now (`totalResults` of an empty page).
async fn user_count(server: &Server, token: &str) -> anyhow::Result<u64> {
    let mut connection = Connection::open(server.address(), Some(token)).await?;
    let (status, body) = connection
        .send(&Call::get("/scim/v2/Users?count=0".into()))
        .await?;
    if !status.is_success() {
        bail!("counting users answered {status}");
    }
    let list: serde_json::Value = serde_json::from_slice(&body)?;
    list["totalResults"]
        .as_u64()
        .context("a ListResponse has totalResults")
}

/// Whether the server has the ceiling route compiled in.
async fn has_ceiling(server: &Server) -> anyhow::Result<bool> {
    let mut connection = Connection::open(server.address(), None).await?;
    let (status, _) = connection.send(&Call::get("/bench/ceiling".into())).await?;
    Ok(status.is_success())
}

/// A random number that keeps one run's new userNames apart from another's.
fn nonce() -> anyhow::Result<u64> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(u64::from_le_bytes(bytes))
}
