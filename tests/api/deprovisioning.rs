//! The deprovisioning guard on every write path: SCIM DELETE, PUT, PATCH
//! (Okta's and Entra's shapes), Bulk, and the admin API; each rule, each
//! policy, suspension, seats and retention.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const BLOCKED: &str = "urn:scimd:api:messages:2.0:DeprovisionBlocked";
/// How an ownership refusal of `path` ends: the change finishes by itself.
fn finishes(path: Deprovision) -> String {
    let change = match path {
        Deprovision::ScimDelete | Deprovision::BulkDelete | Deprovision::AdminDelete => "deletion",
        Deprovision::ScimPut
        | Deprovision::OktaPatch
        | Deprovision::EntraPatch
        | Deprovision::BulkPatch
        | Deprovision::AdminDeactivate => "deactivation",
    };
    format!("; reassign them in scimd's admin API and the {change} finishes by itself")
}

/// Creates a user through SCIM; `admin` gives it the admin role.
pub async fn user(
    app: &TestApp,
    t: &Tenant,
    name: &str,
    admin: bool,
    manager: Option<&str>,
) -> String {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": name,
        "displayName": format!("{name} Display"),
        "active": true,
    });
    if admin {
        body["roles"] = json!([{"value": "admin", "primary": true}]);
    }
    if let Some(manager) = manager {
        body[ENTERPRISE] = json!({"manager": {"value": manager}});
    }
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// Issues an admin token bound to user `user_id`, labelled "ops laptop";
/// returns its secret.
pub async fn personal_token(app: &TestApp, t: &Tenant, user_id: &str) -> String {
    let body = json!({"label": "ops laptop", "scope": "admin", "user_id": user_id});
    let (status, issued) = app
        .call_admin(&t.admin, Method::POST, "/tokens", Some(&body))
        .await;
    assert_eq!(status, 201, "{issued}");
    issued["token"].as_str().unwrap().to_owned()
}

/// Gives `owner` an asset through the admin API; returns its id.
pub async fn give(app: &TestApp, t: &Tenant, kind: &str, name: &str, owner: &str) -> String {
    let body = json!({"kind": kind, "name": name, "owner_id": owner});
    let (status, asset) = app
        .call_admin(&t.admin, Method::POST, "/assets", Some(&body))
        .await;
    assert_eq!(status, 201, "{asset}");
    asset["id"].as_str().unwrap().to_owned()
}

/// Makes `owner` the owner of a new group; returns the group's id.
pub async fn give_group(app: &TestApp, t: &Tenant, name: &str, owner: &str) -> String {
    let body =
        json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": [{"value": owner}]});
    let (status, group) = app
        .call_scim(&t.scim, Method::POST, "/Groups", Some(&body))
        .await;
    assert_eq!(status, 201, "{group}");
    let id = group["id"].as_str().unwrap().to_owned();
    let path = format!("/groups/{id}/owner");
    let (status, body) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            &path,
            Some(&json!({"owner_id": owner})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    id
}

pub async fn admin_view(app: &TestApp, t: &Tenant, id: &str) -> Value {
    let (status, body) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn scim_user(app: &TestApp, t: &Tenant, id: &str) -> (u16, Value) {
    app.call_scim(&t.scim, Method::GET, &format!("/Users/{id}"), None)
        .await
}

/// The ways a user is deprovisioned.
#[derive(Debug, Clone, Copy)]
pub enum Deprovision {
    ScimDelete,
    /// Okta's AIW apps and others: the whole user with `active` false.
    ScimPut,
    /// Okta: a path-less replace with `{"active": false}`.
    OktaPatch,
    /// Entra ID: `replace` of path `active` with the string "False".
    EntraPatch,
    BulkPatch,
    BulkDelete,
    AdminDeactivate,
    AdminDelete,
}

pub const DEPROVISIONS: [Deprovision; 8] = [
    Deprovision::ScimDelete,
    Deprovision::ScimPut,
    Deprovision::OktaPatch,
    Deprovision::EntraPatch,
    Deprovision::BulkPatch,
    Deprovision::BulkDelete,
    Deprovision::AdminDeactivate,
    Deprovision::AdminDelete,
];

/// The ways a user loses the admin role.
#[derive(Debug, Clone, Copy)]
enum Demote {
    /// Entra ID: `remove` of `roles[value eq "admin"]`.
    PatchRemove,
    /// Okta: a path-less replace with empty `roles`.
    PatchReplace,
    ScimPut,
    BulkPut,
}

const DEMOTIONS: [Demote; 4] = [
    Demote::PatchRemove,
    Demote::PatchReplace,
    Demote::ScimPut,
    Demote::BulkPut,
];

/// What a write path answered: its status and, for a refusal, the error
/// as the path reports it (SCIM body, Bulk operation response or admin
/// JSON), reduced to one shape.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `(reason, blockers, detail)` of a refusal.
    pub refusal: Option<(String, Value, String)>,
    pub body: Value,
}

fn patch_body(operations: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations})
}

