//! The real `scimd` binary as an operator runs it: secrets kept out of
//! sight, the database URL from a file, the first start's tokens in a
//! private file or as JSON, `tenant list`, `--no-migrate`, the config
//! file, a clear error for a database that cannot be reached, and the
//! progress of a long migration.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::cli::scimd;
use crate::helpers::*;

/// A password that must never be printed.
const SECRET: &str = "S3cret";

/// `scimd ARGS` with `env` set and no other scimd variable.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
    command.args(args).env("RUST_LOG", "warn");
    for variable in [
        "SCIMD_DATABASE_URL",
        "SCIMD_DATABASE_URL_FILE",
        "SCIMD_CONFIG",
    ] {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    command.output().expect("run scimd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What one `scimd serve` printed: stdout, and whether it came up.
struct Served {
    listened: bool,
    stdout: String,
    stderr: String,
}

/// Runs `scimd serve ARGS` on a free port until it listens (then stops it
/// with SIGTERM) or exits.
fn serve(database_url: &str, args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("SCIMD_DATABASE_URL", database_url)
        // Servers of parallel tests would share the default metrics port.
        .env("SCIMD_METRICS_LISTEN", "")
        .env("RUST_LOG", "scimd=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd serve");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut all).ok();
        all
    });
    let mut logged = Vec::new();
    let mut listened = false;
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        let line = line.expect("stderr line");
        if line.contains("scimd is listening") {
            listened = true;
            break;
        }
        logged.push(line);
    }
    if listened {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
    let status = child.wait().expect("wait");
    if listened {
        assert!(status.success(), "scimd serve stops cleanly: {status}");
    }
    Served {
        listened,
        stdout: reader.join().expect("stdout reader"),
        stderr: logged.join("\n"),
    }
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn help_never_shows_the_database_password_from_the_environment() {
    let url = format!("postgres://scimd:{SECRET}@db.example/scimd");
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["token", "create", "--help"],
        &["-h"],
    ] {
        let output = run_with(
            args,
            &[
                ("SCIMD_DATABASE_URL", &url),
                ("SCIMD_DATABASE_URL_FILE", "/run/secrets/S3cret-file"),
            ],
        );
        assert!(output.status.success(), "{args:?}");
        let shown = text(&output.stdout);
        assert!(shown.contains("SCIMD_DATABASE_URL"), "{args:?}: {shown}");
        assert!(!shown.contains(SECRET), "{args:?}: {shown}");
    }
}

#[test]
fn a_refused_database_connection_names_host_and_port_and_never_the_password() {
    let port = closed_port();
    for url in [
        format!("postgres://scimd:{SECRET}@127.0.0.1:{port}/scimd"),
        format!("postgres://scimd@127.0.0.1:{port}/scimd?password={SECRET}"),
    ] {
        let output = run_with(&["migrate"], &[("SCIMD_DATABASE_URL", &url)]);
        assert!(!output.status.success());
        let error = text(&output.stderr);
        assert!(
            error.contains(&format!("PostgreSQL at 127.0.0.1:{port}")),
            "{error}"
        );
        assert!(!error.contains(SECRET), "{error}");
        assert!(!error.contains("pool timed out"), "{error}");
    }
}

#[tokio::test]
async fn the_database_url_may_come_from_a_file_but_not_from_two_places() {
    let db = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("database-url");
    std::fs::write(&file, format!("{}\n", db.url)).unwrap();
    let file = file.to_str().unwrap();

    let output = run_with(
        &["tenant", "create", "acme", "--json"],
        &[("SCIMD_DATABASE_URL_FILE", file)],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listed = scimd(&db.url, &["tenant", "list"]);
    assert!(listed.contains("acme"), "{listed}");

    let both = run_with(
        &["tenant", "list"],
        &[
            ("SCIMD_DATABASE_URL_FILE", file),
            ("SCIMD_DATABASE_URL", &db.url),
        ],
    );
    assert!(!both.status.success());
    assert!(text(&both.stderr).contains("set only one"));
    let missing = run_with(
        &["tenant", "list", "--database-url-file", "/nonexistent/url"],
        &[],
    );
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("/nonexistent/url"));
}

