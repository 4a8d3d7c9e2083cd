//! The deprovisioning guard (DESIGN §4): the one function every user write
//! calls inside its transaction, with the user's state before and after
//! the write. It never knows which endpoint asked.
//!
//! Rules, in order: the tenant keeps an active admin; a user who is
//! deactivated or deleted hands over what it owns (by the tenant's
//! policy) or the change is refused; a user taking a seat finds one free.

use std::str::FromStr;

use serde::Serialize;
use serde_json::{Value, json};

use super::tokens::Principal;
use super::{Domain, DomainError};
use scim::ScimError;
use scim::resource::Document;
use crate::store::{AuditRecord, Owned, TenantSettings, Tx, UserState};

/// Schema URN of the extension object a refusal carries.
pub const DEPROVISION_BLOCKED: &str = "urn:scimd:api:messages:2.0:DeprovisionBlocked";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Longest `detail` of a refusal: it is the only text Okta's Tasks page
/// and Entra's provisioning log show.
const DETAIL_LIMIT: usize = 200;
/// Names shown per kind of asset before "and N more".
const NAMES_SHOWN: usize = 3;

/// A user's access to the phone service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// May sign in and work.
    Active,
    /// Signed out and tokens revoked while a refused deprovisioning waits
    /// for reassignment; still `active` in SCIM and still holding a seat.
    Suspended,
    /// `active` is false in SCIM: no access, no seat, owns nothing.
    Deactivated,
}

impl Access {
    /// The state's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Active => "active",
            Access::Suspended => "suspended",
            Access::Deactivated => "deactivated",
        }
    }

    /// Reads a stored state; anything unknown is treated as suspended,
    /// which grants nothing.
    pub fn parse(stored: &str) -> Access {
        match stored {
            "active" => Access::Active,
            "deactivated" => Access::Deactivated,
            _ => Access::Suspended,
        }
    }

    /// The access a write leaves: none when `active` becomes false, full
    /// when a user is created or reactivated, unchanged otherwise (an
    /// attribute update does not lift a suspension).
    pub(super) fn after(before: Option<(bool, Access)>, active_after: bool) -> Access {
        match before {
            _ if !active_after => Access::Deactivated,
            Some((true, access)) => access,
            Some((false, _)) | None => Access::Active,
        }
    }
}

/// What a tenant does with the assets of a user being deprovisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Refuse, listing every asset (the default).
    Block,
    /// Give them to the user's enterprise `manager`, if active.
    ReassignToManager,
    /// Give them to the tenant's `fallback_owner_id`, if active.
    ReassignToFallback,
}

impl Policy {
    /// The policy's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Block => "block",
            Policy::ReassignToManager => "reassign_to_manager",
            Policy::ReassignToFallback => "reassign_to_fallback",
        }
    }
}

impl FromStr for Policy {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "block" => Ok(Policy::Block),
            "reassign_to_manager" => Ok(Policy::ReassignToManager),
            "reassign_to_fallback" => Ok(Policy::ReassignToFallback),
            other => Err(DomainError::Invalid(format!(
                "unknown deprovision_policy `{other}`; use block, reassign_to_manager or reassign_to_fallback"
            ))),
        }
    }
}

/// A user as the rules see it.
#[derive(Debug, Clone)]
pub(super) struct Subject<'a> {
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
    /// The user `id` whose document is `doc`, with access `access`.
    pub fn of(id: &'a str, doc: &'a Document, access: Access) -> Self {
        Subject {
            id,
            user_name: doc
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            admin: is_admin(doc),
            access,
            manager_id: doc
                .get(ENTERPRISE_USER)
                .and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty()),
        }
    }

    /// Counts toward "the tenant has an active admin".
    fn is_active_admin(&self) -> bool {
        self.admin && self.active && self.access == Access::Active
    }
}

/// Whether a user document holds the admin role: a `roles` entry whose
/// `value` is `admin`, ignoring case.
pub(super) fn is_admin(doc: &Document) -> bool {
    doc.get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| {
            roles.iter().any(|role| {
                role.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case("admin"))
            })
        })
}

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The user owns assets and the policy cannot move them.
    OwnsAssets,
    /// The tenant would be left without an active admin.
    LastAdmin,
    /// The tenant's seat limit is reached.
    SeatLimit,
}

