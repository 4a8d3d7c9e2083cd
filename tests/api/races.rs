//! Guarded writes of one tenant are serialized: racing deprovisions of a
//! tenant's last two admins let exactly one through, in one process and
//! across two server processes sharing the database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::cli::create_tenant;
use crate::deprovisioning::{DEPROVISIONS, deprovision, user};
use crate::helpers::*;

const ROUNDS: usize = 24;

/// Checks one round's answers: exactly one went through, the other was
/// refused as the last admin, and one active admin is left.
fn exactly_one(round: usize, first: (u16, Option<String>), second: (u16, Option<String>)) {
    let ok = |status: u16| (200..300).contains(&status);
    assert!(
        ok(first.0) != ok(second.0),
        "round {round}: exactly one may succeed, got {first:?} and {second:?}"
    );
    let refused = if ok(first.0) { second } else { first };
    assert_eq!(refused.0, 409, "round {round}");
    assert_eq!(refused.1.as_deref(), Some("last_admin"), "round {round}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deprovisions_of_the_last_two_admins_let_exactly_one_through() {
    let app = spawn_app().await;
    for round in 0..ROUNDS {
        let t = app.new_tenant().await;
        let a = user(&app, &t, "a@example.com", true, None).await;
        let b = user(&app, &t, "b@example.com", true, None).await;
        let (path_a, path_b) = (DEPROVISIONS[round % 8], DEPROVISIONS[(round * 3 + 1) % 8]);
        let (x, y) = tokio::join!(
            deprovision(&app, &t, path_a, &a, "a@example.com", true),
            deprovision(&app, &t, path_b, &b, "b@example.com", true),
        );
        let reason = |r: &Option<(String, Value, String)>| r.as_ref().map(|r| r.0.clone());
        exactly_one(
            round,
            (x.status, reason(&x.refusal)),
            (y.status, reason(&y.refusal)),
        );
        let (_, users) = app.call_admin(&t.admin, Method::GET, "/users", None).await;
        let admins = users["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["admin"] == true && u["active"] == true && u["access"] == "active")
            .count();
        assert_eq!(admins, 1, "round {round}: {users}");
    }
}

/// A `scimd serve` child process, killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scimd serve` on a free port and waits until it listens.
fn serve(database_url: &str) -> Server {
    serve_with_env(database_url, &[])
}

/// Starts `scimd serve` with extra environment variables.
pub fn serve_with_env(database_url: &str, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        // Servers run side by side: none takes the metrics port.
        .env("SCIMD_METRICS_LISTEN", "")
        .envs(env.iter().copied())
        .env("SCIMD_DATABASE_URL", database_url)
        .env("RUST_LOG", "scimd=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimd serve");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut lines = stderr.lines();
    let address = loop {
        let line = lines
            .next()
            .expect("scimd serve exited before listening")
            .expect("stderr line");
        if line.contains("scimd is listening") {
            let plain = strip_ansi(&line);
            let address = plain
                .split_whitespace()
                .find_map(|word| word.strip_prefix("address="))
                .expect("the listening line names the address")
                .to_owned();
            break address;
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server {
        child,
        base: format!("http://{address}"),
    }
}

fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

async fn scim_call(
    client: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client
        .request(method, format!("{base}/scim/v2{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    status_and_json(request.send().await.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_server_processes_on_one_database_never_remove_the_last_admin() {
    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let token = created["scim_token"].as_str().unwrap().to_owned();
    let (one, two) = (serve(&db.url), serve(&db.url));
    let client = Client::new();
    let admin = |name: &str| json!({"schemas": [USER_SCHEMA], "userName": name, "roles": [{"value": "admin"}]});
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    // The admin left standing by the previous round, and what its refused
    // request was: a recorded deletion or deactivation.
    let mut remaining: Option<String> = None;
    let mut remaining_was_deleted = false;
    for round in 0..ROUNDS {
        let mut ids = Vec::new();
        for name in [
            format!("a{round}@example.com"),
            format!("b{round}@example.com"),
        ] {
            let (status, body) = scim_call(
                &client,
                &one.base,
                &token,
                Method::POST,
                "/Users",
                Some(admin(&name)),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            ids.push(body["id"].as_str().unwrap().to_owned());
        }
        // The previous round's refusal was recorded, and these two new
        // admins completed it: a deletion is already done (404), a
        // deactivation left a deactivated user to delete now (204).
        if let Some(previous) = remaining.take() {
            let path = format!("/Users/{previous}");
            let (status, body) =
                scim_call(&client, &two.base, &token, Method::DELETE, &path, None).await;
            let expected = if remaining_was_deleted { 404 } else { 204 };
            assert_eq!(status, expected, "round {round}: {body}");
        }
        let (path_a, path_b) = (format!("/Users/{}", ids[0]), format!("/Users/{}", ids[1]));
        let (x, y) = if round % 2 == 0 {
            tokio::join!(
                scim_call(&client, &one.base, &token, Method::DELETE, &path_a, None),
                scim_call(&client, &two.base, &token, Method::DELETE, &path_b, None),
            )
        } else {
            tokio::join!(
                scim_call(
                    &client,
                    &one.base,
                    &token,
                    Method::PATCH,
                    &path_a,
                    Some(deactivate.clone())
                ),
                scim_call(&client, &two.base, &token, Method::DELETE, &path_b, None),
            )
        };
        let reason = |body: &Value| {
            body["urn:scimd:api:messages:2.0:DeprovisionBlocked"]["reason"]
                .as_str()
                .map(str::to_owned)
        };
        exactly_one(round, (x.0, reason(&x.1)), (y.0, reason(&y.1)));
        let (kept, kept_was_deleted) = if (200..300).contains(&x.0) {
            (&ids[1], true)
        } else {
            (&ids[0], round % 2 == 0)
        };
        remaining = Some(kept.clone());
        remaining_was_deleted = kept_was_deleted;
    }
    let filter = "/Users?filter=roles.value%20eq%20%22admin%22%20and%20active%20eq%20true";
    let (_, admins) = scim_call(&client, &one.base, &token, Method::GET, filter, None).await;
    assert_eq!(admins["totalResults"], 1, "{admins}");
    assert_eq!(admins["Resources"][0]["id"], json!(remaining));
}

/// Writes answered together (on SQLite one `COMMIT` makes a batch of them
/// durable, `writer.rs`) are all there after the server is killed, and
/// the refused ones among them (a taken userName) left nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_answered_before_a_kill_are_all_kept_and_refused_ones_leave_nothing() {
    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let token = created["scim_token"].as_str().unwrap().to_owned();
    let server = serve(&db.url);
    let client = Client::new();
    let mut writes = tokio::task::JoinSet::new();
    // 32: as many as one tenant's queue lets wait (429 beyond).
    for n in 0..32 {
        // Every fourth asks for a userName another request also asks for.
        let name = if n % 4 == 3 {
            format!("user{}@example.com", n - 1)
        } else {
            format!("user{n}@example.com")
        };
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        writes.spawn(async move {
            let body = json!({"schemas": [USER_SCHEMA], "userName": name});
            let answer =
                scim_call(&client, &base, &token, Method::POST, "/Users", Some(body)).await;
            (name, answer)
        });
    }
    let mut kept = Vec::new();
    let mut refused = 0;
    while let Some(write) = writes.join_next().await {
        let (name, (status, body)) = write.expect("task");
        match status {
            201 => kept.push((name, body["id"].as_str().unwrap().to_owned())),
            409 => {
                assert_eq!(body["scimType"], "uniqueness", "{body}");
                refused += 1;
            }
            other => panic!("{name}: {other} {body}"),
        }
    }
    assert_eq!((kept.len(), refused), (24, 8));
    // SIGKILL: nothing is flushed on the way out.
    drop(server);

    let server = serve(&db.url);
    for (name, id) in &kept {
        let (status, body) = scim_call(
            &client,
            &server.base,
            &token,
            Method::GET,
            &format!("/Users/{id}"),
            None,
        )
        .await;
        assert_eq!(
            (status, body["userName"].as_str()),
            (200, Some(name.as_str())),
            "{body}"
        );
    }
    let (_, all) = scim_call(
        &client,
        &server.base,
        &token,
        Method::GET,
        "/Users?count=0",
        None,
    )
    .await;
    assert_eq!(all["totalResults"], 24, "{all}");
}

/// Regression: on PostgreSQL a group write locked the group and then its
/// members, while a user write locked the user and then its groups; run
/// together they deadlocked and one answered 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_writes_racing_user_deprovisioning_never_deadlock() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let heir = user(&app, &t, "heir@example.com", true, None).await;
    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": heir});
    let (status, _) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    assert_eq!(status, 200);
    let patch = |operations: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    for round in 0..ROUNDS {
        let name = format!("x{round}@example.com");
        let x = user(&app, &t, &name, false, None).await;
        let other = user(&app, &t, &format!("o{round}@example.com"), false, None).await;
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": format!("G{round}"), "members": [{"value": x}]});
        let (_, group) = app
            .call_scim(&t.scim, Method::POST, "/Groups", Some(&body))
            .await;
        let group_path = format!("/Groups/{}", group["id"].as_str().unwrap());
        let owner_path = format!("/groups/{}/owner", group["id"].as_str().unwrap());
        app.call_admin(
            &t.admin,
            Method::PUT,
            &owner_path,
            Some(&json!({"owner_id": x})),
        )
        .await;
        let add = patch(
            json!([{"op": "add", "path": "members", "value": [{"value": other}, {"value": x}]}]),
        );
        let user_path = format!("/Users/{x}");
        let (group_write, user_write) = if round % 2 == 0 {
            tokio::join!(
                app.call_scim(&t.scim, Method::PATCH, &group_path, Some(&add)),
                app.call_scim(&t.scim, Method::DELETE, &user_path, None),
            )
        } else {
            let deactivate = patch(json!([{"op": "replace", "path": "active", "value": false}]));
            tokio::join!(
                app.call_scim(&t.scim, Method::PATCH, &group_path, Some(&add)),
                app.call_scim(&t.scim, Method::PATCH, &user_path, Some(&deactivate)),
            )
        };
        assert!(
            [204, 400].contains(&group_write.0),
            "round {round}: the group write answered {group_write:?}"
        );
        assert!(
            [200, 204].contains(&user_write.0),
            "round {round}: the user write answered {user_write:?}"
        );
        let (_, owner) = app
            .call_admin(&t.admin, Method::GET, &owner_path, None)
            .await;
        assert_eq!(owner["owner_id"], json!(heir), "round {round}");
    }
}

async fn admin_call(
    client: &Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.expect("request")).await
}

/// Issue 11: a pending deprovisioning completes exactly once when the
/// writes that unblock it race each other, or race the IdP's retry, on two
/// server processes sharing the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_resolutions_complete_a_pending_deprovisioning_exactly_once() {
    const RACE_ROUNDS: usize = 50;
    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let scim = created["scim_token"].as_str().unwrap().to_owned();
    let admin = created["admin_token"].as_str().unwrap().to_owned();
    let (one, two) = (serve(&db.url), serve(&db.url));
    let client = Client::new();
    let new_user = |name: String, is_admin: bool| {
        let mut body = json!({"schemas": [USER_SCHEMA], "userName": name});
        if is_admin {
            body["roles"] = json!([{"value": "admin"}]);
        }
        body
    };
    let (status, _) = scim_call(
        &client,
        &one.base,
        &scim,
        Method::POST,
        "/Users",
        Some(new_user("root@example.com".into(), true)),
    )
    .await;
    assert_eq!(status, 201);
    let (_, boss) = scim_call(
        &client,
        &one.base,
        &scim,
        Method::POST,
        "/Users",
        Some(new_user("boss@example.com".into(), false)),
    )
    .await;
    let boss = boss["id"].as_str().unwrap().to_owned();
    let deactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    for round in 0..RACE_ROUNDS {
        let (_, leaver) = scim_call(
            &client,
            &one.base,
            &scim,
            Method::POST,
            "/Users",
            Some(new_user(format!("leaver{round}@example.com"), false)),
        )
        .await;
        let leaver = leaver["id"].as_str().unwrap().to_owned();
        let mut numbers = Vec::new();
        for n in 0..2 {
            let body = json!({"kind": "number", "name": format!("+1 555 {round:03}{n}"), "owner_id": leaver});
            let (status, asset) = admin_call(
                &client,
                &one.base,
                &admin,
                Method::POST,
                "/assets",
                Some(body),
            )
            .await;
            assert_eq!(status, 201, "{asset}");
            numbers.push(asset["id"].as_str().unwrap().to_owned());
        }
        let user_path = format!("/Users/{leaver}");
        let (status, refusal) = scim_call(
            &client,
            &two.base,
            &scim,
            Method::PATCH,
            &user_path,
            Some(deactivate.clone()),
        )
        .await;
        assert_eq!(status, 409, "round {round}: {refusal}");
        let pending = refusal["urn:scimd:api:messages:2.0:DeprovisionBlocked"]["pending_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let move_to_boss = json!({"owner_id": boss});
        let (first, second) = (
            format!("/assets/{}", numbers[0]),
            format!("/assets/{}", numbers[1]),
        );
        let reassign = format!("/users/{leaver}/reassign");
        let (x, y) = if round % 2 == 0 {
            // Two resolving writes race: each moves one of the two numbers.
            let (a, b) = tokio::join!(
                admin_call(
                    &client,
                    &one.base,
                    &admin,
                    Method::PATCH,
                    &first,
                    Some(move_to_boss.clone())
                ),
                admin_call(
                    &client,
                    &two.base,
                    &admin,
                    Method::PATCH,
                    &second,
                    Some(move_to_boss.clone())
                ),
            );
            assert_eq!((a.0, b.0), (200, 200), "round {round}: {a:?} {b:?}");
            let completions = [&a.1, &b.1]
                .iter()
                .filter(|answer| answer["completed"] == json!(pending))
                .count();
            assert_eq!(completions, 1, "round {round}: {a:?} {b:?}");
            (a, b)
        } else {
            // The reassignment races the IdP's retry.
            let (a, b) = tokio::join!(
                admin_call(
                    &client,
                    &one.base,
                    &admin,
                    Method::POST,
                    &reassign,
                    Some(json!({"to_user_id": boss}))
                ),
                scim_call(
                    &client,
                    &two.base,
                    &scim,
                    Method::PATCH,
                    &user_path,
                    Some(deactivate.clone())
                ),
            );
            assert_eq!(a.0, 200, "round {round}: {a:?}");
            assert_eq!(a.1["completed"], json!(pending), "round {round}: {a:?}");
            // Before the reassignment: refused again; after it: a no-op.
            assert!(b.0 == 409 || b.0 == 200, "round {round}: {b:?}");
            (a, b)
        };
        let (_, request) = admin_call(
            &client,
            &one.base,
            &admin,
            Method::GET,
            &format!("/deprovisionings/{pending}"),
            None,
        )
        .await;
        assert_eq!(request["state"], "completed", "round {round}: {x:?} {y:?}");
        let (_, user) = scim_call(&client, &one.base, &scim, Method::GET, &user_path, None).await;
        assert_eq!(user["active"], false, "round {round}");
    }
    // Exactly one completion per round in the audit log (each round writes
    // well under 20 events, so the newest 1,000 hold them all).
    let (_, audit) = admin_call(
        &client,
        &one.base,
        &admin,
        Method::GET,
        "/audit?limit=1000",
        None,
    )
    .await;
    let completions = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deprovisioning.complete")
        .count();
    assert_eq!(completions, RACE_ROUNDS);
}

/// Issue 16: on PostgreSQL a deactivation of a user who is not an admin
/// and owns nothing runs as a shared write, beside the tenant's other
/// shared writes. Racing such deactivations against writes that give the
/// same users something to own, on two server processes sharing the
/// database, lets exactly one of each pair through, and never leaves a
/// deactivated user owning anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_deactivations_racing_assignments_never_leave_a_deactivated_owner() {
    const USERS: usize = 12;
    let db = test_db().await;
    let created = create_tenant(&db.url, "acme");
    let scim = created["scim_token"].as_str().unwrap().to_owned();
    let admin = created["admin_token"].as_str().unwrap().to_owned();
    let servers = [serve(&db.url), serve(&db.url)];
    let client = Client::new();
    let patch = |operations: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    for round in 0..ROUNDS / 4 {
        let mut users = Vec::new();
        for n in 0..USERS {
            let body =
                json!({"schemas": [USER_SCHEMA], "userName": format!("r{round}u{n}@example.com")});
            let (status, user) = scim_call(
                &client,
                &servers[0].base,
                &scim,
                Method::POST,
                "/Users",
                Some(body),
            )
            .await;
            assert_eq!(status, 201, "{user}");
            users.push(user["id"].as_str().unwrap().to_owned());
        }
        let mut races = tokio::task::JoinSet::new();
        for (n, id) in users.iter().enumerate() {
            // Okta's and Entra's deactivations, each on one process; the
            // assignment on the other.
            let deactivate = if n % 2 == 0 {
                patch(json!([{"op": "replace", "value": {"active": false}}]))
            } else {
                patch(json!([{"op": "Replace", "path": "active", "value": "False"}]))
            };
            let asset = json!({"kind": "number", "name": format!("+1 555 {round:03} {n:04}"), "owner_id": id});
            let (one, other) = (&servers[n % 2].base, &servers[(n + 1) % 2].base);
            let (client, one, other, scim, admin, id) = (
                client.clone(),
                one.clone(),
                other.clone(),
                scim.clone(),
                admin.clone(),
                id.clone(),
            );
            races.spawn(async move {
                let path = format!("/Users/{id}");
                let (deactivated, given) = tokio::join!(
                    scim_call(&client, &one, &scim, Method::PATCH, &path, Some(deactivate)),
                    admin_call(
                        &client,
                        &other,
                        &admin,
                        Method::POST,
                        "/assets",
                        Some(asset)
                    ),
                );
                (id, deactivated, given)
            });
        }
        while let Some(race) = races.join_next().await {
            let (id, (deactivated, refusal), (given, asset)) = race.expect("task");
            match (deactivated, given) {
                (200, 409) => assert!(
                    asset["detail"].as_str().unwrap().contains("is not active"),
                    "round {round}, {id}: {asset}"
                ),
                (409, 201) => assert_eq!(
                    refusal["urn:scimd:api:messages:2.0:DeprovisionBlocked"]["reason"],
                    "owns_assets",
                    "round {round}, {id}: {refusal}"
                ),
                other => panic!("round {round}, {id}: exactly one may go through: {other:?}"),
            }
        }
        let (_, assets) = admin_call(
            &client,
            &servers[1].base,
            &admin,
            Method::GET,
            "/assets",
            None,
        )
        .await;
        for asset in assets["assets"].as_array().unwrap() {
            let path = format!("/users/{}", asset["owner_id"].as_str().unwrap());
            let (_, owner) =
                admin_call(&client, &servers[0].base, &admin, Method::GET, &path, None).await;
            assert_eq!(owner["active"], true, "round {round}: {asset} {owner}");
        }
    }
}

/// Whether `request` is still waiting a while after it was sent.
async fn still_waiting<T>(request: &tokio::task::JoinHandle<T>) -> bool {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    !request.is_finished()
}

/// Issue 16: on PostgreSQL a tenant's shared writes run side by side: a
/// deactivation of a user who owns nothing goes through while another
/// shared write holds the tenant's lock, and a write that must run alone
/// (an admin's deactivation) waits for it. On SQLite, whose one
/// connection writes, every write waits for the one before.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_writes_go_on_beside_each_other_and_the_others_wait_for_them() {
    let app = std::sync::Arc::new(spawn_app().await);
    let t = Tenant {
        scim: app.scim_token.clone(),
        admin: app.admin_token.clone(),
    };
    user(&app, &t, "first-admin@example.com", true, None).await;
    let admin = user(&app, &t, "second-admin@example.com", true, None).await;
    let plain = user(&app, &t, "plain@example.com", false, None).await;
    let deactivate = |id: String| {
        let (app, token) = (std::sync::Arc::clone(&app), t.scim.clone());
        tokio::spawn(async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]});
            let path = format!("/Users/{id}");
            app.call_scim(&token, Method::PATCH, &path, Some(&body))
                .await
                .0
        })
    };
    let postgres = app.db.url.starts_with("postgres");

    let hold = app.domain.hold_shared_write(&app.tenant_id).await.unwrap();
    let plain_write = deactivate(plain);
    if postgres {
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), plain_write).await;
        assert_eq!(
            done.expect("it goes on beside the held write").unwrap(),
            200
        );
        drop(hold);
    } else {
        assert!(still_waiting(&plain_write).await);
        drop(hold);
        assert_eq!(plain_write.await.unwrap(), 200);
    }

    let hold = app.domain.hold_shared_write(&app.tenant_id).await.unwrap();
    let admin_write = deactivate(admin);
    assert!(
        still_waiting(&admin_write).await,
        "an admin's deactivation runs alone"
    );
    drop(hold);
    assert_eq!(admin_write.await.unwrap(), 200);
}

