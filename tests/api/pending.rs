//! Pending deprovisionings: a refusal is recorded, finishes by itself in
//! the write that removes its last blocker, and is cancelled by an
//! explicit reactivation (DESIGN §4, issue 11).

use reqwest::Method;
use serde_json::{Value, json};

use crate::admin::assert_admin_error;
use crate::deprovisioning::{
    Deprovision, admin_view, deprovision, give, give_group, scim_user, user,
};
use crate::helpers::*;

const BLOCKED: &str = "urn:scimd:api:messages:2.0:DeprovisionBlocked";

fn patch(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

/// Okta deactivates `id`, which is refused; returns the pending id.
async fn refused_deactivation(app: &TestApp, t: &Tenant, id: &str, name: &str) -> String {
    let answer = deprovision(app, t, Deprovision::OktaPatch, id, name, false).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    answer.body[BLOCKED]["pending_id"]
        .as_str()
        .expect("a pending id")
        .to_owned()
}

async fn request(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let (status, body) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/deprovisionings/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The leaver owns only `kind` `name`; returns (leaver, boss, asset id).
async fn leaver_with(app: &TestApp, t: &Tenant, kind: &str) -> (String, String, String) {
    user(app, t, "root@example.com", true, None).await;
    let boss = user(app, t, "boss@example.com", false, None).await;
    let leaver = user(app, t, "leaver@example.com", false, None).await;
    let asset = match kind {
        "group" => give_group(app, t, "Sales", &leaver).await,
        kind => give(app, t, kind, "+1 555 0100", &leaver).await,
    };
    (leaver, boss, asset)
}

#[tokio::test]
async fn a_refusal_is_recorded_once_and_every_retry_counts_as_an_attempt() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, _, number) = leaver_with(&app, &t, "number").await;
    let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    // Entra retries the same change; then it deletes.
    let again = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    assert_eq!(again, pending);
    let delete = deprovision(&app, &t, Deprovision::ScimDelete, &leaver, "", false).await;
    assert_eq!(delete.body[BLOCKED]["pending_id"], json!(pending));

    let (status, list) = app
        .call_admin(
            &t.admin,
            Method::GET,
            "/deprovisionings?state=pending",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let requests = list["deprovisionings"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{list}");
    let r = &requests[0];
    assert_eq!(r["id"], json!(pending));
    assert_eq!(r["user"]["id"], json!(leaver));
    assert_eq!(r["user"]["user_name"], "leaver@example.com");
    assert_eq!(r["user"]["display_name"], "leaver@example.com Display");
    assert_eq!(r["requested"], "delete", "a DELETE upgrades the request");
    assert_eq!(r["reason"], "owns_assets");
    assert_eq!(r["state"], "pending");
    assert_eq!(r["attempts"], 3);
    assert_eq!(r["requested_by"], "initial SCIM token");
    assert_eq!(
        r["blockers"],
        json!([{"kind": "number", "id": number, "name": "+1 555 0100"}])
    );
    assert_eq!(list["next_cursor"], Value::Null);
    // SCIM still reads active while the request waits.
    assert_eq!(scim_user(&app, &t, &leaver).await.1["active"], true);
    assert_eq!(admin_view(&app, &t, &leaver).await["access"], "suspended");
}

#[tokio::test]
async fn each_resolving_write_completes_the_request_exactly_once() {
    let app = spawn_app().await;
    for resolution in [
        "reassign",
        "move",
        "delete asset",
        "group owner",
        "delete group",
    ] {
        let t = app.new_tenant().await;
        let kind = if resolution.contains("group") {
            "group"
        } else {
            "number"
        };
        let (leaver, boss, asset) = leaver_with(&app, &t, kind).await;
        let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
        let (status, answer) = match resolution {
            "reassign" => {
                let path = format!("/users/{leaver}/reassign");
                let body = json!({"to_user_id": boss});
                app.call_admin(&t.admin, Method::POST, &path, Some(&body))
                    .await
            }
            "move" => {
                let path = format!("/assets/{asset}");
                let body = json!({"owner_id": boss});
                app.call_admin(&t.admin, Method::PATCH, &path, Some(&body))
                    .await
            }
            "delete asset" => {
                let path = format!("/assets/{asset}");
                app.call_admin(&t.admin, Method::DELETE, &path, None).await
            }
            "group owner" => {
                let path = format!("/groups/{asset}/owner");
                let body = json!({"owner_id": boss});
                app.call_admin(&t.admin, Method::PUT, &path, Some(&body))
                    .await
            }
            _ => {
                let path = format!("/Groups/{asset}");
                let (status, _) = app.call_scim(&t.scim, Method::DELETE, &path, None).await;
                (status, json!({"completed": pending}))
            }
        };
        assert!((200..300).contains(&status), "{resolution}: {answer}");
        assert_eq!(
            answer["completed"],
            json!(pending),
            "{resolution}: {answer}"
        );

        let r = request(&app, &t, &pending).await;
        assert_eq!(r["state"], "completed", "{resolution}: {r}");
        let resolver = if resolution == "delete group" {
            "initial SCIM token"
        } else {
            "initial admin token"
        };
        assert_eq!(r["resolved_by"], resolver, "{resolution}");
        assert!(r["resolved_at"].is_string(), "{resolution}");
        let (_, scim) = scim_user(&app, &t, &leaver).await;
        assert_eq!(scim["active"], false, "{resolution}");
        assert_eq!(admin_view(&app, &t, &leaver).await["access"], "deactivated");
        // Okta's later Retry is a no-op success.
        let retry = deprovision(&app, &t, Deprovision::OktaPatch, &leaver, "", false).await;
        assert_eq!(retry.status, 200, "{resolution}: {:?}", retry.body);

        // Exactly once: one completion in the audit log.
        let (_, audit) = app
            .call_admin(&t.admin, Method::GET, "/audit?limit=1000", None)
            .await;
        let completions = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "deprovisioning.complete")
            .count();
        assert_eq!(completions, 1, "{resolution}");
    }
}

#[tokio::test]
async fn an_okta_patch_reactivation_cancels_and_lifts_the_suspension_but_a_put_does_not() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, boss, number) = leaver_with(&app, &t, "number").await;
    let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;

    // Okta's AIW profile update: a full PUT still saying active. It only
    // tells the admin.
    let put = json!({
        "schemas": [USER_SCHEMA],
        "userName": "leaver@example.com",
        "displayName": "Leaver Renamed",
        "active": true,
    });
    let (status, body) = app
        .call_scim(
            &t.scim,
            Method::PUT,
            &format!("/Users/{leaver}"),
            Some(&put),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(admin_view(&app, &t, &leaver).await["access"], "suspended");
    let r = request(&app, &t, &pending).await;
    assert_eq!(r["state"], "pending");
    let signal = r["last_idp_signal"]["detail"].as_str().unwrap();
    assert!(signal.contains("PUT with active: true"), "{signal}");
    assert!(r["last_idp_signal"]["at"].is_string());

    // Okta's reactivation: a path-less replace of active true.
    let body = patch(json!([{"op": "replace", "value": {"active": true}}]));
    let (status, user) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{leaver}"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["active"], true);
    assert_eq!(admin_view(&app, &t, &leaver).await["access"], "active");
    let r = request(&app, &t, &pending).await;
    assert_eq!(r["state"], "cancelled", "{r}");
    assert_eq!(r["resolved_by"], "initial SCIM token");

    // A cancelled request never revives: moving the asset completes nothing.
    let (_, moved) = app
        .call_admin(
            &t.admin,
            Method::PATCH,
            &format!("/assets/{number}"),
            Some(&json!({"owner_id": boss})),
        )
        .await;
    assert_eq!(moved["completed"], Value::Null, "{moved}");
    assert_eq!(scim_user(&app, &t, &leaver).await.1["active"], true);
}