/// Something that blocks a change: an asset, a group or a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub kind: String,
    pub id: String,
    pub name: String,
}

impl From<Owned> for Blocker {
    fn from(owned: Owned) -> Self {
        Blocker {
            kind: owned.kind,
            id: owned.id,
            name: owned.name,
        }
    }
}

/// A refused change: why, what blocks it, and the text for the IT admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub blockers: Vec<Blocker>,
    pub detail: String,
    /// The user whose change was refused.
    pub user_id: String,
}

impl Refusal {
    /// A refusal only for owned assets suspends the user's access anyway:
    /// a leaver never keeps access while reassignment is pending.
    pub fn suspends(&self) -> bool {
        self.reason == Reason::OwnsAssets
    }

    /// The machine-readable part: `{"reason","blockers"}`.
    pub fn extension(&self) -> Value {
        json!({"reason": self.reason, "blockers": self.blockers})
    }

    /// The SCIM error: 409 `mutability` with the extension object, or a
    /// plain 409 for the seat limit, which is not a deprovisioning.
    pub fn to_scim(&self) -> ScimError {
        match self.reason {
            Reason::SeatLimit => ScimError::status(409, &self.detail),
            Reason::OwnsAssets | Reason::LastAdmin => ScimError::conflicting_state(&self.detail)
                .with_extension(DEPROVISION_BLOCKED, self.extension()),
        }
    }
}

/// A change to a user, as the audit log records it.
#[derive(Debug)]
pub(super) struct UserChange<'a> {
    /// e.g. `user.deactivate`.
    pub action: &'a str,
    pub user_id: &'a str,
    /// The user's `userName` before the change.
    pub user_name: &'a str,
    /// Names of the attributes the change touches.
    pub attributes: &'a [String],
}

/// The outcome of the rules for one change.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The change may go ahead; `reassign` names where the user's assets
    /// go first.
    Allowed {
        reassign: Option<Reassignment>,
    },
    Refused(Refusal),
}

/// Assets moving to another user by the tenant's policy.
#[derive(Debug)]
pub(super) struct Reassignment {
    pub to: UserState,
    pub owned: Vec<Owned>,
    pub policy: Policy,
}

/// What a change does to a user, for refusals and audit events.
fn verb(after: Option<&Subject<'_>>) -> &'static str {
    match after {
        None => "deleted",
        Some(after) if !after.active => "deactivated",
        Some(_) => "demoted",
    }
}

/// Shortens `text` to `max` characters, marking the cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

/// "a", "a and b", "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "2 numbers (+91 80 4000 1234, +91 80 4000 1235) and group Sales",
/// naming at most `shown` items per kind.
fn owned_phrase(owned: &[Owned], shown: usize) -> String {
    let mut parts = Vec::new();
    for kind in ["number", "workflow", "group"] {
        let names: Vec<String> = owned
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| clip(&o.name, 40))
            .collect();
        let part = match (names.len(), shown) {
            (0, _) => continue,
            (1, 0) => format!("1 {kind}"),
            (1, _) => format!("{kind} {}", names[0]),
            (n, 0) => format!("{n} {kind}s"),
            (n, shown) => {
                let mut listed: Vec<String> = names.iter().take(shown).cloned().collect();
                if n > shown {
                    listed.push(format!("{} more", n - shown));
                }
                format!("{n} {kind}s ({})", and_list(&listed))
            }
        };
        parts.push(part);
    }
    and_list(&parts)
}