/// Issue 16: a shared deactivation that waited for another process's write
/// sees what that write did. On PostgreSQL the deactivation takes the
/// tenant's lock and reads its user in one statement, whose snapshot
/// predates the lock; the tenant's write generation, which every
/// exclusive write raises, tells it to read the user again. The other
/// process here is a transaction the test holds open: it raises the
/// generation, as scimd's exclusive writes do, and gives the leaver a
/// number. On SQLite the deactivation waits for the database's write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_deactivation_that_waited_for_an_assignment_sees_it() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = std::sync::Arc::new(spawn_app().await);
    let t = Tenant {
        scim: app.scim_token.clone(),
        admin: app.admin_token.clone(),
    };
    user(&app, &t, "admin@example.com", true, None).await;
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    let desk = user(&app, &t, "desk@example.com", false, None).await;
    let number = json!({"kind": "number", "name": "+1 555 0100", "owner_id": desk});
    let (status, number) = app
        .call_admin(&t.admin, Method::POST, "/assets", Some(&number))
        .await;
    assert_eq!(status, 201, "{number}");

    let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
    let other = db.begin().await.unwrap();
    for sql in [
        format!(
            "UPDATE tenants SET write_generation = write_generation + 1 WHERE id = '{}'",
            app.tenant_id
        ),
        format!(
            "UPDATE assets SET owner_id = '{leaver}' WHERE id = '{}'",
            number["id"].as_str().unwrap()
        ),
    ] {
        other.execute_unprepared(&sql).await.unwrap();
    }
    let path = format!("/Users/{leaver}");
    let deactivation = {
        let (app, token, path) = (std::sync::Arc::clone(&app), t.scim.clone(), path.clone());
        tokio::spawn(async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]});
            app.call_scim(&token, Method::PATCH, &path, Some(&body))
                .await
        })
    };
    assert!(
        still_waiting(&deactivation).await,
        "it waits for the other write"
    );
    other.commit().await.unwrap();
    let (status, refusal) = deactivation.await.unwrap();
    assert_eq!(status, 409, "{refusal}");
    assert_eq!(
        refusal["urn:scimd:api:messages:2.0:DeprovisionBlocked"]["reason"],
        "owns_assets"
    );
    let (_, leaver) = app.call_scim(&t.scim, Method::GET, &path, None).await;
    assert_eq!(leaver["active"], true);
    db.close().await.unwrap();
}

