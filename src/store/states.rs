//! The business states scimd stores, as enums converted once, here, where
//! rows are read and written (sea-orm `DeriveActiveEnum`).
//!
//! Each state's text exists once: in its variant's `string_value`, which is
//! also its JSON form and what [`as_str`](Access::as_str) returns. A stored
//! value no variant names makes the read fail as a storage fault (a logged
//! 500), never a silent default.

use std::fmt;

use sea_orm::entity::prelude::*;

/// What every stored state offers generic code: reading one back from
/// its text, and the list of texts for messages.
pub trait StoredState: Sized {
    /// The state whose text is `text` exactly, if any.
    fn from_text(text: &str) -> Option<Self>;
    /// The texts of every state: "a, b or c".
    fn choices() -> String;
}

/// Declares a stored state: the enum, its column conversion, its JSON form
/// and its text.
macro_rules! stored_state {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                #[sea_orm(string_value = $text)]
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The state's text, as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The state whose text is `text` exactly, if any.
            pub fn from_text(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|state| state.as_str() == text)
            }

            /// The texts of every state, for messages: "a, b or c".
            pub fn choices() -> String {
                let texts: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                match texts.split_last() {
                    Some((last, init)) if !init.is_empty() => {
                        format!("{} or {last}", init.join(", "))
                    }
                    _ => texts.concat(),
                }
            }
        }

        impl StoredState for $name {
            fn from_text(text: &str) -> Option<Self> {
                $name::from_text(text)
            }

            fn choices() -> String {
                $name::choices()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_state! {
    /// A user's access to the phone service (`users.access`).
    pub enum Access {
        /// May sign in and work.
        Active = "active",
        /// Signed out and tokens revoked while a refused deprovisioning
        /// waits for reassignment; still `active` in SCIM and still
        /// holding a seat.
        Suspended = "suspended",
        /// `active` is false in SCIM: no access, no seat, owns nothing.
        Deactivated = "deactivated",
    }
}

stored_state! {
    /// What a tenant does with the assets of a user being deprovisioned
    /// (`tenants.deprovision_policy`).
    pub enum Policy {
        /// Refuse, listing every asset (the default).
        Block = "block",
        /// Give them to the user's enterprise `manager`, if active.
        ReassignToManager = "reassign_to_manager",
        /// Give them to the tenant's `fallback_owner_id`, if active.
        ReassignToFallback = "reassign_to_fallback",
    }
}

stored_state! {
    /// Where a tenant's admin rights come from (`tenants.admin_source`).
    pub enum AdminSource {
        /// The IdP: a user is an admin when its SCIM `roles` say so (the
        /// default).
        Idp = "idp",
        /// scimd: admin rights are granted and removed in the admin API or
        /// the console; SCIM `roles` are stored but grant and revoke
        /// nothing (for IdPs that leave `roles` out of a PUT).
        Scimd = "scimd",
    }
}

stored_state! {
    /// What a token may be used for (`tokens.scope`).
    pub enum Scope {
        /// The SCIM API, for identity providers.
        Scim = "scim",
        /// The admin API, for the service's operators.
        Admin = "admin",
    }
}

stored_state! {
    /// The kind of an asset (`assets.kind`).
    pub enum AssetKind {
        /// A phone number.
        Number = "number",
        /// A call workflow (call flow, automation).
        Workflow = "workflow",
    }
}

stored_state! {
    /// The kind of a thing that blocks a change: what a user owns, or the
    /// user itself (the last admin).
    pub enum BlockerKind {
        /// A phone number.
        Number = "number",
        /// A call workflow.
        Workflow = "workflow",
        /// A group the user owns.
        Group = "group",
        /// The user (the tenant's last active admin).
        User = "user",
    }
}

impl From<AssetKind> for BlockerKind {
    fn from(kind: AssetKind) -> Self {
        match kind {
            AssetKind::Number => BlockerKind::Number,
            AssetKind::Workflow => BlockerKind::Workflow,
        }
    }
}

stored_state! {
    /// Whether an audited change went through (`audit_events.outcome`).
    pub enum Outcome {
        /// The change was made.
        Allowed = "allowed",
        /// The deprovisioning guard refused it.
        Blocked = "blocked",
    }
}

stored_state! {
    /// What an audit event records (`audit_events.action`).
    pub enum Action {
        /// A user was created.
        UserCreate = "user.create",
        /// A user's attributes changed.
        UserUpdate = "user.update",
        /// A user's `active` became false.
        UserDeactivate = "user.deactivate",
        /// A user regained access (`active` true, or a suspension lifted).
        UserReactivate = "user.reactivate",
        /// A user lost the admin role.
        UserDemote = "user.demote",
        /// A user was given the admin role in scimd (`admin_source: scimd`,
        /// or a switch back to `idp` that reads it from `roles`).
        UserPromote = "user.promote",
        /// A user was deleted.
        UserDelete = "user.delete",
        /// A group was created.
        GroupCreate = "group.create",
        /// A group's attributes or members changed.
        GroupUpdate = "group.update",
        /// A group was deleted.
        GroupDelete = "group.delete",
        /// A group's owner was set.
        GroupOwner = "group.owner",
        /// An asset was created.
        AssetCreate = "asset.create",
        /// An asset changed (its owner or name).
        AssetUpdate = "asset.update",
        /// An asset was deleted.
        AssetDelete = "asset.delete",
        /// An asset or group moved to another owner by the tenant's policy.
        AssetReassign = "asset.reassign",
        /// A token was created.
        TokenCreate = "token.create",
        /// A token was revoked.
        TokenRevoke = "token.revoke",
        /// The tenant's settings changed.
        SettingsUpdate = "settings.update",
        /// A pending deprovisioning finished: its blockers were gone.
        DeprovisioningComplete = "deprovisioning.complete",
        /// A pending deprovisioning was cancelled (reactivation or admin).
        DeprovisioningCancel = "deprovisioning.cancel",
        /// A webhook endpoint was registered.
        WebhookCreate = "webhook.create",
        /// A webhook endpoint was removed.
        WebhookDelete = "webhook.delete",
        /// A webhook endpoint's signing secret was rotated.
        WebhookRotate = "webhook.rotate",
    }
}

stored_state! {
    /// What an audit event is about (`audit_events.target_type`).
    pub enum TargetType {
        /// A user.
        User = "user",
        /// A group.
        Group = "group",
        /// A number or workflow.
        Asset = "asset",
        /// An API token.
        Token = "token",
        /// The tenant's settings.
        Settings = "settings",
        /// A webhook endpoint.
        Webhook = "webhook",
    }
}

stored_state! {
    /// What a webhook event says happened (`webhook_events.type`); its
    /// text is the payload's `type`.
    pub enum EventType {
        /// A deprovisioning was refused and recorded as pending.
        DeprovisioningBlocked = "deprovisioning.blocked",
        /// A pending deprovisioning finished.
        DeprovisioningCompleted = "deprovisioning.completed",
        /// A pending deprovisioning was cancelled.
        DeprovisioningCancelled = "deprovisioning.cancelled",
        /// A user's access was suspended by a refused deprovisioning.
        UserSuspended = "user.suspended",
        /// A test event sent by `POST /webhooks/{id}/ping`, to that
        /// endpoint only.
        WebhookPing = "webhook.ping",
    }
}

stored_state! {
    /// Where a webhook delivery stands (`webhook_deliveries.state`).
    pub enum DeliveryState {
        /// Not yet delivered; due at `next_attempt_at`.
        Pending = "pending",
        /// A receiver answered 2xx.
        Delivered = "delivered",
        /// Retries ran out (a day after the event) without a 2xx.
        Failed = "failed",
    }
}

stored_state! {
    /// Which way a call went (`call_records.direction`).
    pub enum Direction {
        /// A call the user received.
        Inbound = "inbound",
        /// A call the user made.
        Outbound = "outbound",
    }
}

stored_state! {
    /// Why the guard refused a change (`deprovisionings.reason`).
    pub enum Reason {
        /// The user owns assets and the policy cannot move them.
        OwnsAssets = "owns_assets",
        /// The tenant would be left without an active admin.
        LastAdmin = "last_admin",
        /// The tenant's seat limit is reached.
        SeatLimit = "seat_limit",
    }
}

stored_state! {
    /// What the IdP asked for in a refused deprovisioning
    /// (`deprovisionings.requested`).
    pub enum Requested {
        /// `active` false.
        Deactivate = "deactivate",
        /// `DELETE /Users/{id}`: a later DELETE upgrades a deactivation.
        Delete = "delete",
    }
}

stored_state! {
    /// Where a pending deprovisioning stands (`deprovisionings.state`).
    pub enum PendingState {
        /// Waiting for its blockers to go.
        Pending = "pending",
        /// The user was deactivated or deleted.
        Completed = "completed",
        /// The IdP reactivated the user, or an admin cancelled it.
        Cancelled = "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_text_and_nothing_else_does() {
        for access in Access::ALL {
            assert_eq!(Access::from_text(access.as_str()), Some(*access));
        }
        for action in Action::ALL {
            assert_eq!(Action::from_text(action.as_str()), Some(*action));
        }
        assert_eq!(Access::from_text("Active"), None);
        assert_eq!(Policy::from_text("bogus"), None);
    }

    #[test]
    fn the_json_form_is_the_stored_text() {
        assert_eq!(
            serde_json::to_value(Policy::ReassignToManager).ok(),
            Some(serde_json::json!("reassign_to_manager"))
        );
        assert_eq!(
            Policy::choices(),
            "block, reassign_to_manager or reassign_to_fallback"
        );
    }
}
