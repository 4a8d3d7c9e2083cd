//! `/Groups`: members, uniqueness, replace, delete and lookups.

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

/// The `display` of each member, by member id.
fn displays(group: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| {
                    (
                        m["value"].as_str().unwrap().to_owned(),
                        m["display"].as_str().unwrap_or("<none>").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn a_group_is_created_with_its_members_and_they_see_it_in_their_groups() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let response = app
        .post("/Groups", &json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "members": [{"value": ann_id, "display": "Ann"}]}))
        .await;
    assert!(response.headers().get("location").is_some());
    let group = json_of(response, 201).await;
    let group_id = group["id"].as_str().unwrap();
    assert_eq!(group["meta"]["resourceType"], "Group");
    assert_eq!(group["members"][0]["value"], ann_id);
    assert_eq!(group["members"][0]["type"], "User");
    // The member's own name, not the `display` the client sent.
    assert_eq!(group["members"][0]["display"], "ann@example.com");
    assert_eq!(
        group["members"][0]["$ref"],
        json!(format!("{}/Users/{ann_id}", app.scim_base))
    );
    assert_eq!(
        json_of(app.get(&format!("/Groups/{group_id}")).await, 200).await,
        group
    );

    let ann = json_of(app.get(&format!("/Users/{ann_id}")).await, 200).await;
    assert_eq!(
        ann["groups"],
        json!([{
            "value": group_id,
            "$ref": format!("{}/Groups/{group_id}", app.scim_base),
            "display": "Sales",
            "type": "direct"
        }])
    );
}

