//! Discovery documents tell the truth about what is implemented.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_service_provider_config_states_what_scimd_implements() {
    let app = spawn_app().await;
    let config = json_of(app.get("/ServiceProviderConfig").await, 200).await;
    assert_eq!(
        config["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["filter"]["maxResults"], 1000);
    assert_eq!(config["sort"]["supported"], true);
    assert_eq!(config["pagination"]["cursor"], true);
    assert_eq!(config["pagination"]["index"], true);
    assert_eq!(config["pagination"]["defaultPaginationMethod"], "index");
    assert_eq!(config["pagination"]["maxPageSize"], 1000);
    assert_eq!(config["pagination"]["cursorTimeout"], 3600);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], true);
    assert_eq!(config["changePassword"]["supported"], false);
    let schemes: Vec<&str> = config["authenticationSchemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(schemes, ["oauthbearertoken", "httpbasic"]);
}

#[tokio::test]
async fn resource_types_list_users_with_the_enterprise_and_phone_extensions_and_groups() {
    let app = spawn_app().await;
    let list = json_of(app.get("/ResourceTypes").await, 200).await;
    assert_eq!(list["totalResults"], 2);
    let user = json_of(app.get("/ResourceTypes/User").await, 200).await;
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER_SCHEMA);
    assert_eq!(
        user["schemaExtensions"],
        json!([
            {"schema": ENTERPRISE, "required": false},
            {"schema": PHONE, "required": false}
        ])
    );
    assert_eq!(
        user["meta"]["location"],
        json!(format!("{}/ResourceTypes/User", app.scim_base))
    );
    assert_scim_error(app.get("/ResourceTypes/Widget").await, 404, None).await;
}

#[tokio::test]
async fn schemas_are_served_in_full_and_one_by_one() {
    let app = spawn_app().await;
    let list = json_of(app.get("/Schemas").await, 200).await;
    let ids: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            USER_SCHEMA,
            ENTERPRISE,
            PHONE,
            GROUP_SCHEMA,
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
            "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
            "urn:ietf:params:scim:schemas:core:2.0:Schema",
        ]
    );
    let user = json_of(app.get(&format!("/Schemas/{USER_SCHEMA}")).await, 200).await;
    let password = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(password["returned"], "never");
    assert_eq!(
        user["meta"]["location"],
        json!(format!("{}/Schemas/{USER_SCHEMA}", app.scim_base))
    );
}

#[tokio::test]
async fn the_phone_extension_is_served_with_its_attributes() {
    let app = spawn_app().await;
    let phone = json_of(app.get(&format!("/Schemas/{PHONE}")).await, 200).await;
    assert_eq!(phone["id"], PHONE);
    assert_eq!(phone["name"], "PhoneUser");
    assert_eq!(
        phone["meta"],
        json!({"resourceType": "Schema", "location": format!("{}/Schemas/{PHONE}", app.scim_base)})
    );
    let attributes = phone["attributes"].as_array().unwrap();
    let names: Vec<&str> = attributes
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["extension", "callerId", "site"]);
    for attribute in attributes {
        assert_eq!(attribute["type"], "string");
        assert_eq!(attribute["multiValued"], false);
        assert_eq!(attribute["required"], false);
        assert_eq!(attribute["mutability"], "readWrite");
        assert_eq!(attribute["returned"], "default");
        assert_eq!(
            attribute["caseExact"],
            attribute["name"] != "site",
            "{attribute}"
        );
    }
    // Names are case-insensitive in the path too.
    json_of(
        app.get(&format!("/Schemas/{}", PHONE.to_lowercase())).await,
        200,
    )
    .await;
}
