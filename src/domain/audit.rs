//! Audit events: every provisioning change, allowed or blocked, with its
//! actor (the token's label) and the names, never the values, of the
//! attributes it touched.

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::admin_cursor::{self, AdminCursor};
use super::admin_search::given;
use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{Action, AuditRecord, AuditSearch, Outcome, TargetType};
use scim::resource::Document;

/// Milliseconds in a day, for retention.
const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The query of `GET /audit`, as the admin API receives it. Any other
/// parameter is an invalid request.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuditListQuery {
    /// Events about this user (or any target with this id).
    pub user_id: Option<String>,
    /// `allowed` or `blocked`.
    pub outcome: Option<String>,
    /// An action such as `user.deactivate`.
    pub action: Option<String>,
    /// RFC 3339: events at or after this instant.
    pub since: Option<String>,
    /// RFC 3339: events before this instant.
    pub until: Option<String>,
    /// 1 to 1000; 100 when absent.
    pub limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of events, newest first, and the cursor of the next (older)
/// page (`None` on the last).
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// The instant an RFC 3339 parameter names, in milliseconds.
fn instant(name: &str, text: Option<String>) -> Result<Option<i64>, DomainError> {
    given(text)
        .map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|at| at.timestamp_millis())
                .map_err(|_| {
                    DomainError::invalid(format!(
                        "{name} must be an RFC 3339 date-time, e.g. 2026-11-28T09:30:00Z"
                    ))
                })
        })
        .transpose()
}

impl AuditListQuery {
    /// The store's search, and the page size, after checking every value.
    fn search(self) -> Result<(AuditSearch, u64), DomainError> {
        let limit = admin_cursor::page_size(self.limit)?;
        let outcome = given(self.outcome)
            .map(|text| super::parse_state::<Outcome>("outcome", &text))
            .transpose()?;
        let action = given(self.action)
            .map(|text| {
                // The list of actions is long; the README has it.
                Action::from_text(&text)
                    .ok_or_else(|| DomainError::invalid(format!("unknown action `{text}`")))
            })
            .transpose()?;
        let before_id = given(self.cursor)
            .map(|text| admin_cursor::decode(&text))
            .transpose()?
            .map(|position| position.after);
        let search = AuditSearch {
            target_id: given(self.user_id),
            outcome,
            action,
            since: instant("since", self.since)?,
            until: instant("until", self.until)?,
            before_id,
        };
        Ok((search, limit))
    }
}

/// A user as a call record shows it: the names it had, and whether it is
/// gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRef {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub deleted: bool,
}

/// A user as an audit event shows it: the `userName` it had then, and
/// whether it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditUser {
    pub id: String,
    pub user_name: String,
    pub deleted: bool,
}

/// An audit event as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    pub attributes: Vec<String>,
    /// The user the event is about, when it is about a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<AuditUser>,
}

/// The attributes whose values differ between two versions of a
/// document: top-level names, and `urn:…:name` inside extensions.
pub(super) fn changed_attributes(old: Option<&Document>, new: Option<&Document>) -> Vec<String> {
    let empty = Document::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut names: Vec<String> = Vec::new();
    let keys = old
        .keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)));
    for key in keys {
        if matches!(key.as_str(), "id" | "meta" | "schemas") {
            continue;
        }
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        match (a, b) {
            (Some(Value::Object(a)), Some(Value::Object(b))) if key.starts_with("urn:") => {
                names.extend(
                    changed_attributes(Some(a), Some(b))
                        .into_iter()
                        .map(|sub| format!("{key}:{sub}")),
                );
            }
            _ => names.push(key.clone()),
        }
    }
    names
}

impl Domain {
    /// Builds an event by `who` on a target `(type, id, name)`.
    pub(super) fn audit_event(
        &self,
        who: &Principal,
        action: Action,
        (target_type, target_id, target_name): (TargetType, Option<&str>, Option<&str>),
        outcome: Outcome,
        detail: String,
        attributes: Vec<String>,
    ) -> AuditRecord {
        AuditRecord {
            id: 0,
            at: self.now(),
            actor: who.label.clone(),
            action,
            target_type,
            target_id: target_id.map(str::to_owned),
            target_name: target_name.map(str::to_owned),
            outcome,
            detail,
            attributes,
        }
    }

    /// Deletes every tenant's audit events older than its
    /// `audit_retention_days` as of `now` (milliseconds); returns how
    /// many went.
    pub async fn prune_audit(&self, now: i64) -> Result<u64, DomainError> {
        let mut pruned = 0;
        for (tenant_id, days) in self.store.audit_retentions().await? {
            let cutoff = now.saturating_sub(i64::from(days).saturating_mul(DAY_MILLIS));
            pruned += self.store.prune_audit(&tenant_id, cutoff).await?;
        }
        Ok(pruned)
    }

    /// A page of the tenant's events that `query` selects, newest first.
    pub async fn audit(
        &self,
        tenant_id: &str,
        query: AuditListQuery,
    ) -> Result<AuditPage, DomainError> {
        let (search, limit) = query.search()?;
        let events = self
            .store
            .audit_events(tenant_id, &search, limit + 1)
            .await?;
        let (events, next_cursor) = admin_cursor::split_page(events, limit, |last| AdminCursor {
            after: last.id,
            id: String::new(),
        });
        let user_ids: Vec<&str> = events
            .iter()
            .filter(|e| e.target_type == TargetType::User)
            .filter_map(|e| e.target_id.as_deref())
            .collect();
        let existing = self.store.existing_users(tenant_id, &user_ids).await?;
        let events = events
            .into_iter()
            .map(|e| {
                let user = match (e.target_type, &e.target_id) {
                    (TargetType::User, Some(id)) => Some(AuditUser {
                        id: id.clone(),
                        user_name: e.target_name.clone().unwrap_or_default(),
                        deleted: !existing.contains(id),
                    }),
                    _ => None,
                };
                AuditEvent {
                    id: e.id.to_string(),
                    at: format_millis(e.at),
                    actor: e.actor,
                    action: e.action,
                    target_type: e.target_type,
                    target_id: e.target_id,
                    outcome: e.outcome,
                    detail: e.detail,
                    attributes: e.attributes,
                    user,
                }
            })
            .collect();
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Document {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_the_names_of_changed_attributes_are_listed() {
        let old = doc(json!({
            "id": "1", "userName": "a", "active": true, "title": "x",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}, "department": "d"}
        }));
        let new = doc(json!({
            "id": "1", "userName": "a", "active": false, "nickName": "secret",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m2"}, "department": "d"}
        }));
        assert_eq!(
            changed_attributes(Some(&old), Some(&new)),
            vec![
                "active",
                "title",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "nickName"
            ]
        );
        assert_eq!(
            changed_attributes(None, Some(&doc(json!({"userName": "a"})))),
            vec!["userName"]
        );
    }
}
