//! The pending deprovisionings pages, over HTTP.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::{
    BLOCKED, admins_from_scimd, default_tenant, leaver_owning_a_number_and_a_workflow, scim_active,
};
use crate::deprovisioning::{Deprovision, deprovision, full_user, user};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_list_and_the_request_page_show_the_leaver_and_every_blocker() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let mut visitor = Visitor::signed_in(&app).await;

    let list = visitor.get("/console/deprovisionings").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains("leaver@example.com Display"),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains(&format!("/console/deprovisionings/{}", l.pending))
    );
    assert!(list.body.contains("Owns numbers, groups or workflows"));

    let page = visitor
        .get(&format!("/console/deprovisionings/{}", l.pending))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    for expected in [
        "Deprovisioning of leaver@example.com Display",
        "Deactivate the user",
        "still own numbers, groups or workflows",
        "Phone number",
        "+1 555 0100",
        "Workflow",
        "Night routing",
        "<label for=\"new_owner\">New owner</label>",
        "heir@example.com Display (heir@example.com)",
        ">Reassign and finish</button>",
        ">Cancel request</button>",
        "Nothing since the request.",
    ] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    // The leaver is no candidate for their own things.
    assert!(!page.body.contains(&format!("value=\"{}\"", l.leaver)));
}

#[tokio::test]
async fn reassign_and_finish_moves_everything_and_deactivates_the_leaver() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    let csrf = visitor.get(&path).await.hidden("csrf");
    let done = visitor
        .post(
            &format!("{path}/reassign"),
            &[("csrf", &csrf), ("new_owner", &l.heir)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        Some(format!("{path}?done=finished").as_str())
    );
    let page = visitor.get(&format!("{path}?done=finished")).await;
    assert!(
        page.body.contains("Done: everything was reassigned"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Finished"));
    assert!(!page.body.contains(">Reassign and finish</button>"));
    assert_eq!(scim_active(&app, &l.leaver).await, Some(false));
    let (_, assets) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            &format!("/assets?owner_id={}", l.heir),
            None,
        )
        .await;
    assert_eq!(assets["assets"].as_array().unwrap().len(), 2, "{assets}");
    // The audit log names the console as the resolver.
    let (_, audit) = app
        .call_admin(&app.admin_token, Method::GET, "/audit", None)
        .await;
    assert!(audit.to_string().contains("(console)"), "{audit}");
}

#[tokio::test]
async fn a_delete_request_asks_for_confirmation_before_it_finishes() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let t = default_tenant(&app);
    let delete = deprovision(&app, &t, Deprovision::ScimDelete, &l.leaver, "", false).await;
    assert_eq!(delete.status, 409);
    let mut visitor = Visitor::signed_in(&app).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    let page = visitor.get(&path).await;
    assert!(page.body.contains("Delete the user"), "{}", page.body);
    let csrf = page.hidden("csrf");
    let confirm = visitor
        .post(
            &format!("{path}/reassign"),
            &[("csrf", &csrf), ("new_owner", &l.heir)],
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm
            .body
            .contains("Reassign and delete leaver@example.com Display?")
    );
    assert!(
        confirm
            .body
            .contains("heir@example.com Display (heir@example.com)")
    );
    assert_eq!(
        scim_active(&app, &l.leaver).await,
        Some(true),
        "nothing yet"
    );
    let done = visitor
        .post(
            &format!("{path}/reassign"),
            &[
                ("csrf", &csrf),
                ("new_owner", &l.heir),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("{path}?done=finished").as_str())
    );
    assert_eq!(scim_active(&app, &l.leaver).await, None, "deleted");
}

#[tokio::test]
async fn assets_can_be_moved_one_by_one_and_the_last_move_finishes_the_request() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    let page = visitor.get(&path).await;
    assert!(
        page.body.contains("New owner of +1 555 0100"),
        "{}",
        page.body
    );
    let csrf = page.hidden("csrf");
    let moved = visitor
        .post(
            &format!("{path}/blockers/{}/owner", l.number),
            &[("csrf", &csrf), ("owner", &l.heir)],
        )
        .await;
    assert_eq!(
        moved.location(),
        Some(format!("{path}?done=moved").as_str())
    );
    let page = visitor.get(&path).await;
    assert!(!page.body.contains("+1 555 0100"), "{}", page.body);
    assert!(page.body.contains("Night routing"));
    let finished = visitor
        .post(
            &format!("{path}/blockers/{}/owner", l.workflow),
            &[("csrf", &csrf), ("owner", &l.heir)],
        )
        .await;
    assert_eq!(
        finished.location(),
        Some(format!("{path}?done=finished").as_str())
    );
    assert_eq!(scim_active(&app, &l.leaver).await, Some(false));
}

#[tokio::test]
async fn a_refused_or_mistaken_action_shows_the_reason_on_the_page() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    let csrf = visitor.get(&path).await.hidden("csrf");
    let nobody = visitor
        .post(
            &format!("{path}/reassign"),
            &[("csrf", &csrf), ("new_owner", "")],
        )
        .await;
    assert_eq!(nobody.status, 400);
    assert!(
        nobody.body.contains("Choose the new owner"),
        "{}",
        nobody.body
    );
    // The heir leaves too: an inactive user cannot take anything.
    let (status, _) = app
        .call_admin(
            &app.admin_token,
            Method::POST,
            &format!("/users/{}/deactivate", l.heir),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let inactive = visitor
        .post(
            &format!("{path}/reassign"),
            &[("csrf", &csrf), ("new_owner", &l.heir)],
        )
        .await;
    assert_eq!(inactive.status, 409, "{}", inactive.body);
    assert!(inactive.body.contains("is not active"), "{}", inactive.body);
    assert!(inactive.body.contains("class=\"error\""));
    assert!(!inactive.body.trim_start().starts_with('{'));
}

