//! The admin API's lists (DESIGN §5): user search, the audit log's
//! filters, cursor paging, limits, unknown parameters, and the audit
//! retention setting with its pruning.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use reqwest::Method;
use serde_json::{Value, json};

use crate::deprovisioning::{give, user};
use crate::helpers::*;

/// 2026-11-28T00:00:00Z.
const START: i64 = 1_795_824_000_000;
const DAY_SECONDS: i64 = 24 * 60 * 60;

/// A server whose clock stands at [`START`] until the test moves it.
async fn spawn_app_at_start() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(AtomicI64::new(START)));
    let app = spawn_app_on(|_| {}, clock.clone()).await;
    (app, clock)
}

/// `GET /api/v1{path}` with `query` encoded by the client, as `token`.
async fn list(app: &TestApp, token: &str, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let request = app.admin_as(token, Method::GET, path).query(query);
    status_and_json(request.send().await.unwrap()).await
}

/// The ids of a list's `key` items.
fn ids_of(page: &Value, key: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {page}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `path` with `query` and `limit`, following
/// `next_cursor` until it is null; the ids in order and the page count.
async fn every_page(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    query: &[(&str, &str)],
    limit: &str,
) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..100 {
        let mut params: Vec<(&str, &str)> = query.to_vec();
        params.push(("limit", limit));
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor));
        }
        let (status, page) = list(app, token, path, &params).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(ids_of(&page, key));
        match &page["next_cursor"] {
            Value::Null => return (seen, pages),
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("next_cursor is {other}"),
        }
    }
    panic!("paging never ended");
}