#[tokio::test]
async fn tenant_list_shows_every_tenant_oldest_first() {
    let db = test_db().await;
    scimd(&db.url, &["tenant", "create", "acme"]);
    scimd(&db.url, &["tenant", "create", "globex"]);
    let listed: Vec<Value> =
        serde_json::from_str(&scimd(&db.url, &["tenant", "list", "--json"])).unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acme", "globex"]);
    let keys: Vec<&str> = listed[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "name", "created_at"]);
    let table = scimd(&db.url, &["tenant", "list"]);
    assert!(
        table.contains("acme") && table.contains("globex"),
        "{table}"
    );
    assert!(!table.contains("scimd_"), "no secrets: {table}");
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_first_start_writes_its_tokens_to_a_private_file_and_never_overwrites_one() {
    let db = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("bootstrap.json");
    let path = output.to_str().unwrap();

    let first = serve(&db.url, &["--bootstrap-output", path]);
    assert!(first.listened, "{}", first.stderr);
    assert!(!first.stdout.contains("scimd_"), "{}", first.stdout);
    assert!(first.stdout.contains(path), "{}", first.stdout);
    assert_eq!(mode_of(&output), 0o600);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    let scim_token = written["scim_token"].as_str().unwrap();
    assert!(scim_token.starts_with("scimd_"));
    assert!(
        written["admin_token"]
            .as_str()
            .unwrap()
            .starts_with("scimd_")
    );
    assert!(
        written["scim_base_url"]
            .as_str()
            .unwrap()
            .ends_with("/scim/v2")
    );

    // Later starts find tenants and leave the file alone.
    let before = std::fs::read_to_string(&output).unwrap();
    assert!(serve(&db.url, &["--bootstrap-output", path]).listened);
    assert_eq!(std::fs::read_to_string(&output).unwrap(), before);

    // An empty database with the file already there: refused before any
    // tenant is created, so no token is lost.
    let empty = test_db().await;
    let refused = serve(&empty.url, &["--bootstrap-output", path]);
    assert!(!refused.listened);
    assert!(
        refused.stderr.contains("already exists"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), before);
    let tenants = scimd(&empty.url, &["tenant", "list", "--json"]);
    assert_eq!(tenants.trim(), "[]");
}

#[tokio::test]
async fn the_first_start_prints_its_tokens_as_one_json_object_with_json() {
    let db = test_db().await;
    let served = serve(&db.url, &["--json"]);
    assert!(served.listened, "{}", served.stderr);
    let report: Value = serde_json::from_str(served.stdout.trim()).expect("one JSON object");
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["tenant_id", "scim_token", "admin_token", "scim_base_url"]
    );
    let again = serve(&db.url, &["--json"]);
    assert_eq!(
        again.stdout.trim(),
        "",
        "nothing on a database with tenants"
    );
}

#[tokio::test]
async fn no_migrate_refuses_a_database_that_needs_migrations_and_serves_a_migrated_one() {
    let db = test_db().await;
    let refused = serve(&db.url, &["--no-migrate"]);
    assert!(!refused.listened);
    assert!(
        refused.stderr.contains("--no-migrate"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("scimd migrate"),
        "{}",
        refused.stderr
    );
    scimd(&db.url, &["migrate"]);
    let served = serve(&db.url, &["--no-migrate"]);
    assert!(served.listened, "{}", served.stderr);
    assert!(served.stdout.contains("Created tenant `default`"));
}

#[tokio::test]
async fn a_config_file_sets_what_flags_and_the_environment_do_not() {
    let db = test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scimd.toml");
    std::fs::write(
        &config,
        format!(
            "# scimd\ndatabase-url = \"{}\"\ntenant-rate-limit = 50\n",
            db.url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let created = run_with(&["--config", config, "tenant", "create", "acme"], &[]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let listed = run_with(&["tenant", "list"], &[("SCIMD_CONFIG", config)]);
    assert!(text(&listed.stdout).contains("acme"));
    // The environment overrides the file.
    let other = test_db().await;
    let listed = run_with(
        &["tenant", "list", "--config", config],
        &[("SCIMD_DATABASE_URL", &other.url)],
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(!text(&listed.stdout).contains("acme"));

    std::fs::write(dir.path().join("bad.toml"), "listen-on = \"x\"\n").unwrap();
    let bad = run_with(
        &[
            "serve",
            "--config",
            dir.path().join("bad.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("`listen-on`"));
}

/// The upgrade that computes every user's userName key reports its
/// progress, with the default log filter.
#[tokio::test]
async fn the_user_name_key_backfill_reports_its_progress() {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::{ConnectionTrait, Database};

    let db = test_db().await;
    let conn = Database::connect(&db.url).await.unwrap();
    Migrator::up(&conn, Some(7)).await.unwrap();
    let insert = |table: &str, columns: &[&str], values: Vec<sea_orm::Value>| {
        Query::insert()
            .into_table(Alias::new(table))
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .values_panic(values.into_iter().map(Expr::val))
            .to_owned()
    };
    conn.execute(&insert(
        "tenants",
        &["id", "name", "created_at"],
        vec!["t1".into(), "acme".into(), 1i64.into()],
    ))
    .await
    .unwrap();
    for id in ["u1", "u2", "u3"] {
        conn.execute(&insert(
            "users",
            &[
                "id",
                "tenant_id",
                "user_name",
                "user_name_lc",
                "active",
                "is_admin",
                "access",
                "document",
                "version",
                "created_at",
                "updated_at",
            ],
            vec![
                id.into(),
                "t1".into(),
                id.into(),
                id.into(),
                true.into(),
                false.into(),
                "active".into(),
                format!(r#"{{"userName":"{id}"}}"#).into(),
                1i64.into(),
                1i64.into(),
                1i64.into(),
            ],
        ))
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
    let output = command
        .arg("migrate")
        .env("SCIMD_DATABASE_URL", &db.url)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let log = text(&output.stderr);
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("computing user_name_key for every user"),
        "{log}"
    );
    assert!(log.contains("3 of 3 users done"), "{log}");
}