/// Issue 16: shared writes of another process do not starve an exclusive
/// write. With a shared write held by one process and an exclusive write
/// of another waiting for it, a new shared write of the first process
/// waits behind the exclusive one (on PostgreSQL a share lock on the
/// tenant's row alone would be granted at once, however long the
/// exclusive write had waited). On SQLite, one write at a time: both wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exclusive_write_waiting_on_another_process_goes_before_later_shared_writes() {
    let app = spawn_app().await;
    let config = scimd::app::Config::new("127.0.0.1:0", &app.db.url);
    let other =
        scimd::app::Application::build(&config, std::sync::Arc::new(scimd::clock::SystemClock))
            .await
            .expect("a second process");
    let (ours, theirs) = (std::sync::Arc::clone(&app.domain), other.domain());
    let tenant = app.tenant_id.clone();
    let first = ours.hold_shared_write(&tenant).await.unwrap();
    let exclusive = {
        let (theirs, tenant) = (theirs.clone(), tenant.clone());
        tokio::spawn(async move { theirs.hold_write(&tenant).await.unwrap() })
    };
    assert!(still_waiting(&exclusive).await, "the shared write is held");
    let later = {
        let (ours, tenant) = (std::sync::Arc::clone(&ours), tenant.clone());
        tokio::spawn(async move { ours.hold_shared_write(&tenant).await.unwrap() })
    };
    assert!(
        still_waiting(&later).await,
        "it waits behind the exclusive write"
    );
    drop(first);
    if app.db.url.starts_with("postgres") {
        let exclusive = exclusive.await.unwrap();
        assert!(
            still_waiting(&later).await,
            "nothing runs beside an exclusive write"
        );
        drop(exclusive);
        drop(later.await.unwrap());
    } else {
        // SQLite's lock has no queue between processes: either goes first.
        let (mut exclusive, mut later) = (exclusive, later);
        tokio::select! {
            hold = &mut exclusive => {
                drop(hold.unwrap());
                drop(later.await.unwrap());
            }
            hold = &mut later => {
                drop(hold.unwrap());
                drop(exclusive.await.unwrap());
            }
        }
    }
}