fn bulk_body(method: &str, path: &str, data: Option<Value>) -> Value {
    let mut operation = json!({"method": method, "path": path});
    if let Some(data) = data {
        operation["data"] = data;
    }
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [operation]})
}

/// A user's full document for PUT, with `active` and `roles` set.
pub fn full_user(name: &str, active: bool, admin: bool) -> Value {
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "userName": name,
        "displayName": format!("{name} Display"),
        "active": active,
    });
    if admin {
        body["roles"] = json!([{"value": "admin", "primary": true}]);
    }
    body
}

/// Checks a SCIM refusal body field by field and reduces it.
fn scim_refusal(body: &Value) -> (String, Value, String) {
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA, BLOCKED]), "{body}");
    assert_eq!(body["status"], "409", "{body}");
    assert_eq!(body["scimType"], "mutability", "{body}");
    let detail = body["detail"].as_str().unwrap().to_owned();
    assert!(detail.chars().count() <= 200, "{detail}");
    let extension = &body[BLOCKED];
    // A refused deactivation or deletion is recorded; a demotion is not.
    let recorded = !detail.contains("cannot be demoted");
    assert_eq!(extension["pending_id"].is_string(), recorded, "{extension}");
    // The console page of the request, only under --public-url (DESIGN §4;
    // tests/api/console/deprovisionings.rs checks both ways).
    let linked = extension.get("resolve_url").is_some();
    let keys = 3 + usize::from(linked);
    assert_eq!(extension.as_object().unwrap().len(), keys, "{extension}");
    if linked {
        let pending_id = extension["pending_id"].as_str().expect("recorded");
        let url = extension["resolve_url"].as_str().expect("a URL");
        assert!(
            url.ends_with(&format!("/console/deprovisionings/{pending_id}")),
            "{url}"
        );
    }
    (
        extension["reason"].as_str().unwrap().to_owned(),
        extension["blockers"].clone(),
        detail,
    )
}

async fn run_bulk(app: &TestApp, t: &Tenant, body: &Value) -> Answer {
    let (status, response) = app
        .call_scim(&t.scim, Method::POST, "/Bulk", Some(body))
        .await;
    assert_eq!(status, 200, "{response}");
    let operation = &response["Operations"][0];
    let status: u16 = operation["status"].as_str().unwrap().parse().unwrap();
    let refusal = (status == 409).then(|| scim_refusal(&operation["response"]));
    Answer {
        status,
        refusal,
        body: operation.clone(),
    }
}

async fn scim_answer(
    app: &TestApp,
    t: &Tenant,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let (status, body) = app.call_scim(&t.scim, method, path, body).await;
    let refusal = (status == 409).then(|| scim_refusal(&body));
    Answer {
        status,
        refusal,
        body,
    }
}

async fn admin_answer(app: &TestApp, t: &Tenant, method: Method, path: &str) -> Answer {
    let (status, body) = app.call_admin(&t.admin, method, path, None).await;
    let refusal = (status == 409).then(|| {
        assert_eq!(body["error"], "deprovision_blocked", "{body}");
        (
            body["reason"].as_str().unwrap().to_owned(),
            body["blockers"].clone(),
            body["detail"].as_str().unwrap().to_owned(),
        )
    });
    Answer {
        status,
        refusal,
        body,
    }
}

