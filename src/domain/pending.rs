//! Pending deprovisionings (DESIGN §4): every refused deactivation or
//! deletion is recorded, one request per user, and finishes by itself in
//! the write that removes its last blocker, through the same guard. An
//! explicit reactivation by the IdP, or an admin, cancels it.

use serde::Serialize;

use super::admin_cursor::{self, AdminCursor};
use super::facts::UserFacts;
use super::guard::{Blocker, Refusal, Subject, Transition, UserChange, Verdict};
use super::tokens::Principal;
use super::users::user_row;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{
    Access, Action, EventType, LockedUser, Outcome, PendingFilter, PendingRecord, PendingState,
    Policy, Reason, Requested, TargetType, TenantSettings, Tx, UserState,
};

/// A user as a request shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PendingUser {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
}

/// The last thing the IdP said about a user with a pending request that
/// did not decide it (a profile PUT still saying `active: true`).
#[derive(Debug, Clone, Serialize)]
pub struct IdpSignal {
    pub at: String,
    pub detail: String,
}

/// A deprovisioning request as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeprovisioningView {
    pub id: String,
    pub user: PendingUser,
    pub requested: Requested,
    pub reason: Reason,
    pub state: PendingState,
    pub requested_by: String,
    pub requested_at: String,
    pub attempts: i64,
    pub blockers: Vec<serde_json::Value>,
    pub last_idp_signal: Option<IdpSignal>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// The console's page of this request, when `--public-url` says
    /// where the console is (DESIGN §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve_url: Option<String>,
}

impl DeprovisioningView {
    /// The view of a stored request, whose console page is `resolve_url`.
    fn of(r: PendingRecord, resolve_url: Option<String>) -> Self {
        let blockers = serde_json::from_str(&r.blockers).unwrap_or_default();
        DeprovisioningView {
            resolve_url,
            id: r.id,
            user: PendingUser {
                id: r.user_id,
                user_name: r.user_name,
                display_name: r.display_name,
            },
            requested: r.requested,
            reason: r.reason,
            state: r.state,
            requested_by: r.requested_by,
            requested_at: format_millis(r.requested_at),
            attempts: r.attempts,
            blockers,
            last_idp_signal: r
                .last_idp_signal
                .zip(r.last_idp_signal_at)
                .map(|(detail, at)| IdpSignal {
                    at: format_millis(at),
                    detail,
                }),
            resolved_at: r.resolved_at.map(format_millis),
            resolved_by: r.resolved_by,
        }
    }
}

/// Which pending requests a write may have unblocked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Unblocked<'a> {
    /// Those of a user who lost something it owned.
    OwnerOf(&'a str),
    /// Those refused because the user was the last active admin: another
    /// user became an active admin.
    LastAdmins,
    /// One request, retried by an admin.
    One(&'a str),
    /// Those refused for owned assets that the policy's heir can now
    /// take: the user `Heir` names became active (it was created, or
    /// reactivated), and is the fallback owner or a leaver's manager.
    HeirArrived(Heir<'a>),
}

/// Whether requests refused for owned assets may be waiting for user
/// `user_id` to become active, as their policy's heir: the fallback
/// owner, or, under `reassign_to_manager`, anyone a manager value names.
pub(crate) fn may_be_awaited(settings: &TenantSettings, user_id: &str) -> bool {
    match settings.deprovision_policy {
        Policy::Block => false,
        Policy::ReassignToFallback => settings.fallback_owner_id.as_deref() == Some(user_id),
        Policy::ReassignToManager => true,
    }
}

/// A user that became active, as a manager value may name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heir<'a> {
    pub id: &'a str,
    pub external_id: Option<&'a str>,
    pub user_name: &'a str,
}

impl Heir<'_> {
    /// Whether a manager value names this user (by id, `externalId` or
    /// `userName`, as [`crate::store::Tx::user_by_reference`] resolves).
    fn is_named_by(&self, reference: &str) -> bool {
        reference == self.id
            || self.external_id == Some(reference)
            || scim::user_name::key(reference) == scim::user_name::key(self.user_name)
    }
}

/// What the IdP asked for, from the audit action of the refused change.
pub(crate) fn requested(action: Action) -> Option<Requested> {
    match action {
        Action::UserDeactivate => Some(Requested::Deactivate),
        Action::UserDelete => Some(Requested::Delete),
        Action::UserCreate
        | Action::UserUpdate
        | Action::UserReactivate
        | Action::UserDemote
        | Action::UserPromote
        | Action::GroupCreate
        | Action::GroupUpdate
        | Action::GroupDelete
        | Action::GroupOwner
        | Action::AssetCreate
        | Action::AssetUpdate
        | Action::AssetDelete
        | Action::AssetReassign
        | Action::TokenCreate
        | Action::TokenRevoke
        | Action::SettingsUpdate
        | Action::DeprovisioningComplete
        | Action::DeprovisioningCancel
        | Action::WebhookCreate
        | Action::WebhookDelete
        | Action::WebhookRotate => None,
    }
}