#[tokio::test]
async fn an_entra_path_reactivation_and_the_admin_cancel_both_cancel() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, _, _) = leaver_with(&app, &t, "workflow").await;
    let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    let body = patch(json!([{"op": "Replace", "path": "active", "value": "True"}]));
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{leaver}"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(request(&app, &t, &pending).await["state"], "cancelled");

    // Refused again: a new request; the admin cancels it.
    let second = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    assert_ne!(second, pending);
    let path = format!("/deprovisionings/{second}/cancel");
    let (status, r) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "cancelled");
    assert_eq!(admin_view(&app, &t, &leaver).await["access"], "active");
    let (status, body) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_admin_error(status, &body, 409, "conflict");

    // Refused a third time; the admin API's reactivate cancels it too.
    let third = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{leaver}/reactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(request(&app, &t, &third).await["state"], "cancelled");
}

#[tokio::test]
async fn a_retry_after_a_policy_change_completes_through_the_new_policy() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, boss, number) = leaver_with(&app, &t, "number").await;
    let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    let path = format!("/deprovisionings/{pending}/retry");
    let (status, r) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["state"].clone(), r["completed"].clone()),
        (json!("pending"), Value::Null)
    );

    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": boss});
    let (status, body) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, r) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "completed");
    assert_eq!(r["completed"], json!(pending));
    let (_, asset) = app
        .call_admin(&t.admin, Method::GET, &format!("/assets/{number}"), None)
        .await;
    assert_eq!(asset["owner_id"], json!(boss));
    let (status, body) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_admin_error(status, &body, 409, "conflict");
}

