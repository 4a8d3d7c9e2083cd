//! Schema-driven validation of incoming resources and rendering of outgoing
//! ones (RFC 7643 §2, §3, §7).
//!
//! `normalize` turns what a client sent into the canonical document scimd
//! stores: attribute names spelled as the schema spells them, values checked
//! against their type, read-only and unknown attributes dropped, `null` and
//! `[]` treated as unassigned (RFC 7643 §2.5). `render` adds `schemas`, `id`
//! and `meta` back for the response.

use std::collections::HashSet;

use base64::Engine;
use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{Attribute, AttributeType, Mutability, ResourceSchema, Returned, Schema};

/// Most values accepted for one multi-valued attribute.
pub const MAX_VALUES: usize = 20_000;

/// A canonical resource document: attributes only, no `schemas`, `id` or `meta`.
pub type Document = Map<String, Value>;

/// Validates a client's resource body against `schema` and returns the
/// canonical document to store.
pub fn normalize(schema: &ResourceSchema, input: &Value) -> Result<Document, ScimError> {
    let Some(object) = input.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    let mut doc = Document::new();
    for (key, value) in object {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        {
            // RFC 7643 §3.1: id and meta are readOnly and ignored on input;
            // `schemas` is recomputed from the attributes present.
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            match value {
                Value::Null => {}
                Value::String(s) => {
                    no_nul(s, "externalId")?;
                    doc.insert("externalId".into(), Value::String(s.clone()));
                }
                _ => return Err(ScimError::invalid_value("externalId must be a string")),
            }
            continue;
        }
        if let Some(attribute) = core_attribute(schema, key) {
            put(&mut doc, attribute, value, &attribute.name)?;
        } else if let Some(extension) = schema.extension(key) {
            let Some(members) = value.as_object() else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "{} must be a JSON object",
                    extension.id
                )));
            };
            for (name, value) in members {
                put_extension(&mut doc, extension, name, value)?;
            }
        } else if let Some((extension, name)) = extension_prefixed(schema, key) {
            // Some clients flatten extension attributes into URN-qualified keys.
            put_extension(&mut doc, extension, name, value)?;
        }
        // Anything else is an attribute we do not know: ignored, as IdPs
        // send vendor attributes freely (conformance/README.md, Sources).
    }
    check_required(&schema.core, &doc)?;
    for extension in &schema.extensions {
        if let Some(Value::Object(members)) = doc.get(&extension.id) {
            check_required(extension, members)?;
        }
    }
    Ok(doc)
}

/// Enforces `immutable` attributes on a replace (RFC 7644 §3.5.1): a value
/// that is set may not change, and one the client left out is kept.
pub fn carry_immutable(
    schema: &ResourceSchema,
    old: &Document,
    new: &mut Document,
) -> Result<(), ScimError> {
    for attribute in &schema.core.attributes {
        if attribute.mutability != Mutability::Immutable {
            continue;
        }
        match (old.get(&attribute.name), new.get(&attribute.name)) {
            (Some(before), Some(after)) if before != after => {
                return Err(ScimError::mutability(format!(
                    "{} is immutable and cannot be changed once set",
                    attribute.name
                )));
            }
            (Some(before), None) => {
                new.insert(attribute.name.clone(), before.clone());
            }
            _ => {}
        }
    }
    Ok(())
}

/// `meta` of a rendered resource (RFC 7643 §3.1).
#[derive(Debug, Clone)]
pub struct Meta<'a> {
    pub resource_type: &'a str,
    pub created: &'a str,
    pub last_modified: &'a str,
    pub location: &'a str,
    pub version: &'a str,
}

/// Builds the full SCIM representation of a stored document.
pub fn render(schema: &ResourceSchema, id: &str, doc: &Document, meta: &Meta<'_>) -> Value {
    let mut schemas = vec![Value::String(schema.core.id.clone())];
    for extension in &schema.extensions {
        if doc.contains_key(&extension.id) {
            schemas.push(Value::String(extension.id.clone()));
        }
    }
    let mut out = Map::with_capacity(doc.len() + 3);
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id.to_owned()));
    for (key, value) in doc {
        let never = schema
            .core
            .attribute(key)
            .is_some_and(|a| a.returned == Returned::Never);
        if !never {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": meta.resource_type,
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": meta.location,
            "version": meta.version,
        }),
    );
    Value::Object(out)
}

