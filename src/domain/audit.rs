//! Audit events: every provisioning change, allowed or blocked, with its
//! actor (the token's label) and the names, never the values, of the
//! attributes it touched.

use serde::Serialize;
use serde_json::Value;

use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{Action, AuditRecord, Outcome, TargetType};
use scim::resource::Document;

/// Most events one read returns.
pub const MAX_AUDIT_LIMIT: u64 = 1000;

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

    /// The tenant's newest events, all or those about `target_id`.
    pub async fn audit(
        &self,
        tenant_id: &str,
        target_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, DomainError> {
        let limit = super::page_limit(limit, MAX_AUDIT_LIMIT)?;
        let events = self.store.audit_events(tenant_id, target_id, limit).await?;
        let user_ids: Vec<&str> = events
            .iter()
            .filter(|e| e.target_type == TargetType::User)
            .filter_map(|e| e.target_id.as_deref())
            .collect();
        let existing = self.store.existing_users(tenant_id, &user_ids).await?;
        Ok(events
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
            .collect())
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