#[tokio::test]
async fn a_last_admin_request_suspends_nothing_and_completes_when_another_user_becomes_admin() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let root = user(&app, &t, "root@example.com", true, None).await;
    let other = user(&app, &t, "other@example.com", false, None).await;
    let answer = deprovision(&app, &t, Deprovision::EntraPatch, &root, "", true).await;
    assert_eq!(answer.status, 409);
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = request(&app, &t, &pending).await;
    assert_eq!(
        (r["reason"].clone(), r["requested"].clone()),
        (json!("last_admin"), json!("deactivate"))
    );
    assert_eq!(admin_view(&app, &t, &root).await["access"], "active");

    // Entra's role mapping makes another user an admin.
    let body = patch(json!([{"op": "Add", "path": "roles", "value": [{"value": "admin"}]}]));
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{other}"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(request(&app, &t, &pending).await["state"], "completed");
    assert_eq!(scim_user(&app, &t, &root).await.1["active"], false);
    assert_eq!(admin_view(&app, &t, &root).await["access"], "deactivated");
}

#[tokio::test]
async fn the_list_filters_pages_and_refuses_bad_input() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let name = format!("leaver{i}@example.com");
        let leaver = user(&app, &t, &name, false, None).await;
        give(&app, &t, "number", &format!("+1 555 010{i}"), &leaver).await;
        ids.push((
            leaver.clone(),
            refused_deactivation(&app, &t, &leaver, &name).await,
        ));
    }
    let mut seen = Vec::new();
    let mut path = "/deprovisionings?limit=1".to_owned();
    loop {
        let (status, page) = app.call_admin(&t.admin, Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        for r in page["deprovisionings"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/deprovisionings?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let expected: Vec<String> = ids.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(seen, expected);

    let by_user = format!("/deprovisionings?user_id={}", ids[1].0);
    let (_, page) = app.call_admin(&t.admin, Method::GET, &by_user, None).await;
    assert_eq!(page["deprovisionings"][0]["id"], json!(ids[1].1));
    assert_eq!(page["deprovisionings"].as_array().unwrap().len(), 1);
    let (_, page) = app
        .call_admin(
            &t.admin,
            Method::GET,
            "/deprovisionings?state=completed",
            None,
        )
        .await;
    assert_eq!(page["deprovisionings"], json!([]));

    for bad in [
        "/deprovisionings?state=done",
        "/deprovisionings?colour=red",
        "/deprovisionings?cursor=not-a-cursor",
        "/deprovisionings?limit=0",
    ] {
        let (status, body) = app.call_admin(&t.admin, Method::GET, bad, None).await;
        assert_admin_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = app
        .call_admin(&t.admin, Method::GET, "/deprovisionings/nope", None)
        .await;
    assert_admin_error(status, &body, 404, "not_found");
    // Another tenant sees none of them.
    let other = app.new_tenant().await;
    let path = format!("/deprovisionings/{}", ids[0].1);
    let (status, _) = app.call_admin(&other.admin, Method::GET, &path, None).await;
    assert_eq!(status, 404);
}

/// The upgrade: users suspended before pending deprovisionings existed get
/// one request each, with what the audit log knows of who asked.
#[tokio::test]
async fn upgrading_gives_every_suspended_user_one_pending_request() {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::{ConnectionTrait, Database};

    let db = test_db().await;
    let conn = Database::connect(&db.url).await.unwrap();
    Migrator::up(&conn, Some(2)).await.unwrap();
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
    for (id, access, document) in [
        (
            "u-asked",
            "suspended",
            r#"{"userName":"asked","displayName":"Asked"}"#,
        ),
        ("u-old", "suspended", r#"{"userName":"old"}"#),
        ("u-fine", "active", r#"{"userName":"fine"}"#),
    ] {
        let name = id.trim_start_matches("u-");
        conn.execute(&insert(
            "users",
            &[
                "id",
                "tenant_id",
                "user_name",
                "user_name_lc",
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
                name.into(),
                name.into(),
                true.into(),
                false.into(),
                access.into(),
                document.into(),
                1i64.into(),
                1i64.into(),
                5i64.into(),
            ],
        ))
        .await
        .unwrap();
    }
    conn.execute(&insert(
        "assets",
        &[
            "id",
            "tenant_id",
            "kind",
            "name",
            "owner_id",
            "created_at",
            "updated_at",
        ],
        vec![
            "a1".into(),
            "t1".into(),
            "number".into(),
            "+1 555 0100".into(),
            "u-asked".into(),
            1i64.into(),
            1i64.into(),
        ],
    ))
    .await
    .unwrap();
    conn.execute(&insert(
        "audit_events",
        &[
            "tenant_id",
            "at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_name",
            "outcome",
            "detail",
            "attributes",
        ],
        vec![
            "t1".into(),
            3i64.into(),
            "okta".into(),
            "user.delete".into(),
            "user".into(),
            "u-asked".into(),
            "asked".into(),
            "blocked".into(),
            "owns number".into(),
            "".into(),
        ],
    ))
    .await
    .unwrap();

    Migrator::up(&conn, None).await.unwrap();
    let rows = conn
        .query_all(
            &Query::select()
                .columns(
                    [
                        "user_id",
                        "display_name",
                        "requested",
                        "requested_by",
                        "requested_at",
                        "state",
                        "blockers",
                    ]
                    .map(Alias::new),
                )
                .from(Alias::new("deprovisionings"))
                .order_by(Alias::new("user_id"), sea_orm::sea_query::Order::Asc)
                .to_owned(),
        )
        .await
        .unwrap();
    let read = |row: &sea_orm::QueryResult| {
        (
            row.try_get::<String>("", "user_id").unwrap(),
            row.try_get::<Option<String>>("", "display_name").unwrap(),
            row.try_get::<String>("", "requested").unwrap(),
            row.try_get::<String>("", "requested_by").unwrap(),
            row.try_get::<i64>("", "requested_at").unwrap(),
            row.try_get::<String>("", "state").unwrap(),
            serde_json::from_str::<Value>(&row.try_get::<String>("", "blockers").unwrap()).unwrap(),
        )
    };
    let found: Vec<_> = rows.iter().map(read).collect();
    assert_eq!(
        found,
        [
            (
                "u-asked".to_owned(),
                Some("Asked".to_owned()),
                "delete".to_owned(),
                "okta".to_owned(),
                3,
                "pending".to_owned(),
                json!([{"kind": "number", "id": "a1", "name": "+1 555 0100"}]),
            ),
            (
                "u-old".to_owned(),
                None,
                "deactivate".to_owned(),
                "before upgrade".to_owned(),
                5,
                "pending".to_owned(),
                json!([]),
            ),
        ]
    );
    conn.close().await.ok();
}

#[tokio::test]
async fn an_idp_retry_that_goes_through_under_a_new_policy_settles_the_request() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, boss, _) = leaver_with(&app, &t, "number").await;
    let pending = refused_deactivation(&app, &t, &leaver, "leaver@example.com").await;
    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": boss});
    let (status, _) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    assert_eq!(status, 200);
    // Entra's next cycle: the deactivation goes through, moving the number.
    let retry = deprovision(&app, &t, Deprovision::EntraPatch, &leaver, "", false).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    let r = request(&app, &t, &pending).await;
    assert_eq!(r["state"], "completed", "{r}");
    assert_eq!(r["resolved_by"], "initial SCIM token");
}

/// Regression (review): a requested deletion outlives an admin's
/// deactivation and is settled by the IdP's DELETE that then goes through.
#[tokio::test]
async fn a_requested_deletion_is_settled_by_the_delete_that_finally_goes_through() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, boss, _) = leaver_with(&app, &t, "number").await;
    let answer = deprovision(&app, &t, Deprovision::ScimDelete, &leaver, "", false).await;
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": boss});
    app.call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    let answer = deprovision(&app, &t, Deprovision::AdminDeactivate, &leaver, "", false).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        request(&app, &t, &pending).await["state"],
        "pending",
        "a deletion was asked"
    );
    let answer = deprovision(&app, &t, Deprovision::ScimDelete, &leaver, "", false).await;
    assert_eq!(answer.status, 204, "{:?}", answer.body);
    assert_eq!(request(&app, &t, &pending).await["state"], "completed");
}