/// Regression (issue 16's review): on PostgreSQL the last uses of several
/// tokens were written in one transaction, which held one token's row
/// while waiting for the next; a deactivation revoking the same user's
/// tokens locks them in another order, and PostgreSQL ended the deadlock
/// by failing one of the two, perhaps the deactivation (a 500). Now,
/// while another transaction holds one of the user's tokens, the flush
/// waits for it holding none of the others, whatever order it writes
/// them in. On SQLite one writer runs one transaction at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writing_token_uses_never_holds_one_token_while_waiting_for_another() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let clock = std::sync::Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(
        1_800_000_000_000,
    )));
    let app = spawn_app_on(|_| {}, clock.clone()).await;
    let t = Tenant {
        scim: app.scim_token.clone(),
        admin: app.admin_token.clone(),
    };
    let owner = user(&app, &t, "laptops@example.com", false, None).await;
    let mut tokens = Vec::new();
    for n in 0..2 {
        let body = json!({"label": format!("laptop {n}"), "scope": "admin", "user_id": owner});
        let (status, issued) = app
            .call_admin(&t.admin, Method::POST, "/tokens", Some(&body))
            .await;
        assert_eq!(status, 201, "{issued}");
        let secret = issued["token"].as_str().unwrap().to_owned();
        tokens.push((issued["id"].as_str().unwrap().to_owned(), secret));
    }
    let postgres = app.db.url.starts_with("postgres");
    // The flush writes in the order of a hash map made anew each time:
    // eight rounds, each token locked in four, meet both orders.
    for round in 0..8 {
        clock.advance_seconds(120);
        for (_, secret) in &tokens {
            let (status, _) = app.call_admin(secret, Method::GET, "/tokens", None).await;
            assert_eq!(status, 200);
        }
        if !postgres {
            assert!(app.domain.flush_token_use().await.unwrap() >= 2);
            continue;
        }
        let (locked, other) = (&tokens[round % 2].0, &tokens[(round + 1) % 2].0);
        let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
        let holder = db.begin().await.unwrap();
        holder
            .execute_unprepared(&format!(
                "UPDATE tokens SET label = label WHERE id = '{locked}'"
            ))
            .await
            .unwrap();
        let flush = {
            let domain = std::sync::Arc::clone(&app.domain);
            tokio::spawn(async move { domain.flush_token_use().await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let free = holder
            .execute_unprepared(&format!(
                "SELECT 1 FROM tokens WHERE id = '{other}' FOR UPDATE NOWAIT"
            ))
            .await;
        assert!(
            free.is_ok(),
            "round {round}: the flush holds {other} while it waits for {locked}: {free:?}"
        );
        holder.rollback().await.unwrap();
        assert!(flush.await.unwrap().is_ok(), "round {round}");
        db.close().await.unwrap();
    }
    let (_, listed) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    for (id, _) in &tokens {
        let token = listed["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|token| token["id"] == json!(id))
            .unwrap();
        assert!(token["last_used_at"].is_string(), "{token}");
    }
}