#[tokio::test]
async fn groups_can_contain_groups() {
    let app = spawn_app().await;
    let inner = app.create_group("Inner", &[]).await;
    let inner_id = inner["id"].as_str().unwrap();
    let outer = app.create_group("Outer", &[inner_id]).await;
    assert_eq!(outer["members"][0]["type"], "Group");
    let response = app
        .post(
            "/Groups",
            &json!({"displayName": "Wrong", "members": [{"value": inner_id, "type": "User"}]}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn unknown_members_are_400_invalid_value_and_nothing_is_created() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let response = app
        .post("/Groups", &json!({"displayName": "Sales", "members": [{"value": ann["id"]}, {"value": "ghost-1"}]}))
        .await;
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(error["detail"].as_str().unwrap().contains("ghost-1"));
    let list = json_of(app.get("/Groups").await, 200).await;
    assert_eq!(list["totalResults"], 0);
}

#[tokio::test]
async fn group_display_names_are_unique_per_tenant_ignoring_case() {
    let app = spawn_app().await;
    app.create_group("Sales", &[]).await;
    let response = app.post("/Groups", &json!({"displayName": "SALES"})).await;
    assert_scim_error(response, 409, Some("uniqueness")).await;
    let response = app.post("/Groups", &json!({"displayName": ""})).await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn replacing_a_group_replaces_its_members_and_bumps_its_version() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let group = app
        .create_group("Sales", &[ann["id"].as_str().unwrap()])
        .await;
    let id = group["id"].as_str().unwrap();
    let response = app
        .put(
            &format!("/Groups/{id}"),
            &json!({"displayName": "Sales EMEA", "members": [{"value": bob["id"]}]}),
        )
        .await;
    assert_eq!(response.headers()["etag"], "W/\"2\"");
    let replaced = json_of(response, 200).await;
    assert_eq!(replaced["displayName"], "Sales EMEA");
    assert_eq!(
        member_ids(&replaced),
        vec![bob["id"].as_str().unwrap().to_owned()]
    );
    let ann = json_of(
        app.get(&format!("/Users/{}", ann["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert!(ann.get("groups").is_none());
    let response = app
        .put(
            &format!("/Groups/{id}"),
            &json!({"displayName": "Loop", "members": [{"value": id}]}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_its_groups_and_bumps_their_version() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let bob_id = bob["id"].as_str().unwrap();
    let group = app.create_group("Sales", &[ann_id, bob_id]).await;
    let id = group["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/Users/{ann_id}")).await.status(), 204);
    let group = json_of(app.get(&format!("/Groups/{id}")).await, 200).await;
    assert_eq!(member_ids(&group), vec![bob_id.to_owned()]);
    assert_eq!(group["meta"]["version"], "W/\"2\"");
}

#[tokio::test]
async fn deleting_a_group_leaves_its_members_and_parent_groups_intact() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let inner = app.create_group("Inner", &[ann_id]).await;
    let inner_id = inner["id"].as_str().unwrap();
    let outer = app.create_group("Outer", &[inner_id, ann_id]).await;
    assert_eq!(
        app.delete(&format!("/Groups/{inner_id}")).await.status(),
        204
    );
    assert_scim_error(app.get(&format!("/Groups/{inner_id}")).await, 404, None).await;
    let outer = json_of(
        app.get(&format!("/Groups/{}", outer["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(member_ids(&outer), vec![ann_id.to_owned()]);
    json_of(app.get(&format!("/Users/{ann_id}")).await, 200).await;
}

#[tokio::test]
async fn groups_are_found_by_display_name_and_member_and_listed_without_members_on_request() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let sales = app.create_group("Sales Team", &[ann_id]).await;
    app.create_group("Support", &[]).await;

    let list = json_of(
        app.get("/Groups?filter=displayName+eq+%22sales+team%22")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&list), vec![sales["id"].as_str().unwrap().to_owned()]);
    assert_eq!(list["Resources"][0]["members"][0]["value"], ann_id);

    let path = format!("/Groups?filter=members.value+eq+%22{ann_id}%22");
    let list = json_of(app.get(&path).await, 200).await;
    assert_eq!(ids(&list), vec![sales["id"].as_str().unwrap().to_owned()]);

    let list = json_of(
        app.get("/Groups?filter=displayName+eq+%22Sales+Team%22&excludedAttributes=members")
            .await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 1);
    assert!(list["Resources"][0].get("members").is_none());
    assert_eq!(list["Resources"][0]["displayName"], "Sales Team");
}

#[tokio::test]
async fn members_show_the_current_name_of_each_user_and_nested_group() {
    let app = spawn_app().await;
    let ann = json_of(
        app.post(
            "/Users",
            &json!({"userName": "ann@example.com", "displayName": "Ann Smith"}),
        )
        .await,
        201,
    )
    .await;
    let bob = json_of(
        app.post("/Users", &json!({"userName": "bob@example.com"}))
            .await,
        201,
    )
    .await;
    let (ann_id, bob_id) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let inner = app.create_group("Inner", &[]).await;
    let inner_id = inner["id"].as_str().unwrap();
    let outer = app.create_group("Outer", &[ann_id, bob_id, inner_id]).await;
    let outer_path = format!("/Groups/{}", outer["id"].as_str().unwrap());
    let named = |ann: &str, bob: &str, inner: &str| {
        let mut expected = vec![
            (ann_id.to_owned(), ann.to_owned()),
            (bob_id.to_owned(), bob.to_owned()),
            (inner_id.to_owned(), inner.to_owned()),
        ];
        expected.sort();
        expected
    };
    // displayName, else userName; a group's displayName.
    assert_eq!(
        displays(&outer),
        named("Ann Smith", "bob@example.com", "Inner")
    );
    let inner_member = outer["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == inner_id)
        .unwrap();
    assert_eq!(
        inner_member,
        &json!({
            "value": inner_id,
            "$ref": format!("{}/Groups/{inner_id}", app.scim_base),
            "type": "Group",
            "display": "Inner",
        })
    );

    // Renames after joining show at once; an empty displayName is unassigned.
    let (status, _) = patch(
        &app,
        &format!("/Users/{ann_id}"),
        json!([{"op": "replace", "path": "displayName", "value": "Ann Jones"}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = patch(
        &app,
        &format!("/Users/{bob_id}"),
        json!([{"op": "replace", "value": {"userName": "robert@example.com", "displayName": ""}}]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = patch(
        &app,
        &format!("/Groups/{inner_id}"),
        json!([{"op": "replace", "path": "displayName", "value": "Inner Circle"}]),
    )
    .await;
    assert_eq!(status, 204);
    let renamed = named("Ann Jones", "robert@example.com", "Inner Circle");
    let outer = json_of(app.get(&outer_path).await, 200).await;
    assert_eq!(displays(&outer), renamed);

    // Lists and searches carry the same names.
    let list = json_of(
        app.get("/Groups?filter=displayName+eq+%22Outer%22").await,
        200,
    )
    .await;
    assert_eq!(displays(&list["Resources"][0]), renamed);
    let search = json_of(
        app.post(
            "/Groups/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName eq \"Outer\""}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(displays(&search["Resources"][0]), renamed);
}

#[tokio::test]
async fn write_responses_show_member_names() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let (ann_id, bob_id) = (ann["id"].as_str().unwrap(), bob["id"].as_str().unwrap());
    let group = app.create_group("Sales", &[ann_id]).await;
    let path = format!("/Groups/{}", group["id"].as_str().unwrap());
    assert_eq!(
        displays(&group),
        vec![(ann_id.to_owned(), "ann@example.com".to_owned())]
    );

    let replaced = json_of(
        app.put(
            &path,
            &json!({"displayName": "Sales", "members": [{"value": ann_id}, {"value": bob_id}]}),
        )
        .await,
        200,
    )
    .await;
    let both = {
        let mut both = vec![
            (ann_id.to_owned(), "ann@example.com".to_owned()),
            (bob_id.to_owned(), "bob@example.com".to_owned()),
        ];
        both.sort();
        both
    };
    assert_eq!(displays(&replaced), both);
    // The same PUT again changes nothing, and still names the members.
    let again = json_of(
        app.put(
            &path,
            &json!({"displayName": "Sales", "members": [{"value": ann_id}, {"value": bob_id}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["meta"]["version"], replaced["meta"]["version"]);
    assert_eq!(displays(&again), both);

    // A PATCH answers with a body only when asked for one.
    let (status, body) = patch(
        &app,
        &format!("{path}?attributes=members"),
        json!([{"op": "remove", "path": format!("members[value eq \"{bob_id}\"]")}]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        displays(&body),
        vec![(ann_id.to_owned(), "ann@example.com".to_owned())]
    );
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "add", "path": "members", "value": [{"value": bob_id}]}]),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    let group = json_of(app.get(&path).await, 200).await;
    assert_eq!(displays(&group), both);
}

#[tokio::test]
async fn groups_are_found_and_projected_by_member_display() {
    let app = spawn_app().await;
    let ann = app.create_user("Ann Smith").await;
    let ann_id = ann["id"].as_str().unwrap();
    let sales = app.create_group("Sales", &[ann_id]).await;
    app.create_group("Support", &[]).await;
    let sales_id = sales["id"].as_str().unwrap().to_owned();

    for filter in [
        "members%5Bdisplay+eq+%22ann+smith%22%5D",
        "members.display+eq+%22Ann+Smith%22",
        "members.display+sw+%22Ann%22",
    ] {
        let list = json_of(app.get(&format!("/Groups?filter={filter}")).await, 200).await;
        assert_eq!(list["totalResults"], 1, "{filter}");
        assert_eq!(ids(&list), vec![sales_id.clone()], "{filter}");
    }
    let list = json_of(
        app.get("/Groups?filter=members.display+eq+%22Bob%22").await,
        200,
    )
    .await;
    assert_eq!(list["totalResults"], 0);
    // A member filter still answers when members are not returned.
    let list = json_of(
        app.get("/Groups?filter=members.display+eq+%22Ann+Smith%22&excludedAttributes=members")
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&list), vec![sales_id.clone()]);
    assert!(list["Resources"][0].get("members").is_none());

    let group = json_of(
        app.get(&format!("/Groups/{sales_id}?attributes=members.display"))
            .await,
        200,
    )
    .await;
    assert_eq!(group["members"], json!([{"display": "Ann Smith"}]));
}

#[tokio::test]
async fn a_page_of_groups_shows_each_group_its_own_members() {
    let app = spawn_app().await;
    let mut expected = Vec::new();
    for n in 0..3 {
        let users: Vec<Value> = team_users(&app, n).await;
        let user_ids: Vec<&str> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
        let group = app.create_group(&format!("Team {n}"), &user_ids).await;
        expected.push((group["id"].as_str().unwrap().to_owned(), displays(&group)));
    }
    let list = json_of(app.get("/Groups?count=10").await, 200).await;
    let listed: Vec<(String, Vec<(String, String)>)> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap().to_owned(), displays(g)))
        .collect();
    assert_eq!(listed, expected);
}

/// Users `team{n}-{i}@example.com` for i in 0..=n.
async fn team_users(app: &TestApp, n: usize) -> Vec<Value> {
    let mut users = Vec::new();
    for i in 0..=n {
        users.push(app.create_user(&format!("team{n}-{i}@example.com")).await);
    }
    users
}

#[tokio::test]
async fn members_created_through_bulk_show_their_names() {
    let app = spawn_app().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "ann@example.com", "displayName": "Ann"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G", "members": [{"value": "bulkId:u"}]}}
        ]
    });
    let response = json_of(app.post("/Bulk", &body).await, 200).await;
    let location = response["Operations"][1]["location"].as_str().unwrap();
    let id = location.rsplit('/').next().unwrap();
    let group = json_of(app.get(&format!("/Groups/{id}")).await, 200).await;
    assert_eq!(group["members"][0]["display"], "Ann");
}

/// The upgrade that keeps `displayName` as given: users written before
/// it get the column from their documents.
#[tokio::test]
async fn upgrading_keeps_each_user_display_name_for_member_names() {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::{ConnectionTrait, Database};

    let db = test_db().await;
    let conn = Database::connect(&db.url).await.unwrap();
    Migrator::up(&conn, Some(5)).await.unwrap();
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
    for (id, display_name_lc, document) in [
        (
            "u-named",
            Some("ann o'brien"),
            r#"{"userName":"ann","displayName":"Ann O'Brien"}"#,
        ),
        ("u-plain", None, r#"{"userName":"bob"}"#),
    ] {
        conn.execute(&insert(
            "users",
            &[
                "id",
                "tenant_id",
                "user_name",
                "user_name_lc",
                "display_name_lc",
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
                display_name_lc.map(str::to_owned).into(),
                true.into(),
                false.into(),
                "active".into(),
                document.into(),
                1i64.into(),
                1i64.into(),
                1i64.into(),
            ],
        ))
        .await
        .unwrap();
    }
    Migrator::up(&conn, None).await.unwrap();
    let rows = conn
        .query_all(
            &Query::select()
                .columns(["id", "display_name"].map(Alias::new))
                .from(Alias::new("users"))
                .order_by(Alias::new("id"), sea_orm::sea_query::Order::Asc)
                .to_owned(),
        )
        .await
        .unwrap();
    let names: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "id").unwrap(),
                row.try_get("", "display_name").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("u-named".to_owned(), Some("Ann O'Brien".to_owned())),
            ("u-plain".to_owned(), None),
        ]
    );
}

const MEMBERS_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group:members";

/// The ids of the groups a user is in, read from the user (member rows).
async fn groups_of(app: &TestApp, user_id: &str) -> Vec<String> {
    let user = json_of(app.get(&format!("/Users/{user_id}")).await, 200).await;
    let mut ids: Vec<String> = user["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|g| g["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn urn_qualified_member_paths_are_checked_like_bare_ones() {
    let app = spawn_app().await;
    let other = app.new_tenant().await;
    let (status, stranger) = app
        .call_scim(
            &other.scim,
            Method::POST,
            "/Users",
            Some(&json!({"userName": "stranger@example.com"})),
        )
        .await;
    assert_eq!(status, 201);
    let stranger_id = stranger["id"].as_str().unwrap();
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let bob = app.create_user("bob@example.com").await;
    let bob_id = bob["id"].as_str().unwrap();
    let group = app.create_group("Sales", &[]).await;
    let group_id = group["id"].as_str().unwrap();
    let path = format!("/Groups/{group_id}");

    // Another tenant's user and an unknown id: refused, nothing written.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "add", "path": MEMBERS_URN,
                "value": [{"value": stranger_id}, {"value": "not-a-real-id"}]}]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    let stored = json_of(app.get(&path).await, 200).await;
    assert!(member_ids(&stored).is_empty(), "{stored}");
    assert_eq!(stored["meta"]["version"], group["meta"]["version"]);

    // The same refusal for a path-less value keyed by the URN name.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "add", "value": {MEMBERS_URN: [{"value": "not-a-real-id"}]}}]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue");
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": MEMBERS_URN, "value": [{"value": stranger_id}]}]),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // Valid ids become member rows: the user sees the group.
    let (status, body) = patch(
        &app,
        &path,
        json!([{"op": "add", "path": MEMBERS_URN, "value": [{"value": ann_id}]}]),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(groups_of(&app, ann_id).await, vec![group_id.to_owned()]);
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "add", "value": {MEMBERS_URN: [{"value": bob_id}]}}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(groups_of(&app, bob_id).await, vec![group_id.to_owned()]);

    // Remove by a URN-qualified value filter removes the row.
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "remove", "path": format!("{MEMBERS_URN}[value eq \"{ann_id}\"]")}]),
    )
    .await;
    assert_eq!(status, 204);
    assert!(groups_of(&app, ann_id).await.is_empty());
    let stored = json_of(app.get(&path).await, 200).await;
    assert_eq!(member_ids(&stored), vec![bob_id.to_owned()]);

    // Replace through the URN path rewrites the rows.
    let (status, _) = patch(
        &app,
        &path,
        json!([{"op": "replace", "path": MEMBERS_URN, "value": [{"value": ann_id}]}]),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(groups_of(&app, ann_id).await, vec![group_id.to_owned()]);
    assert!(groups_of(&app, bob_id).await.is_empty());

    // Removing all members through the URN path leaves none, in rows or
    // in the document.
    let (status, _) = patch(&app, &path, json!([{"op": "remove", "path": MEMBERS_URN}])).await;
    assert_eq!(status, 204);
    let stored = json_of(app.get(&path).await, 200).await;
    assert!(member_ids(&stored).is_empty(), "{stored}");
    assert!(groups_of(&app, ann_id).await.is_empty());
}

#[tokio::test]
async fn urn_qualified_members_in_post_and_put_bodies_become_checked_rows() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let response = app
        .post(
            "/Groups",
            &json!({"displayName": "Sales", MEMBERS_URN: [{"value": "not-a-real-id"}]}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    let response = app
        .post(
            "/Groups",
            &json!({"displayName": "Sales", MEMBERS_URN: [{"value": ann_id}]}),
        )
        .await;
    let group = json_of(response, 201).await;
    let group_id = group["id"].as_str().unwrap();
    assert_eq!(groups_of(&app, ann_id).await, vec![group_id.to_owned()]);
    let path = format!("/Groups/{group_id}");
    let response = app
        .put(
            &path,
            &json!({"displayName": "Sales", MEMBERS_URN: [{"value": "not-a-real-id"}]}),
        )
        .await;
    assert_scim_error(response, 400, Some("invalidValue")).await;
    assert_eq!(groups_of(&app, ann_id).await, vec![group_id.to_owned()]);
    let response = app
        .put(&path, &json!({"displayName": "Sales", MEMBERS_URN: []}))
        .await;
    let replaced = json_of(response, 200).await;
    assert!(member_ids(&replaced).is_empty(), "{replaced}");
    assert!(groups_of(&app, ann_id).await.is_empty());
    // Clearing the rows leaves nothing behind in the document either.
    let stored = json_of(app.get(&path).await, 200).await;
    assert!(stored.get("members").is_none(), "{stored}");
}

#[tokio::test]
async fn a_users_groups_are_read_only_by_the_urn_qualified_path_too() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let group = app.create_group("Sales", &[]).await;
    let path = format!("/Users/{}", ann["id"].as_str().unwrap());
    for attribute in [
        "groups",
        "urn:ietf:params:scim:schemas:core:2.0:User:groups",
    ] {
        let (status, body) = patch(
            &app,
            &path,
            json!([{"op": "add", "path": attribute, "value": [{"value": group["id"]}]}]),
        )
        .await;
        assert_eq!(status, 400, "{attribute}: {body}");
        assert_eq!(body["scimType"], "mutability", "{attribute}");
    }
    let user = json_of(app.get(&path).await, 200).await;
    assert!(user.get("groups").is_none(), "{user}");
}

/// A user's groups are read with the user in one statement (issue 16):
/// by id, by a `userName` lookup and in a long list they are the same,
/// in name order, with names exactly as written (quotes, backslashes,
/// non-ASCII).
#[tokio::test]
async fn a_users_groups_are_the_same_by_id_by_lookup_and_in_long_lists() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    for n in 0..20 {
        app.create_user(&format!("filler{n}@example.com")).await;
    }
    let names = ["Ärger ✓", "zeta \"quoted\"", "alpha\\back"];
    for name in names {
        app.create_group(name, &[ann_id]).await;
    }
    let expected: Vec<&str> = vec!["alpha\\back", "zeta \"quoted\"", "Ärger ✓"];
    let displays = |user: &Value| -> Vec<String> {
        user["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["display"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_id = json_of(app.get(&format!("/Users/{ann_id}")).await, 200).await;
    assert_eq!(displays(&by_id), expected);
    let lookup = json_of(
        app.get("/Users?filter=userName%20eq%20%22ann@example.com%22")
            .await,
        200,
    )
    .await;
    assert_eq!(lookup["Resources"][0], by_id);
    let long = json_of(app.get("/Users?count=100").await, 200).await;
    let listed = long["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == ann_id)
        .unwrap();
    assert_eq!(listed, &by_id);
    let without = json_of(
        app.get(&format!("/Users/{ann_id}?excludedAttributes=groups"))
            .await,
        200,
    )
    .await;
    assert!(without.get("groups").is_none(), "{without}");
    let filler = json_of(
        app.get("/Users?filter=userName%20eq%20%22filler3@example.com%22")
            .await,
        200,
    )
    .await;
    assert!(filler["Resources"][0].get("groups").is_none());
}

#[tokio::test]
async fn a_written_user_answers_with_its_groups_and_its_change_is_audited_once() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let new_user = json!({"schemas": [USER_SCHEMA], "userName": "pat@example.com"});
    let (status, pat) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&new_user))
        .await;
    assert_eq!(status, 201, "{pat}");
    let path = format!("/Users/{}", pat["id"].as_str().unwrap());
    for name in ["Sales", "Admins"] {
        let group = json!({"schemas": [GROUP_SCHEMA], "displayName": name,
            "members": [{"value": pat["id"]}]});
        let (status, body) = app
            .call_scim(&t.scim, Method::POST, "/Groups", Some(&group))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let names = |user: &Value| -> Vec<String> {
        let groups = user["groups"].as_array().cloned().unwrap_or_default();
        groups
            .iter()
            .map(|g| g["display"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    // Okta's deactivation: the groups come from the read under the lock.
    let deactivate = json!({"schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (status, body) = app
        .call_scim(&t.scim, Method::PATCH, &path, Some(&deactivate))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(names(&body), ["Admins", "Sales"]);
    let put = json!({"schemas": [USER_SCHEMA], "userName": "pat@example.com",
        "title": "Agent", "active": false});
    let (status, body) = app.call_scim(&t.scim, Method::PUT, &path, Some(&put)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], "Agent");
    assert_eq!(names(&body), ["Admins", "Sales"]);
    // Nothing changes: no write, no event.
    let (status, again) = app.call_scim(&t.scim, Method::PUT, &path, Some(&put)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, body);

    let audit = format!("/audit?user_id={}", pat["id"].as_str().unwrap());
    let (status, audit) = app.call_admin(&t.admin, Method::GET, &audit, None).await;
    assert_eq!(status, 200, "{audit}");
    let events = audit["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.update", "user.deactivate", "user.create"]);
    assert_eq!(events[0]["attributes"], json!(["title"]));
    assert_eq!(events[1]["attributes"], json!(["active"]));
}
