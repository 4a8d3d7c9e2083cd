//! Where a tenant's admin rights come from (DESIGN §4): the IdP's SCIM
//! `roles` (`idp`, the default) or scimd itself (`scimd`: the admin API and
//! the console grant and remove them, and SCIM `roles` are only stored).
//! Granting, removing and switching all keep the last-admin rule.

use serde::Serialize;

use super::admin::UserView;
use super::facts::UserFacts;
use super::guard::{Subject, Transition, UserChange, Verdict};
use super::pending::Unblocked;
use super::tokens::Principal;
use super::users::user_action;
use super::{Domain, DomainError};
use crate::store::{
    Access, Action, AdminCandidate, AdminSource, LockedUser, Outcome, TenantSettings, Tx,
};

/// The answer to `PUT /users/{id}/admin`.
#[derive(Debug, Clone, Serialize)]
pub struct AdminChange {
    #[serde(flatten)]
    pub user: UserView,
    /// The pending deprovisioning this change completed (a last admin's,
    /// now that another user is an active admin).
    pub completed: Option<String>,
}

/// The attribute an admin-flag change touches, for the audit log.
const ADMIN_ATTRIBUTE: &str = "admin";

impl Domain {
    /// Grants (`true`) or removes (`false`) a user's admin rights in
    /// scimd, which the tenant's `admin_source` must allow; removing the
    /// last active admin is refused like a SCIM demotion.
    pub async fn set_admin(
        &self,
        who: &Principal,
        id: &str,
        admin: bool,
    ) -> Result<AdminChange, DomainError> {
        let tenant_id = &who.tenant_id;
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        if settings.admin_source != AdminSource::Scimd {
            return Err(DomainError::Conflict(
                "admin rights come from the IdP's SCIM roles here (admin_source is idp); \
                 change the user's role in your IdP, or set admin_source to scimd in the settings"
                    .into(),
            ));
        }
        let LockedUser {
            record,
            access,
            is_admin,
            ..
        } = tx
            .user_for_update(tenant_id, id, false)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("no user has id {id}")))?;
        let mut completed = None;
        if is_admin != admin {
            let facts = UserFacts::of(&record.document);
            let transition = Transition {
                before: Some(Subject::of(id, &facts, is_admin, access)),
                after: Some(Subject::of(id, &facts, admin, access)),
            };
            let grants_admin = transition.grants_active_admin();
            let change = UserChange {
                action: user_action(&transition),
                user_id: id,
                user_name: facts.user_name,
                attributes: &[ADMIN_ATTRIBUTE.to_owned()],
                ignored: &[],
            };
            if let Verdict::Refused(refusal) =
                self.guard(&tx, tenant_id, &settings, transition).await?
            {
                return Err(self.record_refusal(tx, who, &change, refusal).await);
            }
            tx.set_admin(tenant_id, id, admin).await?;
            if grants_admin {
                completed = self
                    .complete_unblocked(&tx, who, &settings, Unblocked::LastAdmins)
                    .await?;
            }
            self.commit_user_change(tx, who, &change).await?;
        }
        let user = self.admin_user(tenant_id, id).await?;
        Ok(AdminChange { user, completed })
    }

    /// Switches the tenant's admin source inside the settings write `tx`:
    /// `idp` → `scimd` keeps today's admins; `scimd` → `idp` reads them
    /// again from each user's `roles`, audited per user, and is refused
    /// when it would leave the tenant without an active admin.
    pub(super) async fn switch_admin_source(
        &self,
        tx: &Tx,
        who: &Principal,
        settings: &TenantSettings,
        to: AdminSource,
    ) -> Result<(), DomainError> {
        if settings.admin_source == to || to == AdminSource::Scimd {
            return Ok(());
        }
        let tenant_id = &who.tenant_id;
        let candidates = tx.admin_candidates(tenant_id).await?;
        let is_active_admin = |c: &AdminCandidate, admin: bool| {
            admin && c.state.active && c.state.access == Access::Active
        };
        let mut had_active_admin = false;
        let mut has_active_admin = false;
        let mut gains_active_admin = false;
        let mut events = Vec::new();
        for candidate in &candidates {
            let facts = UserFacts::of(&candidate.document);
            let (was, now) = (candidate.state.is_admin, facts.admin);
            had_active_admin |= is_active_admin(candidate, was);
            has_active_admin |= is_active_admin(candidate, now);
            gains_active_admin |= is_active_admin(candidate, now) && !was;
            if was == now {
                continue;
            }
            tx.set_admin(tenant_id, &candidate.state.id, now).await?;
            let change = UserChange {
                action: if now {
                    Action::UserPromote
                } else {
                    Action::UserDemote
                },
                user_id: &candidate.state.id,
                user_name: facts.user_name,
                attributes: &[ADMIN_ATTRIBUTE.to_owned()],
                ignored: &[],
            };
            let why = "admin_source switched to idp: the user's SCIM roles decide";
            events.push(self.user_event(who, &change, Outcome::Allowed, why.to_owned()));
        }
        if had_active_admin && !has_active_admin {
            return Err(DomainError::Conflict(
                "switching admin_source to idp would leave no active admin: no active user's \
                 SCIM roles hold admin; give someone the admin role in your IdP first"
                    .into(),
            ));
        }
        tx.insert_audit(tenant_id, &events).await?;
        if gains_active_admin {
            let switched = TenantSettings {
                admin_source: to,
                ..settings.clone()
            };
            self.complete_unblocked(tx, who, &switched, Unblocked::LastAdmins)
                .await?;
        }
        Ok(())
    }
}
