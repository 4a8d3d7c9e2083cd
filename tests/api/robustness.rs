//! Regression tests for inputs that once produced 500s, races and lost data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::scimd;
use crate::helpers::*;

#[tokio::test]
async fn nul_characters_are_refused_as_bad_input_not_a_500() {
    let app = spawn_app().await;
    let error = assert_scim_error(
        app.post("/Users", &json!({"userName": "a\u{0}b"})).await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert!(error["detail"].as_str().unwrap().contains("NUL"));
    assert_scim_error(
        app.post("/Groups", &json!({"displayName": "g\u{0}"})).await,
        400,
        Some("invalidValue"),
    )
    .await;
    let response = app
        .scim(Method::GET, "/Users")
        .query(&[("filter", "userName eq \"a\u{0}b\"")])
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 400, Some("invalidFilter")).await;
    assert_scim_error(app.get("/Users/%00").await, 404, None).await;
    assert_scim_error(app.delete("/Groups/a%00b").await, 404, None).await;
    assert_scim_error(app.get("/Users/%FF").await, 404, None).await;
}

#[tokio::test]
async fn indexed_values_past_the_length_limit_are_400_on_every_database() {
    let app = spawn_app().await;
    let long = "x".repeat(3000);
    for body in [
        json!({"userName": long}),
        json!({"userName": "ok@example.com", "externalId": long}),
        json!({"userName": "ok@example.com", "emails": [{"value": long}]}),
    ] {
        let error =
            assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
        assert!(
            error["detail"].as_str().unwrap().contains("1024"),
            "{error}"
        );
    }
    assert_scim_error(
        app.post("/Groups", &json!({"displayName": long})).await,
        400,
        Some("invalidValue"),
    )
    .await;
}

#[tokio::test]
async fn a_user_with_thousands_of_emails_is_stored_and_found() {
    let app = spawn_app().await;
    let emails: Vec<Value> = (0..12_000)
        .map(|i| json!({"value": format!("a{i}@x.test")}))
        .collect();
    let created = json_of(
        app.post(
            "/Users",
            &json!({"userName": "many@x.test", "emails": emails}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["emails"].as_array().unwrap().len(), 12_000);
    let list = json_of(
        app.get("/Users?filter=emails.value+eq+%22a11999%40x.test%22")
            .await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    let too_many: Vec<Value> = (0..20_001)
        .map(|i| json!({"value": format!("{i}")}))
        .collect();
    let body = json!({"userName": "toomany@x.test", "phoneNumbers": too_many});
    assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn fully_qualified_core_attributes_and_null_values_in_lists_are_accepted() {
    let app = spawn_app().await;
    let body = json!({
        "urn:ietf:params:scim:schemas:core:2.0:User:userName": "qualified@example.com",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Q",
        "emails": [null, {"value": "q@example.com"}]
    });
    let user = json_of(app.post("/Users", &body).await, 201).await;
    assert_eq!(user["userName"], "qualified@example.com");
    assert_eq!(user["displayName"], "Q");
    assert_eq!(user["emails"], json!([{"value": "q@example.com"}]));
    let response = app
        .scim(Method::GET, "/Users")
        .query(&[(
            "filter",
            "urn:example:other:2.0:User:userName eq \"qualified@example.com\"",
        )])
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 400, Some("invalidFilter")).await;
}

#[tokio::test]
async fn a_group_replace_that_changes_nothing_keeps_the_version() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let group = app
        .create_group("Sales", &[ann["id"].as_str().unwrap()])
        .await;
    let id = group["id"].as_str().unwrap();
    let same = json!({"displayName": "Sales", "members": [{"value": ann["id"]}]});
    let replaced = json_of(app.put(&format!("/Groups/{id}"), &same).await, 200).await;
    assert_eq!(replaced["meta"]["version"], "W/\"1\"");
    assert_eq!(replaced["members"], group["members"]);
}

#[tokio::test]
async fn a_member_deleted_while_a_group_is_created_never_stays_a_member() {
    let app = spawn_app().await;
    for round in 0..25 {
        let user = app.create_user(&format!("racer{round}@example.com")).await;
        let id = user["id"].as_str().unwrap().to_owned();
        let body = json!({"displayName": format!("Race {round}"), "members": [{"value": id}]});
        let user_path = format!("/Users/{id}");
        let (created, deleted) = tokio::join!(app.post("/Groups", &body), app.delete(&user_path));
        assert_eq!(deleted.status(), 204);
        if created.status() == 201 {
            let group: Value = created.json().await.unwrap();
            let gid = group["id"].as_str().unwrap();
            let now = json_of(app.get(&format!("/Groups/{gid}")).await, 200).await;
            assert!(now.get("members").is_none(), "round {round}: {now}");
        } else {
            assert_scim_error(created, 400, Some("invalidValue")).await;
        }
    }
}

#[tokio::test]
async fn servers_starting_together_on_one_empty_database_all_come_up_and_bootstrap_once() {
    let db = test_db().await;
    let url = db.url.clone();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || crate::cli::start_server(&url).1)
        })
        .collect();
    let outputs: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let bootstraps = outputs
        .iter()
        .filter(|o| o.iter().any(|l| l.contains("Created tenant")))
        .count();
    assert_eq!(bootstraps, 1, "{outputs:?}");
    let tokens: Vec<Value> = serde_json::from_str(&scimd(
        &url,
        &["token", "list", "--tenant", "default", "--json"],
    ))
    .unwrap();
    assert_eq!(tokens.len(), 2);
}

