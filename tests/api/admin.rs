//! The admin API (`/api/v1`): authentication, JSON errors, users,
//! assets, group owners, call records, tokens, audit, tenancy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::deprovisioning::{give, user};
use crate::helpers::*;

pub fn assert_admin_error(status: u16, body: &Value, expected_status: u16, error: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_an_admin_token_and_answers_json_errors() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/api/v1/users", app.address))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, body) = status_and_json(response).await;
    assert_admin_error(status, &body, 401, "unauthorized");

    let (status, body) = app
        .call_admin(&app.scim_token, Method::GET, "/users", None)
        .await;
    assert_admin_error(status, &body, 403, "forbidden");
    // And the admin token is not a SCIM token.
    let (status, _) = app
        .call_scim(&app.admin_token, Method::GET, "/Users", None)
        .await;
    assert_eq!(status, 403);

    let token = &app.admin_token;
    let (status, body) = app.call_admin(token, Method::GET, "/nothing", None).await;
    assert_admin_error(status, &body, 404, "not_found");
    let (status, body) = app.call_admin(token, Method::DELETE, "/seats", None).await;
    assert_admin_error(status, &body, 405, "method_not_allowed");
    let (status, body) = app
        .call_admin(token, Method::GET, "/users/missing", None)
        .await;
    assert_admin_error(status, &body, 404, "not_found");
    let (status, body) = app
        .call_admin(token, Method::GET, "/users?limit=many", None)
        .await;
    assert_admin_error(status, &body, 400, "invalid_request");

    let response = app
        .admin_as(token, Method::POST, "/assets")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_admin_error(status, &body, 400, "invalid_request");
    let (status, body) = app
        .call_admin(
            token,
            Method::POST,
            "/assets",
            Some(&json!({"kind": "number"})),
        )
        .await;
    assert_admin_error(status, &body, 422, "invalid_request");
}

