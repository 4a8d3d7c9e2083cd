//! The real binary's JSON log: one parseable object per line, one line per
//! request with its route template, method, status, latency in µs, tenant
//! and request id; never a token or a query string.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// How long the server may take to start (a cold PostgreSQL migration).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn json_logs_carry_one_line_per_request_without_tokens_or_query_strings() {
    let db = test_db().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .env("SCIMD_METRICS_LISTEN", "")
        .env("SCIMD_DATABASE_URL", &db.url)
        .env("RUST_LOG", "scimd=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd serve");

    // Every stderr line, as it comes.
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logged = Vec::new();
    let address = loop {
        let line = lines
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("scimd never said it listens: {logged:#?}"));
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        logged.push(line);
        if event["message"] == "scimd is listening" {
            break event["address"].as_str().expect("the address").to_owned();
        }
    };

    // The bootstrap's tokens went to stdout before the listening notice.
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("stdout line");
        let done = line.starts_with("These tokens are shown once");
        printed.push(line);
        if done {
            break;
        }
    }
    let field = |label: &str| {
        printed
            .iter()
            .find_map(|line| line.trim().strip_prefix(label))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("no `{label}` in {printed:?}"))
    };
    let scim_token = field("SCIM token:");
    let tenant_id = printed[0]
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(")."))
        .expect("the tenant id")
        .to_owned();

    let secret_filter = "userName eq \"hidden-filter-value@example.com\"";
    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://{address}/scim/v2/Users"))
        .query(&[("filter", secret_filter), ("count", "5")])
        .bearer_auth(&scim_token)
        .header("x-request-id", "log-test-1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let response = client
        .get(format!("http://{address}/nowhere?password=hunter2"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 404);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("wait").success());
    reader.join().expect("stderr reader");
    logged.extend(lines.try_iter());

    let events: Vec<Value> = logged
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let finished: Vec<&Value> = events
        .iter()
        .filter(|event| event["message"] == "request finished")
        .collect();
    assert_eq!(finished.len(), 2, "one line per request: {logged:#?}");

    let list = finished
        .iter()
        .find(|event| event["span"]["request_id"] == "log-test-1")
        .expect("the list request's line");
    assert_eq!(list["level"], "INFO");
    assert_eq!(list["status"], 200);
    assert!(list["latency_us"].as_u64().is_some(), "{list}");
    assert_eq!(list["span"]["method"], "GET");
    assert_eq!(list["span"]["route"], "/scim/v2/Users");
    assert_eq!(list["span"]["path"], "/scim/v2/Users");
    assert_eq!(list["span"]["tenant_id"], tenant_id.as_str());

    let unknown = finished
        .iter()
        .find(|event| event["status"] == 404)
        .expect("the unknown path's line");
    assert_eq!(unknown["span"]["route"], "unmatched");
    assert!(
        unknown["span"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "a request id is made up when none is sent: {unknown}"
    );

    let all = logged.join("\n");
    for secret in [
        scim_token.as_str(),
        "hidden-filter-value",
        "filter=",
        "count=5",
        "hunter2",
    ] {
        assert!(!all.contains(secret), "`{secret}` reached the log: {all}");
    }
}
