//! SCIM Groups: create, read, replace, delete and list. Members live in
//! their own rows, never inside the stored document.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use std::collections::BTreeSet;

use super::audit::changed_attributes;
use super::guard::ignored_note;
use super::pending::Unblocked;
use super::render::{Resource, check_if_match};
use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::store::{Action, GroupRow, Kind, Member, Outcome, ResourceRecord, TargetType, Tx};
use scim::ScimError;
use scim::extensions::{unknown_in_body, unknown_in_operations};
use scim::patch::{self, MemberChange, Operation};
use scim::projection::Projection;
use scim::resource::{Document, carry_immutable, normalize};
use scim::schema::ResourceSchema;

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("no group has id {id}"))
}

/// Members named in a group document, before they are checked.
struct RequestedMember {
    id: String,
    kind: Option<String>,
}

/// The body with `members` given as bare ids (`"members": ["<id>"]` or
/// `"members": "<id>"`, as Entra ID's reference collection sends them)
/// rewritten as `[{"value": "<id>"}]`, so `normalize` reads them as any
/// other member list. A member object without `value` is refused here, as
/// a PATCH refuses it, rather than dropped; other wrong shapes are left for
/// `normalize` to refuse.
fn member_objects<'b>(
    schema: &ResourceSchema,
    body: &'b Value,
) -> Result<Cow<'b, Value>, ScimError> {
    let Some(object) = body.as_object() else {
        return Ok(Cow::Borrowed(body));
    };
    let is_members = |key: &str| {
        let name = match key.rsplit_once(':') {
            Some((urn, name)) if urn.eq_ignore_ascii_case(&schema.core.id) => name,
            Some(_) => return false,
            None => key,
        };
        name.eq_ignore_ascii_case("members")
    };
    let items = |value: &'b Value| match value {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut bare = false;
    for (_, value) in object.iter().filter(|(k, _)| is_members(k)) {
        for item in items(value) {
            match item {
                Value::String(_) => bare = true,
                Value::Object(o)
                    if !o
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case("value") && !v.is_null()) =>
                {
                    return Err(ScimError::invalid_value(
                        "every member needs a `value`: the id of a user or group",
                    ));
                }
                _ => {}
            }
        }
    }
    if !bare {
        return Ok(Cow::Borrowed(body));
    }
    let wrap = |item: &Value| match item {
        Value::String(id) => serde_json::json!({ "value": id }),
        other => other.clone(),
    };
    let rewritten = object
        .iter()
        .map(|(key, value)| {
            let value = if is_members(key) && !value.is_null() {
                Value::Array(items(value).iter().map(wrap).collect())
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect();
    Ok(Cow::Owned(Value::Object(rewritten)))
}

/// Takes `members` out of the document: they are stored as rows.
fn take_members(doc: &mut Document) -> Result<Vec<RequestedMember>, ScimError> {
    let Some(Value::Array(members)) = doc.remove("members") else {
        return Ok(Vec::new());
    };
    members
        .into_iter()
        .map(|member| {
            let id = member
                .get("value")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    ScimError::invalid_value(
                        "every member needs a `value`: the id of a user or group",
                    )
                })?;
            Ok(RequestedMember {
                id: id.to_owned(),
                kind: member
                    .get("type")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

fn display_name(doc: &Document) -> Result<&str, ScimError> {
    super::check_indexed("externalId", doc.get("externalId").and_then(Value::as_str))?;
    match doc.get("displayName").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => {
            super::check_indexed("displayName", Some(name))?;
            Ok(name)
        }
        _ => Err(ScimError::invalid_value("displayName must not be empty")),
    }
}

impl Domain {
    /// Checks that every requested member is a user or group of the tenant
    /// (and not the group itself), and returns them with their kind.
    async fn resolve_members(
        &self,
        tx: &Tx,
        tenant_id: &str,
        group_id: &str,
        requested: &[RequestedMember],
    ) -> Result<Vec<Member>, DomainError> {
        if requested.iter().any(|m| m.id == group_id) {
            return Err(ScimError::invalid_value("a group cannot be a member of itself").into());
        }
        let ids: Vec<&str> = requested.iter().map(|m| m.id.as_str()).collect();
        let found: HashMap<String, Member> = tx
            .resolve_members(tenant_id, &ids)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let mut members: Vec<Member> = Vec::with_capacity(requested.len());
        let mut added = std::collections::HashSet::with_capacity(requested.len());
        let mut unknown = Vec::new();
        for wanted in requested {
            match found.get(&wanted.id) {
                Some(member) => {
                    if let Some(claimed) = &wanted.kind
                        && !claimed.eq_ignore_ascii_case(&member.kind)
                    {
                        return Err(ScimError::invalid_value(format!(
                            "member {} is a {}, not a {claimed}",
                            wanted.id, member.kind
                        ))
                        .into());
                    }
                    if added.insert(wanted.id.as_str()) {
                        members.push(member.clone());
                    }
                }
                None => unknown.push(wanted.id.as_str()),
            }
        }
        if !unknown.is_empty() {
            let shown: Vec<&str> = unknown.iter().take(5).copied().collect();
            let more = unknown.len().saturating_sub(shown.len());
            let tail = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            return Err(ScimError::invalid_value(format!(
                "members must be users or groups of this tenant; unknown id(s): {}{tail}",
                shown.join(", ")
            ))
            .into());
        }
        Ok(members)
    }

    /// POST /Groups.
    pub async fn create_group(
        &self,
        who: &Principal,
        body: &Value,
        projection: &Projection,
    ) -> Result<Resource, DomainError> {
        let tenant_id = &who.tenant_id;
        let ignored = unknown_in_body(&self.schemas.group, body);
        let body = member_objects(&self.schemas.group, body)?;
        let mut doc = normalize(&self.schemas.group, &body)?;
        let requested = take_members(&mut doc)?;
        let name = display_name(&doc)?.to_owned();
        self.check_sizes(&doc, None)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let (tx, _) = self.begin_tenant_write(tenant_id).await?;
        let members = self
            .resolve_members(&tx, tenant_id, &id, &requested)
            .await?;
        let row = GroupRow {
            id: &id,
            display_name: &name,
            external_id: doc.get("externalId").and_then(Value::as_str),
            document: &doc,
            members: Some(&members),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        tx.insert_group(tenant_id, &row).await?;
        let mut attributes = changed_attributes(None, Some(&doc));
        if !members.is_empty() {
            attributes.push("members".into());
        }
        self.audit_group(
            &tx,
            who,
            Action::GroupCreate,
            (&id, &name),
            attributes,
            &ignored,
        )
        .await?;
        tx.commit().await?;
        let record = ResourceRecord {
            id,
            document: doc,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let group = self.render_group(&record, members.iter());
        Ok(self.shape(Kind::Groups, group, projection))
    }

    /// GET /Groups/{id}.
    pub async fn group(
        &self,
        tenant_id: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<Resource, DomainError> {
        let record = self
            .store
            .group(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        // Entra ID reads huge groups with excludedAttributes=members.
        let members = if projection.wants("members") {
            self.store.members(tenant_id, &[id]).await?
        } else {
            Vec::new()
        };
        let group = self.render_group(&record, members.iter().map(|(_, m)| m));
        Ok(self.shape(Kind::Groups, group, projection))
    }

    /// GET /Groups/{id} as served: when the members are wanted, the group
    /// without them and the group to write them for in pieces
    /// ([`Domain::write_group_piecewise`]), so that a group of any size is
    /// answered within a fixed amount of memory.
    pub async fn group_piecewise(
        &self,
        tenant_id: &str,
        id: &str,
        projection: &Projection,
    ) -> Result<(Resource, Option<super::PiecewiseGroup>), DomainError> {
        let record = self
            .store
            .group(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let (body, members) = self.group_without_members(tenant_id, &record, projection);
        let resource = Resource {
            body,
            version: record.version,
            location: self.location(&self.schemas.group, &record.id),
        };
        Ok((resource, members))
    }

    /// PUT /Groups/{id}: replaces the attributes and the whole member list.
    pub async fn replace_group(
        &self,
        who: &Principal,
        id: &str,
        body: &Value,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let tenant_id = &who.tenant_id;
        let ignored = unknown_in_body(&self.schemas.group, body);
        let body = member_objects(&self.schemas.group, body)?;
        let mut doc = normalize(&self.schemas.group, &body)?;
        let requested = take_members(&mut doc)?;
        let name = display_name(&doc)?.to_owned();
        let (tx, _) = self.begin_tenant_write(tenant_id).await?;
        let old = tx
            .group_for_update(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(if_match, old.version)?;
        carry_immutable(&self.schemas.group, &old.document, &mut doc)?;
        self.check_sizes(&doc, Some(&old.document))?;
        let members = self.resolve_members(&tx, tenant_id, id, &requested).await?;
        let current: Vec<Member> = self
            .store
            .members(tenant_id, &[id])
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        let ids = |m: &[Member]| m.iter().map(|m| m.id.clone()).collect::<BTreeSet<_>>();
        if doc == old.document && ids(&current) == ids(&members) {
            // Nothing changed: no write, no new version.
            self.audit_nothing_written(tx, who, (id, &name), &ignored)
                .await?;
            let group = self.render_group(&old, current.iter());
            return Ok(self.shape(Kind::Groups, group, projection));
        }
        let mut attributes = changed_attributes(Some(&old.document), Some(&doc));
        if ids(&current) != ids(&members) {
            attributes.push("members".into());
        }
        let record = self
            .write_group(&tx, tenant_id, &old, doc, &name, Some(&members))
            .await?;
        self.audit_group(
            &tx,
            who,
            Action::GroupUpdate,
            (id, &name),
            attributes,
            &ignored,
        )
        .await?;
        tx.commit().await?;
        let group = self.render_group(&record, members.iter());
        Ok(self.shape(Kind::Groups, group, projection))
    }

    /// PATCH /Groups/{id}. Member operations write only the member rows
    /// they name: a group is never loaded whole to change it. Returns the
    /// group when `projection` asks for a body, else `None` (204).
    pub async fn patch_group(
        &self,
        who: &Principal,
        id: &str,
        body: &Value,
        projection: Option<&Projection>,
        if_match: Option<&str>,
    ) -> Result<Option<Resource>, DomainError> {
        let operations = patch::parse_request(&self.schemas.group, body)?;
        let ignored = unknown_in_operations(&self.schemas.group, &operations);
        let (member_ops, doc_ops): (Vec<&Operation>, Vec<&Operation>) = operations
            .iter()
            .partition(|op| patch::targets_members(&self.schemas.group, op));
        let changes = member_ops
            .into_iter()
            .map(patch::member_change)
            .collect::<Result<Vec<_>, _>>()?;
        let doc_ops: Vec<Operation> = doc_ops.into_iter().cloned().collect();
        let tenant_id = &who.tenant_id;
        // Applied before the lock, within the work budget, which the member
        // changes spend too (issue 13).
        let stored = self
            .store
            .group(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        let mut budget = self.patch_budget();
        self.charge_member_changes(tenant_id, id, &changes, &mut budget)
            .await?;
        let prepared = self.prepare_patch(&self.schemas.group, &stored, &doc_ops, budget)?;
        drop(stored);
        let (tx, _) = self.begin_tenant_write(tenant_id).await?;
        let old = tx
            .group_for_update(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(if_match, old.version)?;
        let mut doc = self.patched(&self.schemas.group, &old, &doc_ops, Some(prepared))?;
        // Every `members` operation became a row change above; a copy in a
        // document written before URN-qualified paths were routed there is
        // dropped, so members are never stored in the document.
        doc.shift_remove("members");
        let name = display_name(&doc)?.to_owned();
        self.check_sizes(&doc, Some(&old.document))?;
        let mut attributes = changed_attributes(Some(&old.document), Some(&doc));
        let mut members_changed = false;
        for change in changes {
            let touched = match change {
                MemberChange::Add(ids) => {
                    let members = self
                        .resolve_members(&tx, tenant_id, id, &requested(ids))
                        .await?;
                    tx.add_members(tenant_id, id, &members).await?
                }
                MemberChange::Remove(ids) => tx.remove_members(tenant_id, id, &ids).await?,
                MemberChange::RemoveAll => tx.clear_members(tenant_id, id).await?,
                MemberChange::Replace(ids) => {
                    let members = self
                        .resolve_members(&tx, tenant_id, id, &requested(ids))
                        .await?;
                    tx.clear_members(tenant_id, id).await?
                        + tx.add_members(tenant_id, id, &members).await?
                }
            };
            members_changed |= touched > 0;
        }
        if members_changed {
            attributes.push("members".into());
        }
        let record = if !attributes.is_empty() || doc != old.document {
            let record = self
                .write_group(&tx, tenant_id, &old, doc, &name, None)
                .await?;
            self.audit_group(
                &tx,
                who,
                Action::GroupUpdate,
                (id, &name),
                attributes,
                &ignored,
            )
            .await?;
            tx.commit().await?;
            record
        } else {
            // Adding members that are there already changes nothing.
            self.audit_nothing_written(tx, who, (id, &name), &ignored)
                .await?;
            old
        };
        let Some(projection) = projection else {
            return Ok(None);
        };
        let members = if projection.wants("members") {
            self.store.members(tenant_id, &[id]).await?
        } else {
            Vec::new()
        };
        let group = self.render_group(&record, members.iter().map(|(_, m)| m));
        Ok(Some(self.shape(Kind::Groups, group, projection)))
    }

    /// Writes a changed group with the next version; members are rewritten
    /// only when given.
    async fn write_group(
        &self,
        tx: &Tx,
        tenant_id: &str,
        old: &ResourceRecord,
        doc: Document,
        name: &str,
        members: Option<&[Member]>,
    ) -> Result<ResourceRecord, DomainError> {
        let now = self.now();
        let version = old.version + 1;
        let row = GroupRow {
            id: &old.id,
            display_name: name,
            external_id: doc.get("externalId").and_then(Value::as_str),
            document: &doc,
            members,
            version,
            created_at: old.created_at,
            updated_at: now,
        };
        if !tx.update_group(tenant_id, &row, old.version).await? {
            return Err(not_found(&old.id));
        }
        Ok(ResourceRecord {
            id: old.id.clone(),
            document: doc,
            version,
            created_at: old.created_at,
            updated_at: now,
        })
    }

    /// DELETE /Groups/{id}.
    pub async fn delete_group(
        &self,
        who: &Principal,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), DomainError> {
        let tenant_id = &who.tenant_id;
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        let current = tx
            .group_for_update(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        check_if_match(if_match, current.version)?;
        let owner = tx.group_owner(tenant_id, id).await?.flatten();
        if !tx.delete_group(tenant_id, id, self.now()).await? {
            return Err(not_found(id));
        }
        if let Some(owner) = &owner {
            // The group may have been its owner's last blocker.
            self.complete_unblocked(&tx, who, &settings, Unblocked::OwnerOf(owner))
                .await?;
        }
        let name = current
            .document
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.audit_group(&tx, who, Action::GroupDelete, (id, name), Vec::new(), &[])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an allowed group change, naming the schema namespaces of
    /// the request that were `ignored`.
    /// A group write that changed nothing: when the IdP sent unknown
    /// extension namespaces, the admin still learns (in the audit log)
    /// that its mapping wrote nothing; otherwise nothing is written.
    async fn audit_nothing_written(
        &self,
        tx: Tx,
        who: &Principal,
        group: (&str, &str),
        ignored: &[String],
    ) -> Result<(), DomainError> {
        if ignored.is_empty() {
            return Ok(());
        }
        self.audit_group(&tx, who, Action::GroupUpdate, group, Vec::new(), ignored)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_group(
        &self,
        tx: &Tx,
        who: &Principal,
        action: Action,
        (id, name): (&str, &str),
        attributes: Vec<String>,
        ignored: &[String],
    ) -> Result<(), DomainError> {
        let event = self.audit_event(
            who,
            action,
            (TargetType::Group, Some(id), Some(name)),
            Outcome::Allowed,
            ignored_note(ignored),
            attributes,
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        Ok(())
    }
}

fn requested(ids: Vec<String>) -> Vec<RequestedMember> {
    ids.into_iter()
        .map(|id| RequestedMember { id, kind: None })
        .collect()
}
