//! SCIM Users: create, read, replace, delete and list.

use serde_json::Value;

use super::render::{Resource, check_if_match};
use super::{Domain, DomainError};
use crate::scim::ScimError;
use crate::scim::patch::{self, Operation};
use crate::scim::projection::Projection;
use crate::scim::resource::{Document, carry_immutable, normalize};
use crate::store::{Kind, ResourceRecord, UserRow};

/// How a PUT or PATCH changes a user.
enum Change<'a> {
    /// PUT: the new, already validated document.
    Replace(Document),
    /// PATCH: operations on the stored document.
    Patch(&'a [Operation]),
}

fn not_found(id: &str) -> DomainError {
    DomainError::Scim(ScimError::not_found(format!("no user has id {id}")))
}

/// The columns derived from a user document.
fn user_row<'a>(
    id: &'a str,
    doc: &'a Document,
    version: i64,
    created_at: i64,
    now: i64,
) -> UserRow<'a> {
    let text = |name: &str| doc.get(name).and_then(Value::as_str);
    let emails = doc
        .get("emails")
        .and_then(Value::as_array)
        .map(|emails| {
            emails
                .iter()
                .map(|e| {
                    let text = |name| e.get(name).and_then(Value::as_str);
                    (text("value"), text("type"))
                })
                .collect()
        })
        .unwrap_or_default();
    UserRow {
        id,
        // `normalize` guarantees a string userName (it is required).
        user_name: text("userName").unwrap_or_default(),
        external_id: text("externalId"),
        display_name: text("displayName"),
        active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
        emails,
        document: doc,
        version,
        created_at,
        updated_at: now,
    }
}

/// Checks the columns that are indexed before they reach the database.
fn check_row(row: &UserRow<'_>) -> Result<(), ScimError> {
    super::check_indexed("userName", Some(row.user_name))?;
    super::check_indexed("externalId", row.external_id)?;
    super::check_indexed("displayName", row.display_name)?;
    for (value, kind) in &row.emails {
        super::check_indexed("emails.value", *value)?;
        super::check_indexed("emails.type", *kind)?;
    }
    Ok(())
}

fn require_user_name(doc: &Document) -> Result<(), ScimError> {
    match doc.get("userName").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => Ok(()),
        _ => Err(ScimError::invalid_value("userName must not be empty")),
    }
}

