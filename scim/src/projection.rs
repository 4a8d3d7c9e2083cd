//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9),
//! honouring each attribute's `returned` characteristic.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::parse_path;
use super::path::{Resolved, definition, resolve};
use super::schema::{ResourceSchema, Returned};

/// One entry of an attribute list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// An attribute or sub-attribute.
    Attribute(Resolved),
    /// A whole extension, named by its URN.
    Extension(String),
}

/// Which attributes a response carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Projection {
    /// The default set: every attribute whose `returned` is not `request`.
    #[default]
    Default,
    /// `attributes`: only these, plus those returned `always`.
    Only(Vec<Selector>),
    /// `excludedAttributes`: the default set without these.
    Except(Vec<Selector>),
}

impl Projection {
    /// Reads the comma-separated lists; `attributes` wins when both are
    /// given. Names the schema does not know are ignored.
    pub fn new(
        schema: &ResourceSchema,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let selectors = |list: &str| -> Vec<Selector> {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|s| selector(schema, s))
                .collect()
        };
        Ok(match (attributes, excluded) {
            (Some(list), _) if !list.trim().is_empty() => Projection::Only(selectors(list)),
            (_, Some(list)) if !list.trim().is_empty() => Projection::Except(selectors(list)),
            _ => Projection::Default,
        })
    }

    /// Whether the response can contain the core attribute `name`, so
    /// callers skip loading what will not be shown (e.g. `members`).
    pub fn wants(&self, name: &str) -> bool {
        let names = |s: &Selector| matches!(s, Selector::Attribute(r) if r.extension.is_none() && r.name == name);
        match self {
            Projection::Default => true,
            Projection::Only(list) => list.iter().any(names),
            Projection::Except(list) => !list
                .iter()
                .any(|s| names(s) && matches!(s, Selector::Attribute(r) if r.sub.is_none())),
        }
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, schema: &ResourceSchema, resource: &mut Value) {
        let Some(object) = resource.as_object_mut() else {
            return;
        };
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            let Some(extension) = schema.extension(&key) else {
                continue;
            };
            let whole = Selector::Extension(extension.id.clone());
            let keep_whole = match self {
                Projection::Default => true,
                Projection::Only(list) => list.contains(&whole),
                Projection::Except(list) => !list.contains(&whole),
            };
            if keep_whole {
                continue;
            }
            let urn = extension.id.clone();
            let mut emptied = false;
            if let Some(Value::Object(members)) = object.get_mut(&key) {
                self.project_members(schema, Some(&urn), members);
                emptied = members.is_empty();
            }
            if emptied || matches!(self, Projection::Except(l) if l.contains(&whole)) {
                object.shift_remove(&key);
            }
        }
        // Extension objects do not resolve as attribute names, so this
        // leaves them as decided above.
        self.project_members(schema, None, object);
    }

    /// Projects the attributes in `members` (the resource's top level, or
    /// an extension's object when `extension` is set).
    fn project_members(
        &self,
        schema: &ResourceSchema,
        extension: Option<&str>,
        members: &mut Map<String, Value>,
    ) {
        let names: Vec<String> = members.keys().cloned().collect();
        for name in names {
            let resolved = match extension {
                Some(urn) => resolve(schema, &path(Some(urn), &name, None)),
                None => resolve(schema, &path(None, &name, None)),
            };
            let Some(resolved) = resolved else {
                continue;
            };
            let returned = definition(schema, &resolved).map_or(Returned::Default, |a| a.returned);
            if returned == Returned::Always {
                continue;
            }
            let same = |r: &Resolved| r.extension == resolved.extension && r.name == resolved.name;
            match self {
                Projection::Default => {
                    if returned == Returned::Request {
                        members.shift_remove(&name);
                    }
                }
                Projection::Only(list) => {
                    let wanted: Vec<&Resolved> = list
                        .iter()
                        .filter_map(|s| match s {
                            Selector::Attribute(r) if same(r) => Some(r),
                            _ => None,
                        })
                        .collect();
                    if wanted.is_empty() {
                        members.shift_remove(&name);
                    } else if wanted.iter().all(|r| r.sub.is_some()) {
                        let subs: Vec<&str> =
                            wanted.iter().filter_map(|r| r.sub.as_deref()).collect();
                        if let Some(value) = members.get_mut(&name) {
                            retain_subs(value, |sub| subs.contains(&sub));
                        }
                    }
                }
                Projection::Except(list) => {
                    for selector in list {
                        let Selector::Attribute(r) = selector else {
                            continue;
                        };
                        if !same(r) {
                            continue;
                        }
                        match &r.sub {
                            None => {
                                members.shift_remove(&name);
                            }
                            Some(sub) => {
                                if let Some(value) = members.get_mut(&name) {
                                    retain_subs(value, |s| s != sub);
                                }
                            }
                        }
                    }
                    if returned == Returned::Request {
                        members.shift_remove(&name);
                    }
                }
            }
        }
    }
}

