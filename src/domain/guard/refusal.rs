//! What a refusal says: its reason, its blockers and the one sentence an
//! IT admin reads on Okta's Tasks page or in Entra's provisioning log.

use serde::Serialize;

use crate::store::{AdminSource, BlockerKind, Owned, Reason};

/// Schema URN of the extension object a refusal carries.
pub const DEPROVISION_BLOCKED: &str = "urn:scimd:api:messages:2.0:DeprovisionBlocked";
/// Longest `detail` of a refusal: it is the only text Okta's Tasks page
/// and Entra's provisioning log show.
pub(super) const DETAIL_LIMIT: usize = 200;
/// Names shown per kind of asset before "and N more".
const NAMES_SHOWN: usize = 3;

/// Something that blocks a change: an asset, a group or a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub kind: BlockerKind,
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
    /// The pending deprovisioning that records it, once recorded.
    pub pending_id: Option<String>,
    /// The console's page of that request, once recorded.
    pub resolve_url: Option<String>,
}

impl Refusal {
    /// A refusal only for owned assets suspends the user's access anyway:
    /// a leaver never keeps access while reassignment is pending.
    pub fn suspends(&self) -> bool {
        self.reason == Reason::OwnsAssets
    }

    /// Whether this is a refused deprovisioning or demotion (409
    /// `mutability` with the extension object) rather than a full tenant.
    pub fn is_deprovisioning(&self) -> bool {
        match self.reason {
            Reason::OwnsAssets | Reason::LastAdmin => true,
            Reason::SeatLimit => false,
        }
    }
}

