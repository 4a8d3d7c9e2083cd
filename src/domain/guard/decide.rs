//! The deprovisioning rules as one pure decision over gathered facts: no
//! I/O, no clock, no database. `Domain::gather` collects the facts inside
//! the write's transaction; the caller applies the verdict.
//!
//! Rules, in order: the tenant keeps an active admin; a user who is
//! deactivated or deleted hands over what it owns (by the tenant's
//! policy) or the change is refused; a user taking a seat finds one free.

use super::refusal::{
    Blocker, HeirGap, Refusal, last_admin_detail, owns_assets_detail, seat_limit_detail,
};
use crate::domain::facts::UserFacts;
use crate::store::{Access, AdminSource, BlockerKind, Owned, Policy, Reason, UserState};

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
    /// The user `id` with these facts, admin flag (see
    /// [`crate::domain::facts::admin_after`]) and access.
    pub fn of(id: &'a str, facts: &UserFacts<'a>, admin: bool, access: Access) -> Self {
        Subject {
            id,
            user_name: facts.user_name,
            active: facts.active,
            admin,
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

    /// The change makes the user an active admin, which may unblock a
    /// last admin's pending deprovisioning.
    pub fn grants_active_admin(&self) -> bool {
        self.after.as_ref().is_some_and(Subject::is_active_admin)
            && !self.before.as_ref().is_some_and(Subject::is_active_admin)
    }

    /// The change gives a seat: a create or a reactivation.
    pub fn takes_seat(&self) -> bool {
        self.after.as_ref().is_some_and(|a| a.active)
            && !self.before.as_ref().is_some_and(|b| b.active)
    }

    /// The change as a noun, for refusals of a deprovisioning.
    fn noun(&self) -> &'static str {
        match &self.after {
            None => "deletion",
            Some(_) => "deactivation",
        }
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

/// Why the policy's heir cannot take the assets, for the refusal's text:
/// a manager value that resolved to no user is named as such.
fn heir_gap<'a>(facts: &Facts<'a>) -> HeirGap<'a> {
    match facts.policy {
        Policy::Block => HeirGap::NoPolicy,
        Policy::ReassignToManager => match heir_id(facts.policy, &facts.transition, None) {
            Some(value) if facts.heir.is_none() => HeirGap::UnknownManager(value),
            Some(_) | None => HeirGap::Inactive("manager"),
        },
        Policy::ReassignToFallback => HeirGap::Inactive("fallback owner"),
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
    /// Where the tenant's admin rights come from (for the refusal's text).
    pub admin_source: AdminSource,
    /// The policy's heir as stored (read when there are assets to move):
    /// the fallback owner by id, or the user the manager value resolves
    /// to by id, `externalId` or `userName`; `None` when none (or, for a
    /// shared `externalId`, more than one) matches.
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
        Err(refusal) => return Verdict::Refused(*refusal),
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
        detail: last_admin_detail(before.user_name, transition.verb(), facts.admin_source),
        user_id: before.id.to_owned(),
        pending_id: None,
        resolve_url: None,
    })
}

