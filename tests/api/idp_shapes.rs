//! What Okta and Entra send in the field, end to end: role shapes that
//! make and unmake admins, the `admin_source` setting with Okta's AIW
//! PUTs, manager values in every shape and resolved by id, `externalId`
//! or `userName`, and custom extension namespaces that are ignored.

use reqwest::Method;
use serde_json::{Value, json};

use crate::deprovisioning::{admin_view, give, scim_user, user};
use crate::helpers::*;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

async fn patch_user(app: &TestApp, t: &Tenant, id: &str, operations: Value) -> (u16, Value) {
    let body = patch(operations);
    app.call_scim(&t.scim, Method::PATCH, &format!("/Users/{id}"), Some(&body))
        .await
}

async fn is_admin(app: &TestApp, t: &Tenant, id: &str) -> bool {
    admin_view(app, t, id).await["admin"] == json!(true)
}

async fn settings(app: &TestApp, t: &Tenant, body: Value) -> (u16, Value) {
    app.call_admin(&t.admin, Method::PUT, "/settings", Some(&body))
        .await
}

async fn set_admin(app: &TestApp, t: &Tenant, id: &str, admin: bool) -> (u16, Value) {
    let path = format!("/users/{id}/admin");
    app.call_admin(
        &t.admin,
        Method::PUT,
        &path,
        Some(&json!({ "admin": admin })),
    )
    .await
}

/// The audit events about user `id`, newest first.
async fn audit_of(app: &TestApp, t: &Tenant, id: &str) -> Vec<Value> {
    let path = format!("/audit?user_id={id}");
    let (status, body) = app.call_admin(&t.admin, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

/// Okta's AIW profile PUT: the whole mapped profile, no `roles`.
fn okta_aiw_put(user_name: &str, active: bool) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Pat", "familyName": "Lee"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Pat Lee",
        "active": active,
    })
}