/// Deprovisions user `id` (called `name`) by `path`.
pub async fn deprovision(
    app: &TestApp,
    t: &Tenant,
    path: Deprovision,
    id: &str,
    name: &str,
    admin: bool,
) -> Answer {
    let user_path = format!("/Users/{id}");
    match path {
        Deprovision::ScimDelete => scim_answer(app, t, Method::DELETE, &user_path, None).await,
        Deprovision::ScimPut => {
            let body = full_user(name, false, admin);
            scim_answer(app, t, Method::PUT, &user_path, Some(&body)).await
        }
        Deprovision::OktaPatch => {
            let body = patch_body(json!([{"op": "replace", "value": {"active": false}}]));
            scim_answer(app, t, Method::PATCH, &user_path, Some(&body)).await
        }
        Deprovision::EntraPatch => {
            let body = patch_body(json!([{"op": "Replace", "path": "active", "value": "False"}]));
            scim_answer(app, t, Method::PATCH, &user_path, Some(&body)).await
        }
        Deprovision::BulkPatch => {
            let data = patch_body(json!([{"op": "replace", "path": "active", "value": false}]));
            run_bulk(app, t, &bulk_body("PATCH", &user_path, Some(data))).await
        }
        Deprovision::BulkDelete => run_bulk(app, t, &bulk_body("DELETE", &user_path, None)).await,
        Deprovision::AdminDeactivate => {
            admin_answer(app, t, Method::POST, &format!("/users/{id}/deactivate")).await
        }
        Deprovision::AdminDelete => {
            admin_answer(app, t, Method::DELETE, &format!("/users/{id}")).await
        }
    }
}

async fn demote(app: &TestApp, t: &Tenant, path: Demote, id: &str, name: &str) -> Answer {
    let user_path = format!("/Users/{id}");
    match path {
        Demote::PatchRemove => {
            let body = patch_body(json!([{"op": "Remove", "path": "roles[value eq \"admin\"]"}]));
            scim_answer(app, t, Method::PATCH, &user_path, Some(&body)).await
        }
        Demote::PatchReplace => {
            let body = patch_body(json!([{"op": "replace", "value": {"roles": []}}]));
            scim_answer(app, t, Method::PATCH, &user_path, Some(&body)).await
        }
        Demote::ScimPut => {
            let body = full_user(name, true, false);
            scim_answer(app, t, Method::PUT, &user_path, Some(&body)).await
        }
        Demote::BulkPut => {
            run_bulk(
                app,
                t,
                &bulk_body("PUT", &user_path, Some(full_user(name, true, false))),
            )
            .await
        }
    }
}

fn deletes(path: Deprovision) -> bool {
    matches!(
        path,
        Deprovision::ScimDelete | Deprovision::BulkDelete | Deprovision::AdminDelete
    )
}

fn succeeded(answer: &Answer) -> bool {
    (200..300).contains(&answer.status)
}

