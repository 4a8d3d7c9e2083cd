//! The words the deprovisioning pages use for the request's states: one
//! place, so the list and the request's page say the same.

use crate::domain::{BlockerKind, PendingState, PendingUser, Reason, Requested};

/// A leaver's name: the display name, else the userName.
pub fn person(user: &PendingUser) -> String {
    user.display_name
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| user.user_name.clone())
}

/// What the IdP asked.
pub fn asked(requested: Requested) -> &'static str {
    match requested {
        Requested::Deactivate => "Deactivate",
        Requested::Delete => "Delete",
    }
}

/// Why scimd refused, in a few words.
pub fn why_short(reason: Reason) -> &'static str {
    match reason {
        Reason::OwnsAssets => "Owns numbers, groups or workflows",
        Reason::LastAdmin => "Last active admin",
        Reason::SeatLimit => "Seat limit",
    }
}

/// Why scimd refused, in a sentence.
pub fn why(reason: Reason) -> &'static str {
    match reason {
        Reason::OwnsAssets => {
            "They still own numbers, groups or workflows, and your policy found no one to take \
             them. Choose a new owner and the deprovisioning finishes."
        }
        Reason::LastAdmin => {
            "They are the last active admin of your account, and an account must keep one. \
             Once another user is an active admin, the deprovisioning finishes."
        }
        Reason::SeatLimit => "Every seat is taken.",
    }
}

/// A request's state.
pub fn state(state: PendingState) -> &'static str {
    match state {
        PendingState::Pending => "Pending",
        PendingState::Completed => "Finished",
        PendingState::Cancelled => "Cancelled",
    }
}

/// What kind of thing blocks.
pub fn kind(kind: &str) -> &'static str {
    match BlockerKind::from_text(kind) {
        Some(BlockerKind::Number) => "Phone number",
        Some(BlockerKind::Workflow) => "Workflow",
        Some(BlockerKind::Group) => "Group",
        Some(BlockerKind::User) => "The user (last admin)",
        None => "Something",
    }
}

/// The last IdP signal in words, with what it probably means.
pub fn signal(detail: &str) -> (String, Option<&'static str>) {
    let hint = detail.contains("active: true").then_some(
        "The IdP still calls this user active: were they reactivated in the IdP? If they are \
         staying, cancel this request.",
    );
    (format!("Your IdP sent {detail}."), hint)
}