/// Rewrites one column of one row behind the server's back, as a bad
/// migration or a hand edit would.
async fn corrupt(app: &TestApp, sql: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let db = Database::connect(&app.db.url).await.expect("connect");
    db.execute_unprepared(sql).await.expect("corrupt");
    db.close().await.ok();
}

#[tokio::test]
async fn a_stored_state_no_enum_names_is_a_500_with_a_correlation_id_never_a_400() {
    let app = spawn_app().await;
    let user = app.create_user("corrupt@example.com").await;
    let id = user["id"].as_str().unwrap();
    corrupt(
        &app,
        &format!("UPDATE users SET access = 'bogus' WHERE id = '{id}'"),
    )
    .await;

    // The IdP's deactivation must not read as its own mistake.
    let response = app
        .scim(Method::PATCH, &format!("/Users/{id}"))
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let error = assert_scim_error(response, 500, None).await;
    assert!(
        error["detail"].as_str().unwrap().contains(&request_id),
        "{error}"
    );

    // The admin API says the same in its own shape.
    let (status, body) = status_and_json(
        app.admin_as(&app.admin_token, Method::GET, &format!("/users/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"], "internal");

    // A corrupt policy fails the same way: no silent default.
    corrupt(
        &app,
        "UPDATE tenants SET deprovision_policy = 'reassign_to_nobody'",
    )
    .await;
    let (status, body) = status_and_json(
        app.admin_as(&app.admin_token, Method::GET, "/settings")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 500, "{body}");
}

#[tokio::test]
async fn nul_in_member_values_and_bulk_paths_is_refused_alike_on_every_database() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let group = app.create_group("Sales", &[ann_id]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    let nul = "a\u{0}b";
    let members = json!([{"value": nul}]);
    assert_scim_error(
        app.post("/Groups", &json!({"displayName": "G", "members": members}))
            .await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert_scim_error(
        app.post("/Groups", &json!({"displayName": "G", "members": [nul]}))
            .await,
        400,
        Some("invalidValue"),
    )
    .await;
    assert_scim_error(
        app.put(&path, &json!({"displayName": "Sales", "members": members}))
            .await,
        400,
        Some("invalidValue"),
    )
    .await;
    let patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    for operation in [
        json!({"op": "add", "path": "members", "value": members}),
        json!({"op": "add", "path": "members", "value": [nul]}),
        json!({"op": "replace", "path": "members", "value": members}),
        json!({"op": "remove", "path": "members", "value": members}),
        json!({"op": "remove", "path": format!("members[value eq \"{nul}\"]")}),
        json!({"op": "add", "value": {"members": members}}),
    ] {
        let body = json!({"schemas": [patch_op], "Operations": [operation]});
        let (status, answer) = app
            .call_scim(&app.scim_token, Method::PATCH, &path, Some(&body))
            .await;
        assert_eq!(status, 400, "{operation}: {answer}");
        assert!(
            ["invalidValue", "invalidFilter", "invalidPath"]
                .contains(&answer["scimType"].as_str().unwrap_or_default()),
            "{operation}: {answer}"
        );
    }
    let group = json_of(app.get(&path).await, 200).await;
    assert_eq!(member_ids(&group), vec![ann_id.to_owned()]);

    // An id in a Bulk path is 404, as in a single request; body text 400.
    let response = json_of(
        app.post(
            "/Bulk",
            &json!({"Operations": [
                {"method": "PATCH", "path": format!("/Users/{nul}"), "data": {"Operations": [
                    {"op": "replace", "path": "title", "value": "x"}
                ]}},
                {"method": "PUT", "path": format!("/Groups/{nul}"), "data": {"displayName": "X"}},
                {"method": "DELETE", "path": format!("/Users/{nul}")},
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G", "members": members}},
                {"method": "POST", "path": format!("/Users\u{0}"), "bulkId": "u", "data": {"userName": "u@example.com"}}
            ]}),
        )
        .await,
        200,
    )
    .await;
    let statuses: Vec<&str> = response["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["404", "404", "404", "400", "400"], "{response}");
}