#[tokio::test]
async fn every_deprovisioning_path_refuses_an_owner_names_the_assets_and_suspends_access() {
    let app = spawn_app().await;
    for path in DEPROVISIONS {
        let t = app.new_tenant().await;
        let boss = user(&app, &t, "boss@example.com", true, None).await;
        let leaver = user(&app, &t, "leaver@example.com", false, None).await;
        let number = give(&app, &t, "number", "+91 80 4000 1234", &leaver).await;
        let workflow = give(&app, &t, "workflow", "Night routing", &leaver).await;
        let group = give_group(&app, &t, "Sales", &leaver).await;

        let answer = deprovision(&app, &t, path, &leaver, "leaver@example.com", false).await;
        assert_eq!(answer.status, 409, "{path:?}: {:?}", answer.body);
        let (reason, blockers, detail) = answer.refusal.unwrap();
        assert_eq!(reason, "owns_assets", "{path:?}");
        assert_eq!(
            blockers,
            json!([
                {"kind": "number", "id": number, "name": "+91 80 4000 1234"},
                {"kind": "workflow", "id": workflow, "name": "Night routing"},
                {"kind": "group", "id": group, "name": "Sales"},
            ]),
            "{path:?}"
        );
        assert_eq!(
            detail,
            format!(
                "owns number +91 80 4000 1234, workflow Night routing and group Sales{}",
                finishes(path)
            ),
            "{path:?}"
        );

        // Nothing of the change was written; access is suspended anyway.
        let (status, scim) = scim_user(&app, &t, &leaver).await;
        assert_eq!(status, 200, "{path:?}: still there");
        assert_eq!(scim["active"], true, "{path:?}");
        assert_eq!(
            scim["meta"]["version"], "W/\"1\"",
            "{path:?}: no new version"
        );
        let view = admin_view(&app, &t, &leaver).await;
        assert_eq!(view["access"], "suspended", "{path:?}");
        assert_eq!(
            view["owned"],
            json!({"number": 1, "workflow": 1, "group": 1}),
            "{path:?}"
        );
        let (_, audit) = app
            .call_admin(
                &t.admin,
                Method::GET,
                &format!("/audit?user_id={leaver}&limit=1"),
                None,
            )
            .await;
        let event = &audit["events"][0];
        assert_eq!(event["outcome"], "blocked", "{path:?}: {event}");
        assert_eq!(event["target_id"], json!(leaver));
        let expected_actor = match path {
            Deprovision::AdminDeactivate | Deprovision::AdminDelete => "initial admin token",
            _ => "initial SCIM token",
        };
        assert_eq!(event["actor"], expected_actor, "{path:?}");

        // Whichever path asked, one pending request records it.
        let (_, pending) = app
            .call_admin(
                &t.admin,
                Method::GET,
                &format!("/deprovisionings?state=pending&user_id={leaver}"),
                None,
            )
            .await;
        let pending = pending["deprovisionings"].as_array().unwrap().clone();
        assert_eq!(pending.len(), 1, "{path:?}: {pending:?}");
        let expected = if deletes(path) {
            "delete"
        } else {
            "deactivate"
        };
        assert_eq!(pending[0]["requested"], expected, "{path:?}");
        assert_eq!(pending[0]["requested_by"], expected_actor, "{path:?}");

        // After reassignment the IdP's retry succeeds.
        let (status, moved) = app
            .call_admin(
                &t.admin,
                Method::POST,
                &format!("/users/{leaver}/reassign"),
                Some(&json!({"to_user_id": boss})),
            )
            .await;
        // The reassignment finishes the recorded request by itself: no
        // IdP retry is needed.
        assert_eq!(status, 200, "{path:?}");
        assert_eq!(moved["moved"], 3, "{path:?}");
        assert!(moved["completed"].is_string(), "{path:?}: {moved}");
        let (status, scim) = scim_user(&app, &t, &leaver).await;
        // The IdP's later retry is a no-op: 404 for a deletion (the user
        // is gone), success for a deactivation.
        let retry = deprovision(&app, &t, path, &leaver, "leaver@example.com", false).await;
        if deletes(path) {
            assert_eq!(retry.status, 404, "{path:?}: {:?}", retry.body);
        } else {
            assert!(succeeded(&retry), "{path:?}: {:?}", retry.body);
        }
        if deletes(path) {
            assert_eq!(status, 404, "{path:?}");
        } else {
            assert_eq!(scim["active"], false, "{path:?}");
            assert_eq!(admin_view(&app, &t, &leaver).await["access"], "deactivated");
        }
        let boss_view = admin_view(&app, &t, &boss).await;
        assert_eq!(
            boss_view["owned"],
            json!({"number": 1, "workflow": 1, "group": 1})
        );
    }
}

#[tokio::test]
async fn no_path_removes_or_demotes_the_last_admin_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let deprovisions = DEPROVISIONS.iter().map(|p| (Some(*p), None));
    let demotions = DEMOTIONS.iter().map(|p| (None, Some(*p)));
    for (deprovision_path, demote_path) in deprovisions.chain(demotions) {
        let label = format!("{deprovision_path:?}{demote_path:?}");
        let t = app.new_tenant().await;
        let root = user(&app, &t, "root@example.com", true, None).await;
        user(&app, &t, "agent@example.com", false, None).await;
        let act = || async {
            match (deprovision_path, demote_path) {
                (Some(path), _) => {
                    deprovision(&app, &t, path, &root, "root@example.com", true).await
                }
                (None, Some(path)) => demote(&app, &t, path, &root, "root@example.com").await,
                (None, None) => unreachable!(),
            }
        };
        let answer = act().await;
        assert_eq!(answer.status, 409, "{label}: {:?}", answer.body);
        let (reason, blockers, detail) = answer.refusal.unwrap();
        assert_eq!(reason, "last_admin", "{label}");
        assert_eq!(
            blockers,
            json!([{"kind": "user", "id": root, "name": "root@example.com"}]),
            "{label}"
        );
        assert!(
            detail.starts_with("root@example.com is the last active admin and cannot be "),
            "{label}: {detail}"
        );
        // A deactivation or deletion is recorded and finishes by itself;
        // a demotion is not recorded.
        let tail = if detail.contains("cannot be demoted") {
            "then your IdP's retry will succeed"
        } else {
            "finishes by itself"
        };
        assert!(detail.ends_with(tail), "{detail}");

        // Nothing changed, and nothing was suspended.
        let (status, scim) = scim_user(&app, &t, &root).await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(scim["active"], true, "{label}");
        assert_eq!(scim["roles"][0]["value"], "admin", "{label}");
        assert_eq!(scim["meta"]["version"], "W/\"1\"", "{label}");
        let view = admin_view(&app, &t, &root).await;
        assert_eq!(
            (view["access"].clone(), view["admin"].clone()),
            (json!("active"), json!(true))
        );

        // A second admin finishes a recorded deactivation or deletion by
        // itself (the IdP's retry is then a no-op, or 404 for a deletion);
        // a refused demotion was not recorded and goes through when sent
        // again.
        user(&app, &t, "second@example.com", true, None).await;
        let answer = act().await;
        if deprovision_path.is_some_and(deletes) {
            assert_eq!(answer.status, 404, "{label}: {:?}", answer.body);
            assert_eq!(scim_user(&app, &t, &root).await.0, 404, "{label}");
        } else {
            assert!(succeeded(&answer), "{label}: {:?}", answer.body);
        }
    }
}

