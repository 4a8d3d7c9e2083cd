//! Data the console tests share: a leaver whose Okta deactivation was
//! refused because they own a number and a workflow.

use reqwest::Method;
use serde_json::json;

use crate::deprovisioning::{Deprovision, deprovision, give, user};
use crate::helpers::{Tenant, TestApp};

/// The extension URN of a refusal.
pub const BLOCKED: &str = "urn:scimd:api:messages:2.0:DeprovisionBlocked";

/// The default tenant of `app`, as the deprovisioning helpers take it.
pub fn default_tenant(app: &TestApp) -> Tenant {
    Tenant {
        scim: app.scim_token.clone(),
        admin: app.admin_token.clone(),
    }
}

/// A refused deprovisioning and the users around it.
pub struct Leaver {
    pub leaver: String,
    /// An active user who can take the assets.
    pub heir: String,
    pub pending: String,
    pub number: String,
    pub workflow: String,
    /// The 409's body.
    pub refusal: serde_json::Value,
}

/// In `app`'s default tenant: an admin `root@example.com`, the heir
/// `heir@example.com` ("heir@example.com Display") and the leaver
/// `leaver@example.com` owning number `+1 555 0100` and workflow
/// `Night routing`, whose Okta-shaped `PATCH active=false` was refused.
pub async fn leaver_owning_a_number_and_a_workflow(app: &TestApp) -> Leaver {
    let t = default_tenant(app);
    user(app, &t, "root@example.com", true, None).await;
    let heir = user(app, &t, "heir@example.com", false, None).await;
    let leaver = user(app, &t, "leaver@example.com", false, None).await;
    let number = give(app, &t, "number", "+1 555 0100", &leaver).await;
    let workflow = give(app, &t, "workflow", "Night routing", &leaver).await;
    let answer = deprovision(app, &t, Deprovision::OktaPatch, &leaver, "", false).await;
    assert_eq!(answer.status, 409, "{:?}", answer.body);
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .expect("a pending id")
        .to_owned();
    Leaver {
        leaver,
        heir,
        pending,
        number,
        workflow,
        refusal: answer.body,
    }
}

/// SCIM's `active` of user `id`.
pub async fn scim_active(app: &TestApp, id: &str) -> Option<bool> {
    let (status, body) = app
        .call_scim(&app.scim_token, Method::GET, &format!("/Users/{id}"), None)
        .await;
    (status == 200).then(|| body["active"].as_bool().expect("active"))
}

/// Switches the default tenant's admin source to `scimd`.
pub async fn admins_from_scimd(app: &TestApp) {
    let (status, body) = app
        .call_admin(
            &app.admin_token,
            Method::PUT,
            "/settings",
            Some(&json!({"deprovision_policy": "block", "admin_source": "scimd"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