/// Regression (review): cancelling an admin's request gives it its access
/// back, which unblocks the other admin's last-admin request.
#[tokio::test]
async fn cancelling_one_admins_request_completes_the_other_admins_last_admin_request() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let x = user(&app, &t, "x@example.com", true, None).await;
    let y = user(&app, &t, "y@example.com", true, None).await;
    give(&app, &t, "number", "+1 555 0100", &x).await;
    let x_request = refused_deactivation(&app, &t, &x, "x@example.com").await;
    let answer = deprovision(&app, &t, Deprovision::OktaPatch, &y, "", true).await;
    assert_eq!(answer.status, 409);
    let y_request = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/deprovisionings/{x_request}/cancel");
    let (status, _) = app.call_admin(&t.admin, Method::POST, &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(request(&app, &t, &y_request).await["state"], "completed");
    assert_eq!(scim_user(&app, &t, &y).await.1["active"], false);
    assert_eq!(admin_view(&app, &t, &x).await["access"], "active");
}

/// A PUT that turns a deactivated user active again is a reactivation:
/// it cancels a requested deletion still waiting, so that nothing later
/// deletes the returning user.
#[tokio::test]
async fn a_put_that_reactivates_a_deactivated_user_cancels_its_waiting_deletion() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (leaver, boss, _) = leaver_with(&app, &t, "number").await;
    let answer = deprovision(&app, &t, Deprovision::ScimDelete, &leaver, "", false).await;
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": boss});
    app.call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    let answer = deprovision(&app, &t, Deprovision::AdminDeactivate, &leaver, "", false).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let put = json!({"schemas": [USER_SCHEMA], "userName": "leaver@example.com", "active": true});
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PUT,
            &format!("/Users/{leaver}"),
            Some(&put),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(request(&app, &t, &pending).await["state"], "cancelled");
    assert_eq!(admin_view(&app, &t, &leaver).await["access"], "active");
}