#[tokio::test]
async fn a_suspended_admin_does_not_count_and_demoting_an_owner_is_allowed() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let a = user(&app, &t, "a@example.com", true, None).await;
    let b = user(&app, &t, "b@example.com", true, None).await;
    give(&app, &t, "number", "+1 555 0100", &b).await;
    // b's deactivation is refused for the number: b is suspended.
    let answer = deprovision(&app, &t, Deprovision::OktaPatch, &b, "b@example.com", true).await;
    assert_eq!(answer.status, 409);
    // a is now the only admin with access: it cannot go.
    let answer = deprovision(&app, &t, Deprovision::ScimDelete, &a, "a@example.com", true).await;
    assert_eq!(answer.refusal.unwrap().0, "last_admin");
    // A new admin c unblocks a's recorded deletion, which completes.
    let c = user(&app, &t, "c@example.com", true, None).await;
    let (status, _) = app
        .call_scim(&t.scim, Method::GET, &format!("/Users/{a}"), None)
        .await;
    assert_eq!(status, 404);
    // Demotion is not deprovisioning: an owner may lose the admin role
    // (while another admin, d, stays).
    user(&app, &t, "d@example.com", true, None).await;
    give(&app, &t, "workflow", "IVR", &c).await;
    let answer = demote(&app, &t, Demote::PatchRemove, &c, "c@example.com").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(admin_view(&app, &t, &c).await["admin"], false);
}

#[tokio::test]
async fn reassign_to_manager_moves_the_assets_when_the_manager_is_active_else_blocks() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    let manager = user(&app, &t, "manager@example.com", false, None).await;
    let leaver = user(&app, &t, "leaver@example.com", false, Some(&manager)).await;
    let orphan = user(&app, &t, "orphan@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0101", &leaver).await;
    give_group(&app, &t, "Support", &leaver).await;
    give(&app, &t, "number", "+1 555 0102", &orphan).await;
    let settings = json!({"deprovision_policy": "reassign_to_manager"});
    let (status, _) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    assert_eq!(status, 200);

    let (_, check) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/users/{leaver}/deprovision-check"),
            None,
        )
        .await;
    assert_eq!(check["can_deactivate"], true, "{check}");
    assert_eq!(check["reassign_to"], json!(manager));

    let answer = deprovision(
        &app,
        &t,
        Deprovision::EntraPatch,
        &leaver,
        "leaver@example.com",
        false,
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let view = admin_view(&app, &t, &manager).await;
    assert_eq!(
        view["owned"],
        json!({"number": 1, "workflow": 0, "group": 1})
    );
    let (_, audit) = app
        .call_admin(&t.admin, Method::GET, "/audit?limit=10", None)
        .await;
    let moves: Vec<&Value> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "asset.reassign")
        .collect();
    assert_eq!(moves.len(), 2, "{audit}");
    assert!(moves.iter().all(|e| {
        e["detail"]
            .as_str()
            .unwrap()
            .ends_with("by policy reassign_to_manager")
    }));

    // No manager: the policy cannot apply, so it blocks.
    let answer = deprovision(
        &app,
        &t,
        Deprovision::ScimDelete,
        &orphan,
        "orphan@example.com",
        false,
    )
    .await;
    let (reason, _, detail) = answer.refusal.unwrap();
    assert_eq!(reason, "owns_assets");
    assert_eq!(
        detail,
        format!(
            "owns number +1 555 0102; no active manager to take them{}",
            finishes(Deprovision::ScimDelete)
        )
    );
    // An inactive manager cannot receive assets either.
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{manager}/deactivate"),
            None,
        )
        .await;
    assert_eq!(status, 409, "the manager now owns assets itself");
}

