//! The business-phone extension of User: validated, stored, returned,
//! written by POST, PUT, PATCH and Bulk, and filtered on.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Sends a PATCH with these operations; returns the status and body.
async fn patch(app: &TestApp, path: &str, operations: Value) -> (u16, Value) {
    let body = json!({"schemas": [PATCH_OP], "Operations": operations});
    app.call_scim(&app.scim_token, Method::PATCH, path, Some(&body))
        .await
}

/// Creates a user with these phone attributes; returns its id.
async fn create_with_phone(app: &TestApp, user_name: &str, phone: Value) -> String {
    let body = json!({"schemas": [USER_SCHEMA, PHONE], "userName": user_name, PHONE: phone});
    let user = json_of(app.post("/Users", &body).await, 201).await;
    user["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_user_is_created_with_its_phone_settings_and_reads_them_back() {
    let app = spawn_app().await;
    let phone = json!({"extension": "4021", "callerId": "+49 30 901820", "site": "Berlin"});
    let body =
        json!({"schemas": [USER_SCHEMA, PHONE], "userName": "ann@example.com", PHONE: phone});
    let created = json_of(app.post("/Users", &body).await, 201).await;
    assert_eq!(created["schemas"], json!([USER_SCHEMA, PHONE]));
    assert_eq!(created[PHONE], phone);
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    assert_eq!(json_of(app.get(&path).await, 200).await, created);

    // Attribute names are case-insensitive; URN-qualified keys work too.
    let body = json!({
        "userName": "bob@example.com",
        "urn:scimd:schemas:extension:phone:2.0:User:EXTENSION": "4022",
        PHONE.to_uppercase(): {"SITE": "Paris"}
    });
    let bob = json_of(app.post("/Users", &body).await, 201).await;
    assert_eq!(bob[PHONE], json!({"extension": "4022", "site": "Paris"}));

    let only = json_of(
        app.get(&format!("{path}?attributes={PHONE}:extension"))
            .await,
        200,
    )
    .await;
    assert_eq!(only[PHONE], json!({"extension": "4021"}));
    let without = json_of(
        app.get(&format!("{path}?excludedAttributes={PHONE}")).await,
        200,
    )
    .await;
    assert!(without.get(PHONE).is_none());
}

#[tokio::test]
async fn wrong_phone_values_are_400_invalid_value_and_nothing_is_written() {
    let app = spawn_app().await;
    for (phone, says) in [
        (json!({"extension": 4021}), "extension must be a string"),
        (json!({"site": ["Berlin"]}), "site is single-valued"),
        (json!({"callerId": true}), "callerId must be a string"),
        (json!("4021"), "must be a JSON object"),
        (
            json!({"callerId": 4930901820u64}),
            "callerId must be a string",
        ),
    ] {
        let body = json!({"userName": "ann@example.com", PHONE: phone});
        let error =
            assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{phone}: {detail}");
    }
    let list = json_of(app.get("/Users").await, 200).await;
    assert_eq!(list["totalResults"], 0);
}

#[tokio::test]
async fn patch_writes_phone_settings_by_path_by_entra_key_and_whole() {
    let app = spawn_app().await;
    let user = app.create_user("ann@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());

    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": format!("{PHONE}:extension"), "value": "4021"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[PHONE], json!({"extension": "4021"}));
    assert_eq!(body["schemas"], json!([USER_SCHEMA, PHONE]));

    // Entra's path-less form, with a URN-qualified key and a capitalised op.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "Add", "value": {format!("{PHONE}:callerId"): "+4930901820"}}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body[PHONE],
        json!({"extension": "4021", "callerId": "+4930901820"})
    );

    // The whole extension: replace merges its attributes.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": PHONE, "value": {"site": "Berlin", "extension": "4022"}}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body[PHONE],
        json!({"extension": "4022", "callerId": "+4930901820", "site": "Berlin"})
    );

    // A value of the wrong type in a PATCH is refused and changes nothing.
    let (status, error) = patch(
        &app,
        &path,
        json!([
            {"op": "replace", "path": format!("{PHONE}:site"), "value": "Paris"},
            {"op": "replace", "path": format!("{PHONE}:callerId"), "value": {"number": "+49"}}
        ]),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["scimType"], "invalidValue");
    assert!(error["detail"].as_str().unwrap().contains("callerId"));
    let (status, error) = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": format!("{PHONE}:extension"), "value": 4023}]),
    )
    .await;
    assert_eq!(
        (status, error["scimType"].clone()),
        (400, json!("invalidValue"))
    );
    let current = json_of(app.get(&path).await, 200).await;
    assert_eq!(current[PHONE]["site"], "Berlin");
    assert_eq!(current["meta"]["version"], "W/\"4\"");

    // Removing one attribute, then the whole extension.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "remove", "path": format!("{PHONE}:callerId")}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body[PHONE], json!({"extension": "4022", "site": "Berlin"}));
    let (status, body) = patch(&app, &path, json!([{"op": "remove", "path": PHONE}])).await;
    assert_eq!(status, 200);
    assert!(body.get(PHONE).is_none());
    assert_eq!(body["schemas"], json!([USER_SCHEMA]));
}

