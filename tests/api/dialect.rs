//! The Microsoft Entra ID dialect, as Microsoft's SCIM reference collection
//! and tutorial send it: values without quotes in filters, booleans
//! compared with "True", role mapping through
//! `roles[primary eq "True"].value`, members as bare ids, value filters in
//! `attributes`, and endpoint names in any case.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// `GET {path}` with these query parameters, URL-encoded.
async fn get_with(app: &TestApp, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .scim(Method::GET, path)
        .query(query)
        .send()
        .await
        .expect("request");
    status_and_json(response).await
}

async fn patch(app: &TestApp, path: &str, operations: Value) -> (u16, Value) {
    let body = json!({"schemas": [PATCH_OP], "Operations": operations});
    app.call_scim(&app.scim_token, Method::PATCH, path, Some(&body))
        .await
}

/// A user with a work and a home e-mail, the work one primary.
async fn create_jyoung(app: &TestApp) -> Value {
    let response = app
        .post(
            "/Users",
            &json!({
                "schemas": [USER_SCHEMA],
                "userName": "jyoung@example.com",
                "externalId": "jyoung",
                "emails": [
                    {"value": "jyoung@work.test", "type": "work", "primary": true},
                    {"value": "jyoung@home.test", "type": "home"}
                ]
            }),
        )
        .await;
    json_of(response, 201).await
}

#[tokio::test]
async fn filters_take_values_without_quotes_as_entra_sends_them() {
    let app = spawn_app().await;
    let jyoung = create_jyoung(&app).await;
    let other = app.create_user("other@example.com").await;
    let jyoung_id = jyoung["id"].as_str().unwrap().to_owned();
    for filter in [
        "externalId eq jyoung",
        "userName sw J",
        "emails[type eq work].value eq jyoung@work.test",
        "emails[primary eq True]",
        "userName eq jyoung@example.com and active eq True",
        "(externalId eq nobody) or externalId eq jyoung",
    ] {
        let (status, list) = get_with(&app, "/Users", &[("filter", filter)]).await;
        assert_eq!(status, 200, "{filter}: {list}");
        assert_eq!(ids(&list), vec![jyoung_id.clone()], "{filter}");
    }
    // A bare .NET date-time: seven fractional digits and an offset.
    let (status, list) = get_with(
        &app,
        "/Users",
        &[(
            "filter",
            "meta.created gt 2015-10-10T14:38:21.8617979-07:00",
        )],
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 2);
    let (_, list) = get_with(
        &app,
        "/Users",
        &[(
            "filter",
            "meta.lastModified lt 2015-10-10T14:38:21.8617979-07:00",
        )],
    )
    .await;
    assert_eq!(list["totalResults"], 0);
    // Plus-encoded spaces, as Entra writes them.
    let list = json_of(app.get("/Users?filter=externalId+eq+jyoung").await, 200).await;
    assert_eq!(ids(&list), vec![jyoung_id]);
    let path = format!(
        "/Users?filter=userName+eq+{}",
        other["userName"].as_str().unwrap()
    );
    assert_eq!(json_of(app.get(&path).await, 200).await["totalResults"], 1);
}

