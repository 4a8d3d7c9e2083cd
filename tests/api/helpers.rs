//! `spawn_app()` and friends.

use std::sync::Arc;

use reqwest::{Client, Method, RequestBuilder, Response};
use scimd::app::{Application, Config};
use scimd::clock::SystemClock;
use scimd::domain::Domain;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::{OnceCell, oneshot};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PHONE: &str = "urn:scimd:schemas:extension:phone:2.0:User";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A database for one test; the SQLite file lives as long as this value.
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
}

const PG_PREFIX: &str = "scimd_test_";
static PG_CLEANUP: OnceCell<()> = OnceCell::const_new();

/// A fresh, empty database.
pub async fn test_db() -> TestDb {
    match std::env::var("SCIMD_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let admin = Database::connect(&admin_url)
                .await
                .expect("SCIMD_TEST_DATABASE_URL must reach PostgreSQL");
            PG_CLEANUP
                .get_or_init(|| async {
                    // Databases left by earlier runs of this suite.
                    let rows = admin
                        .query_all_raw(sea_orm::Statement::from_string(
                            admin.get_database_backend(),
                            format!(
                                "SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}%'"
                            ),
                        ))
                        .await
                        .expect("list databases");
                    for row in rows {
                        let name: String = row.try_get("", "datname").expect("datname");
                        // Without FORCE: a database still in use belongs to a
                        // suite running beside this one, and stays.
                        let _ = admin
                            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                            .await;
                    }
                })
                .await;
            let name = format!("{PG_PREFIX}{}", uuid::Uuid::new_v4().simple());
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = admin_url
                .rsplit_once('/')
                .expect("a database URL has a path")
                .0;
            TestDb {
                url: format!("{base}/{name}"),
                _dir: None,
            }
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("scimd.db").display()
            );
            TestDb {
                url,
                _dir: Some(dir),
            }
        }
    }
}

/// A running server with the tokens of its `default` tenant.
pub struct TestApp {
    pub address: String,
    /// `http://…` of the metrics listener, when the config asked for one.
    pub metrics_address: Option<String>,
    pub scim_base: String,
    pub scim_token: String,
    pub admin_token: String,
    pub db: TestDb,
    pub client: Client,
    /// The server's domain services and the default tenant, for seeding.
    pub domain: Arc<Domain>,
    pub tenant_id: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration `adjust` may change first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(adjust, Arc::new(SystemClock)).await
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(pub std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn advance_seconds(&self, seconds: i64) {
        self.0
            .fetch_add(seconds * 1000, std::sync::atomic::Ordering::SeqCst);
    }
}

impl scimd::clock::Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A server reading time from `clock`.
pub async fn spawn_app_on(
    adjust: impl FnOnce(&mut Config),
    clock: Arc<dyn scimd::clock::Clock>,
) -> TestApp {
    let db = test_db().await;
    let mut config = Config::new("127.0.0.1:0", &db.url);
    adjust(&mut config);
    let mut app = Application::build(&config, clock)
        .await
        .expect("the server builds");
    let created = app
        .take_bootstrap()
        .expect("an empty database gets a default tenant");
    start(app, db, created)
}

/// Runs a built server as a [`TestApp`] with the tokens of `created`.
fn start(app: Application, db: TestDb, created: scimd::domain::CreatedTenant) -> TestApp {
    let address = format!("http://{}", app.local_addr().expect("bound"));
    let metrics_address = app.metrics_addr().map(|bound| format!("http://{bound}"));
    // Where this test reaches the SCIM API: the bound address, even when
    // a `--public-url` names another host.
    let scim_base = format!("{address}/scim/v2");
    let domain = app.domain();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        metrics_address,
        scim_base,
        scim_token: created.scim_token,
        admin_token: created.admin_token,
        db,
        client: Client::new(),
        domain,
        tenant_id: created.tenant_id,
        shutdown: Some(tx),
        server: Some(server),
    }
}

impl TestApp {
    /// Stops this server as a signal would and waits until it has finished.
    pub async fn shut_down(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }

    /// Stops this server (waiting until it has finished) and starts a new
    /// one, configured by `adjust`, on the same database.
    pub async fn restart(mut self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("join")
                .expect("the server stops cleanly");
        }
        let db = std::mem::replace(
            &mut self.db,
            TestDb {
                url: String::new(),
                _dir: None,
            },
        );
        let mut config = Config::new("127.0.0.1:0", &db.url);
        adjust(&mut config);
        let app = Application::build(&config, Arc::new(SystemClock))
            .await
            .expect("the server builds again");
        let created = scimd::domain::CreatedTenant {
            tenant_id: self.tenant_id.clone(),
            scim_token: self.scim_token.clone(),
            admin_token: self.admin_token.clone(),
        };
        start(app, db, created)
    }
}

impl TestApp {
    /// A SCIM request with the default tenant's token.
    pub fn scim(&self, method: Method, path: &str) -> RequestBuilder {
        self.scim_as(&self.scim_token, method, path)
    }

    /// A SCIM request with another token.
    pub fn scim_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.scim_base))
            .bearer_auth(token)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.scim(Method::POST, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.scim(Method::PUT, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.scim(Method::GET, path).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.scim(Method::DELETE, path)
            .send()
            .await
            .expect("request")
    }

    /// Creates a user and returns its representation.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let response = self
            .post(
                "/Users",
                &json!({"schemas": [USER_SCHEMA], "userName": user_name, "displayName": user_name}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating {user_name}");
        response.json().await.expect("json")
    }

    /// Creates a group with members and returns its representation.
    pub async fn create_group(&self, name: &str, member_ids: &[&str]) -> Value {
        let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
        let response = self
            .post(
                "/Groups",
                &json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating group {name}");
        response.json().await.expect("json")
    }
}

/// Reads a response as JSON after checking its status and SCIM media type.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let body = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/scim+json", "body: {body}");
    serde_json::from_str(&body).expect("a JSON body")
}

/// Checks that a response is a SCIM error with this status and `scimType`.
pub async fn assert_scim_error(response: Response, status: u16, scim_type: Option<&str>) -> Value {
    let body = json_of(response, status).await;
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(body["status"], json!(status.to_string()));
    assert_eq!(
        body.get("scimType").and_then(Value::as_str),
        scim_type,
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// Ids of the `Resources` of a list response.
pub fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The sorted member ids of a group representation.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// A tenant made for one test, with its tokens.
pub struct Tenant {
    pub scim: String,
    pub admin: String,
}

impl TestApp {
    /// A new tenant of this server's database.
    pub async fn new_tenant(&self) -> Tenant {
        let name = format!("t-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let created = self.domain.create_tenant(&name).await.expect("tenant");
        Tenant {
            scim: created.scim_token,
            admin: created.admin_token,
        }
    }

    /// An admin API request with `token`.
    pub fn admin_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/api/v1{path}", self.address))
            .bearer_auth(token)
    }

    /// Sends a SCIM request as `token`; returns the status and the JSON
    /// body (`Null` when empty).
    pub async fn call_scim(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.scim_as(token, method, path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        status_and_json(request.send().await.expect("request")).await
    }

    /// Sends an admin API request as `token`; returns the status and the
    /// JSON body (`Null` when empty).
    pub async fn call_admin(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.admin_as(token, method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        status_and_json(request.send().await.expect("request")).await
    }
}

/// A response's status and JSON body (`Null` when empty).
pub async fn status_and_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}