#[tokio::test]
async fn reassign_to_fallback_moves_to_the_fallback_owner_unless_it_is_the_leaver() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let root = user(&app, &t, "root@example.com", true, None).await;
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    give(&app, &t, "workflow", "After hours", &leaver).await;
    give(&app, &t, "number", "+1 555 0103", &root).await;

    let bad = [
        (json!({"deprovision_policy": "shred"}), 400),
        (
            json!({"deprovision_policy": "block", "seat_limit": -1}),
            400,
        ),
        (
            json!({"deprovision_policy": "block", "fallback_owner_id": "nobody"}),
            400,
        ),
        (json!({"deprovision_policy": "block", "surprise": 1}), 422),
    ];
    for (body, status) in bad {
        let (actual, error) = app
            .call_admin(&t.admin, Method::PUT, "/settings", Some(&body))
            .await;
        assert_eq!(actual, status, "{body}: {error}");
        assert!(
            error["error"].is_string() && error["detail"].is_string(),
            "{error}"
        );
    }

    let settings = json!({"deprovision_policy": "reassign_to_fallback", "fallback_owner_id": root, "seat_limit": null});
    let (status, body) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;
    // A PUT without audit_retention_days or admin_source keeps them (365
    // days and idp by default).
    let mut expected = settings.clone();
    expected["audit_retention_days"] = json!(365);
    expected["admin_source"] = json!("idp");
    assert_eq!((status, &body), (200, &expected));
    assert_eq!(
        app.call_admin(&t.admin, Method::GET, "/settings", None)
            .await
            .1,
        expected
    );

    let answer = deprovision(
        &app,
        &t,
        Deprovision::BulkDelete,
        &leaver,
        "leaver@example.com",
        false,
    )
    .await;
    assert_eq!(answer.status, 204, "{:?}", answer.body);
    assert_eq!(admin_view(&app, &t, &root).await["owned"]["workflow"], 1);

    // The fallback owner itself cannot be deprovisioned by moving to itself.
    let second = user(&app, &t, "second@example.com", true, None).await;
    let answer = deprovision(
        &app,
        &t,
        Deprovision::AdminDeactivate,
        &root,
        "root@example.com",
        true,
    )
    .await;
    let (reason, _, detail) = answer.refusal.unwrap();
    assert_eq!(reason, "owns_assets");
    assert!(
        detail.contains("; no active fallback owner to take them; "),
        "{detail}"
    );
    assert_eq!(admin_view(&app, &t, &second).await["owned"]["workflow"], 0);
}

