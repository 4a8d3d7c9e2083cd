//! The real `scimd` binary: serve, migrate, tenant and token commands.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// Runs `scimd ARGS` and waits for it, blocking the calling thread. A test
/// whose server runs inside the test process (`spawn_app`) while it calls this
/// must use the multi-threaded runtime: on the default single thread the
/// server's tasks stop meanwhile, and one stopped inside a write
/// transaction holds SQLite's write lock until the CLI process gives up
/// ("database is locked" after the 10 s busy timeout).
fn run(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(args)
        .env("SCIMD_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run scimd")
}

/// Runs `scimd ARGS` against `database_url`, expects success, returns stdout.
pub fn scimd(database_url: &str, args: &[&str]) -> String {
    let output = run(database_url, args);
    assert!(
        output.status.success(),
        "scimd {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Creates tenant `name` with `scimd tenant create NAME --json`; its
/// answer (`tenant_id`, `scim_token`, `admin_token`).
pub fn create_tenant(database_url: &str, name: &str) -> serde_json::Value {
    serde_json::from_str(scimd(database_url, &["tenant", "create", name, "--json"]).trim())
        .expect("the answer is JSON")
}

/// Runs `scimd serve` on a free port until it is listening, then stops it
/// with SIGTERM (checking it exits cleanly); returns the child and its stdout.
pub fn start_server(database_url: &str) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        // Servers run side by side: none takes the metrics port.
        .env("SCIMD_METRICS_LISTEN", "")
        .env("SCIMD_DATABASE_URL", database_url)
        .env("RUST_LOG", "scimd=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd serve");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut logged = Vec::new();
    let mut listening = false;
    for line in stderr.lines() {
        let line = line.expect("stderr line");
        if line.contains("scimd is listening") {
            listening = true;
            break;
        }
        logged.push(line);
    }
    if !listening {
        let status = child.wait().expect("wait");
        panic!(
            "scimd serve exited with {status} before listening:\n{}",
            logged.join("\n")
        );
    }
    // Everything the bootstrap prints is flushed before the listening notice.
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    terminate(&child);
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "scimd serve shuts down cleanly on SIGTERM: {status}"
    );
    (child, reader.join().expect("stdout reader"))
}

fn terminate(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn serve_prints_the_default_tenants_tokens_once_and_only_on_an_empty_database() {
    let db = test_db().await;
    let (_, first) = start_server(&db.url);
    let text = first.join("\n");
    assert!(text.contains("Created tenant `default`"), "{text}");
    assert!(text.contains("SCIM base URL: http://127.0.0.1:"), "{text}");
    let token = first
        .iter()
        .find_map(|l| l.trim().strip_prefix("SCIM token:"))
        .expect("a SCIM token line")
        .trim()
        .to_owned();
    assert!(token.starts_with("scimd_"));

    let (_, second) = start_server(&db.url);
    assert!(second.iter().all(|l| !l.contains("scimd_")), "{second:?}");

    // The printed token works against a server on the same database.
    let output = scimd(&db.url, &["token", "list", "--tenant", "default", "--json"]);
    let tokens: Vec<Value> = serde_json::from_str(&output).unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(!output.contains(&token), "listing never shows secrets");
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = test_db().await;
    scimd(&db.url, &["migrate"]);
    let out = scimd(&db.url, &["migrate"]);
    assert!(out.contains("up to date"));
}

#[tokio::test]
async fn tenant_create_json_prints_one_object_with_both_tokens() {
    let db = test_db().await;
    let out = scimd(&db.url, &["tenant", "create", "acme", "--json"]);
    let created: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["tenant_id", "scim_token", "admin_token"]);

    let again = run(&db.url, &["tenant", "create", "acme"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = run(&db.url, &["tenant", "create", "acme corp"]);
    assert!(!bad.status.success());
}

// The in-process server keeps running while a CLI process runs (see
// `cli::run`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_created_on_the_command_line_works_until_it_is_revoked() {
    let app = spawn_app().await;
    let out = scimd(
        &app.db.url,
        &[
            "token",
            "create",
            "--tenant",
            "default",
            "--scope",
            "scim",
            "--label",
            "Okta prod",
            "--json",
        ],
    );
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let token = created["token"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let response = app
        .scim_as(token, Method::GET, "/Users")
        .send()
        .await
        .unwrap();
    json_of(response, 200).await;

    let listed = scimd(&app.db.url, &["token", "list", "--tenant", "default"]);
    assert!(listed.contains("Okta prod") && listed.contains(id));
    assert!(!listed.contains(token));

    // Revoked by another process (this command): the server hears of it
    // by NOTIFY (PostgreSQL) or reads it within a second (SQLite), and
    // refuses the token from then on (README "Tokens").
    scimd(&app.db.url, &["token", "revoke", id]);
    let client = reqwest::Client::new();
    crate::revocation::refused_after(&client, &app.scim_base, token, "/Users").await;
    let response = app
        .scim_as(token, Method::GET, "/Users")
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 401, None).await;
    assert!(!run(&app.db.url, &["token", "revoke", id]).status.success());

    let bad_scope = run(
        &app.db.url,
        &["token", "create", "--tenant", "default", "--scope", "root"],
    );
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("unknown scope"));
}
