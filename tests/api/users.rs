//! `/Users`: create, read, replace, delete, list and filter.

use serde_json::{Value, json};

use crate::helpers::*;

fn barbara() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "00u1abcd",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+91 80 4000 1234", "type": "work"}],
        "roles": [{"value": "admin"}],
        "password": "t1meMa$heen",
        ENTERPRISE: {"employeeNumber": "701984", "department": "Sales", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
    })
}

#[tokio::test]
async fn creating_a_user_returns_201_with_location_etag_and_meta() {
    let app = spawn_app().await;
    let response = app.post("/Users", &barbara()).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let user = json_of(response, 201).await;

    let id = user["id"].as_str().unwrap();
    assert_eq!(location, format!("{}/Users/{id}", app.scim_base));
    assert_eq!(etag, "W/\"1\"");
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["location"], json!(location));
    assert_eq!(user["meta"]["version"], json!(etag));
    assert_eq!(user["meta"]["created"], user["meta"]["lastModified"]);
    assert_eq!(user["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
}

#[tokio::test]
async fn a_created_user_reads_back_with_every_attribute_it_was_given() {
    let app = spawn_app().await;
    let created = json_of(app.post("/Users", &barbara()).await, 201).await;
    let id = created["id"].as_str().unwrap();
    let response = app.get(&format!("/Users/{id}")).await;
    assert_eq!(response.headers()["etag"], "W/\"1\"");
    let user = json_of(response, 200).await;
    assert_eq!(user, created);
    let sent = barbara();
    for attribute in [
        "externalId",
        "userName",
        "name",
        "displayName",
        "emails",
        "phoneNumbers",
        "roles",
        ENTERPRISE,
    ] {
        assert_eq!(user[attribute], sent[attribute], "{attribute}");
    }
}

#[tokio::test]
async fn a_password_is_accepted_but_never_returned() {
    let app = spawn_app().await;
    let created = json_of(app.post("/Users", &barbara()).await, 201).await;
    assert!(created.get("password").is_none());
    let id = created["id"].as_str().unwrap();
    let fetched = json_of(app.get(&format!("/Users/{id}")).await, 200).await;
    assert!(fetched.get("password").is_none());
    let listed = json_of(app.get("/Users").await, 200).await;
    assert!(!listed.to_string().contains("t1meMa$heen"));
}

#[tokio::test]
async fn read_only_attributes_in_a_post_are_ignored() {
    let app = spawn_app().await;
    let body = json!({
        "schemas": [USER_SCHEMA],
        "id": "chosen-by-client",
        "userName": "ro@example.com",
        "meta": {"created": "2001-01-01T00:00:00Z", "version": "W/\"99\""},
        "groups": [{"value": "g1"}]
    });
    let user = json_of(app.post("/Users", &body).await, 201).await;
    assert_ne!(user["id"], "chosen-by-client");
    assert_eq!(user["meta"]["version"], "W/\"1\"");
    assert_ne!(user["meta"]["created"], "2001-01-01T00:00:00Z");
    assert!(user.get("groups").is_none());
}

#[tokio::test]
async fn attribute_names_match_case_insensitively_and_are_returned_as_the_schema_spells_them() {
    let app = spawn_app().await;
    let body = json!({
        "SCHEMAS": [USER_SCHEMA],
        "USERNAME": "caps@example.com",
        "Name": {"GIVENNAME": "Cap"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"}
    });
    let user = json_of(app.post("/Users", &body).await, 201).await;
    assert_eq!(user["userName"], "caps@example.com");
    assert_eq!(user["name"]["givenName"], "Cap");
    assert_eq!(user[ENTERPRISE]["department"], "R&D");
}

#[tokio::test]
async fn what_real_idps_send_is_accepted_unknown_attributes_nulls_and_string_booleans() {
    let app = spawn_app().await;
    let body = json!({
        "schemas": [USER_SCHEMA, "urn:okta:custom:user:1.0"],
        "userName": "lenient@example.com",
        "active": "False",
        "nickName": null,
        "emails": [],
        "urn:okta:custom:user:1.0": {"costCenter": "x"},
        "favouriteColour": "teal",
        "emails_primary": "yes"
    });
    let user = json_of(app.post("/Users", &body).await, 201).await;
    assert_eq!(user["active"], false);
    assert!(user.get("nickName").is_none());
    assert!(user.get("emails").is_none());
    assert!(user.get("favouriteColour").is_none());
    assert_eq!(user["schemas"], json!([USER_SCHEMA]));
}

#[tokio::test]
async fn a_user_without_a_user_name_is_400_invalid_value() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "displayName": "Nobody"}),
        )
        .await;
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("userName"));
    let response = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "  "}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_400_invalid_value_naming_the_attribute() {
    let app = spawn_app().await;
    for (body, attribute) in [
        (
            json!({"userName": "t@example.com", "active": "maybe"}),
            "active",
        ),
        (json!({"userName": 42}), "userName"),
        (
            json!({"userName": "t@example.com", "name": "Barbara"}),
            "name",
        ),
        (
            json!({"userName": "t@example.com", "emails": [{"value": 7}]}),
            "emails.value",
        ),
        (
            json!({"userName": "t@example.com", "displayName": ["a", "b"]}),
            "displayName",
        ),
    ] {
        let error =
            assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
        assert!(
            error["detail"].as_str().unwrap().contains(attribute),
            "{error}"
        );
    }
    let listed = json_of(app.get("/Users").await, 200).await;
    assert_eq!(listed["totalResults"], 0, "a refused create writes nothing");
}