#[tokio::test]
async fn cancelling_keeps_the_user_and_lifts_the_suspension() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let mut visitor = Visitor::signed_in(&app).await;
    let path = format!("/console/deprovisionings/{}", l.pending);
    let csrf = visitor.get(&path).await.hidden("csrf");
    let cancelled = visitor
        .post(&format!("{path}/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        cancelled.location(),
        Some(format!("{path}?done=cancelled").as_str())
    );
    let page = visitor.get(&format!("{path}?done=cancelled")).await;
    assert!(
        page.body.contains("The request was cancelled"),
        "{}",
        page.body
    );
    let (_, user) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            &format!("/users/{}", l.leaver),
            None,
        )
        .await;
    assert_eq!(user["access"], "active", "{user}");
    let again = visitor
        .post(&format!("{path}/cancel"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already cancelled"), "{}", again.body);
}

#[tokio::test]
async fn a_profile_put_saying_active_is_shown_as_the_last_idp_signal() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let t = default_tenant(&app);
    let put = full_user("leaver@example.com", true, false);
    let (status, body) = app
        .call_scim(
            &t.scim,
            Method::PUT,
            &format!("/Users/{}", l.leaver),
            Some(&put),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor
        .get(&format!("/console/deprovisionings/{}", l.pending))
        .await;
    assert!(
        page.body.contains("Your IdP sent a PUT with active: true"),
        "{}",
        page.body
    );
    assert!(page.body.contains("reactivated in the IdP?"));
}

#[tokio::test]
async fn a_last_admin_is_let_go_by_making_another_user_admin() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let only = user(&app, &t, "only.admin@example.com", true, None).await;
    let next = user(&app, &t, "next@example.com", false, None).await;
    let answer = deprovision(&app, &t, Deprovision::OktaPatch, &only, "", true).await;
    assert_eq!(answer.status, 409);
    let pending = answer.body[BLOCKED]["pending_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/console/deprovisionings/{pending}");
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get(&path).await;
    assert!(page.body.contains("last active admin"), "{}", page.body);
    assert!(page.body.contains("in your IdP"), "{}", page.body);
    assert!(!page.body.contains(">Make admin</button>"));

    admins_from_scimd(&app).await;
    let page = visitor.get(&path).await;
    assert!(
        page.body
            .contains("<label for=\"new_admin\">New admin</label>")
    );
    let csrf = page.hidden("csrf");
    let done = visitor
        .post(
            &format!("{path}/make-admin"),
            &[("csrf", &csrf), ("new_admin", &next)],
        )
        .await;
    assert_eq!(
        done.location(),
        Some(format!("{path}?done=finished").as_str()),
        "{}",
        done.body
    );
    assert_eq!(scim_active(&app, &only).await, Some(false));
}

#[tokio::test]
async fn another_tenants_session_sees_nothing_of_this_one() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let other = app.new_tenant().await;
    let mut stranger = Visitor::new(&app);
    assert_eq!(stranger.sign_in(&other.admin).await.status, 303);
    let path = format!("/console/deprovisionings/{}", l.pending);
    let page = stranger.get(&path).await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(!page.body.contains("leaver@example.com"));
    let list = stranger.get("/console/deprovisionings").await;
    assert!(!list.body.contains("leaver@example.com"), "{}", list.body);
    let overview = stranger.get("/console").await;
    assert!(!overview.body.contains("leaver@example.com"));
    let csrf = stranger.csrf().await;
    for action in ["reassign", "cancel"] {
        let answer = stranger
            .post(
                &format!("{path}/{action}"),
                &[("csrf", &csrf), ("new_owner", &l.heir)],
            )
            .await;
        assert_eq!(answer.status, 404, "{action}: {}", answer.body);
    }
    let moved = stranger
        .post(
            &format!("{path}/blockers/{}/owner", l.number),
            &[("csrf", &csrf), ("owner", &l.heir)],
        )
        .await;
    assert_eq!(moved.status, 404);
    assert_eq!(scim_active(&app, &l.leaver).await, Some(true));
}

#[tokio::test]
async fn refusals_and_requests_link_to_their_console_page() {
    let app = spawn_app().await;
    let l = leaver_owning_a_number_and_a_workflow(&app).await;
    let url = format!("{}/console/deprovisionings/{}", app.address, l.pending);
    assert_eq!(
        l.refusal[BLOCKED]["resolve_url"],
        json!(url),
        "{}",
        l.refusal
    );
    // Without --public-url the detail does not name the URL.
    let detail = l.refusal["detail"].as_str().unwrap();
    assert!(!detail.contains("http"), "{detail}");
    let (_, request) = app
        .call_admin(
            &app.admin_token,
            Method::GET,
            &format!("/deprovisionings/{}", l.pending),
            None,
        )
        .await;
    assert_eq!(request["resolve_url"], json!(url), "{request}");

    // With --public-url (here the server's own address under another
    // name, so that the test's requests reach it), the detail ends with it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let public = spawn_app_with(|config| {
        config.listen = format!("127.0.0.1:{port}");
        config.public_url = Some(format!("http://localhost:{port}"));
    })
    .await;
    let l = leaver_owning_a_number_and_a_workflow(&public).await;
    let url = format!(
        "http://localhost:{port}/console/deprovisionings/{}",
        l.pending
    );
    assert_eq!(l.refusal[BLOCKED]["resolve_url"], json!(url));
    let detail = l.refusal["detail"].as_str().unwrap();
    assert!(detail.ends_with(&url), "{detail}");
    assert!(detail.chars().count() <= 200, "{detail}");
    assert!(
        detail.starts_with("owns number +1 555 0100 and workflow Night routing"),
        "{detail}"
    );
}
