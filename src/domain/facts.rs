//! One typed view of a user document: what the row mapping and the
//! deprovisioning rules read, derived once.

use serde_json::Value;

use scim::resource::Document;
use scim::schema::ENTERPRISE_USER_SCHEMA;

use crate::store::AdminSource;

/// The role value that makes a user an admin (DESIGN §4), ignoring case.
const ADMIN_ROLE: &str = "admin";

/// What scimd reads from a user's SCIM document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserFacts<'a> {
    /// `userName` (required, so empty only for a document that failed
    /// validation).
    pub user_name: &'a str,
    pub external_id: Option<&'a str>,
    pub display_name: Option<&'a str>,
    /// SCIM `active`: true when absent.
    pub active: bool,
    /// `roles` holds an entry whose `value` is `admin`, ignoring case (see
    /// [`admin_after`] for whether that makes the user an admin).
    pub admin: bool,
    /// The enterprise extension's `manager.value`, when not empty.
    pub manager_id: Option<&'a str>,
    /// The `emails` values as `(value, type)`, in order.
    pub emails: Vec<(Option<&'a str>, Option<&'a str>)>,
}

impl<'a> UserFacts<'a> {
    /// Reads the facts of a user document.
    pub fn of(doc: &'a Document) -> Self {
        let text = |name: &str| doc.get(name).and_then(Value::as_str);
        UserFacts {
            user_name: text("userName").unwrap_or_default(),
            external_id: text("externalId"),
            display_name: text("displayName"),
            active: is_active(doc),
            admin: has_admin_role(doc),
            manager_id: doc
                .get(ENTERPRISE_USER_SCHEMA)
                .and_then(|e| e.get("manager"))
                .and_then(|m| m.get("value"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty()),
            emails: doc
                .get("emails")
                .and_then(Value::as_array)
                .map(|emails| {
                    emails
                        .iter()
                        .map(|e| {
                            let text = |name| e.get(name).and_then(Value::as_str);
                            (text("value"), text("type"))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The `active` of a user whose document does not say: RFC 7643 §4.1.1
/// leaves the default to the service, and a user is active unless the IdP
/// says not.
const ACTIVE_BY_DEFAULT: bool = true;

/// A user document's `active`, or the default when absent.
pub(crate) fn is_active(doc: &Document) -> bool {
    doc.get("active")
        .and_then(Value::as_bool)
        .unwrap_or(ACTIVE_BY_DEFAULT)
}

/// Writes the default `active` into a new user's document when the IdP
/// sent none, so responses say it.
pub(crate) fn default_active(doc: &mut Document) {
    doc.entry("active")
        .or_insert(Value::Bool(ACTIVE_BY_DEFAULT));
}

/// Whether a user is an admin after a write (DESIGN §4): under `idp` its
/// document's `roles` decide; under `scimd` the flag it had stays (`was`,
/// false for a new user), whatever `roles` say.
pub(crate) fn admin_after(source: AdminSource, facts: &UserFacts<'_>, was: bool) -> bool {
    match source {
        AdminSource::Idp => facts.admin,
        AdminSource::Scimd => was,
    }
}

/// Whether a user document holds the admin role, in any shape the IdPs
/// send (DESIGN §4): a role object whose `value` is `admin` (Entra's
/// `WindowsAzureActiveDirectoryRole` entries are such objects), or Entra's
/// multi-role mapping, whose `value` is the role object JSON-encoded in a
/// string (`"{\"id\":…,\"value\":\"admin\",\"displayName\":…}"`).
fn has_admin_role(doc: &Document) -> bool {
    doc.get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| roles.iter().any(role_is_admin))
}

fn role_is_admin(role: &Value) -> bool {
    let Some(value) = role.get("value").and_then(Value::as_str) else {
        return false;
    };
    if value.eq_ignore_ascii_case(ADMIN_ROLE) {
        return true;
    }
    // Only an object in a string is read again, and only one level deep.
    value.trim_start().starts_with('{')
        && serde_json::from_str::<Value>(value).is_ok_and(|inner| {
            inner
                .get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(ADMIN_ROLE))
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> Document {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_admin_role_is_a_roles_value_ignoring_case() {
        assert!(UserFacts::of(&doc(json!({"roles": [{"value": "Admin"}]}))).admin);
        assert!(!UserFacts::of(&doc(json!({"roles": [{"value": "agent"}]}))).admin);
        assert!(!UserFacts::of(&doc(json!({"roles": "admin"}))).admin);
    }

    #[test]
    fn the_admin_role_is_read_in_every_shape_entra_sends() {
        let admin = |roles: Value| UserFacts::of(&doc(json!({ "roles": roles }))).admin;
        assert!(admin(json!([{
            "primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "admin"
        }])));
        let complex = r#"{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Admin","displayName":"Admin"}"#;
        assert!(admin(json!([{ "value": complex }])));
        assert!(admin(
            json!([{"value": "agent"}, { "value": format!(" {complex}") }])
        ));
        let other = r#"{"id":"1","value":"agent","displayName":"Admin"}"#;
        assert!(
            !admin(json!([{ "value": other }])),
            "the display name is not the role"
        );
        assert!(!admin(json!([{"value": "{not json"}])));
        assert!(!admin(json!([{"value": r#"{"value":{"value":"admin"}}"#}])));
        assert!(!admin(json!([{"display": "admin"}])));
    }

    #[test]
    fn a_user_is_active_unless_the_document_says_false() {
        assert!(UserFacts::of(&doc(json!({"userName": "a"}))).active);
        assert!(!UserFacts::of(&doc(json!({"active": false}))).active);
    }

    #[test]
    fn the_manager_is_the_enterprise_manager_value_when_not_empty() {
        let with = |manager: Value| doc(json!({ ENTERPRISE_USER_SCHEMA: {"manager": manager} }));
        let d = with(json!({"value": "m1"}));
        assert_eq!(UserFacts::of(&d).manager_id, Some("m1"));
        let d = with(json!({"value": ""}));
        assert_eq!(UserFacts::of(&d).manager_id, None);
    }

    #[test]
    fn emails_keep_their_order_with_value_and_type() {
        let d = doc(json!({"emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}]}));
        assert_eq!(
            UserFacts::of(&d).emails,
            [(Some("a@x"), Some("work")), (Some("b@x"), None)]
        );
    }
}