fn assert_admin_error(status: u16, body: &Value, expected_status: u16, error: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

/// Creates a user with a display name and one e-mail; returns its id.
async fn person(app: &TestApp, t: &Tenant, user_name: &str, display: &str, email: &str) -> String {
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "displayName": display,
        "emails": [{"value": email, "type": "work"}],
    });
    let (status, created) = app
        .call_scim(&t.scim, Method::POST, "/Users", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn users_are_found_by_exact_user_name_ignoring_case_or_by_a_prefix_of_name_display_name_or_email()
 {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ann = person(&app, &t, "Ann.Lee@example.com", "Ann Lee", "ann@corp.test").await;
    let bob = person(
        &app,
        &t,
        "bob@example.com",
        "Robert Smith",
        "RSmith@Mail.test",
    )
    .await;
    let literal = person(&app, &t, r"100%_real\x", "Percent", "p@x.test").await;
    // What `100%_` would match if `%` and `_` were wildcards.
    let lookalike = person(&app, &t, "100abreal", "Lookalike", "l@x.test").await;

    let cases: [(&str, &str, Vec<&String>); 14] = [
        ("user_name", "ANN.LEE@example.COM", vec![&ann]),
        ("user_name", "ann", vec![]),
        ("user_name", "ann.lee@example.co", vec![]),
        ("q", "aNN", vec![&ann]),
        ("q", "robert s", vec![&bob]),
        ("q", "rsmith@", vec![&bob]),
        ("q", "SMITH", vec![]),
        ("q", "100", vec![&literal, &lookalike]),
        ("q", "100%_", vec![&literal]),
        ("q", r"100%_real\", vec![&literal]),
        ("q", "%", vec![]),
        ("q", "_", vec![]),
        ("q", "", vec![&ann, &bob, &literal, &lookalike]),
        ("user_name", "", vec![&ann, &bob, &literal, &lookalike]),
    ];
    for (name, value, expected) in cases {
        let (status, page) = list(&app, &t.admin, "/users", &[(name, value)]).await;
        assert_eq!(status, 200, "{page}");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids_of(&page, "users"), expected, "{name}={value:?}");
        assert_eq!(page["next_cursor"], Value::Null);
    }
    // Both at once narrow each other.
    let (_, page) = list(
        &app,
        &t.admin,
        "/users",
        &[("q", "ann"), ("user_name", "bob@example.com")],
    )
    .await;
    assert_eq!(page["users"], json!([]));
}

/// Query parameters as name and value.
type Query<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn users_are_filtered_by_access_and_by_the_admin_flag() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let boss = user(&app, &t, "boss@example.com", true, None).await;
    let owner = user(&app, &t, "owner@example.com", false, None).await;
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0700", &owner).await;
    // Refused for the number it owns, so suspended (DESIGN §4).
    let path = format!("/users/{owner}/deactivate");
    assert_eq!(
        app.call_admin(&t.admin, Method::POST, &path, None).await.0,
        409
    );
    let path = format!("/users/{leaver}/deactivate");
    assert_eq!(
        app.call_admin(&t.admin, Method::POST, &path, None).await.0,
        200
    );

    let cases: [(Query, Vec<&String>); 7] = [
        (&[("access", "active")], vec![&boss]),
        (&[("access", "suspended")], vec![&owner]),
        (&[("access", "deactivated")], vec![&leaver]),
        (&[("admin", "true")], vec![&boss]),
        (&[("admin", "false")], vec![&owner, &leaver]),
        (&[("admin", "false"), ("access", "active")], vec![]),
        (&[("admin", "true"), ("access", "active")], vec![&boss]),
    ];
    for (query, expected) in cases {
        let (status, page) = list(&app, &t.admin, "/users", query).await;
        assert_eq!(status, 200, "{page}");
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(ids_of(&page, "users"), expected, "{query:?}");
    }

    let (status, body) = list(&app, &t.admin, "/users", &[("access", "gone")]).await;
    assert_admin_error(status, &body, 400, "invalid_request");
    assert_eq!(
        body["detail"],
        "unknown access `gone`; use active, suspended or deactivated"
    );
    let (status, body) = list(&app, &t.admin, "/users", &[("admin", "maybe")]).await;
    assert_admin_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn paging_through_more_users_than_a_page_holds_sees_every_user_once_even_when_all_were_created_in_the_same_millisecond()
 {
    // The clock stands still: every user has the same `created_at`, so
    // only the id orders them.
    let (app, clock) = spawn_app_at_start().await;
    let t = app.new_tenant().await;
    let mut created = Vec::new();
    for n in 0..21 {
        created.push(person(&app, &t, &format!("u{n:02}"), "Same", "s@x.test").await);
    }
    let mut expected = created.clone();
    expected.sort();

    let (status, all) = list(&app, &t.admin, "/users", &[("limit", "1000")]).await;
    assert_eq!(status, 200);
    assert_eq!(ids_of(&all, "users"), expected);

    // 21 users, 7 a page: three full pages, and the third says it is the last.
    let (seen, pages) = every_page(&app, &t.admin, "/users", "users", &[], "7").await;
    assert_eq!((seen.clone(), pages), (expected.clone(), 3));
    let (seen, pages) = every_page(&app, &t.admin, "/users", "users", &[], "5").await;
    assert_eq!((seen, pages), (expected.clone(), 5));
    let (seen, pages) = every_page(&app, &t.admin, "/users", "users", &[], "1").await;
    assert_eq!((seen.len(), pages), (21, 21));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 21);

    // Filters hold on every page.
    let (seen, pages) = every_page(&app, &t.admin, "/users", "users", &[("q", "u1")], "3").await;
    let tens: Vec<String> = expected
        .iter()
        .filter(|id| created[10..20].contains(id))
        .cloned()
        .collect();
    assert_eq!((seen, pages), (tens, 4));

    // A user created between two pages appears once, at the end.
    let (_, first) = list(&app, &t.admin, "/users", &[("limit", "20")]).await;
    clock.advance_seconds(1);
    let late = person(&app, &t, "late", "Late", "late@x.test").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = list(
        &app,
        &t.admin,
        "/users",
        &[("limit", "20"), ("cursor", cursor)],
    )
    .await;
    assert_eq!(ids_of(&rest, "users"), [expected[20].clone(), late]);
    assert_eq!(rest["next_cursor"], Value::Null);
}

#[tokio::test]
async fn bad_cursors_bad_limits_and_unknown_parameters_are_invalid_requests() {
    let app = spawn_app().await;
    let token = &app.admin_token;
    for cursor in ["garbage", "eyJhIjoxfQ", "e30", "%%%"] {
        for path in ["/users", "/audit"] {
            let (status, body) = list(&app, token, path, &[("cursor", cursor)]).await;
            assert_admin_error(status, &body, 400, "invalid_request");
            assert_eq!(
                body["detail"], "the cursor is not one this server issued; start again without it",
                "{path} {cursor}"
            );
        }
    }
    for limit in ["0", "1001", "-3", "ten", "1.5", ""] {
        for path in ["/users", "/audit"] {
            let (status, body) = list(&app, token, path, &[("limit", limit)]).await;
            assert_admin_error(status, &body, 400, "invalid_request");
        }
    }
    let (_, body) = list(&app, token, "/users", &[("limit", "1001")]).await;
    assert_eq!(body["detail"], "limit must be 1 to 1000");
    for path in [
        "/users?offset=10",
        "/users?userName=ann",
        "/users?limit=5&sort=name",
        "/audit?target_id=x",
        "/audit?offset=1",
        "/assets?owner=x",
        "/call-records?cursor=x",
        "/tokens?all=true",
    ] {
        let (status, body) = app.call_admin(token, Method::GET, path, None).await;
        assert_admin_error(status, &body, 400, "invalid_request");
        assert!(
            body["detail"].as_str().unwrap().contains("unknown field"),
            "{path}: {body}"
        );
    }
    let (status, body) = list(&app, token, "/assets", &[("kind", "fax")]).await;
    assert_admin_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn assets_are_listed_by_kind() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let number = give(&app, &t, "number", "+1 555 0800", &ann).await;
    let workflow = give(&app, &t, "workflow", "Night queue", &ann).await;
    let (_, numbers) = list(&app, &t.admin, "/assets", &[("kind", "number")]).await;
    assert_eq!(ids_of(&numbers, "assets"), [number]);
    let query = [("kind", "workflow"), ("owner_id", ann.as_str())];
    let (_, workflows) = list(&app, &t.admin, "/assets", &query).await;
    assert_eq!(ids_of(&workflows, "assets"), [workflow]);
}