/// 2. A user being deactivated or deleted (not demoted) hands over what
///    it owns to the policy's heir, or the change is refused. Returns the
///    reassignment to make, if any.
fn ownership_rule(facts: &Facts<'_>) -> Result<Option<Reassignment>, Box<Refusal>> {
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
        None => Err(Box::new(Refusal {
            reason: Reason::OwnsAssets,
            detail: owns_assets_detail(&facts.owned, heir_gap(facts), transition.noun()),
            blockers: facts.owned.iter().cloned().map(Blocker::from).collect(),
            user_id: before.id.to_owned(),
            pending_id: None,
            resolve_url: None,
        })),
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
        pending_id: None,
        resolve_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::refusal::DETAIL_LIMIT;
    use super::*;

    /// The user every row changes.
    const ME: &str = "u-alice";
    const MY_NAME: &str = "alice";
    /// Its manager, as the enterprise extension names it.
    const MANAGER: &str = "u-mona";
    /// Another manager, set by the change.
    const NEW_MANAGER: &str = "u-nate";
    /// The tenant's fallback owner.
    const FALLBACK: &str = "u-fred";

    // --- Builders ------------------------------------------------------

    /// Alice: active, not an admin, with access, no manager.
    fn alice() -> Subject<'static> {
        Subject {
            id: ME,
            user_name: MY_NAME,
            active: true,
            admin: false,
            access: Access::Active,
            manager_id: None,
        }
    }

    impl Subject<'static> {
        fn admin(self) -> Self {
            Subject {
                admin: true,
                ..self
            }
        }
        fn suspended(self) -> Self {
            Subject {
                access: Access::Suspended,
                ..self
            }
        }
        /// SCIM `active` false, so no access.
        fn inactive(self) -> Self {
            Subject {
                active: false,
                access: Access::Deactivated,
                ..self
            }
        }
        fn managed_by(self, manager: &'static str) -> Self {
            Subject {
                manager_id: Some(manager),
                ..self
            }
        }
        fn without_manager(self) -> Self {
            Subject {
                manager_id: None,
                ..self
            }
        }
        /// An attribute-only change.
        fn renamed(self) -> Self {
            Subject {
                user_name: "alice.smith",
                ..self
            }
        }
    }

    fn create(after: Subject<'static>) -> Transition<'static> {
        Transition {
            before: None,
            after: Some(after),
        }
    }

    fn update(before: Subject<'static>, after: Subject<'static>) -> Transition<'static> {
        Transition {
            before: Some(before),
            after: Some(after),
        }
    }

    fn delete(before: Subject<'static>) -> Transition<'static> {
        Transition {
            before: Some(before),
            after: None,
        }
    }

    /// `active` set to `to`, the access following as a write computes it.
    fn set_active(before: Subject<'static>, to: bool) -> Transition<'static> {
        let access = Access::after(Some((before.active, before.access)), to);
        let after = Subject {
            active: to,
            access,
            ..before.clone()
        };
        update(before, after)
    }

    fn deactivate(before: Subject<'static>) -> Transition<'static> {
        set_active(before, false)
    }

    fn reactivate(before: Subject<'static>) -> Transition<'static> {
        set_active(before, true)
    }

    fn demote(before: Subject<'static>) -> Transition<'static> {
        let after = Subject {
            admin: false,
            ..before.clone()
        };
        update(before, after)
    }

    /// Facts with nothing gathered: no other admin, owns nothing, `Block`,
    /// no heir, no seat limit.
    fn on(transition: Transition<'static>) -> Facts<'static> {
        Facts {
            transition,
            other_active_admins: 0,
            owned: Vec::new(),
            policy: Policy::Block,
            admin_source: AdminSource::Idp,
            heir: None,
            seat_limit: None,
            seats_taken: 0,
        }
    }

    impl Facts<'static> {
        fn other_admins(self, other_active_admins: u64) -> Self {
            Facts {
                other_active_admins,
                ..self
            }
        }
        fn owning(self, owned: Vec<Owned>) -> Self {
            Facts { owned, ..self }
        }
        fn under(self, policy: Policy) -> Self {
            Facts { policy, ..self }
        }
        fn heir_is(self, heir: UserState) -> Self {
            Facts {
                heir: Some(heir),
                ..self
            }
        }
        fn seats(self, limit: i64, taken: u64) -> Self {
            Facts {
                seat_limit: Some(limit),
                seats_taken: taken,
                ..self
            }
        }
    }

    /// A stored heir: `active` in SCIM with access, unless told.
    fn heir(id: &str) -> UserState {
        heir_in(id, true, Access::Active)
    }

    fn heir_in(id: &str, active: bool, access: Access) -> UserState {
        UserState {
            id: id.to_owned(),
            user_name: format!("name-of-{id}"),
            display_name: None,
            active,
            is_admin: false,
            access,
            created_at: 1,
            updated_at: 2,
        }
    }

    fn number() -> Owned {
        Owned {
            kind: BlockerKind::Number,
            id: "a-number".into(),
            name: "+91 80 4000 1234".into(),
        }
    }

    fn workflow() -> Owned {
        Owned {
            kind: BlockerKind::Workflow,
            id: "a-workflow".into(),
            name: "Night routing".into(),
        }
    }

    fn group() -> Owned {
        Owned {
            kind: BlockerKind::Group,
            id: "g-sales".into(),
            name: "Sales".into(),
        }
    }

    /// What alice owns in most rows.
    fn assets() -> Vec<Owned> {
        vec![number(), group()]
    }

    // --- Expected verdicts ---------------------------------------------

    #[derive(Debug)]
    enum Want {
        /// `Allowed { reassign: None }`.
        Allowed,
        /// `Allowed` with the assets moving to `to` by `policy`.
        Reassign { to: &'static str, policy: Policy },
        Refused {
            reason: Reason,
            user_id: &'static str,
            blockers: Vec<Blocker>,
            /// A phrase the detail must hold.
            says: String,
        },
    }

    fn allowed() -> Want {
        Want::Allowed
    }

    fn reassign(to: &'static str, policy: Policy) -> Want {
        Want::Reassign { to, policy }
    }

    /// Refused: alice is the last active admin and cannot be `verb`.
    fn last_admin(verb: &str) -> Want {
        Want::Refused {
            reason: Reason::LastAdmin,
            user_id: ME,
            blockers: vec![alice_blocks()],
            says: format!("{MY_NAME} is the last active admin and cannot be {verb}"),
        }
    }

    /// Refused: alice owns `owned` and `heir` (the policy's role, `None`
    /// for `Block`) cannot take them.
    fn owns(owned: Vec<Owned>, heir: Option<&str>) -> Want {
        let says = match heir {
            Some(role) => format!("; no active {role} to take them; reassign them"),
            None => "; reassign them in scimd's admin API".to_owned(),
        };
        let blockers = owned.into_iter().map(Blocker::from).collect();
        Want::Refused {
            reason: Reason::OwnsAssets,
            user_id: ME,
            blockers,
            says,
        }
    }

    /// Alice herself as the blocker of a last-admin refusal.
    fn alice_blocks() -> Blocker {
        Blocker {
            kind: BlockerKind::User,
            id: ME.to_owned(),
            name: MY_NAME.to_owned(),
        }
    }

    /// Refused: all `limit` seats are taken.
    fn seats_full(limit: i64) -> Want {
        Want::Refused {
            reason: Reason::SeatLimit,
            user_id: ME,
            blockers: Vec::new(),
            says: format!("all {limit} seats are taken"),
        }
    }

    fn check(name: &str, facts: &Facts<'_>, want: &Want) {
        let verdict = decide(facts);
        match (want, &verdict) {
            (Want::Allowed, Verdict::Allowed { reassign: None }) => {}
            (Want::Reassign { to, policy }, Verdict::Allowed { reassign: Some(r) }) => {
                assert_eq!(r.to.id, *to, "{name}: heir");
                assert_eq!(Some(&r.to), facts.heir.as_ref(), "{name}: heir as stored");
                assert_eq!(r.policy, *policy, "{name}: policy");
                assert_eq!(r.owned, facts.owned, "{name}: every asset moves");
            }
            (
                Want::Refused {
                    reason,
                    user_id,
                    blockers,
                    says,
                },
                Verdict::Refused(refusal),
            ) => {
                assert_eq!(refusal.reason, *reason, "{name}: reason");
                assert_eq!(refusal.user_id, *user_id, "{name}: user_id");
                assert_eq!(refusal.blockers, *blockers, "{name}: blockers");
                let detail = &refusal.detail;
                assert!(
                    detail.chars().count() <= DETAIL_LIMIT,
                    "{name}: detail over {DETAIL_LIMIT} chars: {detail}"
                );
                assert!(detail.contains(says.as_str()), "{name}: {detail:?}");
                for blocker in blockers {
                    assert!(detail.contains(&blocker.name), "{name}: {detail:?}");
                }
                if *reason == Reason::OwnsAssets && facts.policy == Policy::Block {
                    assert!(!detail.contains("no active"), "{name}: {detail:?}");
                }
            }
            _ => panic!("{name}: want {want:?}, got {verdict:?}"),
        }
    }

    // --- decide --------------------------------------------------------

    #[test]
    fn decide_follows_the_rules_in_order() {
        use Policy::{ReassignToFallback as Fallback, ReassignToManager as Manager};
        let cases: Vec<(&str, Facts<'static>, Want)> = vec![
            // 1. The tenant keeps an active admin.
            (
                "the last active admin cannot be deleted",
                on(delete(alice().admin())),
                last_admin("deleted"),
            ),
            (
                "the last active admin cannot be deactivated",
                on(deactivate(alice().admin())),
                last_admin("deactivated"),
            ),
            (
                "the last active admin cannot be demoted",
                on(demote(alice().admin())),
                last_admin("demoted"),
            ),
            (
                "the last active admin cannot be demoted and deactivated at once",
                on(update(alice().admin(), alice().inactive())),
                last_admin("deactivated"),
            ),
            (
                "suspending the last active admin removes it too",
                on(update(alice().admin(), alice().admin().suspended())),
                // The verb is "demoted" (see `verb`): only the phrase is pinned.
                Want::Refused {
                    reason: Reason::LastAdmin,
                    user_id: ME,
                    blockers: vec![alice_blocks()],
                    says: "is the last active admin".to_owned(),
                },
            ),
            (
                "another active admin allows deleting an admin",
                on(delete(alice().admin())).other_admins(1),
                allowed(),
            ),
            (
                "another active admin allows deactivating an admin",
                on(deactivate(alice().admin())).other_admins(1),
                allowed(),
            ),
            (
                "another active admin allows demoting an admin",
                on(demote(alice().admin())).other_admins(3),
                allowed(),
            ),
            (
                "a suspended admin is not an active admin: deleting the only one is allowed",
                on(delete(alice().admin().suspended())),
                allowed(),
            ),
            (
                "a suspended admin is not an active admin: deactivating the only one is allowed",
                on(deactivate(alice().admin().suspended())),
                allowed(),
            ),
            (
                "a suspended admin is not an active admin: demoting the only one is allowed",
                on(demote(alice().admin().suspended())),
                allowed(),
            ),
            (
                "a deactivated admin is not an active admin: deleting the only one is allowed",
                on(delete(alice().admin().inactive())),
                allowed(),
            ),
            (
                "an attribute-only update of the last active admin is allowed",
                on(update(alice().admin(), alice().admin().renamed())),
                allowed(),
            ),
            (
                "creating the first admin is allowed",
                on(create(alice().admin())),
                allowed(),
            ),
            (
                "promoting a user to admin is allowed",
                on(update(alice(), alice().admin())),
                allowed(),
            ),
            (
                "a non-admin with no assets can be deleted though the tenant has no admin",
                on(delete(alice())),
                allowed(),
            ),
            (
                "a non-admin with no assets can be deactivated though the tenant has no admin",
                on(deactivate(alice())),
                allowed(),
            ),
            // 2. A leaver hands over what it owns, by the policy.
            (
                "Block refuses deleting an owner and lists what it owns",
                on(delete(alice())).owning(assets()),
                owns(assets(), None),
            ),
            (
                "Block refuses deactivating an owner",
                on(deactivate(alice())).owning(vec![workflow()]),
                owns(vec![workflow()], None),
            ),
            (
                "Block refuses even with an active heir at hand",
                on(delete(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .heir_is(heir(MANAGER)),
                owns(assets(), None),
            ),
            (
                "every kind of asset blocks, in the order owned",
                on(delete(alice())).owning(vec![number(), workflow(), group()]),
                owns(vec![number(), workflow(), group()], None),
            ),
            (
                "an active manager takes a deleted owner's assets",
                on(delete(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir(MANAGER)),
                reassign(MANAGER, Manager),
            ),
            (
                "an active manager takes a deactivated owner's assets",
                on(deactivate(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir(MANAGER)),
                reassign(MANAGER, Manager),
            ),
            (
                "the manager set by the deactivating write takes the assets",
                on(update(
                    alice().managed_by(MANAGER),
                    alice().managed_by(NEW_MANAGER).inactive(),
                ))
                .owning(assets())
                .under(Manager)
                .heir_is(heir(NEW_MANAGER)),
                reassign(NEW_MANAGER, Manager),
            ),
            (
                "no manager refuses: no active manager to take them",
                on(delete(alice())).owning(assets()).under(Manager),
                owns(assets(), Some("manager")),
            ),
            (
                "a suspended manager cannot take them",
                on(delete(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir_in(MANAGER, true, Access::Suspended)),
                owns(assets(), Some("manager")),
            ),
            (
                "a deactivated manager cannot take them",
                on(deactivate(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir_in(MANAGER, false, Access::Deactivated)),
                owns(assets(), Some("manager")),
            ),
            (
                "a manager with active=false cannot take them whatever its access says",
                on(delete(alice().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir_in(MANAGER, false, Access::Active)),
                owns(assets(), Some("manager")),
            ),
            (
                "a user who is its own manager cannot take its own assets",
                on(delete(alice().managed_by(ME)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir(ME)),
                owns(assets(), Some("manager")),
            ),
            (
                "an active fallback owner takes a deleted owner's assets",
                on(delete(alice()))
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir(FALLBACK)),
                reassign(FALLBACK, Fallback),
            ),
            (
                "an active fallback owner takes a deactivated owner's assets",
                on(deactivate(alice()))
                    .owning(vec![workflow()])
                    .under(Fallback)
                    .heir_is(heir(FALLBACK)),
                reassign(FALLBACK, Fallback),
            ),
            (
                "no fallback owner refuses: no active fallback owner to take them",
                on(delete(alice())).owning(assets()).under(Fallback),
                owns(assets(), Some("fallback owner")),
            ),
            (
                "a suspended fallback owner cannot take them",
                on(deactivate(alice()))
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir_in(FALLBACK, true, Access::Suspended)),
                owns(assets(), Some("fallback owner")),
            ),
            (
                "a deactivated fallback owner cannot take them",
                on(delete(alice()))
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir_in(FALLBACK, false, Access::Deactivated)),
                owns(assets(), Some("fallback owner")),
            ),
            (
                "the fallback owner leaving cannot take its own assets",
                on(delete(alice()))
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir(ME)),
                owns(assets(), Some("fallback owner")),
            ),
            (
                "a leaver who owns nothing moves nothing, even with a heir at hand",
                on(delete(alice().managed_by(MANAGER)))
                    .under(Manager)
                    .heir_is(heir(MANAGER)),
                allowed(),
            ),
            (
                "demoting an owner is not an ownership refusal",
                on(demote(alice().admin())).other_admins(1).owning(assets()),
                allowed(),
            ),
            (
                "an attribute-only update of an owner is not an ownership refusal",
                on(update(alice(), alice().renamed())).owning(assets()),
                allowed(),
            ),
            (
                "deactivating an already inactive user is not a deprovisioning",
                on(deactivate(alice().inactive())).owning(assets()),
                allowed(),
            ),
            (
                "deleting an inactive owner is a deprovisioning",
                on(delete(alice().inactive())).owning(assets()),
                owns(assets(), None),
            ),
            (
                "an attribute-only update of a suspended owner is allowed",
                on(update(alice().suspended(), alice().suspended().renamed()))
                    .owning(assets())
                    .seats(1, 1),
                allowed(),
            ),
            (
                "deactivating a suspended owner hands its assets over",
                on(deactivate(alice().suspended().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir(MANAGER)),
                reassign(MANAGER, Manager),
            ),
            (
                "deleting a suspended owner with nobody to take them is refused",
                on(delete(alice().suspended()))
                    .owning(assets())
                    .under(Fallback),
                owns(assets(), Some("fallback owner")),
            ),
            // Rule order: last admin, then ownership, then seats.
            (
                "a last admin who owns assets is refused as the last admin first",
                on(delete(alice().admin())).owning(assets()),
                last_admin("deleted"),
            ),
            (
                "a last admin whose assets have an heir is still refused as the last admin",
                on(deactivate(alice().admin().managed_by(MANAGER)))
                    .owning(assets())
                    .under(Manager)
                    .heir_is(heir(MANAGER)),
                last_admin("deactivated"),
            ),
            (
                "an admin owner with another admin is refused for its assets",
                on(delete(alice().admin())).other_admins(1).owning(assets()),
                owns(assets(), None),
            ),
            (
                "an admin owner with another admin hands over to the fallback owner",
                on(deactivate(alice().admin()))
                    .other_admins(1)
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir(FALLBACK)),
                reassign(FALLBACK, Fallback),
            ),
            (
                "a suspended last admin who owns assets is refused for its assets only",
                on(delete(alice().admin().suspended())).owning(assets()),
                owns(assets(), None),
            ),
            (
                "an owner taking a seat is judged by seats, not by what it owns",
                on(reactivate(alice().inactive()))
                    .owning(assets())
                    .seats(3, 3),
                seats_full(3),
            ),
            (
                "an owner taking a free seat is allowed and moves nothing",
                on(reactivate(alice().inactive()))
                    .owning(assets())
                    .under(Fallback)
                    .heir_is(heir(FALLBACK))
                    .seats(3, 2),
                allowed(),
            ),
            // 3. A user taking a seat finds one free.
            (
                "creating a user with no seat limit is allowed",
                on(create(alice())),
                allowed(),
            ),
            (
                "creating a user with no limit at all is allowed whatever is taken",
                Facts {
                    seats_taken: 1_000,
                    ..on(create(alice()))
                },
                allowed(),
            ),
            (
                "creating a user below the limit is allowed",
                on(create(alice())).seats(5, 4),
                allowed(),
            ),
            (
                "creating a user when the limit is reached is refused: seats are taken",
                on(create(alice())).seats(5, 5),
                seats_full(5),
            ),
            (
                "creating a user past a lowered limit is refused",
                on(create(alice())).seats(5, 7),
                seats_full(5),
            ),
            (
                "a zero seat limit refuses every create",
                on(create(alice())).seats(0, 0),
                seats_full(0),
            ),
            (
                "creating an admin when the limit is reached is refused",
                on(create(alice().admin())).seats(2, 2),
                seats_full(2),
            ),
            (
                "creating an inactive user takes no seat",
                on(create(alice().inactive())).seats(5, 5),
                allowed(),
            ),
            (
                "reactivation takes a seat: refused when the limit is reached",
                on(reactivate(alice().inactive())).seats(4, 4),
                seats_full(4),
            ),
            (
                "reactivating an admin when the limit is reached is refused",
                on(reactivate(alice().admin().inactive())).seats(4, 4),
                seats_full(4),
            ),
            (
                "reactivation below the limit is allowed",
                on(reactivate(alice().inactive())).seats(4, 3),
                allowed(),
            ),
            (
                "reactivation with no seat limit is allowed",
                on(reactivate(alice().inactive())),
                allowed(),
            ),
            (
                "lifting a suspension takes no seat: the user still holds one",
                on(update(alice().suspended(), alice())).seats(4, 4),
                allowed(),
            ),
            (
                "deactivation frees a seat and is never refused for seats",
                on(deactivate(alice())).seats(0, 9),
                allowed(),
            ),
            (
                "deletion is never refused for seats",
                on(delete(alice())).seats(0, 9),
                allowed(),
            ),
            (
                "an attribute-only update of an active user in a full tenant is allowed",
                on(update(alice(), alice().renamed())).seats(1, 1),
                allowed(),
            ),
        ];
        assert!(cases.len() >= 40, "{} rows", cases.len());
        // Every row runs; each failing row prints its own message.
        let failed: Vec<&str> = cases
            .iter()
            .filter(|(name, facts, want)| {
                std::panic::catch_unwind(|| check(name, facts, want)).is_err()
            })
            .map(|(name, ..)| *name)
            .collect();
        assert!(
            failed.is_empty(),
            "{} of {} rows failed: {failed:#?}",
            failed.len(),
            cases.len()
        );
    }

    // --- heir_id -------------------------------------------------------

    #[test]
    fn heir_id_follows_the_policy_and_is_never_the_user() {
        use Policy::{Block, ReassignToFallback as Fallback, ReassignToManager as Manager};
        let cases = [
            (
                "Block has no heir",
                Block,
                delete(alice().managed_by(MANAGER)),
                Some(FALLBACK),
                None,
            ),
            (
                "the manager on a delete is the one before",
                Manager,
                delete(alice().managed_by(MANAGER)),
                Some(FALLBACK),
                Some(MANAGER),
            ),
            (
                "the manager is taken from after when there is one",
                Manager,
                update(
                    alice().managed_by(MANAGER),
                    alice().managed_by(NEW_MANAGER).inactive(),
                ),
                None,
                Some(NEW_MANAGER),
            ),
            (
                "a manager cleared by the change leaves no heir",
                Manager,
                update(
                    alice().managed_by(MANAGER),
                    alice().without_manager().inactive(),
                ),
                Some(FALLBACK),
                None,
            ),
            (
                "a manager set by the change is the heir though there was none before",
                Manager,
                update(alice(), alice().managed_by(NEW_MANAGER).inactive()),
                None,
                Some(NEW_MANAGER),
            ),
            (
                "the manager policy ignores the fallback owner",
                Manager,
                delete(alice()),
                Some(FALLBACK),
                None,
            ),
            (
                "a user is never its own manager heir",
                Manager,
                delete(alice().managed_by(ME)),
                None,
                None,
            ),
            (
                "the fallback policy names the fallback owner",
                Fallback,
                deactivate(alice().managed_by(MANAGER)),
                Some(FALLBACK),
                Some(FALLBACK),
            ),
            (
                "no fallback owner, no heir",
                Fallback,
                delete(alice()),
                None,
                None,
            ),
            (
                "the fallback owner is never its own heir",
                Fallback,
                delete(alice()),
                Some(ME),
                None,
            ),
            (
                "a create has no heir",
                Manager,
                create(alice().managed_by(MANAGER)),
                Some(FALLBACK),
                None,
            ),
        ];
        for (name, policy, transition, fallback, want) in &cases {
            assert_eq!(heir_id(*policy, transition, *fallback), *want, "{name}");
        }
    }

    // --- Transition ----------------------------------------------------

    #[test]
    fn a_transition_says_what_it_does() {
        // (name, transition, removes_active_admin, deprovisions, takes_seat)
        #[rustfmt::skip]
        let cases: Vec<(&str, Transition<'static>, bool, bool, bool)> = vec![
            ("creating an active user takes a seat", create(alice()), false, false, true),
            ("creating an inactive user does nothing", create(alice().inactive()), false, false, false),
            ("creating an admin takes a seat", create(alice().admin()), false, false, true),
            ("deleting an active admin removes it and deprovisions", delete(alice().admin()), true, true, false),
            ("deleting a suspended admin only deprovisions", delete(alice().admin().suspended()), false, true, false),
            ("deleting an inactive user deprovisions", delete(alice().inactive()), false, true, false),
            ("deactivating an active admin removes it and deprovisions", deactivate(alice().admin()), true, true, false),
            ("deactivating a suspended user deprovisions", deactivate(alice().suspended()), false, true, false),
            ("deactivating an inactive user does nothing", deactivate(alice().inactive()), false, false, false),
            ("demoting an active admin removes it without deprovisioning", demote(alice().admin()), true, false, false),
            ("suspending an active admin removes it", update(alice().admin(), alice().admin().suspended()), true, false, false),
            ("reactivating takes a seat", reactivate(alice().inactive()), false, false, true),
            ("reactivating an admin takes a seat and removes nothing", reactivate(alice().admin().inactive()), false, false, true),
            ("lifting a suspension takes no new seat", update(alice().suspended(), alice()), false, false, false),
            ("promoting removes no admin", update(alice(), alice().admin()), false, false, false),
            ("an attribute-only update does nothing", update(alice().admin(), alice().admin().renamed()), false, false, false),
        ];
        for (name, t, removes, deprovisions, takes) in &cases {
            assert_eq!(
                t.removes_active_admin(),
                *removes,
                "{name}: removes_active_admin"
            );
            assert_eq!(t.deprovisions(), *deprovisions, "{name}: deprovisions");
            assert_eq!(t.takes_seat(), *takes, "{name}: takes_seat");
        }
    }

    // --- Access::after -------------------------------------------------

    #[test]
    fn access_after_a_write() {
        use Access::{Active, Deactivated, Suspended};
        // (name, SCIM `active` and access before, `active` after, access after)
        #[rustfmt::skip]
        let cases = [
            ("an active create has access", None, true, Active),
            ("an inactive create has none", None, false, Deactivated),
            ("deactivating takes access away", Some((true, Active)), false, Deactivated),
            ("deactivating a suspended user deactivates it", Some((true, Suspended)), false, Deactivated),
            ("reactivating a deactivated user gives access", Some((false, Deactivated)), true, Active),
            ("an update keeps a suspension", Some((true, Suspended)), true, Suspended),
            ("an update keeps access", Some((true, Active)), true, Active),
            ("an inactive user stays without access", Some((false, Deactivated)), false, Deactivated),
        ];
        for (name, before, active_after, want) in &cases {
            assert_eq!(Access::after(*before, *active_after), *want, "{name}");
        }
    }
}