#[tokio::test]
async fn entra_role_mappings_make_and_unmake_admins_and_the_guard_sees_them() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let root = user(&app, &t, "root@example.com", true, None).await;
    let pat = user(&app, &t, "pat@example.com", false, None).await;

    // SingleAppRoleAssignment on a user with no roles creates the role.
    let (status, body) = patch_user(
        &app,
        &t,
        &pat,
        json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "admin"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], json!([{"primary": true, "value": "admin"}]));
    assert!(is_admin(&app, &t, &pat).await);
    assert_eq!(audit_of(&app, &t, &pat).await[0]["action"], "user.promote");

    // …and changes it in place, which demotes.
    let (status, body) = patch_user(
        &app,
        &t,
        &pat,
        json!([{"op": "Replace", "path": "roles[primary eq \"true\"].value", "value": "agent"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], json!([{"primary": true, "value": "agent"}]));
    assert!(!is_admin(&app, &t, &pat).await);

    // AppRoleAssignmentsComplex: the role object JSON-encoded in a string.
    let role =
        r#"{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Admin","displayName":"Admin"}"#;
    let (status, body) = patch_user(
        &app,
        &t,
        &pat,
        json!([{"op": "Add", "path": "roles", "value": [{"value": role}]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(is_admin(&app, &t, &pat).await);

    // Demoting the last admin by Entra's role PATCH is refused, whole.
    let (status, body) = patch_user(
        &app,
        &t,
        &pat,
        json!([{"op": "Remove", "path": "roles", "value": [{"value": role}]}]),
    )
    .await;
    assert_eq!(status, 200, "root is still an admin: {body}");
    let (status, body) = patch_user(
        &app,
        &t,
        &root,
        json!([
            {"op": "Replace", "path": "displayName", "value": "Renamed"},
            {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "agent"}
        ]),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["scimType"], "mutability");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("last active admin"),
        "{body}"
    );
    let (_, root_now) = scim_user(&app, &t, &root).await;
    assert_eq!(root_now["displayName"], "root@example.com Display");
    assert!(is_admin(&app, &t, &root).await);

    // The same boolean-as-string filter works on e-mails.
    let (status, body) = patch_user(
        &app,
        &t,
        &pat,
        json!([{"op": "Add", "path": "emails[primary eq \"True\"].value", "value": "pat@work.example"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["emails"],
        json!([{"primary": true, "value": "pat@work.example"}])
    );
}

#[tokio::test]
async fn with_admin_source_scimd_okta_aiw_puts_demote_no_one() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let root = user(&app, &t, "root@example.com", true, None).await;

    // Under idp, admin rights are not set in scimd.
    let (status, body) = set_admin(&app, &t, &root, false).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")));
    assert!(body["detail"].as_str().unwrap().contains("admin_source"));

    let (status, body) = settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "scimd"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["admin_source"], "scimd");
    assert!(
        is_admin(&app, &t, &root).await,
        "idp → scimd keeps the admins"
    );

    // Okta's AIW profile PUT without roles demotes no one and is not refused.
    let path = format!("/Users/{root}");
    let put = okta_aiw_put("root@example.com", true);
    let (status, body) = app.call_scim(&t.scim, Method::PUT, &path, Some(&put)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("roles").is_none());
    assert!(is_admin(&app, &t, &root).await);

    // SCIM roles are stored and returned, but grant nothing.
    let pat = user(&app, &t, "pat@example.com", true, None).await;
    let (_, pat_scim) = scim_user(&app, &t, &pat).await;
    assert_eq!(pat_scim["roles"][0]["value"], "admin");
    assert!(!is_admin(&app, &t, &pat).await);

    // The last admin cannot be removed here either.
    let (status, body) = set_admin(&app, &t, &root, false).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["reason"], "last_admin");
    assert!(is_admin(&app, &t, &root).await);

    let (status, body) = set_admin(&app, &t, &pat, true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["admin"].clone(), body["completed"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(audit_of(&app, &t, &pat).await[0]["action"], "user.promote");
    let (status, body) = set_admin(&app, &t, &root, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["admin"], false);
    assert_eq!(audit_of(&app, &t, &root).await[0]["action"], "user.demote");
    let (status, body) = set_admin(&app, &t, "nobody", true).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            &format!("/users/{pat}/admin"),
            Some(&json!({"admin": "yes"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // scimd → idp reads the admins from roles again: pat's roles say admin,
    // root's PUT removed its roles.
    let (status, body) = settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "idp"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(is_admin(&app, &t, &pat).await);
    assert!(!is_admin(&app, &t, &root).await);

    // A switch that would leave no active admin is refused and changes nothing.
    settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "scimd"}),
    )
    .await;
    let (status, body) =
        patch_user(&app, &t, &pat, json!([{"op": "remove", "path": "roles"}])).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        is_admin(&app, &t, &pat).await,
        "scimd: roles revoke nothing"
    );
    let (status, body) = settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "idp"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("no active admin"));
    let (_, now) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(now["admin_source"], "scimd");
    assert!(is_admin(&app, &t, &pat).await);

    let (status, body) = settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "okta"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("scimd"), "{body}");
}

#[tokio::test]
async fn a_granted_admin_completes_a_last_admins_pending_deactivation() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let root = user(&app, &t, "root@example.com", true, None).await;
    let heir = user(&app, &t, "heir@example.com", false, None).await;
    settings(
        &app,
        &t,
        json!({"deprovision_policy": "block", "admin_source": "scimd"}),
    )
    .await;
    let put = okta_aiw_put("root@example.com", false);
    let (status, body) = app
        .call_scim(&t.scim, Method::PUT, &format!("/Users/{root}"), Some(&put))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = set_admin(&app, &t, &heir, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["completed"].is_string(), "{body}");
    assert_eq!(admin_view(&app, &t, &root).await["active"], false);
}

#[tokio::test]
async fn manager_values_come_in_every_shape_and_are_returned_as_sent() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    // Microsoft's sample: the manager as a bare string in a POST.
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "Test_User_1@example.com",
        "active": true,
        ENTERPRISE: {"manager": "00uMgrOkta1", "department": "Sales"},
    });
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created[ENTERPRISE]["manager"],
        json!({"value": "00uMgrOkta1"})
    );
    let id = created["id"].as_str().unwrap();

    let (status, body) = patch_user(
        &app,
        &t,
        id,
        json!([{"op": "Add", "path": "manager", "value": [{"value": "00uMgrOkta2"}]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[ENTERPRISE]["manager"], json!({"value": "00uMgrOkta2"}));

    let mut put = body.clone();
    put[ENTERPRISE]["manager"] = json!(["00uMgrOkta3"]);
    let (status, body) = app
        .call_scim(&t.scim, Method::PUT, &format!("/Users/{id}"), Some(&put))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[ENTERPRISE]["manager"], json!({"value": "00uMgrOkta3"}));

    let filter = "/Users?filter=manager%20eq%20%2200uMgrOkta3%22";
    let (status, found) = app.call_scim(&t.scim, Method::GET, filter, None).await;
    assert_eq!((status, found["totalResults"].clone()), (200, json!(1)));

    put[ENTERPRISE]["manager"] = json!(["a", "b"]);
    let (status, body) = app
        .call_scim(&t.scim, Method::PUT, &format!("/Users/{id}"), Some(&put))
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
}

/// Creates an active user with `externalId` through SCIM, as Okta does.
async fn okta_user(
    app: &TestApp,
    t: &Tenant,
    name: &str,
    okta_id: &str,
    manager: Option<&str>,
) -> String {
    let mut body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": name,
        "externalId": okta_id,
        "active": true,
    });
    if let Some(manager) = manager {
        body[ENTERPRISE] = json!({"manager": {"value": manager}});
    }
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn owner_of(app: &TestApp, t: &Tenant, asset: &str, owner: &str) -> bool {
    let path = format!("/assets?owner_id={owner}");
    let (_, body) = app.call_admin(&t.admin, Method::GET, &path, None).await;
    body["assets"]
        .as_array()
        .is_some_and(|assets| assets.iter().any(|a| a["id"] == asset))
}