/// Events as `(action, outcome)`, newest first.
fn actions(page: &Value) -> Vec<(String, String)> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn audit_events_are_filtered_by_user_outcome_action_and_time_and_paged_newest_first() {
    let (app, clock) = spawn_app_at_start().await;
    let t = app.new_tenant().await;
    // Day 0: two users; day 1: a number; day 2: a refused deactivation.
    let boss = user(&app, &t, "boss@example.com", true, None).await;
    let owner = user(&app, &t, "owner@example.com", false, None).await;
    clock.advance_seconds(DAY_SECONDS);
    give(&app, &t, "number", "+1 555 0900", &owner).await;
    clock.advance_seconds(DAY_SECONDS);
    let path = format!("/users/{owner}/deactivate");
    assert_eq!(
        app.call_admin(&t.admin, Method::POST, &path, None).await.0,
        409
    );

    let (status, all) = list(&app, &t.admin, "/audit", &[]).await;
    assert_eq!(status, 200, "{all}");
    let everything = ids_of(&all, "events");
    assert!(everything.len() >= 4, "{all}");
    assert_eq!(all["next_cursor"], Value::Null);
    // Newest first: ids only go down.
    let numbers: Vec<i64> = everything.iter().map(|id| id.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] > w[1]), "{numbers:?}");
    let first = &all["events"][0];
    for field in [
        "id",
        "at",
        "actor",
        "action",
        "target_id",
        "outcome",
        "detail",
    ] {
        assert!(first.get(field).is_some(), "{field} missing from {first}");
    }

    let (_, blocked) = list(&app, &t.admin, "/audit", &[("outcome", "blocked")]).await;
    assert_eq!(
        actions(&blocked),
        [("user.deactivate".to_owned(), "blocked".to_owned())]
    );
    let (_, creates) = list(&app, &t.admin, "/audit", &[("action", "user.create")]).await;
    assert_eq!(
        ids_of(&creates, "events").len(),
        2,
        "two users were created: {creates}"
    );
    assert!(actions(&creates).iter().all(|(a, _)| a == "user.create"));
    let query = [("user_id", boss.as_str()), ("outcome", "allowed")];
    let (_, boss_events) = list(&app, &t.admin, "/audit", &query).await;
    assert_eq!(
        actions(&boss_events),
        [("user.create".to_owned(), "allowed".to_owned())]
    );
    // Day 1 only: since is inclusive, until exclusive.
    let query = [
        ("since", "2026-11-29T00:00:00Z"),
        ("until", "2026-11-30T00:00:00Z"),
    ];
    let (_, day_one) = list(&app, &t.admin, "/audit", &query).await;
    assert_eq!(
        actions(&day_one),
        [("asset.create".to_owned(), "allowed".to_owned())]
    );
    let (_, from_day_two) = list(
        &app,
        &t.admin,
        "/audit",
        &[("since", "2026-11-30T05:30:00+05:30")],
    )
    .await;
    assert_eq!(actions(&from_day_two), actions(&blocked));
    let (_, before_start) = list(
        &app,
        &t.admin,
        "/audit",
        &[("until", "2026-11-28T00:00:00Z")],
    )
    .await;
    assert_eq!(before_start["events"], json!([]));

    // Paging one by one sees every event once, in the same order.
    let (seen, pages) = every_page(&app, &t.admin, "/audit", "events", &[], "1").await;
    assert_eq!((seen, pages), (everything.clone(), everything.len()));
    let (seen, _) = every_page(
        &app,
        &t.admin,
        "/audit",
        "events",
        &[("outcome", "allowed")],
        "2",
    )
    .await;
    assert_eq!(seen, everything[1..]);

    let refusals = [
        ("action", "user.explode", "unknown action `user.explode`"),
        (
            "outcome",
            "maybe",
            "unknown outcome `maybe`; use allowed or blocked",
        ),
        (
            "since",
            "yesterday",
            "since must be an RFC 3339 date-time, e.g. 2026-11-28T09:30:00Z",
        ),
        (
            "until",
            "2026-13-01T00:00:00Z",
            "until must be an RFC 3339 date-time, e.g. 2026-11-28T09:30:00Z",
        ),
    ];
    for (name, value, detail) in refusals {
        let (status, body) = list(&app, &t.admin, "/audit", &[(name, value)]).await;
        assert_admin_error(status, &body, 400, "invalid_request");
        assert_eq!(body["detail"], detail);
    }
}

