//! The Users pages over HTTP: the search, a user's page, and its actions
//! through the guard.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::default_tenant;
use super::markup::count;
use crate::deprovisioning::{give, give_group, user};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_users_page_searches_by_name_status_and_admin() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    user(&app, &t, "ann@example.com", true, None).await;
    user(&app, &t, "bob@example.com", false, None).await;
    let carol = user(&app, &t, "carol@example.com", false, None).await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::POST,
            &format!("/users/{carol}/deactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut visitor = Visitor::signed_in(&app).await;

    let all = visitor.get("/console/users").await;
    assert_eq!(all.status, 200, "{}", all.body);
    for name in ["ann@example.com", "bob@example.com", "carol@example.com"] {
        assert!(all.body.contains(name), "{name}: {}", all.body);
    }
    assert!(all.body.contains("<label for=\"q\">Name or e-mail</label>"));
    assert!(all.body.contains("<label for=\"access\">Status</label>"));
    assert!(all.body.contains("aria-current=\"page\">Users</a>"));

    let bob = visitor.get("/console/users?q=bo").await;
    assert!(bob.body.contains("bob@example.com"), "{}", bob.body);
    assert!(!bob.body.contains("ann@example.com"));
    assert!(
        bob.body.contains("value=\"bo\""),
        "the search stays in its field"
    );

    let gone = visitor.get("/console/users?access=deactivated").await;
    assert!(gone.body.contains("carol@example.com"), "{}", gone.body);
    assert!(!gone.body.contains("bob@example.com"));
    assert!(
        gone.body
            .contains("<option value=\"deactivated\" selected>")
    );

    let admins = visitor.get("/console/users?admin=yes").await;
    assert!(admins.body.contains("ann@example.com"), "{}", admins.body);
    assert!(!admins.body.contains("bob@example.com"));

    let bad = visitor.get("/console/users?access=sleeping").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    assert!(bad.body.contains("access"), "{}", bad.body);
}

#[tokio::test]
async fn the_users_list_pages_with_the_search_kept() {
    let app = spawn_app().await;
    for i in 0..52 {
        app.create_user(&format!("page{i:02}@example.com")).await;
    }
    app.create_user("other@example.com").await;
    let mut visitor = Visitor::signed_in(&app).await;
    let first = visitor.get("/console/users?q=page").await;
    assert_eq!(count(&first.body, "<tr>") - 1, 50, "{}", first.body);
    let next = first
        .body
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("cursor="))
        .expect("a next page link")
        .replace("&#38;", "&");
    assert!(next.contains("q=page"), "{next}");
    let second = visitor.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        second.body.contains("page50@example.com"),
        "{}",
        second.body
    );
    assert!(second.body.contains("page51@example.com"));
    assert!(!second.body.contains("other@example.com"));
    assert!(second.body.contains(">First page</a>"));
}

#[tokio::test]
async fn a_users_page_shows_status_what_it_owns_its_groups_and_its_trail() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let priya = user(&app, &t, "priya@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0100", &priya).await;
    give(&app, &t, "workflow", "Sales hotline", &priya).await;
    give_group(&app, &t, "Night shift", &priya).await;
    let mut visitor = Visitor::signed_in(&app).await;

    let page = visitor.get(&format!("/console/users/{priya}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "priya@example.com Display",
        "+1 555 0100",
        "Sales hotline",
        "Night shift",
        "<td>user.create</td>",
        ">active</span>",
        "<label for=\"new_owner\">New owner</label>",
        ">Reassign everything</button>",
        ">Deactivate</button>",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    // Admin rights come from the IdP here: no button for them.
    assert!(!page.body.contains(">Make admin</button>"));
    assert!(page.body.contains("admin source <code>idp</code>"));

    let missing = visitor.get("/console/users/no-such-user").await;
    assert_eq!(missing.status, 404);
    let nul = visitor.get("/console/users/a%00b").await;
    assert_eq!(nul.status, 404);
}

#[tokio::test]
async fn a_refused_deactivation_shows_the_guards_text_and_reassigning_finishes_it() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let leaver = user(&app, &t, "leaver@example.com", false, None).await;
    let heir = user(&app, &t, "heir@example.com", false, None).await;
    give(&app, &t, "number", "+1 555 0199", &leaver).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let refused = visitor
        .post(
            &format!("/console/users/{leaver}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("+1 555 0199"), "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""));
    let (_, pending) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/deprovisionings?user_id={leaver}"),
            None,
        )
        .await;
    let pending_id = pending["deprovisionings"][0]["id"].as_str().unwrap();
    assert!(
        refused
            .body
            .contains(&format!("/console/deprovisionings/{pending_id}")),
        "{}",
        refused.body
    );
    // The leaver is suspended meanwhile, and its page says so.
    let page = visitor.get(&format!("/console/users/{leaver}")).await;
    assert!(page.body.contains("suspended"), "{}", page.body);
    assert!(page.body.contains("Open the pending deprovisioning"));

    let unchosen = visitor
        .post(
            &format!("/console/users/{leaver}/reassign"),
            &[("csrf", &csrf), ("new_owner", "")],
        )
        .await;
    assert_eq!(unchosen.status, 400, "{}", unchosen.body);
    assert!(unchosen.body.contains("Choose the new owner first."));

    let done = visitor
        .post(
            &format!("/console/users/{leaver}/reassign"),
            &[("csrf", &csrf), ("new_owner", &heir)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(format!("/console/users/{leaver}?done=finished").as_str())
    );
    let after = visitor.get(done.location().unwrap()).await;
    assert!(after.body.contains("deprovisioning is finished"));
    assert!(after.body.contains(">deactivated</span>"), "{}", after.body);
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{leaver}"), None)
        .await;
    assert_eq!(view["active"], false, "{view}");
    let (_, heirs) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/assets?owner_id={heir}"),
            None,
        )
        .await;
    assert_eq!(heirs["assets"][0]["name"], "+1 555 0199");
}