/// Why the tenant's policy found no one to take a leaver's assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeirGap<'a> {
    /// The policy is `block`: nobody is asked.
    NoPolicy,
    /// There is no active `manager` or `fallback owner` (the role named).
    Inactive(&'static str),
    /// The user's manager value names no user of the tenant (by id,
    /// `externalId` or `userName`), or more than one.
    UnknownManager(&'a str),
}

/// Shortens `text` to `max` characters, marking the cut.
pub(super) fn clip(text: &str, max: usize) -> String {
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
    for kind in [
        BlockerKind::Number,
        BlockerKind::Workflow,
        BlockerKind::Group,
    ] {
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

/// The detail of an ownership refusal of a `change` ("deactivation",
/// "deletion"), which is recorded and finishes by itself; `gap` says why
/// the policy's heir cannot take the assets (see [`HeirGap`]).
pub(super) fn owns_assets_detail(owned: &[Owned], gap: HeirGap<'_>, change: &str) -> String {
    let why = match gap {
        HeirGap::NoPolicy => String::new(),
        HeirGap::Inactive(heir) => format!("; no active {heir} to take them"),
        HeirGap::UnknownManager(value) => {
            format!("; manager {} is not a user here", clip(value, 40))
        }
    };
    let detail = |shown| {
        format!(
            "owns {}{why}; reassign them in scimd's admin API and the {change} finishes by itself",
            owned_phrase(owned, shown)
        )
    };
    (0..=NAMES_SHOWN)
        .rev()
        .map(detail)
        .find(|detail| detail.chars().count() <= DETAIL_LIMIT)
        .unwrap_or_else(|| detail(0))
}

/// The detail of a last-admin refusal: a deactivation or deletion is
/// recorded and finishes by itself; a demotion is not recorded. Under
/// `admin_source: scimd` the admin role is given in scimd, not the IdP.
pub(super) fn last_admin_detail(user_name: &str, verb: &str, source: AdminSource) -> String {
    let user_name = clip(user_name, 40);
    let role = match source {
        AdminSource::Idp => "give another user the admin role",
        AdminSource::Scimd => "make another user an admin in scimd's admin API",
    };
    let tail = match (verb, source) {
        ("deactivated", _) => "and the deactivation finishes by itself",
        ("deleted", _) => "and the deletion finishes by itself",
        (_, AdminSource::Idp) => "first, then your IdP's retry will succeed",
        (_, AdminSource::Scimd) => "first",
    };
    format!("{user_name} is the last active admin and cannot be {verb}; {role} {tail}")
}

/// `detail` ending with `url`, the console page that resolves the
/// refusal, if the whole still fits in [`DETAIL_LIMIT`] characters: as it
/// is, else without naming the admin API (the URL says where to go).
pub(super) fn detail_with_url(detail: &str, url: &str) -> Option<String> {
    let short = detail.replace(" in scimd's admin API", "");
    [detail, short.as_str()]
        .into_iter()
        .map(|detail| format!("{detail}: {url}"))
        .find(|with_url| with_url.chars().count() <= DETAIL_LIMIT)
}

pub(super) fn seat_limit_detail(limit: i64) -> String {
    format!(
        "all {limit} seats are taken; deactivate a user or raise seat_limit in scimd's admin API, then your IdP's retry will succeed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(kind: BlockerKind, name: &str) -> Owned {
        Owned {
            kind,
            id: format!("id-{name}"),
            name: name.into(),
        }
    }

    #[test]
    fn the_detail_names_what_blocks_like_the_issue_asks() {
        let detail = owns_assets_detail(
            &[
                owned(BlockerKind::Number, "+91 80 4000 1234"),
                owned(BlockerKind::Number, "+91 80 4000 1235"),
                owned(BlockerKind::Group, "Sales"),
            ],
            HeirGap::NoPolicy,
            "deactivation",
        );
        assert_eq!(
            detail,
            "owns 2 numbers (+91 80 4000 1234 and +91 80 4000 1235) and group Sales; \
             reassign them in scimd's admin API and the deactivation finishes by itself"
        );
    }

    #[test]
    fn past_a_few_names_the_detail_says_and_n_more_and_stays_short() {
        let numbers =
            || (0..50).map(|i| owned(BlockerKind::Number, &format!("+91 80 4000 {i:04}")));
        let many: Vec<Owned> = numbers()
            .chain([
                owned(BlockerKind::Workflow, "Night routing"),
                owned(BlockerKind::Group, "Sales"),
            ])
            .collect();
        let detail = owns_assets_detail(&many, HeirGap::NoPolicy, "deletion");
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(
            detail.starts_with("owns 50 numbers (+91 80 4000 0000, +91 80 4000 0001, +91 80 4000 0002 and 47 more), workflow Night routing and group Sales;"),
            "{detail}"
        );

        let long_names: Vec<Owned> = numbers()
            .chain([owned(BlockerKind::Group, &"G".repeat(500))])
            .collect();
        let detail = owns_assets_detail(&long_names, HeirGap::NoPolicy, "deletion");
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(detail.contains(" more)"), "{detail}");
        let detail = owns_assets_detail(
            &long_names,
            HeirGap::Inactive("fallback owner"),
            "deactivation",
        );
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
        assert!(
            detail.contains("; no active fallback owner to take them; reassign them"),
            "{detail}"
        );
    }

    #[test]
    fn an_unknown_manager_is_named_so_the_admin_can_fix_the_mapping() {
        let detail = owns_assets_detail(
            &[owned(BlockerKind::Number, "+1 555 0100")],
            HeirGap::UnknownManager("00u1abcdEFGH2345"),
            "deactivation",
        );
        assert_eq!(
            detail,
            "owns number +1 555 0100; manager 00u1abcdEFGH2345 is not a user here; \
             reassign them in scimd's admin API and the deactivation finishes by itself"
        );
        let long = "m".repeat(300);
        let detail = owns_assets_detail(
            &[owned(BlockerKind::Number, "+1")],
            HeirGap::UnknownManager(&long),
            "deletion",
        );
        assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
    }

    #[test]
    fn a_last_admin_refusal_says_where_the_admin_role_is_given() {
        assert_eq!(
            last_admin_detail("ada@example.com", "demoted", AdminSource::Idp),
            "ada@example.com is the last active admin and cannot be demoted; \
             give another user the admin role first, then your IdP's retry will succeed"
        );
        assert_eq!(
            last_admin_detail("ada@example.com", "deactivated", AdminSource::Scimd),
            "ada@example.com is the last active admin and cannot be deactivated; \
             make another user an admin in scimd's admin API and the deactivation finishes by itself"
        );
        let long = "a".repeat(300);
        for verb in ["deleted", "deactivated", "demoted"] {
            for source in [AdminSource::Idp, AdminSource::Scimd] {
                let detail = last_admin_detail(&long, verb, source);
                assert!(detail.chars().count() <= DETAIL_LIMIT, "{detail}");
            }
        }
    }

    #[test]
    fn a_resolve_url_ends_the_detail_only_when_it_fits() {
        let url =
            "https://scim.example.com/console/deprovisionings/5d0c7e8a-1b2c-4d5e-8f90-123456789abc";
        let short = "owns number +1; reassign them in scimd's admin API and the deactivation finishes by itself";
        let with = detail_with_url(short, url).expect("fits");
        assert!(with.ends_with(url), "{with}");
        assert!(with.chars().count() <= DETAIL_LIMIT);
        let longer = owns_assets_detail(
            &[
                owned(BlockerKind::Number, "+91 80 4000 1234"),
                owned(BlockerKind::Workflow, "Escalation"),
            ],
            HeirGap::NoPolicy,
            "deactivation",
        );
        let with = detail_with_url(&longer, url).expect("fits once shortened");
        assert_eq!(
            with,
            format!(
                "owns number +91 80 4000 1234 and workflow Escalation; reassign them and the \
                 deactivation finishes by itself: {url}"
            )
        );
        assert_eq!(detail_with_url(&"x".repeat(150), url), None);
    }

    #[test]
    fn blockers_serialize_with_their_kind_as_text() {
        let blocker = Blocker::from(owned(BlockerKind::Number, "+1"));
        assert_eq!(
            serde_json::to_value(&blocker).ok(),
            Some(serde_json::json!({"kind": "number", "id": "id-+1", "name": "+1"}))
        );
    }
}
