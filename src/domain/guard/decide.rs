//! The deprovisioning rules as one pure decision over gathered facts: no
//! I/O, no clock, no database. `Domain::gather` collects the facts inside
//! the write's transaction; the caller applies the verdict.
//!
//! Rules, in order: the tenant keeps an active admin; a user who is
//! deactivated or deleted hands over what it owns (by the tenant's
//! policy) or the change is refused; a user taking a seat finds one free.

use super::refusal::{
    Blocker, Reason, Refusal, last_admin_detail, owns_assets_detail, seat_limit_detail,
};
use crate::domain::facts::UserFacts;
use crate::store::{Access, BlockerKind, Owned, Policy, UserState};

/// A user as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subject<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    /// SCIM `active`.
    pub active: bool,
    pub admin: bool,
    pub access: Access,
    /// The enterprise extension's `manager.value`.
    pub manager_id: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// The user `id` with these facts and access.
    pub fn of(id: &'a str, facts: &UserFacts<'a>, access: Access) -> Self {
        Subject {
            id,
            user_name: facts.user_name,
            active: facts.active,
            admin: facts.admin,
            access,
            manager_id: facts.manager_id,
        }
    }

    /// Counts toward "the tenant has an active admin".
    fn is_active_admin(&self) -> bool {
        self.admin && self.active && self.access == Access::Active
    }
}

impl Access {
    /// The access a write leaves: none when `active` becomes false, full
    /// when a user is created or reactivated, unchanged otherwise (an
    /// attribute update does not lift a suspension). `before` is the
    /// user's SCIM `active` and access, `None` for a create.
    pub(crate) fn after(before: Option<(bool, Access)>, active_after: bool) -> Access {
        match before {
            _ if !active_after => Access::Deactivated,
            Some((true, access)) => access,
            Some((false, _)) | None => Access::Active,
        }
    }
}

/// A change of one user: its state before (`None` for a create) and after
/// (`None` for a delete).
#[derive(Debug, Clone)]
pub(crate) struct Transition<'a> {
    pub before: Option<Subject<'a>>,
    pub after: Option<Subject<'a>>,
}

impl Transition<'_> {
    /// The change takes away the tenant's active admin `before`: a delete,
    /// a deactivation, a suspension or a demotion of an active admin.
    pub fn removes_active_admin(&self) -> bool {
        self.before.as_ref().is_some_and(Subject::is_active_admin)
            && !self.after.as_ref().is_some_and(Subject::is_active_admin)
    }

    /// The change deletes the user, or deactivates an active one (a
    /// demotion is not a deprovisioning).
    pub fn deprovisions(&self) -> bool {
        match (&self.before, &self.after) {
            (Some(_), None) => true,
            (Some(before), Some(after)) => before.active && !after.active,
            (None, _) => false,
        }
    }

    /// The change gives a seat: a create or a reactivation.
    pub fn takes_seat(&self) -> bool {
        self.after.as_ref().is_some_and(|a| a.active)
            && !self.before.as_ref().is_some_and(|b| b.active)
    }

    /// What the change does to the user, for refusals.
    fn verb(&self) -> &'static str {
        match &self.after {
            None => "deleted",
            Some(after) if !after.active => "deactivated",
            Some(_) => "demoted",
        }
    }
}

/// The user the tenant's policy gives a leaver's assets to: its manager
/// (as the change leaves it) or the fallback owner, never itself.
pub(crate) fn heir_id<'a>(
    policy: Policy,
    transition: &Transition<'a>,
    fallback_owner_id: Option<&'a str>,
) -> Option<&'a str> {
    let before = transition.before.as_ref()?;
    let heir = match policy {
        Policy::Block => None,
        Policy::ReassignToManager => transition.after.as_ref().unwrap_or(before).manager_id,
        Policy::ReassignToFallback => fallback_owner_id,
    };
    heir.filter(|id| *id != before.id)
}

/// Who the policy's heir is, for the refusal's text.
fn heir_role(policy: Policy) -> Option<&'static str> {
    match policy {
        Policy::Block => None,
        Policy::ReassignToManager => Some("manager"),
        Policy::ReassignToFallback => Some("fallback owner"),
    }
}