#[tokio::test]
async fn the_seat_limit_holds_for_creates_and_reactivations() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "one@example.com", true, None).await;
    let two = user(&app, &t, "two@example.com", false, None).await;
    let settings = json!({"deprovision_policy": "block", "seat_limit": 2});
    app.call_admin(&t.admin, Method::PUT, "/settings", Some(&settings))
        .await;

    let body = json!({"schemas": [USER_SCHEMA], "userName": "three@example.com"});
    let (status, error) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["schemas"], json!([ERROR_SCHEMA]));
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .starts_with("all 2 seats are taken"),
        "{error}"
    );
    let (_, seats) = app.call_admin(&t.admin, Method::GET, "/seats", None).await;
    assert_eq!(
        seats,
        json!({"active_users": 2, "suspended_users": 0, "deactivated_users": 0, "seat_limit": 2})
    );

    // A deactivated user frees its seat, and cannot come back while full.
    deprovision(
        &app,
        &t,
        Deprovision::OktaPatch,
        &two,
        "two@example.com",
        false,
    )
    .await;
    let (status, _) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201);
    let (status, error) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{two}/reactivate"),
            None,
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (409, Some("seat_limit")),
        "{error}"
    );
    let patch = patch_body(json!([{"op": "replace", "path": "active", "value": true}]));
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{two}"),
            Some(&patch),
        )
        .await;
    assert_eq!(status, 409);
    // Attribute updates to an inactive user still succeed.
    let patch = patch_body(json!([{"op": "replace", "path": "title", "value": "Former"}]));
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{two}"),
            Some(&patch),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_token_issued_to_a_user_is_revoked_when_its_access_is_suspended() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    let ops = user(&app, &t, "ops@example.com", true, None).await;
    give(&app, &t, "number", "+1 555 0104", &ops).await;
    let personal = &personal_token(&app, &t, &ops).await;
    assert_eq!(
        app.call_admin(personal, Method::GET, "/seats", None)
            .await
            .0,
        200
    );

    let answer = deprovision(
        &app,
        &t,
        Deprovision::OktaPatch,
        &ops,
        "ops@example.com",
        true,
    )
    .await;
    assert_eq!(answer.status, 409);
    assert_eq!(
        app.call_admin(personal, Method::GET, "/seats", None)
            .await
            .0,
        401
    );
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    let listed = tokens["tokens"].as_array().unwrap();
    let mine = listed.iter().find(|t| t["label"] == "ops laptop").unwrap();
    assert!(mine["revoked_at"].is_string(), "{mine}");
    assert!(!tokens.to_string().contains(personal), "never the secret");
}

#[tokio::test]
async fn a_token_issued_to_a_user_ends_with_its_allowed_deactivation_or_deletion() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    let mover = user(&app, &t, "mover@example.com", false, None).await;
    let leavers = &personal_token(&app, &t, &leaver).await;
    let movers = &personal_token(&app, &t, &mover).await;
    // A user with no token of its own is written as before.
    let bystander = user(&app, &t, "bystander@example.com", false, None).await;

    for (how, id, name) in [
        (Deprovision::OktaPatch, &leaver, "leaver@example.com"),
        (Deprovision::ScimDelete, &mover, "mover@example.com"),
        (Deprovision::OktaPatch, &bystander, "bystander@example.com"),
    ] {
        let answer = deprovision(&app, &t, how, id, name, false).await;
        assert!(answer.status < 300, "{name}: {}", answer.status);
    }
    for personal in [leavers, movers] {
        let (status, _) = app.call_admin(personal, Method::GET, "/seats", None).await;
        assert_eq!(status, 401);
    }
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    let bound: Vec<&Value> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["label"] == "ops laptop")
        .collect();
    assert_eq!(bound.len(), 2, "{tokens}");
    assert!(
        bound.iter().all(|t| t["revoked_at"].is_string()),
        "{tokens}"
    );
}