/// The detail of an ownership refusal; `heir` names who the policy would
/// have given the assets to (`manager`, `fallback owner`) when that user
/// is missing or inactive.
fn owns_assets_detail(owned: &[Owned], heir: Option<&str>) -> String {
    const TAIL: &str = "reassign them in scimd's admin API, then your IdP's retry will succeed";
    let why = heir.map_or(String::new(), |heir| {
        format!("; no active {heir} to take them")
    });
    let detail = |shown| format!("owns {}{why}; {TAIL}", owned_phrase(owned, shown));
    (0..=NAMES_SHOWN)
        .rev()
        .map(detail)
        .find(|detail| detail.chars().count() <= DETAIL_LIMIT)
        .unwrap_or_else(|| detail(0))
}

fn last_admin_detail(user_name: &str, verb: &str) -> String {
    format!(
        "{} is the last active admin and cannot be {verb}; give another user the admin role first, then your IdP's retry will succeed",
        clip(user_name, 40)
    )
}

fn seat_limit_detail(limit: i64) -> String {
    format!(
        "all {limit} seats are taken; deactivate a user or raise seat_limit in scimd's admin API, then your IdP's retry will succeed"
    )
}

impl Domain {
    /// Runs the rules for a change of one user, inside the write's
    /// transaction `tx`, which holds the tenant's lock (see
    /// [`crate::store::Tx::lock_tenant`]). `before` is `None` for a create
    /// and `after` is `None` for a delete. Reads only: see [`Self::guard`].
    pub(super) async fn assess(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        before: Option<&Subject<'_>>,
        after: Option<&Subject<'_>>,
    ) -> Result<Verdict, DomainError> {
        if let Some(refusal) = self.last_admin_rule(tx, tenant_id, before, after).await? {
            return Ok(Verdict::Refused(refusal));
        }
        let reassign = match self
            .ownership_rule(tx, tenant_id, settings, before, after)
            .await?
        {
            Ok(reassign) => reassign,
            Err(refusal) => return Ok(Verdict::Refused(refusal)),
        };
        if let Some(refusal) = self
            .seat_rule(tx, tenant_id, settings, before, after)
            .await?
        {
            return Ok(Verdict::Refused(refusal));
        }
        Ok(Verdict::Allowed { reassign })
    }

    /// 1. The tenant keeps an active admin: refuses deleting, deactivating
    ///    or demoting the last one.
    async fn last_admin_rule(
        &self,
        tx: &Tx,
        tenant_id: &str,
        before: Option<&Subject<'_>>,
        after: Option<&Subject<'_>>,
    ) -> Result<Option<Refusal>, DomainError> {
        let Some(before) = before.filter(|b| b.is_active_admin()) else {
            return Ok(None);
        };
        if after.is_some_and(Subject::is_active_admin)
            || tx.count_active_admins(tenant_id, before.id).await? > 0
        {
            return Ok(None);
        }
        Ok(Some(Refusal {
            reason: Reason::LastAdmin,
            blockers: vec![Blocker {
                kind: "user".into(),
                id: before.id.to_owned(),
                name: before.user_name.to_owned(),
            }],
            detail: last_admin_detail(before.user_name, verb(after)),
            user_id: before.id.to_owned(),
        }))
    }

    /// 2. A user being deactivated or deleted (not demoted) hands over
    ///    what it owns to the policy's heir, or the change is refused.
    ///    Returns the reassignment to make, if any.
    async fn ownership_rule(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        before: Option<&Subject<'_>>,
        after: Option<&Subject<'_>>,
    ) -> Result<Result<Option<Reassignment>, Refusal>, DomainError> {
        let Some(before) = before else {
            return Ok(Ok(None));
        };
        if !after.is_none_or(|a| before.active && !a.active) {
            return Ok(Ok(None));
        }
        let owned = tx.owned(tenant_id, before.id).await?;
        if owned.is_empty() {
            return Ok(Ok(None));
        }
        let policy = Policy::from_str(&settings.deprovision_policy)?;
        let (heir, heir_role) = match policy {
            Policy::Block => (None, None),
            Policy::ReassignToManager => (after.unwrap_or(before).manager_id, Some("manager")),
            Policy::ReassignToFallback => (
                settings.fallback_owner_id.as_deref(),
                Some("fallback owner"),
            ),
        };
        let heir = match heir.filter(|id| *id != before.id) {
            Some(id) => tx.user_state(tenant_id, id).await?,
            None => None,
        };
        Ok(
            match heir.filter(|h| h.active && Access::parse(&h.access) == Access::Active) {
                Some(to) => Ok(Some(Reassignment { to, owned, policy })),
                None => Err(Refusal {
                    reason: Reason::OwnsAssets,
                    detail: owns_assets_detail(&owned, heir_role),
                    blockers: owned.into_iter().map(Blocker::from).collect(),
                    user_id: before.id.to_owned(),
                }),
            },
        )
    }