#[tokio::test]
async fn broken_filters_are_still_400_invalid_filter() {
    let app = spawn_app().await;
    create_jyoung(&app).await;
    for (filter, position) in [
        ("userName eq", "at position 11"),
        (r#"userName eq "x" and"#, "at position 19"),
        ("(userName eq x", "at position 14"),
        (r#"userName eq a"b"#, "at position 12"),
        ("userName eq x)", "at position 13"),
        ("meta.created gt 2015-10-10", "date-time"),
        (r#"active eq "yes""#, "boolean"),
        (r#"emails[primary eq "maybe"]"#, "boolean"),
    ] {
        let response = app
            .scim(Method::GET, "/Users")
            .query(&[("filter", filter)])
            .send()
            .await
            .expect("request");
        let error = assert_scim_error(response, 400, Some("invalidFilter")).await;
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.contains(position), "{filter}: {detail}");
    }
}

#[tokio::test]
async fn booleans_compare_with_true_and_false_strings_on_any_multi_valued_attribute() {
    let app = spawn_app().await;
    let jyoung = create_jyoung(&app).await;
    let id = jyoung["id"].as_str().unwrap();
    let (status, _) = patch(
        &app,
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": "roles", "value": [{"value": "editor", "primary": true}]}]),
    )
    .await;
    assert_eq!(status, 200);
    for (filter, matches) in [
        (r#"emails[primary eq "True"]"#, true),
        (r#"emails[primary eq "true" and type eq "work"]"#, true),
        (r#"emails[primary eq "TRUE" and type eq "home"]"#, false),
        (r#"roles[primary eq "true"].value eq "editor""#, true),
        (r#"roles[primary eq "False"]"#, false),
        (r#"active eq "True""#, true),
        (r#"active eq "false""#, false),
    ] {
        let (status, list) = get_with(&app, "/Users", &[("filter", filter)]).await;
        assert_eq!(status, 200, "{filter}: {list}");
        assert_eq!(list["totalResults"], u64::from(matches), "{filter}");
    }
}

#[tokio::test]
async fn entra_s_role_mapping_creates_the_primary_role_on_a_user_without_one() {
    let app = spawn_app().await;
    let user = app.create_user("ann@example.com").await;
    let path = format!("/Users/{}", user["id"].as_str().unwrap());
    let (status, patched) = patch(
        &app,
        &path,
        json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "admin"}]),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["roles"],
        json!([{"primary": true, "value": "admin"}])
    );
    assert_eq!(
        json_of(app.get(&path).await, 200).await["roles"],
        patched["roles"]
    );

    // A role that is not primary stays, and the new one is the only primary.
    let bob = app.create_user("bob@example.com").await;
    let path = format!("/Users/{}", bob["id"].as_str().unwrap());
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "roles", "value": [{"value": "viewer", "primary": false}]}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, patched) = patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "roles[primary eq \"true\"].value", "value": "admin"}]),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["roles"],
        json!([{"value": "viewer", "primary": false}, {"primary": true, "value": "admin"}])
    );
}

#[tokio::test]
async fn entra_s_role_mapping_sets_the_value_of_the_matching_role() {
    let app = spawn_app().await;
    let jyoung = create_jyoung(&app).await;
    let path = format!("/Users/{}", jyoung["id"].as_str().unwrap());
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "roles", "value": [{"value": "editor", "primary": "True"}, {"value": "viewer"}]}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, patched) = patch(
        &app,
        &path,
        json!([
            {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "admin"},
            {"op": "Replace", "path": "emails[primary eq \"true\"].value", "value": "jy@work.test"}
        ]),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["roles"],
        json!([{"value": "admin", "primary": true}, {"value": "viewer"}])
    );
    assert_eq!(
        patched["emails"],
        json!([
            {"value": "jy@work.test", "type": "work", "primary": true},
            {"value": "jyoung@home.test", "type": "home"}
        ])
    );
    // A user without e-mails gets a primary one.
    let ann = app.create_user("ann@example.com").await;
    let (status, patched) = patch(
        &app,
        &format!("/Users/{}", ann["id"].as_str().unwrap()),
        json!([{"op": "Add", "path": "emails[primary eq \"True\"].value", "value": "ann@work.test"}]),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched["emails"],
        json!([{"primary": true, "value": "ann@work.test"}])
    );
    // Anything but true or false against a boolean is refused.
    let (status, error) = patch(
        &app,
        &path,
        json!([{"op": "Replace", "path": "roles[primary eq \"yes\"].value", "value": "admin"}]),
    )
    .await;
    assert_eq!(
        (status, error["scimType"].as_str()),
        (400, Some("invalidFilter"))
    );
}

/// The sorted member ids of the group at `path`.
async fn members_of(app: &TestApp, path: &str) -> Vec<String> {
    member_ids(&json_of(app.get(path).await, 200).await)
}