#[tokio::test]
async fn an_okta_leaver_whose_manager_is_an_okta_id_is_reassigned_to_that_manager() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    settings(
        &app,
        &t,
        json!({"deprovision_policy": "reassign_to_manager"}),
    )
    .await;
    let manager = okta_user(&app, &t, "mona@example.com", "00u1mona", None).await;
    let leaver = okta_user(&app, &t, "lee@example.com", "00u2lee", Some("00u1mona")).await;
    let number = give(&app, &t, "number", "+1 555 0100", &leaver).await;

    // Okta AIW deactivates with a PUT carrying the manager as sent.
    let mut put = okta_aiw_put("lee@example.com", false);
    put["schemas"] = json!([USER_SCHEMA, ENTERPRISE]);
    put[ENTERPRISE] = json!({"manager": {"value": "00u1mona"}});
    let (status, body) = app
        .call_scim(
            &t.scim,
            Method::PUT,
            &format!("/Users/{leaver}"),
            Some(&put),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    assert_eq!(body[ENTERPRISE]["manager"]["value"], "00u1mona", "no drift");
    assert!(owner_of(&app, &t, &number, &manager).await);

    // By userName too.
    let other = okta_user(
        &app,
        &t,
        "kim@example.com",
        "00u3kim",
        Some("MONA@example.com"),
    )
    .await;
    let second = give(&app, &t, "number", "+1 555 0101", &other).await;
    let (status, body) = patch_user(
        &app,
        &t,
        &other,
        json!([{"op": "replace", "value": {"active": false}}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(owner_of(&app, &t, &second, &manager).await);
}

#[tokio::test]
async fn an_unresolved_manager_is_named_and_a_manager_created_later_finishes_the_request() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let other = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    settings(
        &app,
        &t,
        json!({"deprovision_policy": "reassign_to_manager"}),
    )
    .await;

    // A manager in another tenant is not a user here.
    let elsewhere = okta_user(&app, &other, "boss@example.com", "00u9boss", None).await;
    let leaver = okta_user(&app, &t, "lee@example.com", "00u2lee", Some(&elsewhere)).await;
    give(&app, &t, "number", "+1 555 0100", &leaver).await;
    let deactivate = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let (status, body) = patch_user(&app, &t, &leaver, deactivate.clone()).await;
    assert_eq!(status, 409, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("manager {elsewhere} is not a user here")),
        "{detail}"
    );

    // Two users sharing the externalId make it ambiguous.
    let shared = okta_user(&app, &t, "kim@example.com", "00u5kim", Some("00u7dup")).await;
    give(&app, &t, "number", "+1 555 0102", &shared).await;
    okta_user(&app, &t, "dup1@example.com", "00u7dup", None).await;
    okta_user(&app, &t, "dup2@example.com", "00u7dup", None).await;
    let (status, body) = patch_user(&app, &t, &shared, deactivate.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("manager 00u7dup is not a user here")
    );

    // A leaver whose manager arrives later: the create finishes it.
    let late = okta_user(&app, &t, "late@example.com", "00u6late", Some("00u8mgr")).await;
    let number = give(&app, &t, "number", "+1 555 0103", &late).await;
    let (status, body) = patch_user(&app, &t, &late, deactivate).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("manager 00u8mgr is not a user here")
    );
    assert_eq!(admin_view(&app, &t, &late).await["access"], "suspended");
    let manager = okta_user(&app, &t, "mgr@example.com", "00u8mgr", None).await;
    let late_view = admin_view(&app, &t, &late).await;
    assert_eq!(
        (late_view["active"].clone(), late_view["access"].clone()),
        (json!(false), json!("deactivated"))
    );
    assert!(owner_of(&app, &t, &number, &manager).await);
    let events = audit_of(&app, &t, &late).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "deprovisioning.complete"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_manager_created_later_finishes_exactly_the_requests_that_name_it() {
    // Under reassign_to_manager every create asks whether the new user is
    // the manager some pending leaver waits for (one statement over the
    // waiting leavers' manager values, not a read per request; the cost is
    // measured in the closing note, not here). Only the requests naming the
    // new user, by id, externalId or userName, finish.
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    user(&app, &t, "root@example.com", true, None).await;
    settings(
        &app,
        &t,
        json!({"deprovision_policy": "reassign_to_manager"}),
    )
    .await;
    let deactivate = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    let managers = [
        "00u-gone-7",
        "New.Boss@example.com",
        "00u-other",
        "00u-gone-7",
    ];
    let mut leavers = Vec::new();
    for (i, manager) in managers.iter().enumerate() {
        let name = format!("leaver-{i}@example.com");
        let leaver = user(&app, &t, &name, false, Some(manager)).await;
        give(&app, &t, "number", &format!("+1 555 {i:04}"), &leaver).await;
        let (status, body) = patch_user(&app, &t, &leaver, deactivate.clone()).await;
        assert_eq!(status, 409, "{body}");
        leavers.push(leaver);
    }
    // Named by externalId (two reports) and by userName in another case.
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "new.boss@example.com",
        "externalId": "00u-gone-7",
        "active": true,
    });
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    let manager = created["id"].as_str().unwrap();
    let (_, completed) = app
        .call_admin(
            &t.admin,
            Method::GET,
            "/deprovisionings?state=completed",
            None,
        )
        .await;
    let mut names: Vec<&str> = completed["deprovisionings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["user"]["user_name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "leaver-0@example.com",
            "leaver-1@example.com",
            "leaver-3@example.com"
        ]
    );
    assert_eq!(admin_view(&app, &t, manager).await["owned"]["number"], 3);
    assert_eq!(
        admin_view(&app, &t, &leavers[2]).await["access"],
        "suspended"
    );
}

