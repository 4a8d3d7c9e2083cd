//! SCIM Users: create, read, replace, delete and list.

use serde_json::Value;

use super::audit::changed_attributes;
use super::facts::{UserFacts, admin_after, default_active, is_active};
use super::guard::{Known, Subject, Transition, UserChange, Verdict};
use super::limits::Prepared;
use super::pending::{Heir, Unblocked, may_be_awaited};
use super::render::{Resource, check_if_match};
use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::store::{
    Access, Action, Kind, LockedUser, Membership, Outcome, Requested, ResourceRecord, TenantLock,
    TenantSettings, Tx, UserRow,
};
use scim::ScimError;
use scim::extensions::{unknown_in_body, unknown_in_operations};
use scim::patch::{self, OpKind, Operation};
use scim::projection::Projection;
use scim::resource::{Document, carry_immutable, normalize};

/// What a user write does to the user's pending deprovisioning.
#[derive(Debug, Clone, Copy)]
enum PendingEffect {
    None,
    /// An explicit reactivation: cancel it.
    Cancel,
    /// A PUT still saying `active: true`: note it for the admin.
    Signal,
}

/// How a write changes a user.
enum Change<'a> {
    /// PUT: the new, already validated document.
    Replace(Document),
    /// PATCH: operations on the stored document, with their result as
    /// prepared before the lock.
    Patch(&'a [Operation], Option<Prepared>),
    /// The admin API: `active` set to this value.
    SetActive(bool),
}

impl Change<'_> {
    /// The same change, to run again alone should a shared attempt find
    /// that it is not a shared change (a copy: the attempt consumes its
    /// own). A PATCH keeps its result prepared before the lock, so that
    /// its work stays outside the lock the second time too.
    fn again(&self) -> Self {
        match self {
            Change::Replace(doc) => Change::Replace(doc.clone()),
            Change::Patch(operations, prepared) => Change::Patch(operations, prepared.clone()),
            Change::SetActive(active) => Change::SetActive(*active),
        }
    }
}

/// How an attempt at a user write ended.
enum Written {
    /// The user as written, with its groups as read under the lock.
    Done(ResourceRecord, Vec<Membership>),
    /// A shared attempt found a change that must run alone; it wrote
    /// nothing (its transaction rolled back).
    NotShared,
}

/// Whether a change of user `id`, already known to be of a user with no
/// pending request, may run as a shared write ([`TenantLock::Shared`]):
/// it changes no fact that another write of the tenant reads, and reads
/// none that a shared write changes. So: not an admin before or after
/// (the last-admin rule counts them), the same userName (the uniqueness
/// of a name's key spans users), and, when it takes a seat, no seat limit
/// to count against and no request that could be waiting for this user
/// as its heir. The guard must then allow it with nothing to reassign
/// (the caller checks), which for a deactivation means the user owns
/// nothing: only exclusive writes give users things to own.
fn is_shared_change(
    settings: &TenantSettings,
    transition: &Transition<'_>,
    user_name_kept: bool,
) -> bool {
    let (Some(before), Some(after)) = (&transition.before, &transition.after) else {
        return false;
    };
    user_name_kept
        && !before.admin
        && !after.admin
        && (!transition.takes_seat()
            || (settings.seat_limit.is_none() && !may_be_awaited(settings, after.id)))
}

fn not_found(id: &str) -> DomainError {
    DomainError::NotFound(format!("no user has id {id}"))
}

/// The audit action of a transition.
pub(super) fn user_action(transition: &Transition<'_>) -> Action {
    match (&transition.before, &transition.after) {
        (None, _) => Action::UserCreate,
        (_, None) => Action::UserDelete,
        (Some(b), Some(a)) if b.active && !a.active => Action::UserDeactivate,
        (Some(b), Some(a)) if a.active && (!b.active || b.access != a.access) => {
            Action::UserReactivate
        }
        (Some(b), Some(a)) if b.admin && !a.admin => Action::UserDemote,
        (Some(b), Some(a)) if !b.admin && a.admin => Action::UserPromote,
        (Some(_), Some(_)) => Action::UserUpdate,
    }
}