/// Everything the rules read, gathered in the write's transaction. Facts a
/// rule does not need for this transition are not gathered and stay at
/// their empty values (0, empty, `None`).
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub transition: Transition<'a>,
    /// Active admins of the tenant other than this user (read when the
    /// transition removes an active admin).
    pub other_active_admins: u64,
    /// What the user owns (read when the transition deprovisions).
    pub owned: Vec<Owned>,
    /// The tenant's deprovisioning policy.
    pub policy: Policy,
    /// The policy's heir as stored (read when there are assets to move).
    pub heir: Option<UserState>,
    /// The tenant's seat limit.
    pub seat_limit: Option<i64>,
    /// Seats held by other users (read when the transition takes a seat).
    pub seats_taken: u64,
}

/// The outcome of the rules for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The change may go ahead; `reassign` names where the user's assets
    /// go first.
    Allowed { reassign: Option<Reassignment> },
    /// The change is refused.
    Refused(Refusal),
}

/// Assets moving to another user by the tenant's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reassignment {
    pub to: UserState,
    pub owned: Vec<Owned>,
    pub policy: Policy,
}

/// The rules' decision on `facts`.
pub(crate) fn decide(facts: &Facts<'_>) -> Verdict {
    if let Some(refusal) = last_admin_rule(facts) {
        return Verdict::Refused(refusal);
    }
    let reassign = match ownership_rule(facts) {
        Ok(reassign) => reassign,
        Err(refusal) => return Verdict::Refused(refusal),
    };
    if let Some(refusal) = seat_rule(facts) {
        return Verdict::Refused(refusal);
    }
    Verdict::Allowed { reassign }
}

/// 1. The tenant keeps an active admin: refuses deleting, deactivating,
///    suspending or demoting the last one.
fn last_admin_rule(facts: &Facts<'_>) -> Option<Refusal> {
    let transition = &facts.transition;
    let before = transition.before.as_ref()?;
    if !transition.removes_active_admin() || facts.other_active_admins > 0 {
        return None;
    }
    Some(Refusal {
        reason: Reason::LastAdmin,
        blockers: vec![Blocker {
            kind: BlockerKind::User,
            id: before.id.to_owned(),
            name: before.user_name.to_owned(),
        }],
        detail: last_admin_detail(before.user_name, transition.verb()),
        user_id: before.id.to_owned(),
    })
}

/// 2. A user being deactivated or deleted (not demoted) hands over what
///    it owns to the policy's heir, or the change is refused. Returns the
///    reassignment to make, if any.
fn ownership_rule(facts: &Facts<'_>) -> Result<Option<Reassignment>, Refusal> {
    let transition = &facts.transition;
    let Some(before) = transition.before.as_ref() else {
        return Ok(None);
    };
    if !transition.deprovisions() || facts.owned.is_empty() {
        return Ok(None);
    }
    let heir = facts
        .heir
        .as_ref()
        .filter(|_| facts.policy != Policy::Block)
        .filter(|h| h.id != before.id && h.active && h.access == Access::Active);
    match heir {
        Some(to) => Ok(Some(Reassignment {
            to: to.clone(),
            owned: facts.owned.clone(),
            policy: facts.policy,
        })),
        None => Err(Refusal {
            reason: Reason::OwnsAssets,
            detail: owns_assets_detail(&facts.owned, heir_role(facts.policy)),
            blockers: facts.owned.iter().cloned().map(Blocker::from).collect(),
            user_id: before.id.to_owned(),
        }),
    }
}

/// 3. A user taking a seat (created or reactivated) finds one free.
fn seat_rule(facts: &Facts<'_>) -> Option<Refusal> {
    let after = facts.transition.after.as_ref()?;
    let limit = facts.seat_limit?;
    if !facts.transition.takes_seat()
        || i64::try_from(facts.seats_taken).unwrap_or(i64::MAX) < limit
    {
        return None;
    }
    Some(Refusal {
        reason: Reason::SeatLimit,
        blockers: Vec::new(),
        detail: seat_limit_detail(limit),
        user_id: after.id.to_owned(),
    })
}