impl Domain {
    /// POST /Users (RFC 7644 §3.3).
    pub async fn create_user(
        &self,
        tenant_id: &str,
        body: &Value,
        projection: &Projection,
    ) -> Result<Resource, DomainError> {
        let mut doc = normalize(&self.schemas.user, body)?;
        require_user_name(&doc)?;
        // A user is active unless the IdP says otherwise, and says so in responses.
        doc.entry("active").or_insert(Value::Bool(true));
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let row = user_row(&id, &doc, 1, now, now);
        check_row(&row)?;
        let tx = self.store.begin().await?;
        tx.insert_user(tenant_id, &row).await?;
        tx.commit().await?;
        let record = ResourceRecord {
            id,
            document: doc,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let user = self.render_user(&record, std::iter::empty());
        Ok(self.shape(Kind::Users, user, projection))
    }

    /// GET /Users/{id}.
    pub async fn user(
        &self,
        tenant_id: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource, DomainError> {
        let record = self
            .store
            .user(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let memberships = if projection.wants("groups") {
            self.store.memberships(tenant_id, &[id]).await?
        } else {
            Vec::new()
        };
        let user = self.render_user(&record, memberships.iter());
        Ok(self.shape(Kind::Users, user, projection))
    }

    /// PUT /Users/{id} (RFC 7644 §3.5.1): the body replaces every writable
    /// attribute; read-only ones are kept, immutable ones may not change.
    pub async fn replace_user(
        &self,
        tenant_id: &str,
        id: &str,
        body: &Value,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let doc = normalize(&self.schemas.user, body)?;
        self.update_user(tenant_id, id, Change::Replace(doc), projection, if_match)
            .await
    }

    /// PATCH /Users/{id} (RFC 7644 §3.5.2), through the same write as PUT.
    pub async fn patch_user(
        &self,
        tenant_id: &str,
        id: &str,
        body: &Value,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let operations = patch::parse_request(&self.schemas.user, body)?;
        self.update_user(
            tenant_id,
            id,
            Change::Patch(&operations),
            projection,
            if_match,
        )
        .await
    }

    /// The one write path of PUT and PATCH: lock, check `If-Match`, build
    /// the new document, write it unless nothing changed.
    async fn update_user(
        &self,
        tenant_id: &str,
        id: &str,
        change: Change<'_>,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let tx = self.store.begin().await?;
        let old = tx
            .user_for_update(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(if_match, old.version)?;
        let doc = match change {
            Change::Replace(mut doc) => {
                carry_immutable(&self.schemas.user, &old.document, &mut doc)?;
                // Leaving `active` out of a PUT must not reactivate a deactivated user.
                if !doc.contains_key("active") {
                    let active = old
                        .document
                        .get("active")
                        .cloned()
                        .unwrap_or(Value::Bool(true));
                    doc.insert("active".into(), active);
                }
                doc
            }
            Change::Patch(operations) => {
                patch::apply(&self.schemas.user, id, &old.document, operations)?
            }
        };
        require_user_name(&doc)?;
        let record = if doc == old.document {
            // Nothing changed: no write, no new version (RFC 7644 §3.5.2.1).
            old
        } else {
            let now = self.now();
            let version = old.version + 1;
            let row = user_row(id, &doc, version, old.created_at, now);
            check_row(&row)?;
            // Okta's deactivation changes `active` only: no e-mail rows to rewrite.
            let emails_changed = doc.get("emails") != old.document.get("emails");
            if !tx
                .update_user(tenant_id, &row, old.version, emails_changed)
                .await?
            {
                return Err(not_found(id));
            }
            tx.commit().await?;
            ResourceRecord {
                id: id.to_owned(),
                document: doc,
                version,
                created_at: old.created_at,
                updated_at: now,
            }
        };
        let memberships = if projection.wants("groups") {
            self.store.memberships(tenant_id, &[id]).await?
        } else {
            Vec::new()
        };
        let user = self.render_user(&record, memberships.iter());
        Ok(self.shape(Kind::Users, user, projection))
    }

    /// DELETE /Users/{id} (RFC 7644 §3.6); the user also leaves its groups.
    pub async fn delete_user(
        &self,
        tenant_id: &str,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), DomainError> {
        let tx = self.store.begin().await?;
        let current = tx
            .user_for_update(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(if_match, current.version)?;
        if !tx.delete_user(tenant_id, id, self.now()).await? {
            return Err(not_found(id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates many users in one transaction, validated exactly as
    /// `POST /Users` validates them; the load tool seeds tenants with it.
    /// Returns the new ids, in order.
    pub async fn import_users(
        &self,
        tenant_id: &str,
        bodies: &[Value],
    ) -> Result<Vec<String>, DomainError> {
        let now = self.now();
        let mut docs = Vec::with_capacity(bodies.len());
        for body in bodies {
            let mut doc = normalize(&self.schemas.user, body)?;
            require_user_name(&doc)?;
            doc.entry("active").or_insert(Value::Bool(true));
            docs.push(doc);
        }
        let ids: Vec<String> = docs
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let rows: Vec<UserRow<'_>> = ids
            .iter()
            .zip(&docs)
            .map(|(id, doc)| user_row(id, doc, 1, now, now))
            .collect();
        for row in &rows {
            check_row(row)?;
        }
        let tx = self.store.begin().await?;
        tx.insert_users(tenant_id, &rows).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Refreshes the database's planner statistics (after an import).
    pub async fn refresh_statistics(&self) -> Result<(), DomainError> {
        Ok(self.store.analyze().await?)
    }

    /// How the database answers a user list with this filter: the plan's
    /// lines, and whether the filter is answered exactly by SQL.
    pub async fn explain_users(
        &self,
        tenant_id: &str,
        filter: &str,
    ) -> Result<(bool, Vec<String>), DomainError> {
        use crate::scim::eval::{Unknown, compile};
        use crate::store::{Order, Window, plan};
        let parsed = crate::scim::filter::parse(filter).map_err(ScimError::from)?;
        let query = compile(&parsed, &self.schemas.user, Unknown::Reject)?;
        let plan = plan(Kind::Users, tenant_id, Some(&query));
        let window = Window::page(0, crate::scim::list::DEFAULT_COUNT);
        let lines = self
            .store
            .explain_list(Kind::Users, tenant_id, &plan, Order::CREATION, window)
            .await?;
        Ok((plan.exact, lines))
    }
}