/// The columns derived from a user's facts, with its admin flag and access.
pub(super) fn user_row<'a>(
    id: &'a str,
    doc: &'a Document,
    facts: &UserFacts<'a>,
    version: i64,
    (created_at, now): (i64, i64),
    (is_admin, access): (bool, Access),
) -> UserRow<'a> {
    UserRow {
        id,
        user_name: facts.user_name,
        external_id: facts.external_id,
        display_name: facts.display_name,
        active: facts.active,
        is_admin,
        access,
        emails: facts.emails.clone(),
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

/// Most operations of a PATCH that only sets `active` applied under the
/// tenant's lock without a read before it (`Domain::patch_user`).
const MOST_ACTIVE_OPERATIONS_UNDER_LOCK: usize = 4;

/// Whether a PATCH operation sets `active` explicitly: a path `active`, or
/// a path-less value object holding `active` (which the engine turns into
/// a path `active`).
fn sets_active(op: &Operation) -> bool {
    matches!(op.op, OpKind::Add | OpKind::Replace)
        && op.path.filter.is_none()
        && op.path.sub.is_none()
        && op.path.attr.sub.is_none()
        && op.path.attr.name.eq_ignore_ascii_case("active")
}

/// Checks the userName a write leaves in `doc`, given the user's
/// `previous` one (`None` for a new user). A name being set or changed
/// needs a key (DESIGN §8) that is neither empty nor too long to index; a
/// name left as it was is never refused, so that a user with a legacy name
/// can still be deactivated or deleted.
fn check_user_name(doc: &Document, previous: Option<&str>) -> Result<(), ScimError> {
    let Some(name) = doc.get("userName").and_then(Value::as_str) else {
        return Err(ScimError::invalid_value("userName must not be empty"));
    };
    if previous == Some(name) {
        return Ok(());
    }
    let key = scim::user_name::key(name);
    if key.is_empty() {
        return Err(ScimError::invalid_value(
            "userName must not be empty: nothing is left once white space at either end and \
             invisible characters (such as zero-width spaces) are removed",
        ));
    }
    if key.len() > super::MAX_INDEXED_BYTES {
        return Err(ScimError::invalid_value(format!(
            "userName is {} bytes long once normalized (NFKC_Casefold); at most {} are accepted",
            key.len(),
            super::MAX_INDEXED_BYTES
        )));
    }
    Ok(())
}

impl Domain {
    /// POST /Users (RFC 7644 §3.3), with the seat rule of the guard.
    pub async fn create_user(
        &self,
        who: &Principal,
        body: &Value,
        projection: &Projection,
    ) -> Result<Resource, DomainError> {
        let tenant_id = &who.tenant_id;
        let mut doc = normalize(&self.schemas.user, body)?;
        check_user_name(&doc, None)?;
        default_active(&mut doc);
        self.check_sizes(&doc, None)?;
        let ignored = unknown_in_body(&self.schemas.user, body);
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let facts = UserFacts::of(&doc);
        let access = Access::after(None, facts.active);
        let mut row = user_row(&id, &doc, &facts, 1, (now, now), (facts.admin, access));
        check_row(&row)?;
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        let admin = admin_after(settings.admin_source, &facts, false);
        row.is_admin = admin;
        let transition = Transition {
            before: None,
            after: Some(Subject::of(&id, &facts, admin, access)),
        };
        let change = UserChange {
            action: user_action(&transition),
            user_id: &id,
            user_name: facts.user_name,
            attributes: &changed_attributes(None, Some(&doc)),
            ignored: &ignored,
        };
        let grants_admin = transition.grants_active_admin();
        match self.guard(&tx, tenant_id, &settings, transition).await? {
            Verdict::Allowed { reassign } => {
                self.apply_reassignment(&tx, who, &change, reassign).await?
            }
            Verdict::Refused(refusal) => {
                return Err(self.record_refusal(tx, who, &change, refusal).await);
            }
        }
        tx.insert_user(tenant_id, &row).await?;
        if grants_admin {
            self.complete_unblocked(&tx, who, &settings, Unblocked::LastAdmins)
                .await?;
        }
        if facts.active {
            let heir = Heir {
                id: &id,
                external_id: facts.external_id,
                user_name: facts.user_name,
            };
            self.complete_unblocked(&tx, who, &settings, Unblocked::HeirArrived(heir))
                .await?;
        }
        self.commit_user_change(tx, who, &change).await?;
        let record = ResourceRecord {
            id,
            document: doc,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        // A new user is in no group yet.
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
        let (record, memberships) = self
            .store
            .user_with_groups(tenant_id, id, projection.wants("groups"))
            .await?
            .ok_or_else(|| not_found(id))?;
        let user = self.render_user(&record, memberships.iter());
        Ok(self.shape(Kind::Users, user, projection))
    }

    /// A written user as a response, with the groups read with it,
    /// shaped by the projection.
    fn respond_user(
        &self,
        (record, memberships): (ResourceRecord, Vec<Membership>),
        projection: &Projection,
    ) -> Resource {
        let user = self.render_user(&record, memberships.iter());
        self.shape(Kind::Users, user, projection)
    }

    /// PUT /Users/{id} (RFC 7644 §3.5.1): the body replaces every writable
    /// attribute; read-only ones are kept, immutable ones may not change.
    pub async fn replace_user(
        &self,
        who: &Principal,
        id: &str,
        body: &Value,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let doc = normalize(&self.schemas.user, body)?;
        let ignored = unknown_in_body(&self.schemas.user, body);
        let written = self
            .update_user(who, id, Change::Replace(doc), &ignored, if_match)
            .await?;
        Ok(self.respond_user(written, projection))
    }

    /// PATCH /Users/{id} (RFC 7644 §3.5.2), through the same write as PUT.
    pub async fn patch_user(
        &self,
        who: &Principal,
        id: &str,
        body: &Value,
        projection: &Projection,
        if_match: Option<&str>,
    ) -> Result<Resource, DomainError> {
        let operations = patch::parse_request(&self.schemas.user, body)?;
        let ignored = unknown_in_operations(&self.schemas.user, &operations);
        // Applied before the lock, within the work budget (issue 13); but
        // Okta's and Entra's deactivations and reactivations, which only
        // set `active`, cost a few values' work: they are applied under
        // the lock, to the user read there anyway.
        let prepared = if operations.len() <= MOST_ACTIVE_OPERATIONS_UNDER_LOCK
            && operations.iter().all(sets_active)
        {
            None
        } else {
            let stored = self
                .store
                .user(&who.tenant_id, id)
                .await?
                .ok_or_else(|| not_found(id))?;
            Some(self.prepare_patch(
                &self.schemas.user,
                &stored,
                &operations,
                self.patch_budget(),
            )?)
        };
        let change = Change::Patch(&operations, prepared);
        let written = self
            .update_user(who, id, change, &ignored, if_match)
            .await?;
        Ok(self.respond_user(written, projection))
    }

    /// Sets `active` (the admin API's deactivate and reactivate), through
    /// the same write as PUT and PATCH. Reactivating also lifts a
    /// suspension.
    pub(super) async fn set_active(
        &self,
        who: &Principal,
        id: &str,
        active: bool,
    ) -> Result<(), DomainError> {
        self.update_user(who, id, Change::SetActive(active), &[], None)
            .await
            .map(drop)
    }

    /// The one write path of PUT, PATCH and the admin API: lock the
    /// tenant, check `If-Match`, build the new document, run the guard,
    /// write unless nothing changed, audit.
    ///
    /// Where the tenant's writes can share its lock (PostgreSQL), the
    /// write first runs as a shared write, beside the tenant's other
    /// shared writes: most writes of the IdP (a deactivation of a user
    /// who owns nothing, a profile update) are shared changes
    /// (`is_shared_change`). One that turns out not to be rolls back
    /// before writing anything, and runs again alone.
    async fn update_user(
        &self,
        who: &Principal,
        id: &str,
        mut change: Change<'_>,
        ignored: &[String],
        if_match: Option<&str>,
    ) -> Result<(ResourceRecord, Vec<Membership>), DomainError> {
        if self.shares_tenant_writes() {
            let again = change.again();
            let shared = self
                .write_user(who, id, change, ignored, if_match, TenantLock::Shared)
                .await?;
            match shared {
                Written::Done(record, groups) => return Ok((record, groups)),
                Written::NotShared => change = again,
            }
        }
        let alone = self
            .write_user(who, id, change, ignored, if_match, TenantLock::Exclusive)
            .await?;
        match alone {
            Written::Done(record, groups) => Ok((record, groups)),
            // Only a shared attempt ends so.
            Written::NotShared => Err(DomainError::Conflict(format!(
                "the write of user {id} could not take its tenant's lock; retry"
            ))),
        }
    }

    /// One attempt at [`Self::update_user`], holding the tenant's lock as
    /// `lock` says. A shared attempt ends with [`Written::NotShared`],
    /// having written nothing, as soon as it finds that the change is not
    /// a shared one.
    async fn write_user(
        &self,
        who: &Principal,
        id: &str,
        change: Change<'_>,
        ignored: &[String],
        if_match: Option<&str>,
        lock: TenantLock,
    ) -> Result<Written, DomainError> {
        let shared = lock == TenantLock::Shared;
        let tenant_id = &who.tenant_id;
        // The response shows the user's groups, read here with the user.
        let (tx, settings, user) = self.begin_user_write(tenant_id, id, lock, true).await?;
        let LockedUser {
            record: old,
            access,
            is_admin: old_admin,
            pending: has_request,
            tokens: has_tokens,
            owns,
            groups,
        } = user.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, old.version)?;
        if shared && has_request {
            // Settling, cancelling or noting a request is never shared.
            return Ok(Written::NotShared);
        }
        let old_access = access;
        let old_facts = UserFacts::of(&old.document);
        // DESIGN §4: an explicit `active: true` from the admin API or in a
        // PATCH is a reactivation (it cancels a pending deprovisioning and
        // lifts the suspension); a PUT, which Okta sends for every profile
        // update, only tells the admin what the IdP said.
        let explicit_reactivation = match &change {
            Change::SetActive(active) => *active,
            Change::Patch(operations, _) => operations.iter().any(sets_active),
            Change::Replace(_) => false,
        };
        let is_put = matches!(change, Change::Replace(_));
        let doc = match change {
            Change::Replace(mut doc) => {
                carry_immutable(&self.schemas.user, &old.document, &mut doc)?;
                // Leaving `active` out of a PUT must not reactivate a deactivated user.
                if !doc.contains_key("active") {
                    doc.insert("active".into(), Value::Bool(is_active(&old.document)));
                }
                doc
            }
            Change::Patch(operations, prepared) => {
                self.patched(&self.schemas.user, &old, operations, prepared)?
            }
            Change::SetActive(active) => {
                let mut doc = old.document.clone();
                doc.insert("active".into(), Value::Bool(active));
                doc
            }
        };
        check_user_name(&doc, Some(old_facts.user_name))?;
        let facts = UserFacts::of(&doc);
        if old_facts.active && !facts.active {
            // A deactivation is never refused for the size of what it keeps.
            self.sizes.check_strings(&doc, Some(&old.document))?;
        } else {
            self.check_sizes(&doc, Some(&old.document))?;
        }
        // `active` going from false to true is unambiguous whatever the
        // method; a PUT of an active user saying so again is not.
        let reactivates = facts.active && (explicit_reactivation || !old_facts.active);
        let new_access = if reactivates {
            Access::Active
        } else {
            Access::after(Some((old_facts.active, old_access)), facts.active)
        };
        // A waiting request is cancelled by a reactivation, and hears of
        // a profile PUT saying `active: true`.
        let pending = match (has_request, reactivates, is_put && facts.active) {
            (false, _, _) => PendingEffect::None,
            (true, true, _) => PendingEffect::Cancel,
            (true, false, true) => PendingEffect::Signal,
            (true, false, false) => PendingEffect::None,
        };
        let admin = admin_after(settings.admin_source, &facts, old_admin);
        if doc == old.document && new_access == old_access && admin == old_admin {
            // Nothing changed: no write, no new version (RFC 7644 §3.5.2.1).
            let noted = self.apply_pending_effect(&tx, who, id, pending).await?;
            if !ignored.is_empty() {
                // The admin still learns that the IdP's mapping wrote nothing.
                let change = UserChange {
                    action: Action::UserUpdate,
                    user_id: id,
                    user_name: old_facts.user_name,
                    attributes: &[],
                    ignored,
                };
                self.commit_user_change(tx, who, &change).await?;
            } else if noted {
                tx.commit().await?;
            }
            return Ok(Written::Done(old, groups));
        }
        let (version, now) = if doc == old.document {
            (old.version, old.updated_at)
        } else {
            (old.version + 1, self.now())
        };
        let row = user_row(
            id,
            &doc,
            &facts,
            version,
            (old.created_at, now),
            (admin, new_access),
        );
        check_row(&row)?;

        let transition = Transition {
            before: Some(Subject::of(id, &old_facts, old_admin, old_access)),
            after: Some(Subject::of(id, &facts, admin, new_access)),
        };
        if shared
            && !is_shared_change(
                &settings,
                &transition,
                facts.user_name == old_facts.user_name,
            )
        {
            return Ok(Written::NotShared);
        }
        let grants_admin = transition.grants_active_admin();
        let takes_seat = transition.takes_seat();
        let change = UserChange {
            action: user_action(&transition),
            user_id: id,
            user_name: old_facts.user_name,
            attributes: &changed_attributes(Some(&old.document), Some(&doc)),
            ignored,
        };
        let known = Known::of_locked_user(owns);
        match self
            .guard_knowing(&tx, tenant_id, &settings, transition, known)
            .await?
        {
            // What it owns moves, or the refusal is recorded: never shared.
            Verdict::Allowed { reassign: Some(_) } | Verdict::Refused(_) if shared => {
                return Ok(Written::NotShared);
            }
            Verdict::Allowed { reassign } => {
                self.apply_reassignment(&tx, who, &change, reassign).await?
            }
            Verdict::Refused(refusal) => {
                return Err(self.record_refusal(tx, who, &change, refusal).await);
            }
        }
        self.apply_pending_effect(&tx, who, id, pending).await?;
        let previous = user_row(
            id,
            &old.document,
            &old_facts,
            old.version,
            (old.created_at, old.updated_at),
            (old_admin, old_access),
        );
        let event = self.user_event(who, &change, Outcome::Allowed, String::new());
        if !tx.update_user(tenant_id, &row, &previous, &event).await? {
            return Err(not_found(id));
        }
        if has_tokens && old_access == Access::Active && new_access != Access::Active {
            tx.revoke_user_tokens(tenant_id, id, self.now()).await?;
        }
        if has_request && change.action == Action::UserDeactivate {
            self.settle_pending_of(&tx, who, id, Requested::Deactivate)
                .await?;
        }
        if grants_admin {
            self.complete_unblocked(&tx, who, &settings, Unblocked::LastAdmins)
                .await?;
        }
        if takes_seat {
            let heir = Heir {
                id,
                external_id: facts.external_id,
                user_name: facts.user_name,
            };
            self.complete_unblocked(&tx, who, &settings, Unblocked::HeirArrived(heir))
                .await?;
        }
        tx.commit().await?;
        let record = ResourceRecord {
            id: id.to_owned(),
            document: doc,
            version,
            created_at: old.created_at,
            updated_at: now,
        };
        Ok(Written::Done(record, groups))
    }

    /// Cancels the user's pending deprovisioning or notes the IdP's signal
    /// on it; true when a request was found.
    async fn apply_pending_effect(
        &self,
        tx: &Tx,
        who: &Principal,
        id: &str,
        effect: PendingEffect,
    ) -> Result<bool, DomainError> {
        match effect {
            PendingEffect::None => Ok(false),
            PendingEffect::Cancel => Ok(self.cancel_pending_of(tx, who, id).await?.is_some()),
            PendingEffect::Signal => {
                self.note_idp_signal(tx, who, id, "a PUT with active: true")
                    .await
            }
        }
    }

    /// DELETE /Users/{id} (RFC 7644 §3.6) and the admin API's delete: the
    /// user leaves its groups; its call records and audit events stay.
    pub async fn delete_user(
        &self,
        who: &Principal,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), DomainError> {
        let tenant_id = &who.tenant_id;
        let (tx, settings, user) = self
            .begin_user_write(tenant_id, id, TenantLock::Exclusive, false)
            .await?;
        let LockedUser {
            record,
            access,
            is_admin,
            pending: has_request,
            tokens: has_tokens,
            owns,
            ..
        } = user.ok_or_else(|| not_found(id))?;
        check_if_match(if_match, record.version)?;
        let facts = UserFacts::of(&record.document);
        let transition = Transition {
            before: Some(Subject::of(id, &facts, is_admin, access)),
            after: None,
        };
        let change = UserChange {
            action: user_action(&transition),
            user_id: id,
            user_name: facts.user_name,
            attributes: &[],
            ignored: &[],
        };
        let known = Known::of_locked_user(owns);
        match self
            .guard_knowing(&tx, tenant_id, &settings, transition, known)
            .await?
        {
            Verdict::Allowed { reassign } => {
                self.apply_reassignment(&tx, who, &change, reassign).await?
            }
            Verdict::Refused(refusal) => {
                return Err(self.record_refusal(tx, who, &change, refusal).await);
            }
        }
        if !tx
            .delete_user(tenant_id, id, facts.user_name, self.now())
            .await?
        {
            return Err(not_found(id));
        }
        if has_tokens {
            tx.revoke_user_tokens(tenant_id, id, self.now()).await?;
        }
        // Allowed after all (say, under a new policy): the user's request,
        // if any, is done.
        if has_request {
            self.settle_pending_of(&tx, who, id, Requested::Delete)
                .await?;
        }
        self.commit_user_change(tx, who, &change).await
    }

    /// Audits an allowed change to a user and commits it.
    pub(super) async fn commit_user_change(
        &self,
        tx: Tx,
        who: &Principal,
        change: &UserChange<'_>,
    ) -> Result<(), DomainError> {
        let event = self.user_event(who, change, Outcome::Allowed, String::new());
        tx.insert_audit(&who.tenant_id, &[event]).await?;
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
            check_user_name(&doc, None)?;
            default_active(&mut doc);
            self.check_sizes(&doc, None)?;
            docs.push(doc);
        }
        let ids: Vec<String> = docs
            .iter()
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        let mut rows: Vec<UserRow<'_>> = ids
            .iter()
            .zip(&docs)
            .map(|(id, doc)| {
                let facts = UserFacts::of(doc);
                let access = Access::after(None, facts.active);
                user_row(id, doc, &facts, 1, (now, now), (facts.admin, access))
            })
            .collect();
        for row in &rows {
            check_row(row)?;
        }
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        if settings.admin_source == crate::store::AdminSource::Scimd {
            for row in &mut rows {
                row.is_admin = false;
            }
        }
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
        use crate::store::{Order, Window, plan};
        use scim::eval::{Unknown, compile};
        let parsed = scim::filter::parse(filter).map_err(ScimError::from)?;
        let query = compile(&parsed, &self.schemas.user, Unknown::Reject)?;
        let plan = plan(Kind::Users, tenant_id, Some(&query));
        let window = Window::page(0, scim::list::DEFAULT_COUNT);
        let lines = self
            .store
            .explain_list(Kind::Users, tenant_id, &plan, Order::CREATION, window)
            .await?;
        Ok((plan.exact, lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AdminSource, Policy};

    fn settings(policy: Policy, seat_limit: Option<i64>) -> TenantSettings {
        TenantSettings {
            deprovision_policy: policy,
            fallback_owner_id: Some("heir".into()),
            seat_limit,
            audit_retention_days: 365,
            admin_source: AdminSource::Scimd,
        }
    }

    fn subject(id: &str, active: bool, admin: bool) -> Subject<'_> {
        Subject {
            id,
            user_name: "someone@example.com",
            active,
            admin,
            access: if active {
                Access::Active
            } else {
                Access::Deactivated
            },
            manager_id: None,
        }
    }

    /// A user's SCIM `active` and admin flag.
    const ACTIVE: (bool, bool) = (true, false);
    const INACTIVE: (bool, bool) = (false, false);
    const ADMIN: (bool, bool) = (true, true);
    const INACTIVE_ADMIN: (bool, bool) = (false, true);

    /// Whether user `id` going from `before` to `after` (active, admin),
    /// keeping its userName, is a shared change under `settings`.
    fn shared(
        settings: &TenantSettings,
        id: &str,
        before: (bool, bool),
        after: (bool, bool),
    ) -> bool {
        let transition = Transition {
            before: Some(subject(id, before.0, before.1)),
            after: Some(subject(id, after.0, after.1)),
        };
        is_shared_change(settings, &transition, true)
    }

    #[test]
    fn a_deactivation_or_profile_update_of_a_user_who_is_no_admin_is_shared() {
        let block = settings(Policy::Block, None);
        assert!(shared(&block, "u", ACTIVE, INACTIVE));
        assert!(shared(&block, "u", ACTIVE, ACTIVE));
        assert!(shared(&block, "u", INACTIVE, ACTIVE));
    }

    #[test]
    fn changes_of_facts_other_writes_read_run_alone() {
        let block = settings(Policy::Block, None);
        // The last-admin rule counts admins: any change of one, any promotion.
        assert!(!shared(&block, "u", ADMIN, INACTIVE_ADMIN));
        assert!(!shared(&block, "u", ADMIN, ADMIN));
        assert!(!shared(&block, "u", ACTIVE, ADMIN));
        assert!(!shared(&block, "u", INACTIVE_ADMIN, INACTIVE_ADMIN));
        // A name's key is unique across users.
        let renamed = Transition {
            before: Some(subject("u", true, false)),
            after: Some(subject("u", true, false)),
        };
        assert!(!is_shared_change(&block, &renamed, false));
        // A reactivation counts against a seat limit…
        let seats = settings(Policy::Block, Some(10));
        assert!(!shared(&seats, "u", INACTIVE, ACTIVE));
        assert!(shared(&seats, "u", ACTIVE, INACTIVE));
        // …and may be the heir that waiting requests need.
        let manager = settings(Policy::ReassignToManager, None);
        assert!(!shared(&manager, "u", INACTIVE, ACTIVE));
        assert!(shared(&manager, "u", ACTIVE, INACTIVE));
        let fallback = settings(Policy::ReassignToFallback, None);
        assert!(!shared(&fallback, "heir", INACTIVE, ACTIVE));
        assert!(shared(&fallback, "u", INACTIVE, ACTIVE));
        // Creates and deletes are never shared.
        let create = Transition {
            before: None,
            after: Some(subject("u", true, false)),
        };
        let delete = Transition {
            before: Some(subject("u", true, false)),
            after: None,
        };
        assert!(!is_shared_change(&block, &create, true));
        assert!(!is_shared_change(&block, &delete, true));
    }
}