fn path(urn: Option<&str>, name: &str, sub: Option<&str>) -> super::filter::AttrPath {
    super::filter::AttrPath {
        urn: urn.map(str::to_owned),
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    }
}

fn selector(schema: &ResourceSchema, text: &str) -> Option<Selector> {
    if let Some(extension) = schema.extension(text) {
        return Some(Selector::Extension(extension.id.clone()));
    }
    resolve(schema, &parse_path(text)?).map(Selector::Attribute)
}

/// Keeps the sub-attributes of a complex value (or of each value of a
/// multi-valued one) for which `keep` is true.
fn retain_subs(value: &mut Value, keep: impl Fn(&str) -> bool) {
    match value {
        Value::Object(members) => members.retain(|k, _| keep(k)),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(members) = item {
                    members.retain(|k, _| keep(k));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "1",
            "userName": "ann",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "a@x.test", "type": "work"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "costCenter": "9"},
            "meta": {"resourceType": "User"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let schemas = Schemas::load().expect("schemas");
        let projection = Projection::new(&schemas.user, attributes, excluded).expect("valid");
        let mut resource = user();
        projection.apply(&schemas.user, &mut resource);
        resource
    }

    #[test]
    fn attributes_keep_only_what_is_named_plus_what_is_always_returned() {
        let out = project(
            Some(
                "userName,name.givenName,EMAILS.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
            None,
        );
        assert_eq!(out["id"], "1");
        assert_eq!(out["userName"], "ann");
        assert_eq!(out["name"], json!({"givenName": "Ann"}));
        assert_eq!(out["emails"], json!([{"value": "a@x.test"}]));
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            json!({"department": "Sales"})
        );
        assert!(out.get("meta").is_none());
        assert!(out.get("schemas").is_some());
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_id() {
        let out = project(
            None,
            Some(
                "name.familyName,emails,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ),
        );
        assert_eq!(out["id"], "1");
        assert_eq!(out["name"], json!({"givenName": "Ann"}));
        assert!(out.get("emails").is_none());
        assert!(
            out.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
                .is_none()
        );
        assert_eq!(out["userName"], "ann");
    }

    #[test]
    fn wants_tells_whether_an_attribute_can_appear() {
        let schemas = Schemas::load().expect("schemas");
        let group = &schemas.group;
        assert!(
            !Projection::new(group, None, Some("members"))
                .expect("ok")
                .wants("members")
        );
        assert!(
            Projection::new(group, None, Some("members.display"))
                .expect("ok")
                .wants("members")
        );
        assert!(
            !Projection::new(group, Some("displayName"), None)
                .expect("ok")
                .wants("members")
        );
        assert!(
            Projection::new(group, Some("members.value"), None)
                .expect("ok")
                .wants("members")
        );
        assert!(Projection::default().wants("members"));
    }
}
