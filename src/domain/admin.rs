//! The admin API's view of users: access and ownership, deactivation and
//! reactivation through the guard, the deprovisioning check, reassignment,
//! seats and the tenant's settings.

use serde::{Deserialize, Serialize};

use super::facts::UserFacts;
use super::guard::{Blocker, Subject, Transition, Verdict};
use super::pending::Unblocked;
use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{
    Access, Action, AdminSource, BlockerKind, LockedUser, Outcome, Policy, Reason, TargetType,
    TenantSettings, Tx, UserState,
};

/// How many things a user owns, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OwnedCount {
    pub number: u64,
    pub workflow: u64,
    pub group: u64,
}

/// A user as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    /// SCIM `active`.
    pub active: bool,
    pub admin: bool,
    pub access: Access,
    pub owned: OwnedCount,
    pub created: String,
    pub last_modified: String,
}

/// Whether a user could be deactivated or deleted now, and what blocks.
#[derive(Debug, Clone, Serialize)]
pub struct DeprovisionCheck {
    pub can_deactivate: bool,
    pub can_delete: bool,
    /// Why not, when either is refused (the deactivation's reason first).
    pub reason: Option<Reason>,
    pub blockers: Vec<Blocker>,
    /// The text a refusal would carry.
    pub detail: Option<String>,
    /// Where the policy would move the user's assets, when it would.
    pub reassign_to: Option<String>,
}

/// Seats in use.
#[derive(Debug, Clone, Serialize)]
pub struct Seats {
    /// Users with `active` true, suspended ones included: they hold a seat
    /// until the IdP's deactivation goes through.
    pub active_users: u64,
    pub suspended_users: u64,
    pub deactivated_users: u64,
    pub seat_limit: Option<i64>,
}

/// A tenant's settings, as the admin API shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Settings {
    pub deprovision_policy: Policy,
    pub fallback_owner_id: Option<String>,
    pub seat_limit: Option<i64>,
    /// Where admin rights come from: `idp` (SCIM `roles`) or `scimd`.
    pub admin_source: AdminSource,
    /// How many days audit events are kept (DESIGN §5).
    pub audit_retention_days: i32,
}

impl From<TenantSettings> for Settings {
    fn from(s: TenantSettings) -> Self {
        Settings {
            deprovision_policy: s.deprovision_policy,
            fallback_owner_id: s.fallback_owner_id,
            seat_limit: s.seat_limit,
            admin_source: s.admin_source,
            audit_retention_days: s.audit_retention_days,
        }
    }
}

/// Fewest and most days a tenant may keep its audit events.
const AUDIT_RETENTION_DAYS: std::ops::RangeInclusive<i64> = 1..=36_500;

/// New settings, as the admin API receives them: the policy is checked
/// by [`Domain::update_settings`], so an unknown one is a 400 that names
/// the choices.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    pub deprovision_policy: String,
    #[serde(default)]
    pub fallback_owner_id: Option<String>,
    #[serde(default)]
    pub seat_limit: Option<i64>,
    /// Days to keep audit events, 1 to 36,500; unchanged when absent.
    #[serde(default)]
    pub audit_retention_days: Option<i64>,
    /// `idp` or `scimd`; unchanged when absent.
    #[serde(default)]
    pub admin_source: Option<String>,
}

fn no_user(id: &str) -> DomainError {
    DomainError::NotFound(format!("no user has id {id}"))
}

/// Checks that `state` may receive assets: an active user with access.
pub(super) fn require_active(state: &UserState) -> Result<(), DomainError> {
    if state.active && state.access == Access::Active {
        return Ok(());
    }
    Err(DomainError::Conflict(format!(
        "user {} ({}) is not active (access {}), so it cannot own anything",
        state.id, state.user_name, state.access
    )))
}

impl Domain {
    /// The user `id` with its owned-asset counts.
    pub async fn admin_user(&self, tenant_id: &str, id: &str) -> Result<UserView, DomainError> {
        let state = self
            .store
            .user_state(tenant_id, id)
            .await?
            .ok_or_else(|| no_user(id))?;
        self.user_views(tenant_id, vec![state])
            .await?
            .pop()
            .ok_or_else(|| no_user(id))
    }

