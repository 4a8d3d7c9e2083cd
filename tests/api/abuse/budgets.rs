//! Hostile and faulty clients (issue 13): the PATCH work budget and the
//! size caps on stored resources.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    GROUP_SCHEMA, TestApp, USER_SCHEMA, assert_scim_error, json_of, spawn_app, spawn_app_with,
};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async fn patch(app: &TestApp, token: &str, path: &str, operations: Value) -> reqwest::Response {
    app.scim_as(token, Method::PATCH, path)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [PATCH_OP], "Operations": operations}).to_string())
        .send()
        .await
        .expect("request")
}

/// Seeds one user with `count` work e-mails through the import (as the
/// load tool does); returns its id.
async fn user_with_emails(app: &TestApp, count: usize) -> String {
    let emails: Vec<Value> = (0..count)
        .map(|i| json!({"value": format!("heavy{i}@example.com"), "type": "work"}))
        .collect();
    let body = json!({"userName": "heavy@example.com", "displayName": "Heavy", "emails": emails});
    let ids = app
        .domain
        .import_users(&app.tenant_id, &[body])
        .await
        .expect("import");
    ids[0].clone()
}

/// Seeds `count` users; returns their ids.
async fn users(app: &TestApp, count: usize) -> Vec<String> {
    let bodies: Vec<Value> = (0..count)
        .map(|i| json!({"userName": format!("member{i}@example.com")}))
        .collect();
    app.domain
        .import_users(&app.tenant_id, &bodies)
        .await
        .expect("import")
}

fn members(ids: &[String]) -> Vec<Value> {
    ids.iter().map(|id| json!({"value": id})).collect()
}

#[tokio::test]
async fn the_heavy_patch_of_issue_13_is_refused_and_another_tenant_writes_meanwhile() {
    let app = spawn_app().await;
    let id = user_with_emails(&app, 19_000).await;
    let before = json_of(app.get(&format!("/Users/{id}")).await, 200).await;
    let bystander = app.new_tenant().await;
    let removes: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "remove", "path": format!("emails[value eq \"nomatch{i}\"]")}))
        .collect();
    let path = format!("/Users/{id}");
    let heavy = patch(&app, &app.scim_token, &path, Value::Array(removes));
    let other = json!({"schemas": [USER_SCHEMA], "userName": "bystander@example.com"});
    let write = app.call_scim(&bystander.scim, Method::POST, "/Users", Some(&other));
    let (heavy, (status, _)) = tokio::join!(heavy, write);
    assert_eq!(status, 201, "the other tenant's write succeeds");
    let error = assert_scim_error(heavy, 400, Some("tooMany")).await;
    assert!(
        error["detail"].as_str().unwrap().contains("1000000"),
        "{error}"
    );
    let after = json_of(app.get(&format!("/Users/{id}")).await, 200).await;
    assert_eq!(after, before, "nothing was written");
}

#[tokio::test]
async fn a_patch_over_the_budget_is_refused_with_too_many_and_nothing_is_written() {
    let app = spawn_app_with(|config| config.patch_budget = 10).await;
    let user = app.create_user("budget@example.com").await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let emails: Vec<Value> = (0..10)
        .map(|i| json!({"value": format!("e{i}@example.com")}))
        .collect();
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "add", "path": "emails", "value": emails}
        ]),
    )
    .await;
    let error = assert_scim_error(response, 400, Some("tooMany")).await;
    assert!(
        error["detail"].as_str().unwrap().contains("limit of 10 "),
        "{error}"
    );
    let after = json_of(app.get(&path).await, 200).await;
    assert_eq!(after, user, "nothing was written");
    // Within the budget, the same kind of request applies.
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "displayName", "value": "Changed"}]),
    )
    .await;
    assert_eq!(json_of(response, 200).await["displayName"], "Changed");
}