/// A core attribute named plainly or with the core schema's URN
/// (RFC 7644 §3.10: `urn:ietf:params:scim:schemas:core:2.0:User:userName`).
fn core_attribute<'s>(schema: &'s ResourceSchema, key: &str) -> Option<&'s Attribute> {
    if let Some(attribute) = schema.core.attribute(key) {
        return Some(attribute);
    }
    let urn_len = schema.core.id.len();
    let prefix = key.get(..urn_len)?;
    let rest = key.get(urn_len..)?.strip_prefix(':')?;
    if prefix.eq_ignore_ascii_case(&schema.core.id) {
        schema.core.attribute(rest)
    } else {
        None
    }
}

fn extension_prefixed<'s, 'k>(
    schema: &'s ResourceSchema,
    key: &'k str,
) -> Option<(&'s Schema, &'k str)> {
    schema.extensions.iter().find_map(|extension| {
        let urn_len = extension.id.len();
        let prefix = key.get(..urn_len)?;
        let rest = key.get(urn_len..)?.strip_prefix(':')?;
        prefix
            .eq_ignore_ascii_case(&extension.id)
            .then_some((extension, rest))
    })
}

fn put_extension(
    doc: &mut Document,
    extension: &Schema,
    name: &str,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(attribute) = extension.attribute(name) else {
        return Ok(());
    };
    let entry = doc
        .entry(extension.id.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(members) = entry {
        let path = format!("{}:{}", extension.id, attribute.name);
        put(members, attribute, value, &path)?;
    }
    if doc
        .get(&extension.id)
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        doc.remove(&extension.id);
    }
    Ok(())
}

/// Validates `value` for `attribute` and stores it under the canonical name,
/// unless it is unassigned, read-only or never returned.
fn put(
    target: &mut Document,
    attribute: &Attribute,
    value: &Value,
    path: &str,
) -> Result<(), ScimError> {
    if attribute.mutability == Mutability::ReadOnly {
        // RFC 7644 §3.3: readOnly values in a POST/PUT body are ignored.
        return Ok(());
    }
    let Some(value) = normalize_value(attribute, value, path)? else {
        target.remove(&attribute.name);
        return Ok(());
    };
    if attribute.returned == Returned::Never {
        // scimd keeps nothing it may never return (e.g. `password`): it is not
        // a sign-in service, so a stored password would only be a liability.
        return Ok(());
    }
    target.insert(attribute.name.clone(), value);
    Ok(())
}