#[tokio::test]
async fn unknown_extension_namespaces_are_ignored_and_audited_and_known_ones_stay_strict() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let body = json!({
        "schemas": [USER_SCHEMA, CUSTOM],
        "userName": "pat@example.com",
        CUSTOM: {"tag": "701984"},
    });
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get(CUSTOM).is_none());
    assert_eq!(created["schemas"], json!([USER_SCHEMA]));
    let id = created["id"].as_str().unwrap().to_owned();
    let events = audit_of(&app, &t, &id).await;
    assert!(
        events[0]["detail"].as_str().unwrap().contains(CUSTOM),
        "{events:?}"
    );

    // Entra's custom attribute mapping: the rest of the PATCH applies.
    let (status, body) = patch_user(
        &app,
        &t,
        &id,
        json!([
            {"op": "Add", "path": format!("{CUSTOM}:tag"), "value": "701984"},
            {"op": "Replace", "path": "displayName", "value": "Pat"}
        ]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["displayName"], "Pat");
    let version = body["meta"]["version"].clone();
    let events = audit_of(&app, &t, &id).await;
    assert_eq!(events[0]["action"], "user.update");
    assert!(events[0]["detail"].as_str().unwrap().contains(CUSTOM));

    // Only the unknown namespace: nothing changes, but the admin is told.
    let (status, body) = patch_user(
        &app,
        &t,
        &id,
        json!([{"op": "Add", "path": format!("{CUSTOM}:tag"), "value": "1"}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["version"], version, "no new version");
    assert_eq!(audit_of(&app, &t, &id).await.len(), events.len() + 1);

    // Unknown attributes of published schemas are still refused.
    for path in [
        format!("{ENTERPRISE}:nosuch"),
        "urn:ietf:params:scim:schemas:core:2.0:User:nosuch".to_owned(),
        "nosuch".to_owned(),
    ] {
        let (status, body) = patch_user(
            &app,
            &t,
            &id,
            json!([{"op": "Add", "path": path, "value": "x"}]),
        )
        .await;
        assert_eq!(
            (status, body["scimType"].as_str()),
            (400, Some("invalidPath")),
            "{path}"
        );
    }

    // Groups ignore them too.
    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "urn:example:grp:1.0:Group": {"x": 1}});
    let (status, body) = app
        .call_scim(&t.scim, Method::POST, "/Groups", Some(&group))
        .await;
    assert_eq!(status, 201, "{body}");
    let gid = body["id"].as_str().unwrap();
    let patch_group = patch(
        json!([{"op": "add", "path": "urn:example:grp:1.0:Group:x", "value": "1"}, {"op": "replace", "path": "displayName", "value": "Sales EU"}]),
    );
    let (status, body) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(&patch_group),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
}