#[tokio::test]
async fn a_token_issued_to_a_user_cannot_mint_tokens() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    let ops = user(&app, &t, "ops@example.com", true, None).await;
    let (status, issued) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "ops laptop", "scope": "admin", "user_id": ops})),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let personal = issued["token"].as_str().unwrap();
    // DESIGN §5: an unbound token minted by a leaver would outlive them.
    for body in [
        json!({"label": "spare", "scope": "admin"}),
        json!({"label": "spare", "scope": "scim"}),
        json!({"label": "spare", "scope": "admin", "user_id": ops}),
    ] {
        let (status, refused) = app
            .call_admin(personal, Method::POST, "/tokens", Some(&body))
            .await;
        assert_eq!(status, 403, "{body}: {refused}");
        assert_eq!(refused["error"], "forbidden");
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("issued to a user")),
            "{refused}"
        );
    }
    // Reading stays allowed, and nothing was minted.
    let (status, tokens) = app.call_admin(personal, Method::GET, "/tokens", None).await;
    assert_eq!(status, 200);
    assert!(
        tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["label"] != "spare"),
        "{tokens}"
    );
    // An unbound admin token still mints.
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "spare", "scope": "scim"})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn the_seed_story_okta_and_entra_are_refused_then_retry_after_reassignment_and_history_stays()
{
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let it = user(&app, &t, "it.admin@example.com", true, None).await;
    let priya = user(&app, &t, "priya@example.com", false, None).await;
    give(&app, &t, "number", "+91 80 4000 1234", &priya).await;
    give(&app, &t, "number", "+91 80 4000 1235", &priya).await;
    give(&app, &t, "workflow", "Escalation", &priya).await;
    let sales = give_group(&app, &t, "Sales", &priya).await;
    let call = json!({
        "user_id": priya, "number": "+91 80 4000 1234", "direction": "inbound",
        "started_at": "2026-11-27T09:30:00Z", "duration_seconds": 300
    });
    let (status, recorded) = app
        .call_admin(&t.admin, Method::POST, "/call-records", Some(&call))
        .await;
    assert_eq!(status, 201, "{recorded}");

    for path in [
        Deprovision::OktaPatch,
        Deprovision::EntraPatch,
        Deprovision::ScimDelete,
    ] {
        let answer = deprovision(&app, &t, path, &priya, "priya@example.com", false).await;
        let (_, _, detail) = answer.refusal.unwrap();
        assert_eq!(
            detail,
            format!(
                "owns 2 numbers (+91 80 4000 1234 and +91 80 4000 1235), workflow Escalation and group Sales{}",
                finishes(path)
            )
        );
    }
    let (_, check) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/users/{priya}/deprovision-check"),
            None,
        )
        .await;
    assert_eq!(check["can_deactivate"], false);
    assert_eq!(check["can_delete"], false);
    assert_eq!(check["reason"], "owns_assets");
    assert_eq!(check["blockers"].as_array().unwrap().len(), 4);
    assert_eq!(admin_view(&app, &t, &priya).await["access"], "suspended");

    // Entra's DELETE upgraded the recorded request to a deletion; the
    // reassignment finishes it, with no Retry in Okta.
    let (status, moved) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{priya}/reassign"),
            Some(&json!({"to_user_id": it})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(moved["completed"].is_string(), "{moved}");
    let (_, request) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/deprovisionings/{}", moved["completed"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(request["state"], "completed", "{request}");
    assert_eq!(request["requested"], "delete", "{request}");
    assert_eq!(request["attempts"], 3, "{request}");
    assert_eq!(request["requested_by"], "initial SCIM token", "{request}");
    // Both IdPs' retries now find the user gone (RFC 7644: 404).
    for path in [Deprovision::OktaPatch, Deprovision::ScimDelete] {
        let retry = deprovision(&app, &t, path, &priya, "priya@example.com", false).await;
        assert_eq!(retry.status, 404, "{path:?}: {:?}", retry.body);
    }

    // Gone from SCIM and from its group; the name can be used again.
    assert_eq!(scim_user(&app, &t, &priya).await.0, 404);
    let (_, group) = app
        .call_scim(&t.scim, Method::GET, &format!("/Groups/{sales}"), None)
        .await;
    assert!(
        group
            .get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty()),
        "{group}"
    );
    let again = user(&app, &t, "priya@example.com", false, None).await;
    assert_ne!(again, priya);

    // History keeps her name.
    let (_, calls) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/call-records?user_id={priya}"),
            None,
        )
        .await;
    assert_eq!(
        calls["call_records"][0]["user"],
        json!({"id": priya, "user_name": "priya@example.com", "display_name": "priya@example.com Display", "deleted": true})
    );
    assert_eq!(
        calls["call_records"][0]["started_at"],
        "2026-11-27T09:30:00.000Z"
    );
    let (_, audit) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/audit?user_id={priya}"),
            None,
        )
        .await;
    let events = audit["events"].as_array().unwrap();
    let actions: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            // The reassignment completed the recorded deletion.
            ("deprovisioning.complete", "allowed"),
            ("user.delete", "allowed"),
            ("user.delete", "blocked"),
            ("user.deactivate", "blocked"),
            ("user.deactivate", "blocked"),
            ("user.create", "allowed"),
        ]
    );
    assert!(
        events.iter().all(|e| e["user"]
            == json!({"id": priya, "user_name": "priya@example.com", "deleted": true}))
    );
    assert_eq!(
        events[3]["attributes"],
        json!(["active"]),
        "names, never values"
    );
    // The completed deletion is the IdP's, audited as its requester's and
    // naming the resolver.
    assert_eq!(events[1]["actor"], "initial SCIM token");
    let detail = events[1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("resolved by initial admin token"),
        "{detail}"
    );
    assert_eq!(events[0]["actor"], "initial admin token");
    assert!(
        events[3]["detail"]
            .as_str()
            .unwrap()
            .ends_with("(access suspended until then)")
    );
}
