//! The deprovisioning guard (DESIGN §4), in three steps that every user
//! write takes inside its transaction, whichever endpoint asked:
//!
//! 1. [`Domain::gather`] reads the facts the rules need (`facts` of the
//!    user before and after, admins, what it owns, the heir, seats);
//! 2. [`decide`] judges them, a pure function (`decide.rs`);
//! 3. the caller applies the verdict: [`Domain::apply_reassignment`] makes the
//!    policy's moves before the write, or [`Domain::record_refusal`]
//!    writes the refusal (suspension, audit) and ends the transaction.

mod decide;
mod refusal;

pub(crate) use decide::{Facts, Reassignment, Subject, Transition, Verdict, decide, heir_id};
use refusal::refusal_reason;
pub use refusal::{Blocker, DEPROVISION_BLOCKED, Refusal};

use super::pending::requested;
use super::tokens::Principal;
use super::{Domain, DomainError};
use serde_json::json;

use crate::store::{
    Access, Action, AuditRecord, BlockerKind, EventType, Outcome, Owned, Policy, TargetType,
    TenantSettings, Tx, UserState,
};

/// A change to a user, as the audit log records it.
#[derive(Debug)]
pub(crate) struct UserChange<'a> {
    pub action: Action,
    pub user_id: &'a str,
    /// The user's `userName` before the change.
    pub user_name: &'a str,
    /// Names of the attributes the change touches.
    pub attributes: &'a [String],
    /// Schema namespaces of the request that scimd does not publish, and
    /// so ignored (see `scim::extensions`).
    pub ignored: &'a [String],
}

/// Most ignored namespaces an audit event names, and the longest name.
const IGNORED_SHOWN: usize = 5;
const IGNORED_NAME_LIMIT: usize = 120;

/// "; ignored unknown schema extension(s): a, b and 3 more", or nothing.
pub(crate) fn ignored_note(ignored: &[String]) -> String {
    if ignored.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = ignored
        .iter()
        .take(IGNORED_SHOWN)
        .map(|name| refusal::clip(name, IGNORED_NAME_LIMIT))
        .collect();
    if ignored.len() > IGNORED_SHOWN {
        names.push(format!("{} more", ignored.len() - IGNORED_SHOWN));
    }
    format!("ignored unknown schema extension(s): {}", names.join(", "))
}

/// Facts the caller has already read in the same transaction, under the
/// same lock, so that [`Domain::gather`] need not read them again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known {
    /// The user owns nothing (no number, workflow or group): a
    /// deprovisioning has nothing to hand over.
    pub owns_nothing: bool,
}

impl Known {
    /// What a user read with [`crate::store::Tx::user_for_update`] tells:
    /// whether it owns anything (`LockedUser::owns`).
    pub(crate) fn of_locked_user(owns: bool) -> Known {
        Known {
            owns_nothing: !owns,
        }
    }
}

