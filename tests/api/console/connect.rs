//! The "Connect your IdP" page over HTTP: the SCIM base URL, the steps,
//! SCIM tokens created (shown once), listed and revoked.

use reqwest::Method;
use serde_json::json;

use super::Visitor;
use super::fixtures::default_tenant;
use super::markup::input_value;
use crate::deprovisioning::user;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_page_shows_the_scim_base_url_the_tokens_and_the_idp_steps() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/connect").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(input_value(&page.body, "scim-base"), app.scim_base);
    assert_eq!(
        input_value(&page.body, "entra-url"),
        format!("{}?aadOptscim062020", app.scim_base)
    );
    for text in [
        "<label for=\"label\">Token label</label>",
        ">Create SCIM token</button>",
        "<h2 id=\"okta\">Okta</h2>",
        "<h2 id=\"entra\">Microsoft Entra ID</h2>",
        "<ol class=\"steps\">",
        "set Provisioning to SCIM.",
        "(this session)",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    assert!(!page.body.contains(&app.admin_token));
    assert!(!page.body.contains(&app.scim_token));
}

#[tokio::test]
async fn a_scim_token_created_here_is_shown_once_works_and_can_be_revoked() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;

    let created = visitor
        .post(
            "/console/connect/tokens",
            &[("csrf", &csrf), ("label", "Okta production")],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = input_value(&created.body, "new-secret");
    assert!(secret.starts_with("scimd_"), "{secret}");
    assert!(
        created
            .body
            .contains("<label for=\"new-secret\">New SCIM token</label>")
    );
    assert!(created.body.contains("readonly"));
    assert!(created.body.contains("will not show it again"));

    let (status, _) = app.call_scim(&secret, Method::GET, "/Users", None).await;
    assert_eq!(status, 200);

    let again = visitor.get("/console/connect").await;
    assert!(!again.body.contains(&secret), "shown once only");
    assert!(again.body.contains("Okta production"));
    let (_, tokens) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    let id = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "Okta production")
        .expect("listed")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap()["scope"],
        "scim"
    );
    assert!(
        again
            .body
            .contains(&format!("/console/connect/tokens/{id}/revoke"))
    );

    let revoked = visitor
        .post(
            &format!("/console/connect/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(
        revoked.location(),
        Some("/console/connect?done=token-revoked")
    );
    let (status, _) = app.call_scim(&secret, Method::GET, "/Users", None).await;
    assert_eq!(status, 401);
    let twice = visitor
        .post(
            &format!("/console/connect/tokens/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(twice.status, 404, "{}", twice.body);

    let unnamed = visitor
        .post(
            "/console/connect/tokens",
            &[("csrf", &csrf), ("label", " ")],
        )
        .await;
    assert_eq!(unnamed.status, 400, "{}", unnamed.body);
    assert!(
        unnamed.body.contains("1 to 100 characters"),
        "{}",
        unnamed.body
    );
}

#[tokio::test]
async fn revoking_this_sessions_own_token_signs_it_out() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let csrf = visitor.csrf().await;
    let (_, tokens) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    let own = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scope"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = visitor
        .post(
            &format!("/console/connect/tokens/{own}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    visitor
        .get("/console/connect")
        .await
        .assert_sign_in_redirect();
}

#[tokio::test]
async fn a_user_bound_admin_token_cannot_create_tokens_on_the_console_either() {
    let app = spawn_app().await;
    let t = default_tenant(&app);
    let ann = user(&app, &t, "ann@example.com", true, None).await;
    let (status, personal) = app
        .call_admin(
            &t.admin,
            Method::POST,
            "/tokens",
            Some(&json!({"label": "Ann's token", "scope": "admin", "user_id": ann})),
        )
        .await;
    assert_eq!(status, 201, "{personal}");
    let mut visitor = Visitor::new(&app);
    let signed_in = visitor.sign_in(personal["token"].as_str().unwrap()).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);

    let page = visitor.get("/console/connect").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(">Create SCIM token</button>"));
    assert!(page.body.contains("cannot create tokens"), "{}", page.body);

    let csrf = page.hidden("csrf");
    let refused = visitor
        .post(
            "/console/connect/tokens",
            &[("csrf", &csrf), ("label", "sneaky")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("a token issued to a user cannot mint tokens"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("id=\"new-secret\""));
    let (_, tokens) = app.call_admin(&t.admin, Method::GET, "/tokens", None).await;
    assert!(
        !tokens.to_string().contains("sneaky"),
        "no token was made: {tokens}"
    );
}

/// The hidden `since` stamp of the token form on `body`.
fn form_since(body: &str) -> String {
    let marker = "name=\"since\" value=\"";
    let start = body.find(marker).expect("a since field") + marker.len();
    body[start..start + body[start..].find('"').expect("closing quote")].to_owned()
}

#[tokio::test]
async fn the_token_form_sent_twice_creates_one_token() {
    let app = spawn_app().await;
    let mut visitor = Visitor::signed_in(&app).await;
    let page = visitor.get("/console/connect").await;
    let since = form_since(&page.body);
    let csrf = visitor.csrf().await;
    let form = [
        ("csrf", csrf.as_str()),
        ("label", "Entra"),
        ("since", since.as_str()),
    ];
    let created = visitor.post("/console/connect/tokens", &form).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = input_value(&created.body, "new-secret");
    // A reload of that answer sends the same form again.
    let again = visitor.post("/console/connect/tokens", &form).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already sent"), "{}", again.body);
    assert!(!again.body.contains("new-secret"), "no second secret");
    let entra_tokens = |tokens: &serde_json::Value| {
        tokens["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["label"] == "Entra")
            .count()
    };
    let (_, tokens) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    assert_eq!(entra_tokens(&tokens), 1, "{tokens}");
    let (status, _) = app.call_scim(&secret, Method::GET, "/Users", None).await;
    assert_eq!(status, 200);
    // A form rendered afterwards makes another token of the same label.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let page = visitor.get("/console/connect").await;
    let since = form_since(&page.body);
    let form = [
        ("csrf", csrf.as_str()),
        ("label", "Entra"),
        ("since", since.as_str()),
    ];
    let created = visitor.post("/console/connect/tokens", &form).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let (_, tokens) = app
        .call_admin(&app.admin_token, Method::GET, "/tokens", None)
        .await;
    assert_eq!(entra_tokens(&tokens), 2, "{tokens}");
}