fn blockers_json(blockers: &[Blocker]) -> String {
    serde_json::to_string(blockers).unwrap_or_else(|_| "[]".to_owned())
}

/// Where the console shows a request: `<base>/console/deprovisionings/{id}`.
pub const CONSOLE_DEPROVISIONINGS_PATH: &str = "/console/deprovisionings";

fn no_request(id: &str) -> DomainError {
    DomainError::NotFound(format!("no deprovisioning request has id {id}"))
}

impl Domain {
    /// The console page of request `pending_id` (the refusal's
    /// `resolve_url`) under the public URL; only when `--public-url` was
    /// given (DESIGN §4): the listen address is no link an IT admin
    /// reading Okta or Entra could follow.
    pub fn resolve_url(&self, pending_id: &str) -> Option<String> {
        self.public_url_explicit.then(|| {
            format!(
                "{}{CONSOLE_DEPROVISIONINGS_PATH}/{pending_id}",
                self.public_url
            )
        })
    }

    /// The admin API's and the console's view of a stored request.
    pub(super) fn deprovisioning_view(&self, record: PendingRecord) -> DeprovisioningView {
        let url = self.resolve_url(&record.id);
        DeprovisioningView::of(record, url)
    }

    /// Records a refused deprovisioning in `tx`: a new pending request, or
    /// the user's existing one updated (one more attempt, the current
    /// reason and blockers; a DELETE upgrades a deactivation). Returns its
    /// id.
    pub(crate) async fn record_pending(
        &self,
        tx: &Tx,
        who: &Principal,
        requested: Requested,
        refusal: &Refusal,
        user: Option<&UserState>,
    ) -> Result<String, DomainError> {
        let tenant_id = &who.tenant_id;
        let now = self.now();
        let existing = tx
            .pending_deprovisionings(tenant_id, Some(&refusal.user_id), None)
            .await?;
        if let Some(mut record) = existing.into_iter().next() {
            record.attempts += 1;
            if requested == Requested::Delete {
                record.requested = Requested::Delete;
            }
            record.reason = refusal.reason;
            record.blockers = blockers_json(&refusal.blockers);
            if let Some(user) = user {
                record.user_name = user.user_name.clone();
                record.display_name = user.display_name.clone();
            }
            record.updated_at = now;
            tx.update_deprovisioning(tenant_id, &record).await?;
            return Ok(record.id);
        }
        let (user_name, display_name) = user
            .map(|u| (u.user_name.clone(), u.display_name.clone()))
            .unwrap_or_default();
        let record = PendingRecord {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: refusal.user_id.clone(),
            user_name,
            display_name,
            requested,
            reason: refusal.reason,
            state: PendingState::Pending,
            requested_by: who.label.clone(),
            requested_at: now,
            attempts: 1,
            blockers: blockers_json(&refusal.blockers),
            last_idp_signal: None,
            last_idp_signal_at: None,
            resolved_at: None,
            resolved_by: None,
            updated_at: now,
        };
        tx.insert_deprovisioning(tenant_id, &record).await?;
        // Once per state change: retries update the request silently.
        self.emit_request_event(tx, tenant_id, EventType::DeprovisioningBlocked, &record)
            .await?;
        Ok(record.id)
    }

    /// Emits a webhook event about a request: `data.user`, `pending_id`,
    /// what was asked, why, and the blockers.
    async fn emit_request_event(
        &self,
        tx: &Tx,
        tenant_id: &str,
        event: EventType,
        record: &PendingRecord,
    ) -> Result<(), DomainError> {
        let blockers: serde_json::Value =
            serde_json::from_str(&record.blockers).unwrap_or_default();
        let data = serde_json::json!({
            "user": {
                "id": record.user_id,
                "user_name": record.user_name,
                "display_name": record.display_name,
            },
            "pending_id": record.id,
            "requested": record.requested,
            "reason": record.reason,
            "state": record.state,
            "blockers": blockers,
            "requested_by": record.requested_by,
            "resolved_by": record.resolved_by,
        });
        self.emit(tx, tenant_id, event, data).await
    }