#[tokio::test]
async fn nul_characters_and_out_of_range_numbers_are_refused_alike_on_both_databases() {
    let app = spawn_app().await;
    let token = &app.admin_token;
    // Regression: PostgreSQL cannot store NUL, and answered 500.
    for (method, path) in [
        (Method::GET, "/users/%00"),
        (Method::POST, "/users/a%00b/deactivate"),
        (Method::DELETE, "/assets/%00"),
        (Method::GET, "/groups/%00/owner"),
    ] {
        let (status, body) = app.call_admin(token, method, path, None).await;
        assert_admin_error(status, &body, 404, "not_found");
    }
    for path in [
        "/audit?user_id=%00",
        "/call-records?user_id=a%00",
        "/assets?owner_id=%00",
    ] {
        let (status, body) = app.call_admin(token, Method::GET, path, None).await;
        assert_admin_error(status, &body, 400, "invalid_request");
    }
    for (path, body) in [
        ("/tokens", json!({"label": "a\u{0}b", "scope": "scim"})),
        (
            "/assets",
            json!({"kind": "number", "name": "+1", "owner_id": "x\u{0}"}),
        ),
    ] {
        let (status, answer) = app.call_admin(token, Method::POST, path, Some(&body)).await;
        assert_admin_error(status, &answer, 400, "invalid_request");
    }
    // A limit is 1 to 1000 (DESIGN §5): outside is refused, never clamped.
    for path in [
        "/users?limit=0",
        "/audit?limit=0",
        "/call-records?limit=0",
        "/users?limit=1001",
        "/audit?limit=5000",
        "/call-records?limit=1001",
        "/users?limit=18446744073709551616",
        "/users?limit=-1",
    ] {
        let (status, body) = app.call_admin(token, Method::GET, path, None).await;
        assert_admin_error(status, &body, 400, "invalid_request");
    }
    for path in [
        "/users?limit=1000",
        "/audit?limit=1",
        "/call-records?limit=1000",
    ] {
        let (status, body) = app.call_admin(token, Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn users_show_access_admin_and_owned_counts_page_by_page() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let boss = user(&app, &t, "boss@example.com", true, None).await;
    let agent = user(&app, &t, "agent@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0200", &agent).await;
    give(&app, &t, "number", "+1 555 0201", &agent).await;
    give(&app, &t, "workflow", "Queue", &agent).await;

    let (status, page) = app.call_admin(&t.admin, Method::GET, "/users", None).await;
    assert_eq!(status, 200);
    let users = page["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["id"], json!(boss));
    assert_eq!(users[0]["admin"], true);
    assert_eq!(
        users[0]["owned"],
        json!({"number": 0, "workflow": 0, "group": 0})
    );
    let agent_view = &users[1];
    assert_eq!(agent_view["user_name"], "agent@example.com");
    assert_eq!(agent_view["display_name"], "agent@example.com Display");
    assert_eq!(agent_view["active"], true);
    assert_eq!(agent_view["access"], "active");
    assert_eq!(
        agent_view["owned"],
        json!({"number": 2, "workflow": 1, "group": 0})
    );
    assert!(agent_view["created"].as_str().unwrap().ends_with('Z'));

    assert_eq!(page["next_cursor"], Value::Null);
    let (_, first) = app
        .call_admin(&t.admin, Method::GET, "/users?limit=1", None)
        .await;
    assert_eq!(first["users"][0]["id"], json!(boss));
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/users?limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(second["users"][0]["id"], json!(agent));
    assert_eq!(second["users"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);

    // Deactivating through the admin API is the same change as the IdP's.
    let path = format!("/users/{boss}/deactivate");
    let (status, body) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_eq!(status, 409, "the last admin: {body}");
    assert_eq!(body["reason"], "last_admin");
    let path = format!("/users/{agent}/deprovision-check");
    let (_, check) = app.call_admin(&t.admin, Method::GET, &path, None).await;
    assert_eq!(check["can_deactivate"], false);
    assert_eq!(check["reason"], "owns_assets");
    let (_, check) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/users/{boss}/deprovision-check"),
            None,
        )
        .await;
    assert_eq!(
        (
            check["can_deactivate"].clone(),
            check["can_delete"].clone(),
            check["reason"].clone()
        ),
        (json!(false), json!(false), json!("last_admin"))
    );
}

#[tokio::test]
async fn assets_are_created_listed_moved_renamed_and_deleted_and_every_change_is_audited() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let bob = user(&app, &t, "bob@example.com", false, None).await;
    let gone = user(&app, &t, "gone@example.com", false, None).await;
    app.call_admin(
        &t.admin,
        Method::POST,
        &format!("/users/{gone}/deactivate"),
        None,
    )
    .await;

    let body = json!({"kind": "number", "name": "+1 555 0300", "owner_id": ann});
    let (status, asset) = app
        .call_admin(&t.admin, Method::POST, "/assets", Some(&body))
        .await;
    assert_eq!(status, 201, "{asset}");
    let id = asset["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            asset["kind"].clone(),
            asset["name"].clone(),
            asset["owner_id"].clone()
        ),
        (json!("number"), json!("+1 555 0300"), json!(ann))
    );
    let (status, body) = app
        .call_admin(&t.admin, Method::POST, "/assets", Some(&body))
        .await;
    assert_admin_error(status, &body, 409, "conflict");
    let refusals = [
        (
            json!({"kind": "fax", "name": "x", "owner_id": ann}),
            400,
            "invalid_request",
        ),
        (
            json!({"kind": "number", "name": " ", "owner_id": ann}),
            400,
            "invalid_request",
        ),
        (
            json!({"kind": "number", "name": "+1", "owner_id": "nobody"}),
            400,
            "invalid_request",
        ),
        (
            json!({"kind": "number", "name": "+1", "owner_id": gone}),
            409,
            "conflict",
        ),
    ];
    for (body, status, error) in refusals {
        let (actual, answer) = app
            .call_admin(&t.admin, Method::POST, "/assets", Some(&body))
            .await;
        assert_admin_error(actual, &answer, status, error);
    }

    let path = format!("/assets/{id}");
    let change = json!({"owner_id": bob, "name": "+1 555 0301"});
    let (status, moved) = app
        .call_admin(&t.admin, Method::PATCH, &path, Some(&change))
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (moved["owner_id"].clone(), moved["name"].clone()),
        (json!(bob), json!("+1 555 0301"))
    );
    let (_, listed) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/assets?owner_id={bob}"),
            None,
        )
        .await;
    assert_eq!(listed["assets"].as_array().unwrap().len(), 1);
    let (_, listed) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/assets?owner_id={ann}"),
            None,
        )
        .await;
    assert_eq!(listed["assets"], json!([]));
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::PATCH,
            &path,
            Some(&json!({"owner_id": gone})),
        )
        .await;
    assert_eq!(status, 409, "a deactivated user owns nothing");
    let (status, body) = app
        .call_admin(
            &t.admin,
            Method::PATCH,
            &path,
            Some(&json!({"owner_id": null})),
        )
        .await;
    assert_admin_error(status, &body, 400, "invalid_request");

    let (status, body) = app.call_admin(&t.admin, Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"completed": null}));
    let (status, body) = app.call_admin(&t.admin, Method::GET, &path, None).await;
    assert_admin_error(status, &body, 404, "not_found");

    let (_, audit) = app
        .call_admin(&t.admin, Method::GET, "/audit?limit=3", None)
        .await;
    let events = audit["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["asset.delete", "asset.update", "asset.create"]);
    assert!(
        events
            .iter()
            .all(|e| e["actor"] == "initial admin token" && e["target_id"] == json!(id))
    );
    assert_eq!(events[1]["attributes"], json!(["owner_id", "name"]));
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn group_owners_are_set_read_and_cleared() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let body = json!({"schemas": [GROUP_SCHEMA], "displayName": "Support"});
    let (_, group) = app
        .call_scim(&t.scim, Method::POST, "/Groups", Some(&body))
        .await;
    let path = format!("/groups/{}/owner", group["id"].as_str().unwrap());

    let (status, owner) = app.call_admin(&t.admin, Method::GET, &path, None).await;
    assert_eq!((status, owner["owner_id"].clone()), (200, Value::Null));
    let (status, owner) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            &path,
            Some(&json!({"owner_id": ann})),
        )
        .await;
    assert_eq!((status, owner["owner_id"].clone()), (200, json!(ann)));
    assert_eq!(
        app.call_admin(&t.admin, Method::GET, &path, None).await.1["owner_id"],
        json!(ann)
    );
    // A SCIM PUT of the group leaves its owner alone.
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PUT,
            &format!("/Groups/{}", group["id"].as_str().unwrap()),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.call_admin(&t.admin, Method::GET, &path, None).await.1["owner_id"],
        json!(ann)
    );
    let (status, owner) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            &path,
            Some(&json!({"owner_id": null})),
        )
        .await;
    assert_eq!((status, owner["owner_id"].clone()), (200, Value::Null));
    let (status, body) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            "/groups/missing/owner",
            Some(&json!({"owner_id": ann})),
        )
        .await;
    assert_admin_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn call_records_are_validated_and_listed_newest_first() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let call = |started: &str, direction: &str, duration: i64| {
        json!({"user_id": ann, "number": "+1 555 0400", "direction": direction,
               "started_at": started, "duration_seconds": duration})
    };
    for (body, status) in [
        (call("2026-11-01T10:00:00Z", "outbound", 60), 201),
        (call("2026-11-02T10:00:00+05:30", "inbound", 0), 201),
        (call("yesterday", "inbound", 1), 400),
        (call("2026-11-02T10:00:00Z", "sideways", 1), 400),
        (call("2026-11-02T10:00:00Z", "inbound", -1), 400),
    ] {
        let (actual, answer) = app
            .call_admin(&t.admin, Method::POST, "/call-records", Some(&body))
            .await;
        assert_eq!(actual, status, "{body}: {answer}");
    }
    let unknown = json!({"user_id": "nobody", "number": "+1", "direction": "inbound",
                         "started_at": "2026-11-02T10:00:00Z", "duration_seconds": 1});
    let (status, body) = app
        .call_admin(&t.admin, Method::POST, "/call-records", Some(&unknown))
        .await;
    assert_admin_error(status, &body, 400, "invalid_request");

    let (_, listed) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/call-records?user_id={ann}&limit=10"),
            None,
        )
        .await;
    let records = listed["call_records"].as_array().unwrap();
    let started: Vec<&str> = records
        .iter()
        .map(|r| r["started_at"].as_str().unwrap())
        .collect();
    assert_eq!(
        started,
        ["2026-11-02T04:30:00.000Z", "2026-11-01T10:00:00.000Z"]
    );
    assert_eq!(records[0]["user"]["deleted"], false);
    assert_eq!(records[0]["direction"], "inbound");
}