#[tokio::test]
async fn put_and_bulk_write_phone_settings_through_the_same_checks() {
    let app = spawn_app().await;
    let id = create_with_phone(&app, "ann@example.com", json!({"extension": "4021"})).await;
    let path = format!("/Users/{id}");
    let replaced = json_of(
        app.put(
            &path,
            &json!({"userName": "ann@example.com", PHONE: {"site": "Berlin"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced[PHONE], json!({"site": "Berlin"}));
    let response = app
        .put(
            &path,
            &json!({"userName": "ann@example.com", PHONE: {"callerId": ["+49 30 901820"]}}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;

    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "bob@example.com", PHONE: {"callerId": "+1 (425) 555-0100"}}},
            {"method": "PATCH", "path": "/Users/bulkId:b", "data": {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": format!("{PHONE}:callerId"), "value": 5550100}]}}
        ]
    });
    let response = json_of(app.post("/Bulk", &body).await, 200).await;
    assert_eq!(response["Operations"][0]["status"], "201");
    assert_eq!(response["Operations"][1]["status"], "400");
    assert_eq!(
        response["Operations"][1]["response"]["scimType"],
        "invalidValue"
    );
    let bob = response["Operations"][0]["location"].as_str().unwrap();
    let bob = json_of(
        app.get(&format!("/Users/{}", bob.rsplit('/').next().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(bob[PHONE]["callerId"], "+1 (425) 555-0100");
}

#[tokio::test]
async fn users_are_found_by_phone_settings_qualified_or_not() {
    let app = spawn_app().await;
    let ann = create_with_phone(
        &app,
        "ann@example.com",
        json!({"extension": "4021", "site": "Berlin"}),
    )
    .await;
    let bob = create_with_phone(
        &app,
        "bob@example.com",
        json!({"extension": "4022", "site": "berlin"}),
    )
    .await;
    let cem = create_with_phone(
        &app,
        "cem@example.com",
        json!({"extension": "4021", "site": "Paris", "callerId": "+33 1 4000 0000"}),
    )
    .await;
    app.create_user("dee@example.com").await;

    for filter in [
        format!("{PHONE}:extension eq \"4021\""),
        "extension eq \"4021\"".to_owned(),
        "EXTENSION eq \"4021\"".to_owned(),
    ] {
        let list = find_users(&app, &filter).await;
        assert_eq!(list["totalResults"], 2, "{filter}");
        assert_eq!(ids(&list), vec![ann.clone(), cem.clone()], "{filter}");
    }
    // extension is caseExact, site is not.
    let list = find_users(&app, "site eq \"BERLIN\"").await;
    assert_eq!(ids(&list), vec![ann.clone(), bob.clone()]);
    let list = find_users(&app, "callerId eq \"+33 1 4000 0000\"").await;
    assert_eq!(ids(&list), vec![cem.clone()]);
    let list = find_users(&app, "callerId pr").await;
    assert_eq!(ids(&list), vec![cem.clone()]);
    let list = find_users(&app, "extension eq \"4021\" and userName sw \"c\"").await;
    assert_eq!(ids(&list), vec![cem.clone()]);
    let list = find_users(&app, "not (extension eq \"4021\")").await;
    assert_eq!(list["totalResults"], 2, "bob, and dee who has no extension");

    // Paging counts every match, not the page.
    let sort_by = format!("{PHONE}:site");
    let page = list_users(
        &app,
        &[
            ("filter", "extension sw \"40\""),
            ("startIndex", "2"),
            ("count", "1"),
            ("sortBy", &sort_by),
        ],
    )
    .await;
    assert_eq!(page["totalResults"], 3);
    assert_eq!(page["itemsPerPage"], 1);
    assert_eq!(page["startIndex"], 2);
    // Sorted by site, case-insensitively, ties by id: Berlin, berlin, Paris.
    let berlins = {
        let mut b = vec![ann.clone(), bob.clone()];
        b.sort();
        b
    };
    assert_eq!(ids(&page), vec![berlins[1].clone()]);
}

/// `GET /Users` with this filter.
async fn find_users(app: &TestApp, filter: &str) -> Value {
    list_users(app, &[("filter", filter)]).await
}

/// `GET /Users` with these query parameters.
async fn list_users(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let response = app
        .scim(Method::GET, "/Users")
        .query(query)
        .send()
        .await
        .unwrap();
    json_of(response, 200).await
}