#[tokio::test]
async fn the_audit_retention_is_365_days_unless_set_to_1_to_36500_and_a_put_without_it_keeps_it() {
    let app = spawn_app().await;
    let t = app.new_tenant().await;
    let (status, settings) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(
        (status, settings["audit_retention_days"].clone()),
        (200, json!(365))
    );

    let put = |days: Value| json!({"deprovision_policy": "block", "seat_limit": null, "audit_retention_days": days});
    for days in [json!(0), json!(-1), json!(36501), json!(4_294_967_296_i64)] {
        let (status, body) = app
            .call_admin(&t.admin, Method::PUT, "/settings", Some(&put(days.clone())))
            .await;
        assert_admin_error(status, &body, 400, "invalid_request");
        assert_eq!(
            body["detail"],
            format!("audit_retention_days must be 1 to 36500 (days), not {days}")
        );
    }
    // Not a number at all: the body does not fit, like any mistyped field.
    let (status, body) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&put(json!("30"))))
        .await;
    assert_admin_error(status, &body, 422, "invalid_request");
    assert_eq!(
        app.call_admin(&t.admin, Method::GET, "/settings", None)
            .await
            .1["audit_retention_days"],
        365,
        "refused changes change nothing"
    );

    for days in [1, 36500, 30] {
        let (status, body) = app
            .call_admin(&t.admin, Method::PUT, "/settings", Some(&put(json!(days))))
            .await;
        assert_eq!(
            (status, body["audit_retention_days"].clone()),
            (200, json!(days))
        );
    }
    let without = json!({"deprovision_policy": "block"});
    let (status, body) = app
        .call_admin(&t.admin, Method::PUT, "/settings", Some(&without))
        .await;
    assert_eq!(
        (status, body["audit_retention_days"].clone()),
        (200, json!(30))
    );
    let (_, settings) = app
        .call_admin(&t.admin, Method::GET, "/settings", None)
        .await;
    assert_eq!(settings["audit_retention_days"], 30);

    let (_, changes) = list(&app, &t.admin, "/audit", &[("action", "settings.update")]).await;
    let changed: Vec<&Value> = changes["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["attributes"])
        .collect();
    assert_eq!(changed[1], &json!(["audit_retention_days"]), "{changes}");
}

#[tokio::test]
async fn audit_events_older_than_their_tenants_retention_are_pruned_and_others_kept() {
    let (app, clock) = spawn_app_at_start().await;
    let (short, long) = (app.new_tenant().await, app.new_tenant().await);
    let body = json!({"deprovision_policy": "block", "audit_retention_days": 30});
    let (status, _) = app
        .call_admin(&short.admin, Method::PUT, "/settings", Some(&body))
        .await;
    assert_eq!(status, 200);
    let old = user(&app, &short, "old@example.com", true, None).await;
    user(&app, &long, "old@example.com", true, None).await;
    let (_, long_before) = list(&app, &long.admin, "/audit", &[]).await;

    // 29 days on, nothing is old enough yet.
    clock.advance_seconds(29 * DAY_SECONDS);
    assert_eq!(
        app.domain
            .prune_audit(START + 29 * DAY_SECONDS * 1000)
            .await
            .unwrap(),
        0
    );
    // 31 days on, the short tenant's first day goes; a new event stays.
    clock.advance_seconds(2 * DAY_SECONDS);
    let new = user(&app, &short, "new@example.com", false, None).await;
    let pruned = app
        .domain
        .prune_audit(START + 31 * DAY_SECONDS * 1000)
        .await
        .unwrap();
    assert_eq!(
        pruned, 2,
        "the settings change and the first user's creation"
    );

    let (_, short_after) = list(&app, &short.admin, "/audit", &[]).await;
    let targets: Vec<&Value> = short_after["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["target_id"])
        .collect();
    assert_eq!(targets, [&json!(new)]);
    let (_, about_old) = list(&app, &short.admin, "/audit", &[("user_id", old.as_str())]).await;
    assert_eq!(about_old["events"], json!([]));
    let (_, long_after) = list(&app, &long.admin, "/audit", &[]).await;
    assert_eq!(long_after, long_before, "365 days are not over");
}
