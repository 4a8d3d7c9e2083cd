//! PATCH as Okta and Entra ID send it, member changes at the row level,
//! and ETag preconditions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn patch(app: &TestApp, path: &str, operations: Value) -> reqwest::Response {
    app.scim(Method::PATCH, path)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [PATCH_OP], "Operations": operations}).to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn okta_deactivates_and_reactivates_with_a_path_less_replace() {
    let app = spawn_app().await;
    let user = app.create_user("leaver@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let response = patch(
        &app,
        &path,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let patched = json_of(response, 200).await;
    assert_eq!(patched["active"], false);
    assert_eq!(json_of(app.get(&path).await, 200).await, patched);
    let list = json_of(app.get("/Users?filter=active+eq+false").await, 200).await;
    assert_eq!(
        list["totalResults"], 1,
        "the push-down column follows the PATCH"
    );
    let patched = json_of(
        patch(
            &app,
            &path,
            json!([{"op": "replace", "value": {"active": true}}]),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["active"], true);
    assert_eq!(patched["meta"]["version"], "W/\"3\"");
}

#[tokio::test]
async fn entra_patches_in_both_modes_are_understood() {
    let app = spawn_app().await;
    let manager = app.create_user("boss@example.com").await;
    let user = app.create_user("ann@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let enterprise = ENTERPRISE;
    let patched = json_of(
        patch(&app, &path, json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ann.work@example.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Ann"},
            {"op": "Add", "path": format!("{enterprise}:manager"), "value": manager["id"]},
            {"op": "Add", "value": {"title": "Engineer", format!("{enterprise}:department"): "R&D"}}
        ]))
        .await,
        200,
    )
    .await;
    assert_eq!(patched["active"], false);
    assert_eq!(
        patched["emails"],
        json!([{"type": "work", "value": "ann.work@example.com"}])
    );
    assert_eq!(patched["name"]["givenName"], "Ann");
    assert_eq!(
        patched[ENTERPRISE]["manager"],
        json!({"value": manager["id"]})
    );
    assert_eq!(patched[ENTERPRISE]["department"], "R&D");
    assert_eq!(patched["title"], "Engineer");
    let found = json_of(
        app.get(
            "/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22ann.work%40example.com%22",
        )
        .await,
        200,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let patched = json_of(
        patch(&app, &path, json!([{"op": "Remove", "path": format!("{enterprise}:manager[value eq \"{}\"]", manager["id"].as_str().unwrap())}])).await,
        200,
    )
    .await;
    assert!(patched[ENTERPRISE].get("manager").is_none());
}

#[tokio::test]
async fn a_patch_whose_third_operation_fails_changes_nothing() {
    let app = spawn_app().await;
    let user = app.create_user("atomic@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let before = app.get(&path).await.text().await.unwrap();
    let response = patch(
        &app,
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "add", "path": "emails", "value": [{"value": "new@example.com"}]},
            {"op": "replace", "path": "active", "value": "perhaps"}
        ]),
    )
    .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let after = app.get(&path).await.text().await.unwrap();
    assert_eq!(before, after, "byte for byte");
}

#[tokio::test]
async fn adding_what_is_already_there_keeps_the_version() {
    let app = spawn_app().await;
    let body = json!({"userName": "same@example.com", "emails": [{"value": "same@example.com", "type": "work"}]});
    let user = json_of(app.post("/Users", &body).await, 201).await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let patched = json_of(patch(&app, &path, json!([{"op": "add", "path": "emails", "value": [{"value": "same@example.com", "type": "work"}]}])).await, 200).await;
    assert_eq!(patched["meta"]["version"], "W/\"1\"");
    assert_eq!(
        patched["meta"]["lastModified"],
        user["meta"]["lastModified"]
    );
}

#[tokio::test]
async fn patch_errors_have_the_rfc_scim_types() {
    let app = spawn_app().await;
    let user = app.create_user("errors@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    assert_scim_error(
        patch(&app, &path, json!([{"op": "remove"}])).await,
        400,
        Some("noTarget"),
    )
    .await;
    assert_scim_error(
        patch(
            &app,
            &path,
            json!([{"op": "replace", "path": "nosuch", "value": 1}]),
        )
        .await,
        400,
        Some("invalidPath"),
    )
    .await;
    assert_scim_error(
        patch(&app, &path, json!([{"op": "remove", "path": "userName"}])).await,
        400,
        Some("mutability"),
    )
    .await;
    assert_scim_error(
        patch(
            &app,
            &path,
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        )
        .await,
        400,
        Some("mutability"),
    )
    .await;
    assert_scim_error(
        patch(
            &app,
            "/Users/nope",
            json!([{"op": "remove", "path": "title"}]),
        )
        .await,
        404,
        None,
    )
    .await;
    let response = app
        .scim(Method::PATCH, &path)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 400, Some("invalidSyntax")).await;
    let other = app.create_user("taken@example.com").await;
    assert!(other["id"].is_string());
    let response = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": "userName", "value": "TAKEN@example.com"}]),
    )
    .await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
}