#[tokio::test]
async fn groups_take_members_as_bare_ids_in_post_put_and_patch() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let cat = app.create_user("cat@example.com").await;
    let (ann, bob, cat) = (
        ann["id"].as_str().unwrap().to_owned(),
        bob["id"].as_str().unwrap().to_owned(),
        cat["id"].as_str().unwrap().to_owned(),
    );
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let response = app
        .post(
            "/Groups",
            &json!({"schemas": [GROUP_SCHEMA], "displayName": "One", "members": ann}),
        )
        .await;
    assert_eq!(member_ids(&json_of(response, 201).await), vec![ann.clone()]);
    let response = app
        .post(
            "/Groups",
            &json!({"displayName": "Two", "members": [ann, {"value": bob}]}),
        )
        .await;
    let group = json_of(response, 201).await;
    assert_eq!(member_ids(&group), sorted(vec![ann.clone(), bob.clone()]));
    assert_eq!(group["members"][0]["type"], "User");
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());

    let response = app
        .put(&path, &json!({"displayName": "Two", "members": [cat]}))
        .await;
    assert_eq!(member_ids(&json_of(response, 200).await), vec![cat.clone()]);

    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "members", "value": ann}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        members_of(&app, &path).await,
        sorted(vec![ann.clone(), cat.clone()])
    );
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [bob, ann]}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        members_of(&app, &path).await,
        sorted(vec![ann.clone(), bob.clone(), cat.clone()])
    );
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Remove", "path": "members", "value": [ann, cat]}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(members_of(&app, &path).await, vec![bob.clone()]);
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Remove", "path": "members", "value": bob}]),
    )
    .await;
    assert_eq!(status, 204);
    assert!(members_of(&app, &path).await.is_empty());
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "Replace", "path": "members", "value": [cat]}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(members_of(&app, &path).await, vec![cat.clone()]);
}

#[tokio::test]
async fn a_member_that_is_neither_an_id_nor_an_object_with_a_value_is_400_invalid_value() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann = ann["id"].as_str().unwrap();
    for members in [
        json!([1]),
        json!([""]),
        json!([{"display": "x"}]),
        json!([{"value": null}]),
        json!(true),
        json!([[ann]]),
    ] {
        let response = app
            .post(
                "/Groups",
                &json!({"displayName": "Bad", "members": members}),
            )
            .await;
        assert_scim_error(response, 400, Some("invalidValue")).await;
    }
    let group = app.create_group("Sales", &[ann]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    for value in [
        json!([1]),
        json!(""),
        json!([{"display": "x"}]),
        json!(false),
    ] {
        let (status, error) = patch(
            &app,
            &path,
            json!([{"op": "Add", "path": "members", "value": value}]),
        )
        .await;
        assert_eq!(
            (status, error["scimType"].as_str()),
            (400, Some("invalidValue")),
            "{value}"
        );
    }
    let response = app
        .post(
            "/Groups",
            &json!({"displayName": "Ghost", "members": ["ghost-1"]}),
        )
        .await;
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("ghost-1"));
    assert_eq!(
        member_ids(&json_of(app.get(&path).await, 200).await),
        vec![ann.to_owned()]
    );
}