    /// Runs the guard again, in `tx`, for the pending requests `which`
    /// names, and completes those it now allows: the user is deactivated
    /// or deleted, audited with the original requester and `who`, the
    /// resolver. Requests still refused keep their new reason and
    /// blockers (and a last admin who now only owns assets is suspended).
    /// Returns the first completed request's id.
    pub(crate) async fn complete_unblocked(
        &self,
        tx: &Tx,
        who: &Principal,
        settings: &TenantSettings,
        which: Unblocked<'_>,
    ) -> Result<Option<String>, DomainError> {
        let tenant_id = &who.tenant_id;
        let records = match which {
            Unblocked::OwnerOf(user_id) => {
                tx.pending_deprovisionings(tenant_id, Some(user_id), None)
                    .await?
            }
            Unblocked::LastAdmins => {
                tx.pending_deprovisionings(tenant_id, None, Some(Reason::LastAdmin))
                    .await?
            }
            Unblocked::HeirArrived(heir) => self.awaiting(tx, tenant_id, settings, heir).await?,
            Unblocked::One(id) => {
                let record = tx
                    .deprovisioning(tenant_id, id)
                    .await?
                    .ok_or_else(|| no_request(id))?;
                if record.state != PendingState::Pending {
                    return Err(DomainError::Conflict(format!(
                        "deprovisioning request {id} is already {}",
                        record.state
                    )));
                }
                vec![record]
            }
        };
        let mut completed = None;
        for record in records {
            if let Some(id) = self.try_complete(tx, who, settings, record).await? {
                completed.get_or_insert(id);
            }
        }
        Ok(completed)
    }

    /// The requests refused for owned assets whose heir `heir` may be:
    /// all of them when it is the fallback owner, those of its reports
    /// under `reassign_to_manager`, found from each waiting leaver's
    /// manager value (one statement) so that only those requests are read.
    async fn awaiting(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        heir: Heir<'_>,
    ) -> Result<Vec<PendingRecord>, DomainError> {
        if !may_be_awaited(settings, heir.id) {
            return Ok(Vec::new());
        }
        if settings.deprovision_policy == Policy::ReassignToFallback {
            return Ok(tx
                .pending_deprovisionings(tenant_id, None, Some(Reason::OwnsAssets))
                .await?);
        }
        // The leavers' manager values in one light statement, then only
        // the requests this user is named in: this runs on every create
        // under the tenant's write lock.
        let mut reports = Vec::new();
        for (request_id, manager) in tx.waiting_for_managers(tenant_id).await? {
            if heir.is_named_by(&manager)
                && let Some(record) = tx.deprovisioning(tenant_id, &request_id).await?
            {
                reports.push(record);
            }
        }
        reports.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
        Ok(reports)
    }