fn normalize_value(
    attribute: &Attribute,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() {
        return Ok(None);
    }
    if !attribute.multi_valued {
        let value = by_value(attribute, value);
        if value.is_null() {
            return Ok(None);
        }
        if value.is_array() {
            return Err(ScimError::invalid_value(format!(
                "{path} is single-valued, but an array was given"
            )));
        }
        return normalize_single(attribute, &value, path);
    }
    // Lenient: a lone value for a multi-valued attribute is taken as a list of one.
    let items = match value {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    if items.len() > MAX_VALUES {
        return Err(ScimError::invalid_value(format!(
            "{path} has {} values; at most {MAX_VALUES} are accepted",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        if item.is_null() {
            continue;
        }
        // RFC 7643 §2.4: the same value SHOULD NOT appear twice.
        if let Some(v) = normalize_single(attribute, item, path)?
            && seen.insert(v.to_string())
        {
            out.push(v);
        }
    }
    let primaries = out
        .iter()
        .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        // RFC 7643 §2.4: the primary attribute value "true" MUST appear no more than once.
        return Err(ScimError::invalid_value(format!(
            "{path} has {primaries} values marked primary; at most one may be"
        )));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// A single-valued complex attribute with a `value` sub-attribute (the
/// enterprise `manager`) as the IdPs send it: an object, a bare string
/// (Microsoft's sample, `"manager": "<id>"`; `""` clears it) or a list of
/// one (`[{"value": …}]`). The string is kept exactly as sent.
fn by_value<'v>(attribute: &Attribute, value: &'v Value) -> std::borrow::Cow<'v, Value> {
    use std::borrow::Cow;
    if attribute.kind != AttributeType::Complex || attribute.sub_attribute("value").is_none() {
        return Cow::Borrowed(value);
    }
    match value {
        Value::Array(items) if items.is_empty() => Cow::Owned(Value::Null),
        Value::Array(items) if items.len() == 1 => by_value(attribute, &items[0]),
        Value::String(s) if s.is_empty() => Cow::Owned(Value::Null),
        Value::String(s) => Cow::Owned(serde_json::json!({ "value": s })),
        other => Cow::Borrowed(other),
    }
}

fn normalize_single(
    attribute: &Attribute,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    let wrong_type =
        || ScimError::invalid_value(format!("{path} must be {}", type_phrase(attribute.kind)));
    let normalized = match attribute.kind {
        AttributeType::String | AttributeType::Reference => match value {
            Value::String(s) => {
                no_nul(s, path)?;
                value.clone()
            }
            _ => return Err(wrong_type()),
        },
        AttributeType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            // Entra ID sends "True"/"False" strings (conformance/README.md, Sources: [entra-compat]).
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong_type()),
        },
        AttributeType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            _ => return Err(wrong_type()),
        },
        AttributeType::Decimal => match value {
            Value::Number(_) => value.clone(),
            _ => return Err(wrong_type()),
        },
        AttributeType::DateTime => match value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => value.clone(),
            _ => return Err(wrong_type()),
        },
        AttributeType::Binary => match value {
            Value::String(s) if base64::engine::general_purpose::STANDARD.decode(s).is_ok() => {
                value.clone()
            }
            _ => return Err(wrong_type()),
        },
        AttributeType::Complex => {
            let Some(members) = value.as_object() else {
                return Err(wrong_type());
            };
            let mut out = Map::new();
            for (name, member) in members {
                let Some(sub) = attribute.sub_attribute(name) else {
                    continue;
                };
                let sub_path = format!("{path}.{}", sub.name);
                put(&mut out, sub, member, &sub_path)?;
            }
            for sub in &attribute.sub_attributes {
                if sub.required
                    && sub.mutability != Mutability::ReadOnly
                    && !out.contains_key(&sub.name)
                {
                    return Err(ScimError::invalid_value(format!(
                        "{path}.{} is required",
                        sub.name
                    )));
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
    };
    Ok(Some(normalized))
}

/// Text may not contain NUL: databases cannot store it, and no identity
/// value needs it.
fn no_nul(text: &str, path: &str) -> Result<(), ScimError> {
    if text.contains('\0') {
        return Err(ScimError::invalid_value(format!(
            "{path} contains a NUL character"
        )));
    }
    Ok(())
}

fn check_required(schema: &Schema, doc: &Document) -> Result<(), ScimError> {
    for attribute in &schema.attributes {
        if attribute.required
            && attribute.mutability != Mutability::ReadOnly
            && !doc.contains_key(&attribute.name)
        {
            return Err(ScimError::invalid_value(format!(
                "{} is required",
                attribute.name
            )));
        }
    }
    Ok(())
}

fn type_phrase(kind: AttributeType) -> &'static str {
    match kind {
        AttributeType::String => "a string",
        AttributeType::Boolean => "a boolean (true or false)",
        AttributeType::Decimal => "a number",
        AttributeType::Integer => "an integer",
        AttributeType::DateTime => "a date-time such as 2026-01-23T04:56:22Z",
        AttributeType::Binary => "base64-encoded binary",
        AttributeType::Reference => "a URI reference string",
        AttributeType::Complex => "a JSON object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Schemas;
    use crate::schema::ENTERPRISE_USER_SCHEMA;

    fn manager_of(manager: Value) -> Result<Option<Value>, ScimError> {
        let schemas = Schemas::load().expect("schemas");
        let body = json!({"userName": "a", ENTERPRISE_USER_SCHEMA: {"manager": manager}});
        let doc = normalize(&schemas.user, &body)?;
        Ok(doc
            .get(ENTERPRISE_USER_SCHEMA)
            .and_then(|e| e.get("manager"))
            .cloned())
    }

    #[test]
    fn a_manager_is_accepted_as_an_object_a_bare_string_or_a_list_of_one() {
        let expected = Some(json!({"value": "00u1b2c3"}));
        assert_eq!(
            manager_of(json!({"value": "00u1b2c3"})).ok(),
            Some(expected.clone())
        );
        assert_eq!(manager_of(json!("00u1b2c3")).ok(), Some(expected.clone()));
        assert_eq!(
            manager_of(json!([{"value": "00u1b2c3"}])).ok(),
            Some(expected.clone())
        );
        assert_eq!(manager_of(json!(["00u1b2c3"])).ok(), Some(expected));
        assert_eq!(
            manager_of(json!(" Mixed Case ")).ok(),
            Some(Some(json!({"value": " Mixed Case "}))),
            "kept exactly as sent"
        );
        assert_eq!(manager_of(json!("")).ok(), Some(None), "empty clears");
        assert_eq!(manager_of(json!([])).ok(), Some(None));
    }

    #[test]
    fn a_manager_in_other_shapes_is_still_refused() {
        for bad in [
            json!(["a", "b"]),
            json!(42),
            json!(true),
            json!({"value": 7}),
        ] {
            let error = manager_of(bad.clone()).expect_err("refused");
            assert_eq!(
                error.scim_type,
                Some(crate::ScimType::InvalidValue),
                "{bad}"
            );
        }
    }
}