#[tokio::test]
async fn value_filters_in_attributes_return_only_the_matching_values() {
    let app = spawn_app().await;
    let jyoung = create_jyoung(&app).await;
    let path = format!("/Users/{}", jyoung["id"].as_str().unwrap());
    let (status, user) =
        get_with(&app, &path, &[("attributes", r#"emails[type eq "work"]"#)]).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        user["emails"],
        json!([{"value": "jyoung@work.test", "type": "work", "primary": true}])
    );
    assert_eq!(user["id"], jyoung["id"]);
    assert_eq!(user["schemas"], jyoung["schemas"]);
    assert!(
        user.get("userName").is_none() && user.get("meta").is_none(),
        "{user}"
    );

    let (_, user) = get_with(
        &app,
        &path,
        &[("attributes", r#"userName,emails[type eq "work"].value"#)],
    )
    .await;
    assert_eq!(user["userName"], "jyoung@example.com");
    assert_eq!(user["emails"], json!([{"value": "jyoung@work.test"}]));

    let (_, user) = get_with(&app, &path, &[("attributes", r#"emails[type eq "pager"]"#)]).await;
    assert!(user.get("emails").is_none(), "{user}");

    let (_, user) = get_with(
        &app,
        &path,
        &[("excludedAttributes", r#"emails[type eq "home"]"#)],
    )
    .await;
    assert_eq!(user["userName"], "jyoung@example.com");
    assert_eq!(
        user["emails"],
        json!([{"value": "jyoung@work.test", "type": "work", "primary": true}])
    );

    // Written by hand, percent-encoded, with a bare value.
    let user = json_of(
        app.get(&format!(
            "{path}?attributes=emails%5Btype%20eq%20work%5D.value"
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(user["emails"], json!([{"value": "jyoung@work.test"}]));
}

#[tokio::test]
async fn value_filters_in_attributes_shape_lists_and_searches_too() {
    let app = spawn_app().await;
    create_jyoung(&app).await;
    app.create_user("other@example.com").await;
    let (status, list) = get_with(
        &app,
        "/Users",
        &[
            ("filter", "externalId eq jyoung"),
            ("attributes", r#"emails[type eq "home"].value"#),
        ],
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["Resources"][0]["emails"],
        json!([{"value": "jyoung@home.test"}])
    );
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName sw j",
        "excludedAttributes": ["emails[type eq \"work\"]", "name"]
    });
    let (status, list) = app
        .call_scim(&app.scim_token, Method::POST, "/Users/.search", Some(&body))
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["Resources"][0]["emails"],
        json!([{"value": "jyoung@home.test", "type": "home"}])
    );
    // At the root, Groups have no emails: the filter only shapes Users.
    let (status, list) = get_with(
        &app,
        "/",
        &[
            ("filter", "userName sw j"),
            ("attributes", r#"emails[type eq "home"].value"#),
        ],
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["Resources"][0]["emails"],
        json!([{"value": "jyoung@home.test"}])
    );
}

#[tokio::test]
async fn value_filters_in_attributes_that_cannot_be_read_are_400_invalid_filter() {
    let app = spawn_app().await;
    let jyoung = create_jyoung(&app).await;
    let path = format!("/Users/{}", jyoung["id"].as_str().unwrap());
    for (parameter, list) in [
        ("attributes", r#"emails[type eq "work""#),
        ("attributes", r#"userName,emails[type eq]"#),
        ("excludedAttributes", r#"emails[nosuch eq "x"]"#),
        ("attributes", r#"userName[value eq "x"]"#),
    ] {
        let response = app
            .scim(Method::GET, &path)
            .query(&[(parameter, list)])
            .send()
            .await
            .expect("request");
        let error = assert_scim_error(response, 400, Some("invalidFilter")).await;
        assert!(
            error["detail"].as_str().unwrap().contains(parameter),
            "{error}"
        );
        let response = app
            .scim(Method::GET, "/Users")
            .query(&[(parameter, list)])
            .send()
            .await
            .expect("request");
        assert_scim_error(response, 400, Some("invalidFilter")).await;
    }
}

#[tokio::test]
async fn endpoint_names_route_in_any_case_and_ids_stay_exact() {
    let app = spawn_app().await;
    let user = app.create_user("ann@example.com").await;
    let id = user["id"].as_str().unwrap();
    for path in [
        "/users",
        "/USERS",
        "/groups",
        "/serviceproviderconfig",
        "/schemas",
        "/resourcetypes",
        "/resourcetypes/User",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        "/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
    let (status, list) =
        get_with(&app, "/users", &[("filter", "userName eq ann@example.com")]).await;
    assert_eq!((status, ids(&list)), (200, vec![id.to_owned()]));
    let fetched = json_of(app.get(&format!("/USERS/{id}")).await, 200).await;
    assert_eq!(
        fetched["meta"]["location"],
        json!(format!("{}/Users/{id}", app.scim_base))
    );
    let (status, patched) = patch(
        &app,
        &format!("/users/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "Ann"}]),
    )
    .await;
    assert_eq!(
        (status, patched["displayName"].as_str()),
        (200, Some("Ann"))
    );
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"ann@example.com\""});
    let (status, list) = app
        .call_scim(
            &app.scim_token,
            Method::POST,
            "/users/.search",
            Some(&search),
        )
        .await;
    assert_eq!((status, list["totalResults"].as_u64()), (200, Some(1)));
    let response = app
        .post("/groups", &json!({"displayName": "Sales", "members": [id]}))
        .await;
    let group = json_of(response, 201).await;
    assert_eq!(
        group["meta"]["location"],
        json!(format!(
            "{}/Groups/{}",
            app.scim_base,
            group["id"].as_str().unwrap()
        ))
    );
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "bulk@example.com"}}]
    });
    let (status, answer) = app
        .call_scim(&app.scim_token, Method::POST, "/bulk", Some(&bulk))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["Operations"][0]["status"], "201");
    // Ids are case-exact: the same id in capitals is another resource.
    let response = app.get(&format!("/users/{}", id.to_uppercase())).await;
    assert_scim_error(response, 404, None).await;
    assert_scim_error(app.get("/widgets").await, 404, None).await;
}