#[tokio::test]
async fn group_member_changes_spend_the_budget_with_the_stored_member_count() {
    let app = spawn_app_with(|config| config.patch_budget = 10).await;
    let ids = users(&app, 11).await;
    let group = app
        .create_group(
            "budgeted",
            &ids[..8].iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    // 11 ids carried.
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "add", "path": "members", "value": members(&ids)}]),
    )
    .await;
    assert_scim_error(response, 400, Some("tooMany")).await;
    // 8 stored members cleared, 1 added, that 1 cleared again: 10.
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": members(&ids[..1])},
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": members(&ids[..1])},
            {"op": "replace", "path": "members", "value": members(&ids[..1])}
        ]),
    )
    .await;
    assert_scim_error(response, 400, Some("tooMany")).await;
    let unchanged = json_of(app.get(&path).await, 200).await;
    assert_eq!(unchanged["members"].as_array().map(Vec::len), Some(8));
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": members(&ids[..1])}
        ]),
    )
    .await;
    assert_eq!(response.status(), 204);
    let changed = json_of(app.get(&path).await, 200).await;
    assert_eq!(changed["members"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn okta_s_10000_member_group_put_and_patch_fit_the_default_budget() {
    let app = spawn_app().await;
    let ids = users(&app, 10_000).await;
    let first = app.create_group("put", &[]).await;
    let path = format!("/Groups/{}", first["id"].as_str().unwrap());
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "put", "members": members(&ids)});
    let put = json_of(app.put(&path, &body).await, 200).await;
    assert_eq!(put["members"].as_array().map(Vec::len), Some(10_000));
    let second = app.create_group("patch", &[]).await;
    let path = format!("/Groups/{}", second["id"].as_str().unwrap());
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "add", "path": "members", "value": members(&ids)}]),
    )
    .await;
    assert_eq!(response.status(), 204);
    // Replacing all 10,000 with all 10,000 again: 20,000 units.
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "members", "value": members(&ids)}]),
    )
    .await;
    assert_eq!(response.status(), 204);
    let group = json_of(app.get(&path).await, 200).await;
    assert_eq!(group["members"].as_array().map(Vec::len), Some(10_000));
}

#[tokio::test]
async fn a_string_of_64_kib_is_stored_and_one_byte_more_is_refused_naming_the_attribute() {
    let app = spawn_app().await;
    let limit = 64 * 1024;
    let at_limit = "a".repeat(limit);
    let over = "a".repeat(limit + 1);
    let user = |name: &str, title: &str| json!({"schemas": [USER_SCHEMA], "userName": name, "title": title});
    let created = json_of(
        app.post("/Users", &user("fits@example.com", &at_limit))
            .await,
        201,
    )
    .await;
    assert_eq!(created["title"].as_str().map(str::len), Some(limit));
    let error = assert_scim_error(
        app.post("/Users", &user("over@example.com", &over)).await,
        400,
        Some("invalidValue"),
    )
    .await;
    let detail = error["detail"].as_str().unwrap();
    assert!(
        detail.contains("title") && detail.contains("65536"),
        "{detail}"
    );
    let list = json_of(
        app.get("/Users?filter=userName+eq+%22over@example.com%22")
            .await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 0, "nothing was written");

    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "name.givenName", "value": over}]),
    )
    .await;
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .starts_with("name.givenName"),
        "{error}"
    );
    let response = app.put(&path, &user("fits@example.com", &over)).await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "b1",
                        "data": user("bulk@example.com", &over)}]
    });
    let answer = json_of(app.post("/Bulk", &bulk).await, 200).await;
    assert_eq!(answer["Operations"][0]["status"], "400", "{answer}");
    assert_eq!(
        answer["Operations"][0]["response"]["scimType"],
        "invalidValue"
    );
    let unchanged = json_of(app.get(&path).await, 200).await;
    assert_eq!(unchanged, created, "nothing was written");
}

#[tokio::test]
async fn a_document_over_the_cap_is_refused_and_nothing_is_written() {
    let app = spawn_app_with(|config| config.max_document_bytes = 4096).await;
    let user = |name: &str, title: &str| json!({"schemas": [USER_SCHEMA], "userName": name, "title": title});
    let error = assert_scim_error(
        app.post("/Users", &user("big@example.com", &"a".repeat(5000)))
            .await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("at most 4096 bytes"),
        "{error}"
    );
    let list = json_of(
        app.get("/Users?filter=userName+eq+%22big@example.com%22")
            .await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 0, "nothing was written");

    let created = json_of(
        app.post("/Users", &user("small@example.com", "a")).await,
        201,
    )
    .await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "title", "value": "a".repeat(5000)}]),
    )
    .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let response = app
        .put(&path, &user("small@example.com", &"a".repeat(5000)))
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    assert_eq!(
        json_of(app.get(&path).await, 200).await,
        created,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_user_stored_before_smaller_caps_can_still_be_deactivated_but_not_grown() {
    let app = spawn_app().await;
    let big = json!({"schemas": [USER_SCHEMA], "userName": "legacy@example.com",
                     "title": "t".repeat(60_000), "nickName": "n".repeat(60_000)});
    let created = json_of(app.post("/Users", &big).await, 201).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let app = app
        .restart(|config| {
            config.max_string_bytes = 1024;
            config.max_document_bytes = 4096;
        })
        .await;
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    assert_eq!(json_of(response, 200).await["active"], false);
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "displayName", "value": "Smaller now"}]),
    )
    .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "remove", "path": "nickName"}]),
    )
    .await;
    assert_eq!(response.status(), 200, "shrinking is allowed");
    let response = patch(
        &app,
        &app.scim_token,
        &path,
        json!([{"op": "replace", "path": "title", "value": "u".repeat(60_000)}]),
    )
    .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}
