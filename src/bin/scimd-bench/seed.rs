//! Seeding the benchmark tenant through the domain layer (the same
//! validation as `POST /Users`, batched inserts), or finding the one an
//! earlier run seeded.
//!
//! The tenant holds N users `user0@bench.test` … `user{N-1}@bench.test`,
//! and G groups: `bench-push` with the first M users as members (the
//! group-push workload adds and removes others), and G − 1 groups of 20
//! random users each, so that some users' `groups` is not empty.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use scim::list::ListRequest;
use scim::projection::Projection;
use scimd::clock::SystemClock;
use scimd::domain::{Domain, Kind, Principal, Scope};
use serde_json::{Value, json};

use crate::load::Rng;

/// Users per import transaction.
const BATCH: usize = 5_000;
/// Members of each group other than the push group.
const SMALL_GROUP: usize = 20;
/// Name of the push group.
pub const PUSH_GROUP: &str = "bench-push";

/// What to seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant: String,
    pub users: usize,
    pub groups: usize,
    pub push_members: usize,
    /// E-mails of the heavy-PATCH workload's user, when it runs.
    pub heavy_emails: Option<usize>,
}

/// The seeded tenant as the workloads see it.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub token: String,
    /// Ids of the seeded users, by their number: `ids[i]` is `user{i}`.
    pub ids: Arc<Vec<String>>,
    /// Id of the push group, whose members are `ids[..push_members]`.
    pub push_group: String,
    pub push_members: usize,
    /// Seconds spent seeding; `None` when an earlier run's tenant was reused.
    pub seeded_in: Option<f64>,
    /// The heavy-PATCH workload's tenant and user, when it runs.
    pub heavy: Option<crate::heavy::HeavyUser>,
}

/// One seeded user's body.
fn user_body(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@bench.test"),
        "externalId": format!("ext-{i}"),
        "displayName": format!("Bench User {i}"),
        "name": {"givenName": "Bench", "familyName": format!("User {i}")},
        "emails": [{"value": format!("user{i}@bench.test"), "type": "work", "primary": true}],
        "active": true
    })
}

/// Opens the database, seeds the tenant unless it exists, and mints a
/// SCIM token for this run.
pub async fn prepare(database_url: &str, plan: &Plan) -> anyhow::Result<Fixture> {
    let (domain, store) = scimd::app::open_domain(
        database_url,
        "http://localhost",
        // A fixture, rebuilt if lost: seeding need not sync each commit.
        scimd::app::Synchronous::Normal,
        Arc::new(SystemClock),
    )
    .await?;
    let domain = Arc::new(domain);
    let mut fixture = match domain.find_tenant(&plan.tenant).await.map_err(anyhow_of)? {
        Some(tenant_id) => reuse(&domain, &tenant_id, plan).await?,
        None => seed(&domain, plan).await?,
    };
    if let Some(emails) = plan.heavy_emails {
        fixture.heavy = Some(crate::heavy::prepare(&domain, &plan.tenant, emails).await?);
    }
    store.close().await;
    Ok(fixture)
}

async fn seed(domain: &Arc<Domain>, plan: &Plan) -> anyhow::Result<Fixture> {
    let started = Instant::now();
    let created = domain
        .create_tenant(&plan.tenant)
        .await
        .map_err(anyhow_of)?;
    let tenant_id = created.tenant_id.clone();
    // Two imports in flight: one validates while the other writes.
    let mut ids: Vec<String> = Vec::with_capacity(plan.users);
    let mut pending = std::collections::VecDeque::new();
    for start in (0..plan.users).step_by(BATCH) {
        let bodies: Vec<Value> = (start..(start + BATCH).min(plan.users))
            .map(user_body)
            .collect();
        let domain = Arc::clone(domain);
        let tenant_id = tenant_id.clone();
        pending.push_back(tokio::spawn(async move {
            domain.import_users(&tenant_id, &bodies).await
        }));
        if pending.len() >= 2
            && let Some(task) = pending.pop_front()
        {
            ids.extend(task.await?.map_err(anyhow_of)?);
        }
    }
    while let Some(task) = pending.pop_front() {
        ids.extend(task.await?.map_err(anyhow_of)?);
    }
    // Groups are created as the IdP creates them, audited under this token.
    let who = domain
        .authenticate(&created.scim_token, Scope::Scim)
        .await
        .map_err(anyhow_of)?;
    let push_group = seed_groups(domain, &who, &ids, plan).await?;
    domain.refresh_statistics().await.map_err(anyhow_of)?;
    Ok(Fixture {
        token: created.scim_token,
        ids: Arc::new(ids),
        push_group,
        push_members: plan.push_members,
        seeded_in: Some(started.elapsed().as_secs_f64()),
        heavy: None,
    })
}