    /// 3. A user taking a seat (created or reactivated) finds one free.
    async fn seat_rule(
        &self,
        tx: &Tx,
        tenant_id: &str,
        settings: &TenantSettings,
        before: Option<&Subject<'_>>,
        after: Option<&Subject<'_>>,
    ) -> Result<Option<Refusal>, DomainError> {
        let takes_seat = after.is_some_and(|a| a.active) && !before.is_some_and(|b| b.active);
        let (Some(limit), Some(after), true) = (settings.seat_limit, after, takes_seat) else {
            return Ok(None);
        };
        let taken = tx.count_seated(tenant_id, after.id).await?;
        if i64::try_from(taken).unwrap_or(i64::MAX) < limit {
            return Ok(None);
        }
        Ok(Some(Refusal {
            reason: Reason::SeatLimit,
            blockers: Vec::new(),
            detail: seat_limit_detail(limit),
            user_id: after.id.to_owned(),
        }))
    }

    /// The guard: [`Self::assess`], then, when the change is allowed, the
    /// policy's moves, in `tx` and audited, and `tx` back for the write.
    /// When the change is refused, records the refusal (its audit event
    /// and, for owned assets, the suspension), ends `tx` and returns the
    /// error to answer with.
    pub(super) async fn guard(
        &self,
        tx: Tx,
        who: &Principal,
        settings: &TenantSettings,
        (before, after): (Option<&Subject<'_>>, Option<&Subject<'_>>),
        change: &UserChange<'_>,
    ) -> Result<Tx, DomainError> {
        match self
            .assess(&tx, &who.tenant_id, settings, before, after)
            .await?
        {
            Verdict::Refused(refusal) => Err(self.refuse(tx, who, change, refusal).await),
            Verdict::Allowed { reassign: None } => Ok(tx),
            Verdict::Allowed {
                reassign: Some(reassignment),
            } => {
                let from = (change.user_id, change.user_name);
                let why = format!("by policy {}", reassignment.policy.as_str());
                self.move_owned(&tx, who, from, &reassignment.to, &reassignment.owned, &why)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Moves everything user `from` (id, userName) owns to `to`, with one
    /// audit event per thing moved.
    pub(super) async fn move_owned(
        &self,
        tx: &Tx,
        who: &Principal,
        from: (&str, &str),
        to: &UserState,
        owned: &[Owned],
        why: &str,
    ) -> Result<(), DomainError> {
        let now = self.now();
        tx.move_owned(&who.tenant_id, from.0, &to.id, now).await?;
        let events: Vec<AuditRecord> = owned
            .iter()
            .map(|o| {
                let target_type = if o.kind == "group" { "group" } else { "asset" };
                self.audit_event(
                    who,
                    "asset.reassign",
                    (target_type, Some(&o.id), Some(&o.name)),
                    Ok(()),
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

    /// Records a refused change and ends its transaction: the suspension
    /// (for owned assets) and the audit event are all it writes. Returns
    /// the error to answer with.
    async fn refuse(
        &self,
        tx: Tx,
        who: &Principal,
        change: &UserChange<'_>,
        refusal: Refusal,
    ) -> DomainError {
        let recorded = async {
            let mut detail = refusal.detail.clone();
            if refusal.suspends() {
                tx.suspend(&who.tenant_id, change.user_id).await?;
                tx.revoke_user_tokens(&who.tenant_id, change.user_id, self.now())
                    .await?;
                detail.push_str(" (access suspended until then)");
            }
            let event = self.user_event(who, change, Err(()), detail);
            tx.insert_audit(&who.tenant_id, &[event]).await?;
            tx.commit().await?;
            Ok::<(), DomainError>(())
        };
        match recorded.await {
            Ok(()) => DomainError::Blocked(Box::new(refusal)),
            Err(fault) => fault,
        }
    }

    /// The audit event of a change to a user.
    pub(super) fn user_event(
        &self,
        who: &Principal,
        change: &UserChange<'_>,
        outcome: Result<(), ()>,
        detail: String,
    ) -> AuditRecord {
        self.audit_event(
            who,
            change.action,
            ("user", Some(change.user_id), Some(change.user_name)),
            outcome,
            detail,
            change.attributes.to_vec(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(kind: &str, name: &str) -> Owned {
        Owned {
            kind: kind.into(),
            id: format!("id-{name}"),
            name: name.into(),
        }
    }

    #[test]
    fn the_detail_names_what_blocks_like_the_issue_asks() {
        let detail = owns_assets_detail(
            &[
                owned("number", "+91 80 4000 1234"),
                owned("number", "+91 80 4000 1235"),
                owned("group", "Sales"),
            ],
            None,
        );
        assert_eq!(
            detail,
            "owns 2 numbers (+91 80 4000 1234 and +91 80 4000 1235) and group Sales; \
             reassign them in scimd's admin API, then your IdP's retry will succeed"
        );
    }

    #[test]
    fn past_a_few_names_the_detail_says_and_n_more_and_stays_short() {
        let numbers = || (0..50).map(|i| owned("number", &format!("+91 80 4000 {i:04}")));
        let many: Vec<Owned> = numbers()
            .chain([owned("workflow", "Night routing"), owned("group", "Sales")])
            .collect();
        let detail = owns_assets_detail(&many, None);
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(
            detail.starts_with("owns 50 numbers (+91 80 4000 0000, +91 80 4000 0001, +91 80 4000 0002 and 47 more), workflow Night routing and group Sales;"),
            "{detail}"
        );

        let long_names: Vec<Owned> = numbers()
            .chain([owned("group", &"G".repeat(500))])
            .collect();
        let detail = owns_assets_detail(&long_names, None);
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(detail.contains(" more)"), "{detail}");
        let detail = owns_assets_detail(&long_names, Some("fallback owner"));
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(
            detail.contains("; no active fallback owner to take them; reassign them"),
            "{detail}"
        );
    }

    #[test]
    fn access_follows_active_and_a_suspension_outlives_attribute_updates() {
        assert_eq!(Access::after(None, true), Access::Active);
        assert_eq!(
            Access::after(Some((true, Access::Active)), false),
            Access::Deactivated
        );
        assert_eq!(
            Access::after(Some((false, Access::Deactivated)), true),
            Access::Active
        );
        assert_eq!(
            Access::after(Some((true, Access::Suspended)), true),
            Access::Suspended
        );
        assert_eq!(Access::parse("bogus"), Access::Suspended);
    }

    #[test]
    fn the_admin_role_is_a_roles_value_ignoring_case() {
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(is_admin(&doc(json!({"roles": [{"value": "Admin"}]}))));
        assert!(!is_admin(&doc(json!({"roles": [{"value": "agent"}]}))));
        assert!(!is_admin(&doc(json!({"roles": "admin"}))));
    }

    #[test]
    fn a_refusal_is_409_mutability_with_its_extension_object() {
        let refusal = Refusal {
            reason: Reason::OwnsAssets,
            blockers: vec![owned("number", "+1").into()],
            detail: "owns number +1".into(),
            user_id: "u1".into(),
        };
        let error = refusal.to_scim();
        assert_eq!(error.status, 409);
        assert_eq!(error.scim_type.map(|t| t.as_str()), Some("mutability"));
        let (urn, object) = *error.extension.expect("extension");
        assert_eq!(urn, DEPROVISION_BLOCKED);
        assert_eq!(
            object,
            json!({"reason": "owns_assets", "blockers": [{"kind": "number", "id": "id-+1", "name": "+1"}]})
        );
    }
}