impl Domain {
    /// Step 1: reads, in `tx` (which holds the tenant's lock, see
    /// [`crate::store::Tx::lock_tenant`]), the facts the rules need to
    /// judge `transition`, and nothing they do not need or `known` says.
    pub(crate) async fn gather<'a>(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &'a TenantSettings,
        transition: Transition<'a>,
        known: Known,
    ) -> Result<Facts<'a>, DomainError> {
        let mut facts = Facts {
            other_active_admins: 0,
            owned: Vec::new(),
            policy: settings.deprovision_policy,
            admin_source: settings.admin_source,
            heir: None,
            seat_limit: settings.seat_limit,
            seats_taken: 0,
            transition,
        };
        let transition = &facts.transition;
        if let Some(before) = transition.before.as_ref() {
            if transition.removes_active_admin() {
                facts.other_active_admins = tx.count_active_admins(tenant_id, before.id).await?;
                if facts.other_active_admins == 0 {
                    // The last-admin rule refuses before any other rule
                    // reads a fact: read nothing more.
                    return Ok(facts);
                }
            }
            if transition.deprovisions() && !known.owns_nothing {
                facts.owned = tx.owned(tenant_id, before.id).await?;
            }
            let fallback = settings.fallback_owner_id.as_deref();
            if let Some(heir) = heir_id(facts.policy, transition, fallback)
                && !facts.owned.is_empty()
            {
                facts.heir = match facts.policy {
                    // The IdP's manager value: resolved each time the
                    // policy needs it, so a manager created later counts.
                    Policy::ReassignToManager => tx.user_by_reference(tenant_id, heir).await?,
                    Policy::ReassignToFallback | Policy::Block => {
                        tx.user_state(tenant_id, heir).await?
                    }
                };
            }
        }
        if let Some(after) = transition.after.as_ref()
            && facts.seat_limit.is_some()
            && transition.takes_seat()
        {
            facts.seats_taken = tx.count_seated(tenant_id, after.id).await?;
        }
        Ok(facts)
    }

    /// Steps 1 and 2: the rules' verdict on `transition`. Reads only.
    pub(crate) async fn guard(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        transition: Transition<'_>,
    ) -> Result<Verdict, DomainError> {
        self.guard_knowing(tx, tenant_id, settings, transition, Known::default())
            .await
    }

    /// [`Self::guard`], given facts the caller has already read.
    pub(crate) async fn guard_knowing(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        transition: Transition<'_>,
        known: Known,
    ) -> Result<Verdict, DomainError> {
        let facts = self
            .gather(tx, tenant_id, settings, transition, known)
            .await?;
        Ok(decide(&facts))
    }

    /// Step 3 of an allowed change: the policy's moves, if any, in `tx`
    /// and audited.
    pub(crate) async fn apply_reassignment(
        &self,
        tx: &Tx,
        who: &Principal,
        change: &UserChange<'_>,
        reassignment: Option<Reassignment>,
    ) -> Result<(), DomainError> {
        let Some(Reassignment { to, owned, policy }) = reassignment else {
            return Ok(());
        };
        let from = (change.user_id, change.user_name);
        let why = format!("by policy {policy}");
        self.move_owned(tx, who, from, &to, &owned, &why).await
    }

    /// Moves everything user `from` (id, userName) owns to `to`, with one
    /// audit event per thing moved.
    pub(crate) async fn move_owned(
        &self,
        tx: &Tx,
        who: &Principal,
        from: (&str, &str),
        to: &UserState,
        owned: &[Owned],
        why: &str,
    ) -> Result<(), DomainError> {
        tx.move_owned(&who.tenant_id, from.0, &to.id, self.now())
            .await?;
        let events: Vec<AuditRecord> = owned
            .iter()
            .map(|o| {
                let target_type = match o.kind {
                    BlockerKind::Group => TargetType::Group,
                    BlockerKind::Number | BlockerKind::Workflow | BlockerKind::User => {
                        TargetType::Asset
                    }
                };
                self.audit_event(
                    who,
                    Action::AssetReassign,
                    (target_type, Some(&o.id), Some(&o.name)),
                    Outcome::Allowed,
                    format!(
                        "{} {} moved from {} to {} {why}",
                        o.kind, o.name, from.1, to.user_name
                    ),
                    Vec::new(),
                )
            })
            .collect();
        tx.insert_audit(&who.tenant_id, &events).await?;
        Ok(())
    }

    /// Step 3 of a refused change: records the refusal, which is all the
    /// transaction writes (a refused deactivation or deletion becomes a
    /// pending request; for owned assets, the suspension and the
    /// revocation of the user's tokens; always, the blocked audit event),
    /// commits it, and returns the error to answer with.
    pub(crate) async fn record_refusal(
        &self,
        tx: Tx,
        who: &Principal,
        change: &UserChange<'_>,
        refusal: Refusal,
    ) -> DomainError {
        let mut refusal = refusal;
        let recorded = async {
            let requested = requested(change.action).filter(|_| refusal.is_deprovisioning());
            // The user as it stands, read once for the request and the event.
            let before = if requested.is_some() || refusal.suspends() {
                tx.user_state(&who.tenant_id, change.user_id).await?
            } else {
                None
            };
            if let Some(requested) = requested {
                let id = self
                    .record_pending(&tx, who, requested, &refusal, before.as_ref())
                    .await?;
                let url = self.resolve_url(&id);
                if let Some(detail) = url
                    .as_deref()
                    .and_then(|url| refusal::detail_with_url(&refusal.detail, url))
                {
                    refusal.detail = detail;
                }
                refusal.resolve_url = url;
                refusal.pending_id = Some(id);
            }
            let mut detail = refusal.detail.clone();
            let mut suspended = false;
            if refusal.suspends() {
                tx.suspend(&who.tenant_id, change.user_id).await?;
                tx.revoke_user_tokens(&who.tenant_id, change.user_id, self.now())
                    .await?;
                detail.push_str(" (access suspended until then)");
                // Once per state change: a retried refusal of a user
                // already suspended emits nothing.
                if let Some(user) = before.filter(|u| u.access == Access::Active) {
                    let data = json!({
                        "user": {
                            "id": user.id,
                            "user_name": user.user_name,
                            "display_name": user.display_name,
                        },
                        "blockers": refusal.blockers,
                        "pending_id": refusal.pending_id,
                    });
                    self.emit(&tx, &who.tenant_id, EventType::UserSuspended, data)
                        .await?;
                    suspended = true;
                }
            }
            let event = self.user_event(who, change, Outcome::Blocked, detail);
            tx.insert_audit(&who.tenant_id, &[event]).await?;
            tx.commit().await?;
            if suspended {
                self.wake_deliveries();
            }
            Ok::<(), DomainError>(())
        };
        match recorded.await {
            Ok(()) => {
                self.metrics.refused(refusal_reason(refusal.reason));
                DomainError::Refused(Box::new(refusal))
            }
            Err(fault) => fault,
        }
    }

    /// The audit event of a change to a user.
    pub(crate) fn user_event(
        &self,
        who: &Principal,
        change: &UserChange<'_>,
        outcome: Outcome,
        detail: String,
    ) -> AuditRecord {
        let note = ignored_note(change.ignored);
        let detail = match (detail.is_empty(), note.is_empty()) {
            (_, true) => detail,
            (true, false) => note,
            (false, false) => format!("{detail}; {note}"),
        };
        self.audit_event(
            who,
            change.action,
            (
                TargetType::User,
                Some(change.user_id),
                Some(change.user_name),
            ),
            outcome,
            detail,
            change.attributes.to_vec(),
        )
    }
}