async fn seed_groups(
    domain: &Domain,
    who: &Principal,
    ids: &[String],
    plan: &Plan,
) -> anyhow::Result<String> {
    let tenant_id = who.tenant_id.as_str();
    let projection = Projection::new(&domain.schemas().group, None, None)?;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": PUSH_GROUP,
    });
    let push = domain
        .create_group(who, &body, &projection)
        .await
        .map_err(anyhow_of)?;
    let push_id = push.body["id"]
        .as_str()
        .context("a created group has an id")?
        .to_owned();
    for chunk in ids[..plan.push_members].chunks(10_000) {
        domain
            .import_members(tenant_id, &push_id, chunk)
            .await
            .map_err(anyhow_of)?;
    }
    let mut rng = Rng::new(0x5eed);
    for g in 1..plan.groups {
        let members: Vec<Value> = (0..SMALL_GROUP.min(ids.len()))
            .map(|_| json!({"value": ids[rng.below(ids.len())]}))
            .collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("Bench Group {g}"),
            "members": members,
        });
        domain
            .create_group(who, &body, &projection)
            .await
            .map_err(anyhow_of)?;
    }
    Ok(push_id)
}

async fn reuse(domain: &Domain, tenant_id: &str, plan: &Plan) -> anyhow::Result<Fixture> {
    let mut ids = vec![String::new(); plan.users];
    let mut seeded = 0;
    for (id, name) in domain.user_names(tenant_id).await.map_err(anyhow_of)? {
        let number = name
            .strip_prefix("user")
            .and_then(|rest| rest.strip_suffix("@bench.test"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = number {
            seeded += 1;
            if let Some(slot) = ids.get_mut(n) {
                *slot = id;
            }
        }
    }
    if seeded != plan.users || ids.iter().any(String::is_empty) {
        bail!(
            "tenant `{}` already holds {seeded} seeded users, not {}; pass --users {seeded} \
             or use another --tenant or database",
            plan.tenant,
            plan.users
        );
    }
    let filter = format!("displayName eq \"{PUSH_GROUP}\"");
    let request = ListRequest::from_query(vec![
        ("filter".into(), filter),
        ("excludedAttributes".into(), "members".into()),
    ])?;
    let list = domain
        .list(tenant_id, Kind::Groups, &request)
        .await
        .map_err(anyhow_of)?;
    let push_group = list["Resources"][0]["id"]
        .as_str()
        .context("the seeded tenant has no push group")?
        .to_owned();
    let (_, token) = domain
        .create_token(&plan.tenant, Scope::Scim, "scimd-bench")
        .await
        .map_err(anyhow_of)?;
    Ok(Fixture {
        token,
        ids: Arc::new(ids),
        push_group,
        push_members: plan.push_members,
        seeded_in: None,
        heavy: None,
    })
}

/// A SCIM token of the bystander tenant `<tenant>-bystander` of the
/// fairness workload, created (without users) unless an earlier run did.
pub async fn bystander(database_url: &str, tenant: &str) -> anyhow::Result<String> {
    let (domain, store) = scimd::app::open_domain(
        database_url,
        "http://localhost",
        scimd::app::Synchronous::Normal,
        Arc::new(SystemClock),
    )
    .await?;
    let name = format!("{tenant}-bystander");
    let token = match domain.find_tenant(&name).await.map_err(anyhow_of)? {
        Some(_) => {
            domain
                .create_token(&name, Scope::Scim, "scimd-bench")
                .await
                .map_err(anyhow_of)?
                .1
        }
        None => {
            domain
                .create_tenant(&name)
                .await
                .map_err(anyhow_of)?
                .scim_token
        }
    };
    store.close().await;
    Ok(token)
}

fn anyhow_of(error: scimd::domain::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}
