//! The load tool's smoke test: `scimd-bench` with a tiny tenant on the
//! suite's database (SQLite, or PostgreSQL when `SCIMD_TEST_DATABASE_URL`
//! is set), every workload for a fraction of a second. It checks that the
//! tool seeds, starts the real server, gets only expected answers and
//! reports every figure; never how fast anything is.
//!
//! The ceiling (g) is measured when this suite is built with the
//! `bench-ceiling` feature; a plain `cargo test` builds the server without
//! it, and the tool must then say so instead of failing.

use std::process::Command;

use serde_json::Value;

use crate::helpers::test_db;

fn bench(database_url: &str, log: &std::path::Path, extra: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_scimd-bench"))
        .args(["--database-url", database_url])
        .args(["--server", env!("CARGO_BIN_EXE_scimd")])
        .arg("--server-log")
        .arg(log)
        .args(["--users", "300", "--groups", "3", "--group-members", "100"])
        .args(["--connections", "2", "--duration", "0.3", "--warmup", "0.1"])
        .arg("--json")
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run scimd-bench");
    assert!(
        output.status.success(),
        "scimd-bench failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

fn row<'a>(report: &'a Value, workload: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["workload"] == workload)
        .unwrap_or_else(|| panic!("no row for {workload}: {report}"))
}

#[tokio::test]
async fn the_load_tool_seeds_a_tenant_and_measures_every_workload_without_errors() {
    let db = test_db().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");

    let report = bench(&db.url, &log, &[]);
    assert!(report["seeded_in_seconds"].as_f64().is_some(), "{report}");
    for workload in ["lookup", "get", "deactivate", "create", "group-push"] {
        let load = &row(&report, workload)["measured"]["load"];
        assert!(load["requests"].as_u64().unwrap() > 0, "{workload}: {load}");
        assert_eq!(load["errors"], 0, "{workload}: {load}");
        assert!(load["p99_ms"].as_f64().unwrap() >= load["p50_ms"].as_f64().unwrap());
        assert!(row(&report, workload)["peak_rss_kib"].as_u64().unwrap() > 0);
    }
    let created = row(&report, "create")["measured"]["load"]["requests"]
        .as_u64()
        .unwrap();
    let export = &row(&report, "export")["measured"]["export"];
    // The walk sees every seeded user and every user (d) created, each once
    // (created ones that were still in flight when (d) ended count too).
    assert!(
        export["users"].as_u64().unwrap() >= 300 + created,
        "{export}"
    );
    let ceiling = row(&report, "ceiling");
    if cfg!(feature = "bench-ceiling") {
        assert_eq!(ceiling["measured"]["load"]["errors"], 0, "{ceiling}");
        assert!(
            row(&report, "lookup")["ratio_to_ceiling"]
                .as_f64()
                .is_some()
        );
    } else {
        assert!(
            ceiling["measured"]["unavailable"]
                .as_str()
                .unwrap()
                .contains("bench-ceiling"),
            "{ceiling}"
        );
    }

    // A second run finds the seeded tenant instead of seeding it again.
    let again = bench(&db.url, &log, &["--workloads", "a,b,e"]);
    assert!(again["seeded_in_seconds"].is_null(), "{again}");
    assert_eq!(row(&again, "group-push")["measured"]["load"]["errors"], 0);

    // (h) runs only when asked, against a server with a rate limit: the
    // bystander tenant gets only expected answers beside the flood.
    let fair = bench(
        &db.url,
        &log,
        &[
            "--workloads",
            "h",
            "--tenant-rate-limit",
            "20",
            "--tenant-rate-burst",
            "20",
        ],
    );
    let fairness = &row(&fair, "fairness")["measured"]["fairness"];
    for phase in ["idle", "flooded"] {
        assert_eq!(fairness[phase]["errors"], 0, "{phase}: {fairness}");
        assert!(
            fairness[phase]["requests"].as_u64().unwrap() > 0,
            "{fairness}"
        );
    }
    assert!(
        fairness["flood"]["requests"].as_u64().unwrap() > 0,
        "{fairness}"
    );
    assert!(fairness["p99_ratio"].as_f64().is_some(), "{fairness}");
}

#[tokio::test]
async fn the_heavy_patch_workload_measures_the_patch_and_the_bystander() {
    let db = test_db().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("server.log");
    // 20 e-mails × 1,000 removes fits the default budget: 200 expected.
    let report = bench(&db.url, &log, &["--workloads", "p", "--heavy-emails", "20"]);
    let heavy = &row(&report, "heavy-patch")["measured"]["heavy"];
    assert_eq!(heavy["heavy_status"], 200, "{heavy}");
    // The heavy PATCHes and the bystander beside them start measured.
    for figures in ["heavy", "bystander_during"] {
        assert!(heavy[figures]["requests"].as_u64().unwrap() > 0, "{heavy}");
    }
    for figures in ["heavy", "bystander_idle", "bystander_during"] {
        assert_eq!(heavy[figures]["errors"], 0, "{figures}: {heavy}");
    }
}
