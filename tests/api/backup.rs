//! `scimd backup` (the real binary) against a server taking writes.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Client, Method};
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};
use serde_json::json;

use crate::cli::{create_tenant, scimd};
use crate::helpers::*;
use crate::races::serve_with_env;

/// Concurrent writers of the storm.
const WRITERS: usize = 8;
/// Users acknowledged before the backup starts, at least.
const BEFORE: usize = 100;
/// Users acknowledged after the backup ends, at least: the server kept
/// taking writes throughout.
const AFTER: usize = 40;

fn backup(database_url: &str, file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("backup")
        .arg(file)
        .env("SCIMD_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run scimd backup")
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres")
}

/// On PostgreSQL `scimd backup` copies nothing and says what to use.
fn assert_points_to_pg_dump(output: &Output) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("Stack backtrace"), "{stderr}");
}

/// The backup's userNames, after `PRAGMA integrity_check` passed on it.
async fn users_in(file: &Path) -> HashSet<String> {
    let url = format!("sqlite://{}?mode=ro", file.display());
    let db = Database::connect(&url).await.expect("the backup opens");
    let check = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    let rows = db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "SELECT user_name FROM users",
        ))
        .await
        .unwrap();
    let names = rows
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    db.close().await.unwrap();
    names
}

/// POSTs users until `stop`, recording each one acknowledged (201).
async fn write_until(
    base: String,
    token: String,
    writer: usize,
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let client = Client::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let name = format!("w{writer}-{n}@example.com");
        n += 1;
        let response = client
            .request(Method::POST, format!("{base}/scim/v2/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(json!({"schemas": [USER_SCHEMA], "userName": name}).to_string())
            .send()
            .await
            .expect("POST /Users");
        assert_eq!(response.status().as_u16(), 201, "{name}");
        acknowledged.lock().unwrap().push(name);
    }
}

/// Waits until at least `count` writes are acknowledged.
async fn until_acknowledged(acknowledged: &Mutex<Vec<String>>, count: usize) {
    while acknowledged.lock().unwrap().len() < count {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_a_write_storm_holds_every_write_acknowledged_before_it() {
    let db = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scimd-backup.db");
    if is_postgres(&db.url) {
        assert_points_to_pg_dump(&backup(&db.url, &file));
        assert!(!file.exists());
        return;
    }
    let created = create_tenant(&db.url, "acme");
    let token = created["scim_token"].as_str().unwrap().to_owned();
    // No rate limit: the storm is as fast as the server takes writes.
    let server = serve_with_env(&db.url, &[("SCIMD_TENANT_RATE_LIMIT", "0")]);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            tokio::spawn(write_until(
                server.base.clone(),
                token.clone(),
                writer,
                Arc::clone(&acknowledged),
                Arc::clone(&stop),
            ))
        })
        .collect();

    until_acknowledged(&acknowledged, BEFORE).await;
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    let output = {
        let (url, file) = (db.url.clone(), file.clone());
        tokio::task::spawn_blocking(move || backup(&url, &file))
            .await
            .unwrap()
    };
    let after_backup = acknowledged.lock().unwrap().len();
    until_acknowledged(&acknowledged, after_backup + AFTER).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    let bytes = std::fs::metadata(&file).unwrap().len();
    assert!(stdout.contains(&format!("{bytes} bytes")), "{stdout}");
    assert!(stdout.contains("1 tenants"), "{stdout}");

    let backed_up = users_in(&file).await;
    assert!(
        stdout.contains(&format!("{} users", backed_up.len())),
        "{stdout}"
    );
    let missing: Vec<&String> = before.iter().filter(|n| !backed_up.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup began, missing from it: {missing:?}"
    );
    // Nothing but what the server committed: every user in the copy was
    // acknowledged by the end of the storm.
    let all: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(backed_up.is_subset(&all));
    assert!(
        backed_up.len() < all.len(),
        "writes went on after the backup"
    );
    // The temporary copy is gone; only the backup is left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["scimd-backup.db"]);
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    let db = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken.db");
    std::fs::write(&file, b"not a backup").unwrap();
    if is_postgres(&db.url) {
        assert_points_to_pg_dump(&backup(&db.url, &file));
    } else {
        scimd(&db.url, &["migrate"]);
        let output = backup(&db.url, &file);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("already exists"), "{stderr}");
        let fresh = dir.path().join("fresh.db");
        assert!(backup(&db.url, &fresh).status.success());
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a backup");
}