    /// Completes one pending request if the guard now allows it.
    async fn try_complete(
        &self,
        tx: &Tx,
        who: &Principal,
        settings: &TenantSettings,
        mut record: PendingRecord,
    ) -> Result<Option<String>, DomainError> {
        let tenant_id = &who.tenant_id;
        let now = self.now();
        let Some(LockedUser {
            record: old,
            access,
            is_admin,
            ..
        }) = tx
            .user_for_update(tenant_id, &record.user_id, false)
            .await?
        else {
            // The user is gone: a deletion is done; a deactivation is moot.
            record.state = match record.requested {
                Requested::Delete => PendingState::Completed,
                Requested::Deactivate => PendingState::Cancelled,
            };
            self.resolve(tx, who, &mut record, now).await?;
            return Ok((record.state == PendingState::Completed).then_some(record.id));
        };
        let old_facts = UserFacts::of(&old.document);
        let mut doc = old.document.clone();
        doc.insert("active".into(), serde_json::Value::Bool(false));
        let new_facts = UserFacts::of(&doc);
        let before = Subject::of(&old.id, &old_facts, is_admin, access);
        let (after, action) = match record.requested {
            Requested::Deactivate if !old_facts.active => {
                // Already deactivated (by an admin or the IdP): done.
                record.state = PendingState::Completed;
                self.resolve(tx, who, &mut record, now).await?;
                return Ok(Some(record.id));
            }
            Requested::Deactivate => (
                Some(Subject::of(
                    &old.id,
                    &new_facts,
                    is_admin,
                    Access::Deactivated,
                )),
                Action::UserDeactivate,
            ),
            Requested::Delete => (None, Action::UserDelete),
        };
        let transition = Transition {
            before: Some(before),
            after,
        };
        let attributes = match record.requested {
            Requested::Deactivate => vec!["active".to_owned()],
            Requested::Delete => Vec::new(),
        };
        let change = UserChange {
            action,
            user_id: &old.id,
            user_name: old_facts.user_name,
            attributes: &attributes,
            ignored: &[],
        };
        let reassign = match self.guard(tx, tenant_id, settings, transition).await? {
            Verdict::Allowed { reassign } => reassign,
            Verdict::Refused(refusal) => {
                record.reason = refusal.reason;
                record.blockers = blockers_json(&refusal.blockers);
                record.updated_at = now;
                tx.update_deprovisioning(tenant_id, &record).await?;
                if refusal.suspends() && access == Access::Active {
                    // A last admin who now only owns assets: suspended now.
                    tx.suspend(tenant_id, &old.id).await?;
                    tx.revoke_user_tokens(tenant_id, &old.id, now).await?;
                    self.emit_request_event(tx, tenant_id, EventType::UserSuspended, &record)
                        .await?;
                    let event = self.user_event(
                        who,
                        &change,
                        Outcome::Blocked,
                        format!("{} (access suspended until then)", refusal.detail),
                    );
                    tx.insert_audit(tenant_id, &[event]).await?;
                }
                return Ok(None);
            }
        };
        // The IdP's change, applied on its behalf: audited as the requester's.
        let requester = Principal {
            label: record.requested_by.clone(),
            ..who.clone()
        };
        self.apply_reassignment(tx, &requester, &change, reassign)
            .await?;
        let detail = format!(
            "completes deprovisioning request {} of {}; resolved by {}",
            record.id,
            format_millis(record.requested_at),
            who.label
        );
        let event = self.user_event(&requester, &change, Outcome::Allowed, detail);
        match record.requested {
            Requested::Deactivate => {
                let version = old.version + 1;
                let row = user_row(
                    &old.id,
                    &doc,
                    &new_facts,
                    version,
                    (old.created_at, now),
                    (is_admin, Access::Deactivated),
                );
                let previous = user_row(
                    &old.id,
                    &old.document,
                    &old_facts,
                    old.version,
                    (old.created_at, old.updated_at),
                    (is_admin, access),
                );
                if !tx.update_user(tenant_id, &row, &previous, &event).await? {
                    // Cannot happen: the user's row is locked above.
                    return Err(DomainError::Conflict(format!(
                        "user {} changed while its request completed; retry",
                        old.id
                    )));
                }
            }
            Requested::Delete => {
                tx.delete_user(tenant_id, &old.id, old_facts.user_name, now)
                    .await?;
                tx.insert_audit(tenant_id, &[event]).await?;
            }
        }
        tx.revoke_user_tokens(tenant_id, &old.id, now).await?;
        record.state = PendingState::Completed;
        self.resolve(tx, who, &mut record, now).await?;
        Ok(Some(record.id))
    }

