//! Schema namespaces a request uses that scimd does not publish.
//!
//! IdPs map custom attributes to extension URNs of their own (Entra:
//! `urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag`).
//! Such attributes are ignored on POST, PUT and PATCH rather than failing
//! the request (which would lose every other change in it); the functions
//! here name the namespaces so the audit log can say what was ignored.
//! Unknown attributes of a published schema are not covered: they keep the
//! strict handling of each operation.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::filter::AttrPath;
use crate::patch::Operation;
use crate::schema::ResourceSchema;

/// Whether `urn` names the resource type's core schema or one of its
/// extensions, ignoring case.
pub fn is_published(schema: &ResourceSchema, urn: &str) -> bool {
    urn.eq_ignore_ascii_case(&schema.core.id) || schema.extension(urn).is_some()
}

/// Whether `text` starts with `urn:` in any case.
fn is_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// The namespace a URN-qualified path names when scimd does not publish
/// it: `…:Custom:2.0:User` for `…:Custom:2.0:User:tag`, and for the whole
/// extension `…:Custom:2.0:User` (which the path grammar reads as
/// attribute `User` of `…:Custom:2.0`).
pub fn unknown_namespace(schema: &ResourceSchema, path: &AttrPath) -> Option<String> {
    let urn = path.urn.as_deref()?;
    let whole = format!("{urn}:{}", path.name);
    if path.sub.is_none() && is_published(schema, &whole) {
        return None;
    }
    if is_published(schema, urn) {
        return None;
    }
    let names_whole = path.sub.is_none() && path.name.eq_ignore_ascii_case(schema.name);
    Some(if names_whole { whole } else { urn.to_owned() })
}

/// The unpublished namespaces of a POST or PUT body: URN keys (whole
/// extension objects, or attributes flattened under their URN) and
/// entries of `schemas`. Sorted, each once.
pub fn unknown_in_body(schema: &ResourceSchema, body: &Value) -> Vec<String> {
    let Some(object) = body.as_object() else {
        return Vec::new();
    };
    let mut found = BTreeSet::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            let listed = value.as_array().into_iter().flatten();
            for urn in listed.filter_map(Value::as_str) {
                if is_urn(urn) && !is_published(schema, urn) {
                    found.insert(urn.to_owned());
                }
            }
            continue;
        }
        if !is_urn(key) || is_published(schema, key) {
            continue;
        }
        // A flattened attribute: its namespace is the key without the
        // attribute's name.
        let namespace = match (value, key.rsplit_once(':')) {
            (Value::Object(_), _) | (_, None) => key.as_str(),
            (_, Some((namespace, _))) => namespace,
        };
        if !is_published(schema, namespace) {
            found.insert(namespace.to_owned());
        }
    }
    found.into_iter().collect()
}

/// The unpublished namespaces the operations of a PATCH write to.
/// Sorted, each once.
pub fn unknown_in_operations(schema: &ResourceSchema, operations: &[Operation]) -> Vec<String> {
    let found: BTreeSet<String> = operations
        .iter()
        .filter_map(|op| unknown_namespace(schema, &op.path.attr))
        .collect();
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Schemas;
    use crate::patch::{PATCH_OP, parse_request};

    const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn a_body_names_the_namespaces_scimd_does_not_publish() {
        let schemas = Schemas::load().expect("schemas");
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, CUSTOM],
            "userName": "a",
            CUSTOM: {"tag": "701984"},
            "urn:example:other:1.0:User:badge": "7",
            format!("{ENTERPRISE}:department"): "R&D",
            ENTERPRISE: {"costCenter": "1"},
        });
        assert_eq!(
            unknown_in_body(&schemas.user, &body),
            ["urn:example:other:1.0:User", CUSTOM]
        );
        assert!(unknown_in_body(&schemas.user, &json!({"userName": "a"})).is_empty());
    }

    #[test]
    fn patch_operations_name_the_namespaces_scimd_does_not_publish() {
        let schemas = Schemas::load().expect("schemas");
        let operations = json!([
            {"op": "Add", "path": format!("{CUSTOM}:tag"), "value": "701984"},
            {"op": "add", "path": CUSTOM, "value": {"tag": "1"}},
            {"op": "replace", "value": {"urn:example:x:1.0:User:badge": "7", "displayName": "A"}},
            {"op": "replace", "path": format!("{ENTERPRISE}:department"), "value": "R&D"},
            {"op": "replace", "path": ENTERPRISE, "value": {"costCenter": "2"}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "B"},
        ]);
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let parsed = parse_request(&schemas.user, &body).expect("parses");
        assert_eq!(
            unknown_in_operations(&schemas.user, &parsed),
            ["urn:example:x:1.0:User", CUSTOM]
        );
    }
}
