//! Tenants never see each other's data.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::scimd;
use crate::helpers::*;

// The in-process server keeps running while a CLI process runs (see
// `cli::run`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_never_see_each_others_users_or_groups() {
    let app = spawn_app().await;
    let ann = app.create_user("ann@example.com").await;
    let ann_id = ann["id"].as_str().unwrap();
    let sales = app.create_group("Sales", &[ann_id]).await;
    let sales_id = sales["id"].as_str().unwrap();

    let output = scimd(&app.db.url, &["tenant", "create", "acme", "--json"]);
    let acme: Value = serde_json::from_str(&output).unwrap();
    let acme_token = acme["scim_token"].as_str().unwrap();

    for path in [format!("/Users/{ann_id}"), format!("/Groups/{sales_id}")] {
        let response = app
            .scim_as(acme_token, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 404, None).await;
        let response = app
            .scim_as(acme_token, Method::DELETE, &path)
            .send()
            .await
            .unwrap();
        assert_scim_error(response, 404, None).await;
    }
    let response = app
        .scim_as(acme_token, Method::PUT, &format!("/Users/{ann_id}"))
        .json(&json!({"userName": "stolen@example.com"}))
        .send()
        .await
        .unwrap();
    assert_scim_error(response, 404, None).await;

    let list = app
        .scim_as(
            acme_token,
            Method::GET,
            "/Users?filter=userName+eq+%22ann%40example.com%22",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(list, 200).await["totalResults"], 0);
    let list = app
        .scim_as(acme_token, Method::GET, "/Groups")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(list, 200).await["totalResults"], 0);

    // Uniqueness is per tenant: acme may use the same userName and group name.
    let response = app
        .scim_as(acme_token, Method::POST, "/Users")
        .json(&json!({"userName": "ann@example.com"}))
        .send()
        .await
        .unwrap();
    let acme_ann = json_of(response, 201).await;
    let response = app
        .scim_as(acme_token, Method::POST, "/Groups")
        .json(&json!({"displayName": "Sales", "members": [{"value": ann_id}]}))
        .send()
        .await
        .unwrap();
    let error = assert_scim_error(response, 400, Some("invalidValue")).await;
    assert!(
        error["detail"].as_str().unwrap().contains(ann_id),
        "another tenant's user is unknown here"
    );
    let response = app
        .scim_as(acme_token, Method::POST, "/Groups")
        .json(&json!({"displayName": "Sales", "members": [{"value": acme_ann["id"]}]}))
        .send()
        .await
        .unwrap();
    json_of(response, 201).await;

    // The default tenant still sees only its own.
    let list = json_of(app.get("/Users").await, 200).await;
    assert_eq!(ids(&list), vec![ann_id.to_owned()]);
}
