//! One-shot messages after POST-redirect-GET: the redirect carries
//! `?done=<key>`, and the page shows that key's fixed text. Text from the
//! URL is never shown: an unknown key shows nothing.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// What a redirect tells the page it lands on. Add a variant (with its
/// key and text) for a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    /// A deprovisioning request was finished by "Reassign and finish".
    Finished,
    /// Everything was reassigned but the request is still pending (a new
    /// blocker, e.g. the last admin).
    Reassigned,
    /// One asset or group got a new owner.
    Moved,
    /// A user was made an admin.
    MadeAdmin,
    /// A deprovisioning request was cancelled.
    Cancelled,
    /// A user was deactivated from the Users page.
    Deactivated,
    /// A user was reactivated (or its suspension lifted).
    Reactivated,
    /// Everything a user owned moved to a new owner.
    UserReassigned,
    /// A user's admin rights were removed.
    AdminRemoved,
    /// The settings were saved.
    SettingsSaved,
    /// A token was revoked.
    TokenRevoked,
    /// A webhook endpoint was removed.
    WebhookDeleted,
    /// A test event was queued for a webhook endpoint.
    WebhookPinged,
}

impl Flash {
    /// Every message, for parsing keys.
    const ALL: [Flash; 13] = [
        Flash::Finished,
        Flash::Reassigned,
        Flash::Moved,
        Flash::MadeAdmin,
        Flash::Cancelled,
        Flash::Deactivated,
        Flash::Reactivated,
        Flash::UserReassigned,
        Flash::AdminRemoved,
        Flash::SettingsSaved,
        Flash::TokenRevoked,
        Flash::WebhookDeleted,
        Flash::WebhookPinged,
    ];

    /// The key in `?done=`.
    pub fn key(self) -> &'static str {
        match self {
            Flash::Finished => "finished",
            Flash::Reassigned => "reassigned",
            Flash::Moved => "moved",
            Flash::MadeAdmin => "made-admin",
            Flash::Cancelled => "cancelled",
            Flash::Deactivated => "deactivated",
            Flash::Reactivated => "reactivated",
            Flash::UserReassigned => "user-reassigned",
            Flash::AdminRemoved => "admin-removed",
            Flash::SettingsSaved => "settings-saved",
            Flash::TokenRevoked => "token-revoked",
            Flash::WebhookDeleted => "webhook-deleted",
            Flash::WebhookPinged => "webhook-pinged",
        }
    }

    /// The text the page shows.
    pub fn text(self) -> &'static str {
        match self {
            Flash::Finished => {
                "Done: everything was reassigned and the deprovisioning is finished."
            }
            Flash::Reassigned => {
                "Everything was reassigned; the request is still pending for the reason shown."
            }
            Flash::Moved => "The new owner was set.",
            Flash::MadeAdmin => "The user is now an admin.",
            Flash::Cancelled => "The request was cancelled; the user keeps their access.",
            Flash::Deactivated => "The user was deactivated.",
            Flash::Reactivated => "The user has their access back.",
            Flash::UserReassigned => "Everything the user owned now belongs to the new owner.",
            Flash::AdminRemoved => "The user is no longer an admin.",
            Flash::SettingsSaved => "The settings were saved.",
            Flash::TokenRevoked => "The token was revoked; it stops working at once.",
            Flash::WebhookDeleted => "The webhook was removed, with its deliveries.",
            Flash::WebhookPinged => {
                "A test event (webhook.ping) is on its way; its delivery is listed below."
            }
        }
    }

    /// The message whose key is `key`, if any.
    pub fn from_key(key: &str) -> Option<Flash> {
        Flash::ALL.into_iter().find(|f| f.key() == key)
    }

    /// A redirect (303 See Other) to `path` that shows this message.
    pub fn redirect(self, path: &str) -> Response {
        Redirect::to(&format!("{path}?done={}", self.key())).into_response()
    }
}

/// The message of `?done=` on a page, if it names one; other query
/// parameters are left to the page.
#[derive(Debug, Clone, Copy)]
pub struct Done(pub Option<Flash>);

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Done {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let key = Query::<DoneQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Query(q)| q.done);
        Ok(Done(key.as_deref().and_then(Flash::from_key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_names_its_own_message_and_unknown_keys_none() {
        for flash in Flash::ALL {
            assert_eq!(Flash::from_key(flash.key()), Some(flash));
        }
        assert_eq!(Flash::from_key("<script>"), None);
        assert_eq!(Flash::from_key(""), None);
    }
}
