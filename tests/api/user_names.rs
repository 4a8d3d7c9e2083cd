//! userName keys (DESIGN §8): uniqueness and filters compare NFKC_Casefold
//! of the trimmed userName; the userName is stored and returned as sent;
//! legacy collisions from before keys are kept, found and listed.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// Spellings of one userName that `to_lowercase()` told apart: the first
/// is created, the second must then be refused. Named by what they prove.
const SAME_NAMES: [(&str, &str, &str); 9] = [
    (
        "NFC and NFD",
        "jos\u{e9}@example.com",
        "jose\u{301}@example.com",
    ),
    ("a trailing space", "ann@example.com", "ann@example.com "),
    ("a trailing tab", "bob@example.com", "bob@example.com\t"),
    (
        "a zero-width space",
        "cy@example.com",
        "c\u{200b}y@example.com",
    ),
    ("final sigma", "ΟΔΥΣΣΕΥΣ", "οδυσσευς"),
    ("sharp s", "STRASSE", "stra\u{df}e"),
    ("the fi ligature", "\u{fb01}ona", "fiona"),
    ("full-width letters", "\u{ff24}\u{ff41}\u{ff4e}", "dan"),
    ("case", "Eve@Example.com", "eve@example.COM"),
];

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER_SCHEMA], "userName": user_name})
}

async fn list(app: &TestApp, filter: &str) -> Value {
    let response = app
        .scim(Method::GET, "/Users")
        .query(&[("filter", filter)])
        .send()
        .await
        .unwrap();
    json_of(response, 200).await
}

fn eq(user_name: &str) -> String {
    format!("userName eq {}", json!(user_name))
}

fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_equivalent_spelling_of_a_taken_user_name_is_refused_on_post() {
    let app = spawn_app().await;
    for (why, first, second) in SAME_NAMES {
        let created = json_of(app.post("/Users", &user(first)).await, 201).await;
        // Stored and returned as sent.
        assert_eq!(created["userName"], json!(first), "{why}");
        let response = app.post("/Users", &user(second)).await;
        assert_eq!(response.status(), 409, "{why}");
        assert_scim_error(response, 409, Some("uniqueness")).await;
    }
}

#[tokio::test]
async fn each_equivalent_spelling_of_a_taken_user_name_is_refused_on_put_and_patch() {
    let app = spawn_app().await;
    for (why, first, second) in SAME_NAMES {
        app.create_user(first).await;
        let other = app.create_user(&format!("other-{}", first.len())).await;
        let path = format!("/Users/{}", other["id"].as_str().unwrap());
        let response = app.put(&path, &user(second)).await;
        assert_eq!(response.status(), 409, "PUT, {why}");
        assert_scim_error(response, 409, Some("uniqueness")).await;
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": second}]
        });
        let response = app
            .scim(Method::PATCH, &path)
            .header("content-type", "application/scim+json")
            .body(patch.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 409, "PATCH, {why}");
        assert_scim_error(response, 409, Some("uniqueness")).await;
        app.delete(&path).await;
    }
}

#[tokio::test]
async fn a_bulk_post_of_an_equivalent_spelling_is_refused() {
    let app = spawn_app().await;
    app.create_user("stra\u{df}e@example.com").await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("STRASSE@example.com")}
        ]
    });
    let response = json_of(app.post("/Bulk", &body).await, 200).await;
    let operation = &response["Operations"][0];
    assert_eq!(operation["status"], "409", "{response}");
    assert_eq!(
        operation["response"]["scimType"], "uniqueness",
        "{response}"
    );
}

#[tokio::test]
async fn user_name_eq_finds_the_user_by_any_equivalent_spelling() {
    let app = spawn_app().await;
    for (why, first, second) in SAME_NAMES {
        let created = app.create_user(first).await;
        let found = list(&app, &eq(second)).await;
        assert_eq!(ids(&found), [created["id"].as_str().unwrap()], "{why}");
        assert_eq!(user_names(&found), [first], "{why}");
    }
    // The other operators compare keys too.
    let found = list(&app, "userName sw \"STRASS\"").await;
    assert_eq!(user_names(&found), ["STRASSE"]);
    let found = list(&app, "userName ew \"\u{ff0e}COM\"").await;
    assert_eq!(found["totalResults"], 5, "{found}");
    // Not narrowed by the index alone: the evaluator agrees with SQL.
    let found = list(
        &app,
        "userName eq \"strasse\" and title pr or userName eq \"STRASSE\"",
    )
    .await;
    assert_eq!(user_names(&found), ["STRASSE"]);
}