#[tokio::test]
async fn a_group_write_that_only_carries_an_unknown_namespace_is_still_audited() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ns = "urn:example:grp:1.0:Group";
    let group = json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales"});
    let (status, body) = app
        .call_scim(&t.scim, Method::POST, "/Groups", Some(&group))
        .await;
    assert_eq!(status, 201, "{body}");
    let gid = body["id"].as_str().unwrap().to_owned();
    let version = body["meta"]["version"].clone();
    let before = audit_of(&app, &t, &gid).await.len();

    // A PATCH that only writes the unknown namespace changes nothing, but
    // the admin learns what the IdP's mapping sent.
    let only_unknown = patch(json!([{"op": "Add", "path": format!("{ns}:tag"), "value": "1"}]));
    let (status, body) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(&only_unknown),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let events = audit_of(&app, &t, &gid).await;
    assert_eq!(events.len(), before + 1, "{events:?}");
    assert_eq!(events[0]["action"], "group.update");
    assert!(
        events[0]["detail"].as_str().unwrap().contains(ns),
        "{events:?}"
    );

    // So does a PUT that repeats the group with the unknown namespace.
    let put = json!({"schemas": [GROUP_SCHEMA, ns], "displayName": "Sales", ns: {"tag": "1"}});
    let (status, body) = app
        .call_scim(&t.scim, Method::PUT, &format!("/Groups/{gid}"), Some(&put))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["version"], version, "no new version");
    let events = audit_of(&app, &t, &gid).await;
    assert_eq!(events.len(), before + 2, "{events:?}");
    assert!(
        events[0]["detail"].as_str().unwrap().contains(ns),
        "{events:?}"
    );
}