#[tokio::test]
async fn two_primary_emails_are_refused() {
    let app = spawn_app().await;
    let body = json!({"userName": "p@example.com", "emails": [
        {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": "True"}
    ]});
    assert_scim_error(app.post("/Users", &body).await, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn user_name_is_unique_ignoring_case() {
    let app = spawn_app().await;
    app.create_user("Dup@Example.com").await;
    let response = app
        .post(
            "/Users",
            &json!({"schemas": [USER_SCHEMA], "userName": "dup@example.COM"}),
        )
        .await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
}

#[tokio::test]
async fn replacing_a_user_changes_its_version_and_keeps_created() {
    let app = spawn_app().await;
    let created = json_of(app.post("/Users", &barbara()).await, 201).await;
    let id = created["id"].as_str().unwrap();
    let mut changed = barbara();
    changed["displayName"] = json!("Barbara J.");
    changed.as_object_mut().unwrap().remove("phoneNumbers");
    let response = app.put(&format!("/Users/{id}"), &changed).await;
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let replaced = json_of(response, 200).await;
    assert_eq!(replaced["displayName"], "Barbara J.");
    assert!(
        replaced.get("phoneNumbers").is_none(),
        "PUT replaces: omitted attributes are cleared"
    );
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);
    assert_eq!(replaced["meta"]["version"], "W/\"2\"");
    assert_eq!(
        json_of(app.get(&format!("/Users/{id}")).await, 200).await,
        replaced
    );
}

#[tokio::test]
async fn a_replace_that_changes_nothing_keeps_the_version() {
    let app = spawn_app().await;
    let created = json_of(app.post("/Users", &barbara()).await, 201).await;
    let id = created["id"].as_str().unwrap();
    let replaced = json_of(app.put(&format!("/Users/{id}"), &barbara()).await, 200).await;
    assert_eq!(replaced["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn a_replace_that_leaves_out_active_does_not_reactivate_the_user() {
    let app = spawn_app().await;
    let mut body = barbara();
    body["active"] = json!(false);
    let created = json_of(app.post("/Users", &body).await, 201).await;
    let id = created["id"].as_str().unwrap();
    body.as_object_mut().unwrap().remove("active");
    body["title"] = json!("Former employee");
    let replaced = json_of(app.put(&format!("/Users/{id}"), &body).await, 200).await;
    assert_eq!(replaced["active"], false);
    assert_eq!(replaced["title"], "Former employee");
}

#[tokio::test]
async fn replacing_into_a_taken_user_name_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_user("first@example.com").await;
    let second = app.create_user("second@example.com").await;
    let id = second["id"].as_str().unwrap();
    let response = app
        .put(
            &format!("/Users/{id}"),
            &json!({"userName": "FIRST@example.com"}),
        )
        .await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    assert_eq!(
        json_of(app.get(&format!("/Users/{id}")).await, 200).await,
        second
    );
}

#[tokio::test]
async fn unknown_user_ids_are_404_for_get_put_and_delete() {
    let app = spawn_app().await;
    assert_scim_error(app.get("/Users/nope").await, 404, None).await;
    assert_scim_error(
        app.put("/Users/nope", &json!({"userName": "x"})).await,
        404,
        None,
    )
    .await;
    assert_scim_error(app.delete("/Users/nope").await, 404, None).await;
}

#[tokio::test]
async fn a_deleted_user_is_gone_and_its_user_name_can_be_used_again() {
    let app = spawn_app().await;
    let user = app.create_user("leaver@example.com").await;
    let id = user["id"].as_str().unwrap();
    let response = app.delete(&format!("/Users/{id}")).await;
    assert_eq!(response.status(), 204);
    assert_scim_error(app.get(&format!("/Users/{id}")).await, 404, None).await;
    let again = app.create_user("leaver@example.com").await;
    assert_ne!(again["id"], user["id"]);
}

#[tokio::test]
async fn users_are_listed_in_pages_with_start_index_and_count() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.create_user(&format!("user{i}@example.com")).await;
    }
    let page = json_of(app.get("/Users?startIndex=2&count=2").await, 200).await;
    assert_eq!(
        page["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["user1@example.com", "user2@example.com"]);

    let clamped = json_of(app.get("/Users?startIndex=0&count=-1").await, 200).await;
    assert_eq!(clamped["startIndex"], 1);
    assert_eq!(clamped["itemsPerPage"], 0);
    assert_eq!(clamped["totalResults"], 5);

    let past_the_end = json_of(app.get("/Users?startIndex=50").await, 200).await;
    assert_eq!(past_the_end["totalResults"], 5);
    assert_eq!(past_the_end["Resources"], json!([]));

    assert_scim_error(
        app.get("/Users?count=many").await,
        400,
        Some("invalidValue"),
    )
    .await;
}

#[tokio::test]
async fn the_lookup_filters_idps_send_find_the_right_user() {
    let app = spawn_app().await;
    let created = json_of(app.post("/Users", &barbara()).await, 201).await;
    let spaced = json_of(
        app.post(
            "/Users",
            &json!({"userName": "Ann Lee", "externalId": "ext 2"}),
        )
        .await,
        201,
    )
    .await;
    app.create_user("other@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let spaced_id = spaced["id"].as_str().unwrap().to_owned();

    let cases = [
        // Okta: userName eq, any case.
        (
            "/Users?filter=userName%20eq%20%22BJENSEN%40example.com%22",
            vec![id.clone()],
        ),
        // Entra: `+` for spaces in the query string.
        (
            "/Users?filter=userName+eq+%22ann+lee%22",
            vec![spaced_id.clone()],
        ),
        (
            "/Users?filter=externalId+eq+%22ext+2%22",
            vec![spaced_id.clone()],
        ),
        // externalId is caseExact (RFC 7643 §3.1).
        ("/Users?filter=externalId+eq+%2200U1ABCD%22", vec![]),
        (
            "/Users?filter=externalId+eq+%2200u1abcd%22",
            vec![id.clone()],
        ),
        (
            "/Users?filter=emails.value+eq+%22Babs%40Jensen.org%22",
            vec![id.clone()],
        ),
        (
            "/Users?filter=emails%5Bvalue+eq+%22babs%40jensen.org%22%5D",
            vec![id.clone()],
        ),
        (
            &*format!("/Users?filter=id+eq+%22{id}%22"),
            vec![id.clone()],
        ),
        (
            "/Users?filter=userName+eq+%22ann+lee%22+or+externalId+eq+%2200u1abcd%22",
            vec![id.clone(), spaced_id.clone()],
        ),
        (
            "/Users?filter=userName+eq+%22ann+lee%22+and+externalId+eq+%2200u1abcd%22",
            vec![],
        ),
        ("/Users?filter=userName+eq+%22nobody%22", vec![]),
        (
            "/Users?filter=displayName+eq+%22babs+JENSEN%22",
            vec![id.clone()],
        ),
    ]
    .map(|(path, expected)| (path.to_owned(), expected));
    for (path, expected) in cases {
        let list = json_of(app.get(&path).await, 200).await;
        let mut found = ids(&list);
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected, "{path}");
        assert_eq!(list["totalResults"], json!(expected.len()), "{path}");
    }
}

#[tokio::test]
async fn not_keeps_users_that_lack_the_attribute() {
    let app = spawn_app().await;
    let plain = app.create_user("plain@example.com").await;
    app.post(
        "/Users",
        &json!({"userName": "ext@example.com", "externalId": "e1"}),
    )
    .await;
    let list = json_of(
        app.get("/Users?filter=not+(externalId+eq+%22e1%22)").await,
        200,
    )
    .await;
    assert_eq!(ids(&list), vec![plain["id"].as_str().unwrap().to_owned()]);
}

#[tokio::test]
async fn malformed_and_unsupported_filters_are_400_invalid_filter_with_a_readable_detail() {
    let app = spawn_app().await;
    let error = assert_scim_error(
        app.get("/Users?filter=userName+eq").await,
        400,
        Some("invalidFilter"),
    )
    .await;
    assert!(
        error["detail"].as_str().unwrap().contains("position 11"),
        "{error}"
    );
    let error = assert_scim_error(
        app.get("/Users?filter=nosuch+pr").await,
        400,
        Some("invalidFilter"),
    )
    .await;
    assert!(
        error["detail"].as_str().unwrap().contains("nosuch"),
        "{error}"
    );
    assert_scim_error(
        app.get("/Users?filter=active+gt+true").await,
        400,
        Some("invalidFilter"),
    )
    .await;
}