    /// Ends a request as completed or cancelled by `who`, audited.
    async fn resolve(
        &self,
        tx: &Tx,
        who: &Principal,
        record: &mut PendingRecord,
        now: i64,
    ) -> Result<(), DomainError> {
        record.resolved_at = Some(now);
        record.resolved_by = Some(who.label.clone());
        record.updated_at = now;
        tx.update_deprovisioning(&who.tenant_id, record).await?;
        let (action, event) = match record.state {
            PendingState::Cancelled => (
                Action::DeprovisioningCancel,
                EventType::DeprovisioningCancelled,
            ),
            PendingState::Completed | PendingState::Pending => (
                Action::DeprovisioningComplete,
                EventType::DeprovisioningCompleted,
            ),
        };
        self.emit_request_event(tx, &who.tenant_id, event, record)
            .await?;
        let event = self.audit_event(
            who,
            action,
            (
                TargetType::User,
                Some(&record.user_id),
                Some(&record.user_name),
            ),
            Outcome::Allowed,
            format!(
                "{} request {} by {} ({})",
                record.requested, record.id, record.requested_by, record.state
            ),
            Vec::new(),
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        Ok(())
    }

    /// Cancels the user's pending request, if any, in `tx` (the caller
    /// lifts the suspension). Returns its id.
    pub(crate) async fn cancel_pending_of(
        &self,
        tx: &Tx,
        who: &Principal,
        user_id: &str,
    ) -> Result<Option<String>, DomainError> {
        let pending = tx
            .pending_deprovisionings(&who.tenant_id, Some(user_id), None)
            .await?;
        let mut cancelled = None;
        for mut record in pending {
            record.state = PendingState::Cancelled;
            self.resolve(tx, who, &mut record, self.now()).await?;
            cancelled.get_or_insert(record.id);
        }
        Ok(cancelled)
    }

    /// Marks the user's pending requests that a write just carried out
    /// (`done`: a deletion settles every request, a deactivation only a
    /// requested deactivation) as completed by `who`.
    pub(crate) async fn settle_pending_of(
        &self,
        tx: &Tx,
        who: &Principal,
        user_id: &str,
        done: Requested,
    ) -> Result<(), DomainError> {
        for mut record in tx
            .pending_deprovisionings(&who.tenant_id, Some(user_id), None)
            .await?
        {
            if done == Requested::Delete || record.requested == Requested::Deactivate {
                record.state = PendingState::Completed;
                self.resolve(tx, who, &mut record, self.now()).await?;
            }
        }
        Ok(())
    }

    /// Notes on the user's pending request what the IdP said that did not
    /// decide it (`detail`); true when there was one.
    pub(crate) async fn note_idp_signal(
        &self,
        tx: &Tx,
        who: &Principal,
        user_id: &str,
        detail: &str,
    ) -> Result<bool, DomainError> {
        let now = self.now();
        let pending = tx
            .pending_deprovisionings(&who.tenant_id, Some(user_id), None)
            .await?;
        let found = !pending.is_empty();
        for mut record in pending {
            record.last_idp_signal = Some(format!("{detail} (from {})", who.label));
            record.last_idp_signal_at = Some(now);
            record.updated_at = now;
            tx.update_deprovisioning(&who.tenant_id, &record).await?;
        }
        Ok(found)
    }

    /// `GET /deprovisionings`: a page of the tenant's requests (`state`,
    /// `user_id`), oldest first, and the cursor of the next page.
    pub async fn deprovisionings(
        &self,
        tenant_id: &str,
        (state, user_id): (Option<&str>, Option<&str>),
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<(Vec<DeprovisioningView>, Option<String>), DomainError> {
        let limit = admin_cursor::page_size(limit)?;
        let after = cursor.map(admin_cursor::decode).transpose()?;
        let state = state
            .filter(|s| !s.is_empty())
            .map(|text| super::parse_state::<PendingState>("state", text))
            .transpose()?;
        let filter = PendingFilter {
            state,
            user_id,
            after: after.as_ref().map(|c| (c.after, c.id.as_str())),
        };
        let records = self
            .store
            .deprovisionings(tenant_id, &filter, limit + 1)
            .await?;
        let (page, next) = admin_cursor::split_page(records, limit, |r| AdminCursor {
            after: r.requested_at,
            id: r.id.clone(),
        });
        let page = page
            .into_iter()
            .map(|r| self.deprovisioning_view(r))
            .collect();
        Ok((page, next))
    }

    /// `GET /deprovisionings/{id}`.
    pub async fn deprovisioning(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DeprovisioningView, DomainError> {
        let record = self.store.deprovisioning(tenant_id, id).await?;
        record
            .map(|r| self.deprovisioning_view(r))
            .ok_or_else(|| no_request(id))
    }

    /// `POST /deprovisionings/{id}/retry`: runs the request again under the
    /// current policy. Returns the request and whether it completed.
    pub async fn retry_deprovisioning(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(DeprovisioningView, Option<String>), DomainError> {
        let (tx, settings) = self.begin_tenant_write(&who.tenant_id).await?;
        let completed = self
            .complete_unblocked(&tx, who, &settings, Unblocked::One(id))
            .await?;
        tx.commit().await?;
        Ok((self.deprovisioning(&who.tenant_id, id).await?, completed))
    }

    /// `POST /deprovisionings/{id}/cancel`: the user keeps its account and
    /// its suspension is lifted.
    pub async fn cancel_deprovisioning(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<DeprovisioningView, DomainError> {
        let (tx, settings) = self.begin_tenant_write(&who.tenant_id).await?;
        let mut record = tx
            .deprovisioning(&who.tenant_id, id)
            .await?
            .ok_or_else(|| no_request(id))?;
        if record.state != PendingState::Pending {
            return Err(DomainError::Conflict(format!(
                "deprovisioning request {id} is already {}",
                record.state
            )));
        }
        record.state = PendingState::Cancelled;
        self.resolve(&tx, who, &mut record, self.now()).await?;
        tx.lift_suspension(&who.tenant_id, &record.user_id).await?;
        // An admin with its access back may unblock a last admin's request.
        let user = tx.user_state(&who.tenant_id, &record.user_id).await?;
        if user.is_some_and(|u| u.is_admin && u.active) {
            self.complete_unblocked(&tx, who, &settings, Unblocked::LastAdmins)
                .await?;
        }
        tx.commit().await?;
        self.deprovisioning(&who.tenant_id, id).await
    }
}