#[tokio::test]
async fn tokens_are_issued_listed_and_revoked_within_the_tenant_and_label_the_audit() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let body = json!({"label": "Entra prod", "scope": "scim"});
    let (status, issued) = app
        .call_admin(&t.admin, Method::POST, "/tokens", Some(&body))
        .await;
    assert_eq!(status, 201, "{issued}");
    let secret = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (issued["label"].clone(), issued["scope"].clone()),
        (json!("Entra prod"), json!("scim"))
    );

    // The new token provisions, and the audit names it.
    let created = user(
        &app,
        &Tenant {
            scim: secret.clone(),
            admin: t.admin.clone(),
        },
        "via-entra@example.com",
        false,
        None,
    )
    .await;
    let (_, audit) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/audit?user_id={created}"),
            None,
        )
        .await;
    assert_eq!(audit["events"][0]["actor"], "Entra prod");
    assert_eq!(audit["events"][0]["action"], "user.create");
    assert_eq!(audit["events"][0]["user"]["deleted"], false);

    let (_, listed) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 3);
    assert!(!listed.to_string().contains(&secret));

    // Another tenant's admin cannot revoke it.
    let other = app.new_tenant().await;
    let path = format!("/tokens/{id}");
    let (status, body) = app
        .call_admin(&other.admin, Method::DELETE, &path, None)
        .await;
    assert_admin_error(status, &body, 404, "not_found");
    let (status, _) = app.call_admin(&t.admin, Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert_eq!(
        app.call_scim(&secret, Method::GET, "/Users", None).await.0,
        401
    );
    let (status, body) = app.call_admin(&t.admin, Method::DELETE, &path, None).await;
    assert_admin_error(status, &body, 404, "not_found");

    let bad = json!({"label": "x", "scope": "root"});
    let (status, body) = app
        .call_admin(&t.admin, Method::POST, "/tokens", Some(&bad))
        .await;
    assert_admin_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn an_admin_token_sees_and_changes_only_its_own_tenant() {
    let app = spawn_app().await;
    let (a, b) = (app.new_tenant().await, app.new_tenant().await);
    let ann = user(&app, &a, "ann@example.com", true, None).await;
    let number = give(&app, &a, "number", "+1 555 0500", &ann).await;
    for (method, path) in [
        (Method::GET, format!("/users/{ann}")),
        (Method::POST, format!("/users/{ann}/deactivate")),
        (Method::DELETE, format!("/users/{ann}")),
        (Method::GET, format!("/assets/{number}")),
        (Method::DELETE, format!("/assets/{number}")),
    ] {
        let (status, body) = app.call_admin(&b.admin, method, &path, None).await;
        assert_admin_error(status, &body, 404, "not_found");
    }
    let (_, users) = app.call_admin(&b.admin, Method::GET, "/users", None).await;
    assert_eq!(users["users"], json!([]));
    let (_, audit) = app.call_admin(&b.admin, Method::GET, "/audit", None).await;
    assert_eq!(audit["events"], json!([]));
    let body = json!({"kind": "number", "name": "+1 555 0501", "owner_id": ann});
    let (status, body) = app
        .call_admin(&b.admin, Method::POST, "/assets", Some(&body))
        .await;
    assert_admin_error(status, &body, 400, "invalid_request");
}
