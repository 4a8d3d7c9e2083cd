//! The heavy-PATCH workload (issue 13): one connection of a second tenant
//! sends, again and again, the PATCH of the issue — 1,000 removes
//! `emails[value eq "nomatchN"]` on a user with E e-mails — while one
//! connection of the bench tenant creates users. The bystander's writes
//! are measured first alone, then during the heavy PATCHes, in the same
//! run.

use std::sync::Arc;

use anyhow::Context;
use axum::http::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::Call;
use crate::load::{Figures, Generator, Shape, drive};
use crate::seed::Fixture;
use crate::server::Server;
use scimd::domain::{Domain, Scope};

/// Operations in the heavy PATCH, as in the issue.
pub const OPERATIONS: usize = 1000;
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The tenant and user the heavy PATCH goes to.
#[derive(Debug, Clone)]
pub struct HeavyUser {
    pub token: String,
    pub user_id: String,
    pub emails: usize,
}

/// What the workload measured.
#[derive(Debug, Clone, Serialize)]
pub struct HeavyFigures {
    pub emails: usize,
    pub operations: usize,
    /// The status the heavy PATCH is expected to get with the default
    /// budget: 400 when E × 1,000 is over it, else 200.
    pub heavy_status: u16,
    /// The heavy PATCHes, one connection.
    pub heavy: Figures,
    /// The bystander's `POST /Users` alone.
    pub bystander_idle: Figures,
    /// The bystander's `POST /Users` during the heavy PATCHes.
    pub bystander_during: Figures,
}

/// Finds or seeds tenant `<tenant>-heavy` with user `heavy-<E>@bench.test`
/// holding E work e-mails, and mints a SCIM token for this run.
pub async fn prepare(domain: &Domain, tenant: &str, emails: usize) -> anyhow::Result<HeavyUser> {
    let name = format!("{tenant}-heavy");
    let user_name = format!("heavy-{emails}@bench.test");
    let (tenant_id, token) = match domain.find_tenant(&name).await.map_err(anyhow_of)? {
        Some(tenant_id) => {
            let (_, token) = domain
                .create_token(&name, Scope::Scim, "scimd-bench")
                .await
                .map_err(anyhow_of)?;
            (tenant_id, token)
        }
        None => {
            let created = domain.create_tenant(&name).await.map_err(anyhow_of)?;
            (created.tenant_id, created.scim_token)
        }
    };
    let existing = domain
        .user_names(&tenant_id)
        .await
        .map_err(anyhow_of)?
        .into_iter()
        .find(|(_, name)| *name == user_name)
        .map(|(id, _)| id);
    let user_id = match existing {
        Some(id) => id,
        None => {
            let list: Vec<Value> = (0..emails)
                .map(|i| json!({"value": format!("heavy{i}@bench.test"), "type": "work"}))
                .collect();
            let body = json!({"userName": user_name, "emails": list});
            domain
                .import_users(&tenant_id, &[body])
                .await
                .map_err(anyhow_of)?
                .into_iter()
                .next()
                .context("the import returns the new id")?
        }
    };
    Ok(HeavyUser {
        token,
        user_id,
        emails,
    })
}

/// Runs the workload: the bystander alone, then beside the heavy PATCHes.
pub async fn run(
    server: &Server,
    fixture: &Fixture,
    heavy: &HeavyUser,
    shape: Shape,
    nonce: u64,
) -> anyhow::Result<HeavyFigures> {
    let one = Shape {
        connections: 1,
        ..shape
    };
    let bystander = |phase: &'static str| {
        move |_: usize| -> Box<dyn Generator> {
            Box::new(Bystander {
                prefix: format!("bystander-{phase}-{nonce:x}-"),
                next: 0,
            })
        }
    };
    let bystander_idle = drive(server.address(), &fixture.token, one, bystander("idle")).await?;
    // No warm-up beside the heavy PATCHes: the bystander warmed up alone,
    // and the first heavy PATCH is measured however long it takes.
    let one = Shape {
        warmup: std::time::Duration::ZERO,
        ..one
    };
    let over =
        (heavy.emails as u64).saturating_mul(OPERATIONS as u64) > scim::patch::DEFAULT_PATCH_BUDGET;
    let expect = if over {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body: Arc<str> = heavy_body().into();
    let path = format!("/scim/v2/Users/{}", heavy.user_id);
    let (heavy_figures, bystander_during) = tokio::join!(
        drive(server.address(), &heavy.token, one, |_| {
            Box::new(HeavyPatch {
                path: path.clone(),
                body: Arc::clone(&body),
                expect,
            })
        }),
        drive(server.address(), &fixture.token, one, bystander("during")),
    );
    Ok(HeavyFigures {
        emails: heavy.emails,
        operations: OPERATIONS,
        heavy_status: expect.as_u16(),
        heavy: heavy_figures?,
        bystander_idle,
        bystander_during: bystander_during?,
    })
}

/// The body: 1,000 removes of e-mails no user has.
fn heavy_body() -> String {
    let operations: Vec<Value> = (0..OPERATIONS)
        .map(|i| json!({"op": "remove", "path": format!("emails[value eq \"nomatch{i}\"]")}))
        .collect();
    json!({"schemas": [PATCH_OP], "Operations": operations}).to_string()
}

struct HeavyPatch {
    path: String,
    body: Arc<str>,
    expect: StatusCode,
}

impl Generator for HeavyPatch {
    fn next(&mut self) -> Call {
        Call {
            method: Method::PATCH,
            path: self.path.clone(),
            body: Some(self.body.to_string()),
            expect: self.expect,
        }
    }
}

/// The bystander tenant's write: `POST /Users` of a new user.
struct Bystander {
    prefix: String,
    next: u64,
}

impl Generator for Bystander {
    fn next(&mut self) -> Call {
        let name = format!("{}{}@bench.test", self.prefix, self.next);
        self.next += 1;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
        });
        Call {
            method: Method::POST,
            path: "/scim/v2/Users".into(),
            body: Some(body.to_string()),
            expect: StatusCode::CREATED,
        }
    }
}

fn anyhow_of(error: scimd::domain::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}
