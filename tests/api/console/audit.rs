//! The audit log page over HTTP: filters, paging, newest first.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::default_tenant;
use super::markup::count;
use crate::deprovisioning::{give, user};
use crate::helpers::{USER_SCHEMA, spawn_app};

/// The rows of the audit table (its header row aside).
fn rows(body: &str) -> usize {
    count(body, "<tr>").saturating_sub(1)
}

#[tokio::test]
async fn the_audit_log_filters_by_outcome_user_action_and_time() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    user(&app, &t, "stayer@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0142", &leaver).await;
    let (status, _) = app
        .call_scim(
            &t.scim,
            Method::PATCH,
            &format!("/Users/{leaver}"),
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        )
        .await;
    assert_eq!(status, 409);
    let mut visitor = Visitor::signed_in(&app).await;

    let all = visitor.get("/console/audit").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("aria-current=\"page\">Audit log</a>"));
    for label in ["User", "Outcome", "Action", "From", "Until"] {
        assert!(all.body.contains(&format!(">{label}</label>")), "{label}");
    }
    // Newest first: the refusal comes before the users' creation.
    let table = &all.body[all.body.find("<tbody>").expect("a table")..];
    let blocked_at = table.find("outcome-blocked").expect("the refusal");
    let created_at = table
        .find("<td class=\"nowrap\">user.create</td>")
        .expect("a creation");
    assert!(blocked_at < created_at, "{}", all.body);

    let blocked = visitor.get("/console/audit?outcome=blocked").await;
    assert_eq!(blocked.status, 200);
    assert_eq!(rows(&blocked.body), 1, "{}", blocked.body);
    assert!(
        blocked
            .body
            .contains("<td class=\"nowrap\">user.deactivate</td>")
    );
    assert!(blocked.body.contains("+1 555 0142"), "{}", blocked.body);
    assert!(blocked.body.contains("<option value=\"blocked\" selected>"));

    let by_name = visitor
        .get("/console/audit?user=stayer%40example.com")
        .await;
    assert_eq!(rows(&by_name.body), 1, "{}", by_name.body);
    assert!(by_name.body.contains("stayer@example.com"));
    let by_id = visitor.get(&format!("/console/audit?user={leaver}")).await;
    assert!(rows(&by_id.body) >= 2, "{}", by_id.body);
    assert!(!by_id.body.contains("stayer@example.com"));
    assert!(
        by_id
            .body
            .contains(&format!("href=\"/console/users/{leaver}\""))
    );

    let assets = visitor.get("/console/audit?action=asset.create").await;
    assert_eq!(rows(&assets.body), 1, "{}", assets.body);

    let future = visitor.get("/console/audit?since=2999-01-01").await;
    assert_eq!(future.status, 200);
    assert!(future.body.contains("No event matches these filters."));
    let past = visitor.get("/console/audit?until=2000-01-01+00%3A00").await;
    assert!(past.body.contains("No event matches these filters."));
    let now = visitor.get("/console/audit?since=2000-01-01").await;
    assert!(rows(&now.body) >= 4, "{}", now.body);

    let wrong = visitor.get("/console/audit?since=last+week").await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("RFC 3339"), "{}", wrong.body);
    assert!(
        wrong.body.contains("value=\"last week\""),
        "the filter stays in its field"
    );
    let unknown = visitor.get("/console/audit?action=user.explode").await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
}

#[tokio::test]
async fn the_audit_log_pages_to_older_events_with_the_filters_kept() {
    let app = spawn_app().await;
    for i in 0..55 {
        let response = app
            .post(
                "/Users",
                &json!({"schemas": [USER_SCHEMA], "userName": format!("u{i:02}@example.com")}),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let mut visitor = Visitor::signed_in(&app).await;
    let first = visitor.get("/console/audit?action=user.create").await;
    assert_eq!(rows(&first.body), 50, "{}", first.body);
    assert!(first.body.contains("u54@example.com"), "newest first");
    assert!(!first.body.contains("u04@example.com"));
    let older = first
        .body
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("cursor="))
        .expect("an older page link")
        .replace("&#38;", "&");
    assert!(older.contains("action=user.create"), "{older}");
    let second = visitor.get(&older).await;
    assert_eq!(rows(&second.body), 5, "{}", second.body);
    assert!(second.body.contains("u00@example.com"));
    assert!(second.body.contains(">Newest events</a>"));
    assert!(!second.body.contains(">Older events</a>"));
}