#[tokio::test]
async fn deactivate_and_reactivate_go_through_the_admin_apis_functions() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let sam = user(&app, &t, "sam@example.com", false, None).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let off = visitor
        .post(
            &format!("/console/users/{sam}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(
        off.location(),
        Some(format!("/console/users/{sam}?done=deactivated").as_str())
    );
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{sam}"), None)
        .await;
    assert_eq!(view["access"], "deactivated");
    let page = visitor.get(off.location().unwrap()).await;
    assert!(page.body.contains("The user was deactivated."));
    assert!(page.body.contains(">Reactivate</button>"));
    assert!(!page.body.contains(">Deactivate</button>"));

    let on = visitor
        .post(
            &format!("/console/users/{sam}/reactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(on.status, 303, "{}", on.body);
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{sam}"), None)
        .await;
    assert_eq!(view["access"], "active");
    // The audit log names the console session's token as the actor.
    let (_, audit) = app
        .call_admin(
            &t.admin,
            Method::GET,
            &format!("/audit?user_id={sam}&action=user.reactivate"),
            None,
        )
        .await;
    assert!(
        audit["events"][0]["actor"]
            .as_str()
            .is_some_and(|actor| actor.contains("console")),
        "{audit}"
    );

    // The seat limit applies to a reactivation, and the page says so.
    visitor
        .post(
            &format!("/console/users/{sam}/deactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            "/settings",
            Some(&json!({"deprovision_policy": "block", "seat_limit": 0})),
        )
        .await;
    assert_eq!(status, 200);
    let full = visitor
        .post(
            &format!("/console/users/{sam}/reactivate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(full.status, 409, "{}", full.body);
    assert!(full.body.contains("seat"), "{}", full.body);
}

#[tokio::test]
async fn admin_rights_are_granted_and_removed_here_only_with_admin_source_scimd() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let bob = user(&app, &t, "bob@example.com", false, None).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let refused = visitor
        .post(
            &format!("/console/users/{bob}/admin"),
            &[("csrf", &csrf), ("admin", "true")],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused.body.contains("admin_source is idp"),
        "{}",
        refused.body
    );

    let (status, _) = app
        .call_admin(
            &t.admin,
            Method::PUT,
            "/settings",
            Some(&json!({"deprovision_policy": "block", "admin_source": "scimd"})),
        )
        .await;
    assert_eq!(status, 200);
    let page = visitor.get(&format!("/console/users/{bob}")).await;
    assert!(page.body.contains(">Make admin</button>"), "{}", page.body);
    let granted = visitor
        .post(
            &format!("/console/users/{bob}/admin"),
            &[("csrf", &csrf), ("admin", "true")],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    assert_eq!(
        granted.location(),
        Some(format!("/console/users/{bob}?done=made-admin").as_str())
    );
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{bob}"), None)
        .await;
    assert_eq!(view["admin"], true);

    let removed = visitor
        .post(
            &format!("/console/users/{ann}/admin"),
            &[("csrf", &csrf), ("admin", "false")],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    // Bob is now the last admin: removing him is the guard's refusal.
    let last = visitor
        .post(
            &format!("/console/users/{bob}/admin"),
            &[("csrf", &csrf), ("admin", "false")],
        )
        .await;
    assert_eq!(last.status, 409, "{}", last.body);
    assert!(last.body.contains("admin"), "{}", last.body);
    let (_, view) = app
        .call_admin(&t.admin, Method::GET, &format!("/users/{bob}"), None)
        .await;
    assert_eq!(view["admin"], true);
}
