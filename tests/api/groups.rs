//! `/Groups`: members, uniqueness, replace, delete and lookups.

use serde_json::json;

use crate::helpers::*;

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