#[tokio::test]
async fn a_user_name_of_only_invisible_characters_is_an_invalid_value() {
    let app = spawn_app().await;
    for name in ["\u{200b}", " \u{200b}\t", "\u{feff}", "\u{3000}"] {
        let response = app.post("/Users", &user(name)).await;
        assert_scim_error(response, 400, Some("invalidValue")).await;
    }
    let created = app.create_user("visible").await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = app.put(&path, &user("\u{200b}")).await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}

/// The admin API's collision list for the default tenant.
async fn collisions(app: &TestApp) -> Value {
    let (status, body) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            "/users/name-collisions",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The ids of each collision group, sorted within groups.
fn collision_ids(body: &Value) -> Vec<Vec<String>> {
    body["collisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            let mut ids: Vec<String> = group["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

/// Turns the default tenant's database back into what the version before
/// userName keys wrote (migration 000008 undone), adds users the way it
/// accepted them (userNames compared by `to_lowercase()` only, a name of
/// only a zero-width space), and restarts the server, which migrates.
async fn upgrade_with_legacy_users(app: TestApp, users: &[(&str, &str)]) -> TestApp {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::{ConnectionTrait, Database};

    let conn = Database::connect(&app.db.url).await.unwrap();
    // 000008 and every later migration, undone.
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let keys = names
        .iter()
        .position(|name| name == "m20261129_000008_user_name_keys")
        .unwrap();
    let undone = u32::try_from(names.len() - keys).unwrap();
    Migrator::down(&conn, Some(undone)).await.unwrap();
    for (at, (id, user_name)) in (1i64..).zip(users) {
        let document = json!({"schemas": [USER_SCHEMA], "userName": user_name, "active": true});
        let insert = Query::insert()
            .into_table(Alias::new("users"))
            .columns(
                [
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
                ]
                .map(Alias::new),
            )
            .values_panic(
                [
                    sea_orm::Value::from(*id),
                    app.tenant_id.as_str().into(),
                    (*user_name).into(),
                    user_name.to_lowercase().into(),
                    true.into(),
                    false.into(),
                    "active".into(),
                    document.to_string().into(),
                    1i64.into(),
                    at.into(),
                    at.into(),
                ]
                .map(Expr::val),
            )
            .to_owned();
        conn.execute(&insert).await.unwrap();
    }
    conn.close().await.unwrap();
    app.restart(|_| {}).await
}

#[tokio::test]
async fn legacy_collisions_are_kept_found_listed_and_closed_to_newcomers() {
    let app = spawn_app().await;
    let app = upgrade_with_legacy_users(
        app,
        &[
            ("u-jose-nfc", "Jos\u{e9}"),
            ("u-jose-nfd", "jose\u{301}"),
            ("u-jose-zw", "JOS\u{c9}\u{200b}"),
            ("u-strasse", "STRASSE"),
            ("u-strasze", "stra\u{df}e"),
            ("u-alone", "alone"),
        ],
    )
    .await;

    // All kept, each as it was sent.
    for (id, user_name) in [("u-jose-nfd", "jose\u{301}"), ("u-strasze", "stra\u{df}e")] {
        let found = json_of(app.get(&format!("/Users/{id}")).await, 200).await;
        assert_eq!(found["userName"], json!(user_name));
    }
    // All found by `eq`, through any spelling.
    let found = list(&app, &eq("JOSE\u{301}")).await;
    let mut found_ids = ids(&found);
    found_ids.sort();
    assert_eq!(found_ids, ["u-jose-nfc", "u-jose-nfd", "u-jose-zw"]);
    let found = list(&app, &eq("strasse")).await;
    assert_eq!(found["totalResults"], 2, "{found}");
    // Listed for the admin, oldest first, with the userNames as sent.
    let body = collisions(&app).await;
    assert_eq!(
        collision_ids(&body),
        [
            vec!["u-jose-nfc", "u-jose-nfd", "u-jose-zw"],
            vec!["u-strasse", "u-strasze"]
        ]
    );
    assert_eq!(body["collisions"][0]["key"], "jos\u{e9}");
    assert_eq!(body["collisions"][0]["users"][0]["user_name"], "Jos\u{e9}");
    assert_eq!(body["truncated"], false);
    // Another tenant sees none of them.
    let other = app.new_tenant().await;
    let (_, body) = app
        .call_admin(&other.admin, Method::GET, "/users/name-collisions", None)
        .await;
    assert_eq!(body["collisions"], json!([]));

    // A newcomer to a legacy key is refused, by POST or by rename.
    let response = app.post("/Users", &user("JOS\u{c9}")).await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    let response = app.put("/Users/u-alone", &user("Strasse")).await;
    assert_scim_error(response, 409, Some("uniqueness")).await;

    // A profile update that keeps the userName is not refused.
    let mut body = user("jose\u{301}");
    body["displayName"] = json!("José N.");
    json_of(app.put("/Users/u-jose-nfd", &body).await, 200).await;
    // Nor one that respells it with the same key: the collision stays.
    json_of(app.put("/Users/u-jose-zw", &user("JOS\u{c9}")).await, 200).await;
    assert_eq!(collision_ids(&collisions(&app).await).len(), 2);

    // Renaming one clears it from the listing.
    json_of(app.put("/Users/u-jose-nfd", &user("jose.n")).await, 200).await;
    json_of(app.put("/Users/u-jose-zw", &user("jose.z")).await, 200).await;
    assert_eq!(
        collision_ids(&collisions(&app).await),
        [vec!["u-strasse", "u-strasze"]]
    );
    // Deleting the oldest of a group leaves the other, which still keeps
    // the name from newcomers.
    assert_eq!(app.delete("/Users/u-strasse").await.status(), 204);
    assert_eq!(collisions(&app).await["collisions"], json!([]));
    let response = app.post("/Users", &user("STRASSE")).await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    let found = list(&app, &eq("STRASSE")).await;
    assert_eq!(ids(&found), ["u-strasze"]);
    // A freed name can be taken again.
    json_of(app.put("/Users/u-jose-zw", &user("jose.zz")).await, 200).await;
    app.create_user("JOSE.Z").await;
}

#[tokio::test]
async fn a_legacy_user_with_an_empty_key_can_still_be_updated_deactivated_and_deleted() {
    let app = spawn_app().await;
    let app = upgrade_with_legacy_users(app, &[("u-blank", "\u{200b}")]).await;
    let path = "/Users/u-blank";

    let mut body = user("\u{200b}");
    body["displayName"] = json!("Left the company");
    json_of(app.put(path, &body).await, 200).await;
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]
    });
    let response = app
        .scim(Method::PATCH, path)
        .header("content-type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let found = json_of(app.get(path).await, 200).await;
    assert_eq!(found["active"], false);
    assert_eq!(found["userName"], "\u{200b}");
    // Setting it to another empty-key name is refused.
    let response = app.put(path, &user("\u{200b}\u{200b}")).await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    // The admin API reactivates and deactivates it.
    for action in ["reactivate", "deactivate"] {
        let (status, body) = app
            .call_admin(
                &app.admin_token,
                Method::POST,
                &format!("/users/u-blank/{action}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    assert_eq!(app.delete(path).await.status(), 204);
    assert_eq!(app.get(path).await.status(), 404);
}

#[tokio::test]
async fn the_admin_search_and_sorting_compare_user_names_by_key() {
    let app = spawn_app().await;
    let created = app.create_user("stra\u{df}e@example.com").await;
    app.create_user("STRASSB@example.com").await;
    let (status, page) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            "/users?user_name=STRASSE%40EXAMPLE.COM%E2%80%8B",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["users"][0]["id"], created["id"]);
    assert_eq!(page["users"][0]["user_name"], "stra\u{df}e@example.com");
    // By key, "strassb…" sorts before "strasse…" (by code point, "ß" would
    // sort after every ASCII letter).
    let sorted = json_of(app.get("/Users?sortBy=userName").await, 200).await;
    assert_eq!(
        user_names(&sorted),
        ["STRASSB@example.com", "stra\u{df}e@example.com"]
    );
}