    /// The admin API's view of each user, with its owned-asset counts.
    pub(super) async fn user_views(
        &self,
        tenant_id: &str,
        states: Vec<UserState>,
    ) -> Result<Vec<UserView>, DomainError> {
        let ids: Vec<&str> = states.iter().map(|s| s.id.as_str()).collect();
        let mut counts = self.store.owned_counts(tenant_id, &ids).await?;
        Ok(states
            .into_iter()
            .map(|s| {
                let owned = counts.remove(&s.id).unwrap_or_default();
                let count = |kind| owned.get(&kind).copied().unwrap_or_default();
                UserView {
                    owned: OwnedCount {
                        number: count(BlockerKind::Number),
                        workflow: count(BlockerKind::Workflow),
                        group: count(BlockerKind::Group),
                    },
                    access: s.access,
                    admin: s.is_admin,
                    active: s.active,
                    created: format_millis(s.created_at),
                    last_modified: format_millis(s.updated_at),
                    display_name: s.display_name,
                    user_name: s.user_name,
                    id: s.id,
                }
            })
            .collect())
    }

    /// Deactivates a user through the guard, as an IdP's PATCH would.
    pub async fn deactivate_user(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<UserView, DomainError> {
        self.set_active(who, id, false).await?;
        self.admin_user(&who.tenant_id, id).await
    }

    /// Reactivates a user (or lifts a suspension) through the guard.
    pub async fn reactivate_user(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<UserView, DomainError> {
        self.set_active(who, id, true).await?;
        self.admin_user(&who.tenant_id, id).await
    }

    /// What the guard would say now to deactivating and to deleting `id`.
    /// Reads only: the transaction is rolled back.
    pub async fn deprovision_check(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DeprovisionCheck, DomainError> {
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        let LockedUser {
            record,
            access,
            is_admin,
            ..
        } = tx
            .user_for_update(tenant_id, id, false)
            .await?
            .ok_or_else(|| no_user(id))?;
        let facts = UserFacts::of(&record.document);
        let before = Subject::of(id, &facts, is_admin, access);
        let deactivated = Subject {
            active: false,
            access: Access::Deactivated,
            ..before.clone()
        };
        let deactivation = if before.active {
            let transition = Transition {
                before: Some(before.clone()),
                after: Some(deactivated),
            };
            self.guard(&tx, tenant_id, &settings, transition).await?
        } else {
            Verdict::Allowed { reassign: None }
        };
        let deletion = Transition {
            before: Some(before),
            after: None,
        };
        let deletion = self.guard(&tx, tenant_id, &settings, deletion).await?;
        drop(tx);
        let mut check = DeprovisionCheck {
            can_deactivate: matches!(deactivation, Verdict::Allowed { .. }),
            can_delete: matches!(deletion, Verdict::Allowed { .. }),
            reason: None,
            blockers: Vec::new(),
            detail: None,
            reassign_to: None,
        };
        for verdict in [deactivation, deletion] {
            match verdict {
                Verdict::Refused(refusal) if check.reason.is_none() => {
                    check.reason = Some(refusal.reason);
                    check.blockers = refusal.blockers;
                    check.detail = Some(refusal.detail);
                }
                Verdict::Allowed {
                    reassign: Some(reassignment),
                } if check.reassign_to.is_none() => {
                    check.reassign_to = Some(reassignment.to.id);
                }
                Verdict::Refused(_) | Verdict::Allowed { .. } => {}
            }
        }
        Ok(check)
    }

    /// Moves everything user `id` owns to `to_user_id`, which must be an
    /// active user with access; returns how many things moved.
    pub async fn reassign(
        &self,
        who: &Principal,
        id: &str,
        to_user_id: &str,
    ) -> Result<(usize, Option<String>), DomainError> {
        let tenant_id = &who.tenant_id;
        if id == to_user_id {
            return Err(DomainError::invalid("to_user_id must be another user"));
        }
        let (tx, settings) = self.begin_tenant_write(tenant_id).await?;
        let from = tx
            .user_state(tenant_id, id)
            .await?
            .ok_or_else(|| no_user(id))?;
        let to = self.heir(&tx, tenant_id, to_user_id).await?;
        let owned = tx.owned(tenant_id, id).await?;
        if !owned.is_empty() {
            let from = (from.id.as_str(), from.user_name.as_str());
            self.move_owned(&tx, who, from, &to, &owned, "by the admin API")
                .await?;
        }
        let completed = self
            .complete_unblocked(&tx, who, &settings, Unblocked::OwnerOf(id))
            .await?;
        tx.commit().await?;
        Ok((owned.len(), completed))
    }

    /// The user `id`, which is to receive assets: it must exist and be
    /// active with access.
    pub(super) async fn heir(
        &self,
        tx: &Tx,
        tenant_id: &str,
        id: &str,
    ) -> Result<UserState, DomainError> {
        let state = tx
            .user_state(tenant_id, id)
            .await?
            .ok_or_else(|| DomainError::invalid(format!("no user has id {id}")))?;
        require_active(&state)?;
        Ok(state)
    }

    /// Seats in use and the limit.
    pub async fn seats(&self, tenant_id: &str) -> Result<Seats, DomainError> {
        let settings = self.tenant_settings(tenant_id).await?;
        let mut seats = Seats {
            active_users: 0,
            suspended_users: 0,
            deactivated_users: 0,
            seat_limit: settings.seat_limit,
        };
        for (active, access, n) in self.store.access_counts(tenant_id).await? {
            if active {
                seats.active_users += n;
                if access == Access::Suspended {
                    seats.suspended_users += n;
                }
            } else {
                seats.deactivated_users += n;
            }
        }
        Ok(seats)
    }

    /// The tenant's settings.
    pub async fn tenant_settings(&self, tenant_id: &str) -> Result<Settings, DomainError> {
        let settings = self
            .store
            .settings(tenant_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("no tenant has id {tenant_id}")))?;
        Ok(settings.into())
    }

    /// Replaces the tenant's settings after checking them: a known policy,
    /// an active fallback owner, a seat limit of zero or more, an audit
    /// retention of 1 to 36,500 days (kept as it was when not sent).
    pub async fn update_settings(
        &self,
        who: &Principal,
        new: SettingsUpdate,
    ) -> Result<Settings, DomainError> {
        let tenant_id = &who.tenant_id;
        let policy: Policy = super::parse_state("deprovision_policy", &new.deprovision_policy)?;
        let admin_source: Option<AdminSource> = new
            .admin_source
            .as_deref()
            .map(|text| super::parse_state("admin_source", text))
            .transpose()?;
        if new.seat_limit.is_some_and(|limit| limit < 0) {
            return Err(DomainError::invalid(
                "seat_limit must be zero or more, or null for no limit",
            ));
        }
        let retention = new
            .audit_retention_days
            .map(|days| {
                i32::try_from(days)
                    .ok()
                    .filter(|_| AUDIT_RETENTION_DAYS.contains(&days))
                    .ok_or_else(|| {
                        DomainError::invalid(format!(
                            "audit_retention_days must be {} to {} (days), not {days}",
                            AUDIT_RETENTION_DAYS.start(),
                            AUDIT_RETENTION_DAYS.end()
                        ))
                    })
            })
            .transpose()?;
        let (tx, stored) = self.begin_tenant_write(tenant_id).await?;
        let old = Settings::from(stored.clone());
        let new = Settings {
            deprovision_policy: policy,
            fallback_owner_id: new.fallback_owner_id,
            seat_limit: new.seat_limit,
            admin_source: admin_source.unwrap_or(old.admin_source),
            audit_retention_days: retention.unwrap_or(old.audit_retention_days),
        };
        if let Some(fallback) = &new.fallback_owner_id {
            self.heir(&tx, tenant_id, fallback).await?;
        }
        let mut changed = Vec::new();
        if old.deprovision_policy != new.deprovision_policy {
            changed.push("deprovision_policy".to_owned());
        }
        if old.fallback_owner_id != new.fallback_owner_id {
            changed.push("fallback_owner_id".to_owned());
        }
        if old.seat_limit != new.seat_limit {
            changed.push("seat_limit".to_owned());
        }
        if old.audit_retention_days != new.audit_retention_days {
            changed.push("audit_retention_days".to_owned());
        }
        if old.admin_source != new.admin_source {
            changed.push("admin_source".to_owned());
            self.switch_admin_source(&tx, who, &stored, new.admin_source)
                .await?;
        }
        tx.update_settings(
            tenant_id,
            &TenantSettings {
                deprovision_policy: new.deprovision_policy,
                fallback_owner_id: new.fallback_owner_id.clone(),
                seat_limit: new.seat_limit,
                audit_retention_days: new.audit_retention_days,
                admin_source: new.admin_source,
            },
        )
        .await?;
        let event = self.audit_event(
            who,
            Action::SettingsUpdate,
            (TargetType::Settings, None, None),
            Outcome::Allowed,
            String::new(),
            changed,
        );
        tx.insert_audit(tenant_id, &[event]).await?;
        tx.commit().await?;
        Ok(new)
    }
}