#[tokio::test]
async fn group_pushes_add_remove_and_rename_touching_only_the_named_members() {
    let app = spawn_app().await;
    let users: Vec<String> = create_users(&app, 4).await;
    let group = app.create_group("Sales", &[&users[0]]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());

    let response = patch(&app, &path, json!([{"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]}])).await;
    assert_eq!(response.status(), 204);
    let now = json_of(app.get(&path).await, 200).await;
    assert_eq!(member_ids(&now), sorted(&[&users[0], &users[1], &users[2]]));
    assert_eq!(now["meta"]["version"], "W/\"2\"");

    // Entra: Remove with a value list removes only those members.
    let response = patch(
        &app,
        &path,
        json!([{"op": "Remove", "path": "members", "value": [{"value": users[0]}]}]),
    )
    .await;
    assert_eq!(response.status(), 204);
    let now = json_of(app.get(&path).await, 200).await;
    assert_eq!(member_ids(&now), sorted(&[&users[1], &users[2]]));

    // Okta: remove by filter, and rename with a path-less replace carrying the id.
    let filter = format!("members[value eq \"{}\"]", users[1]);
    assert_eq!(
        patch(&app, &path, json!([{"op": "remove", "path": filter}]))
            .await
            .status(),
        204
    );
    let rename =
        json!([{"op": "replace", "value": {"id": group["id"], "displayName": "Sales EMEA"}}]);
    assert_eq!(patch(&app, &path, rename).await.status(), 204);
    let now = json_of(app.get(&path).await, 200).await;
    assert_eq!(now["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&now), sorted(&[&users[2]]));

    // Adding a member that is there changes nothing.
    let version = now["meta"]["version"].clone();
    assert_eq!(
        patch(
            &app,
            &path,
            json!([{"op": "add", "path": "members", "value": [{"value": users[2]}]}])
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        json_of(app.get(&path).await, 200).await["meta"]["version"],
        version
    );

    // With attributes, the answer carries the group.
    let response = app
        .scim(Method::PATCH, &format!("{path}?excludedAttributes=members"))
        .json(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "members", "value": []}]}))
        .send()
        .await
        .unwrap();
    let body = json_of(response, 200).await;
    assert_eq!(body["displayName"], "Sales EMEA");
    assert!(
        json_of(app.get(&path).await, 200)
            .await
            .get("members")
            .is_none()
    );

    // A rename carrying another id is refused.
    let mismatch = json!([{"op": "replace", "value": {"id": "someone-else"}}]);
    assert_scim_error(patch(&app, &path, mismatch).await, 400, Some("mutability")).await;
}

#[tokio::test]
async fn unknown_member_ids_are_400_and_nothing_is_applied() {
    let app = spawn_app().await;
    let users = create_users(&app, 2).await;
    let group = app.create_group("Sales", &[&users[0]]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let response = patch(
        &app,
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": "ghost"}]}
        ]),
    )
    .await;
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("ghost"));
    let now = json_of(app.get(&path).await, 200).await;
    assert_eq!(now, group);
}

#[tokio::test]
async fn concurrent_member_additions_never_lose_a_member() {
    let app = spawn_app().await;
    let users = create_users(&app, 12).await;
    let group = app.create_group("Crowd", &[]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let mut requests = tokio::task::JoinSet::new();
    for id in &users {
        let request = app
            .scim(Method::PATCH, &path)
            .json(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]}));
        requests.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 204);
    }
    let now = json_of(app.get(&path).await, 200).await;
    assert_eq!(member_ids(&now).len(), 12);
}

#[tokio::test]
async fn etags_guard_writes_and_spare_reads() {
    let app = spawn_app().await;
    let user = app.create_user("etag@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let not_modified = app
        .scim(Method::GET, &path)
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"], "W/\"1\"");
    let modified = app
        .scim(Method::GET, &path)
        .header("if-none-match", "W/\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(modified.status(), 200);

    let ok = app
        .scim(Method::PATCH, &path)
        .header("if-match", "W/\"1\"")
        .json(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "A"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let stale = app
        .scim(Method::PUT, &path)
        .header("if-match", "W/\"1\"")
        .json(&json!({"userName": "etag@example.com", "title": "B"}))
        .send()
        .await
        .unwrap();
    let error = assert_scim_error(stale, 412, None).await;
    assert!(error["detail"].as_str().unwrap().contains("W/\"2\""));
    assert_eq!(json_of(app.get(&path).await, 200).await["title"], "A");
    let stale_delete = app
        .scim(Method::DELETE, &path)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_scim_error(stale_delete, 412, None).await;
    let any = app
        .scim(Method::DELETE, &path)
        .header("if-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(any.status(), 204);
}

/// Creates `n` users and returns their ids.
async fn create_users(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let user = app.create_user(&format!("member{i}@example.com")).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).clone()).collect();
    ids.sort();
    ids
}
