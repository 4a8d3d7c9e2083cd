//! Edits of attribute values: whole attributes, sub-attributes and value
//! paths, with the multi-valued rules (merge, one primary) and the IdP
//! dialects (manager as a bare id, work e-mail created on demand).

use serde_json::{Map, Value};

use super::apply::holder_mut;
use super::index::ValueIndex;
use super::{OpKind, Operation, invalid_path, no_target};
use crate::error::ScimError;
use crate::eval::compile_within;
use crate::filter::{CompareOp, Filter};
use crate::path::Resolved;
use crate::resource::Document;
use crate::schema::{Attribute, AttributeType, ResourceSchema};

/// `manager` may come as a bare id or a list of one; `""` clears it
/// (conformance/README.md, Sources: [entra-compat], [scim-sdk-686]).
fn manager_value(top: &Attribute, value: &Value) -> Option<Value> {
    let is_manager = top.name == "manager" && top.kind == AttributeType::Complex;
    match value {
        Value::Array(items) if is_manager && items.len() == 1 => manager_value(top, &items[0]),
        Value::String(s) if is_manager && s.is_empty() => None,
        Value::String(s) if is_manager => Some(serde_json::json!({ "value": s })),
        Value::Object(o)
            if is_manager && o.get("value").is_some_and(|v| v == "" || v.is_null()) =>
        {
            None
        }
        Value::Null => None,
        other => Some(other.clone()),
    }
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.iter().filter(|v| !v.is_null()).cloned().collect(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// RFC 7644 §3.5.2: a value written as primary makes the others not primary.
fn one_primary(items: &mut [Value], written: &[usize]) {
    if !written
        .iter()
        .any(|&i| truthy(items.get(i).and_then(|v| v.get("primary"))))
    {
        return;
    }
    let mut was_written = vec![false; items.len()];
    for &i in written {
        if let Some(slot) = was_written.get_mut(i) {
            *slot = true;
        }
    }
    for (item, written) in items.iter_mut().zip(was_written) {
        if !written
            && truthy(item.get("primary"))
            && let Value::Object(members) = item
        {
            members.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// add/replace/remove of a whole attribute.
pub(super) fn whole(
    doc: &mut Document,
    resolved: &Resolved,
    top: &Attribute,
    operation: &Operation,
) -> Result<(), ScimError> {
    let name = top.name.clone();
    let value = operation.value.as_ref().unwrap_or(&Value::Null);
    let container = holder_mut(doc, resolved);
    match operation.op {
        OpKind::Remove if top.multi_valued && !value.is_null() => {
            // A `value` list with remove names the values to take out.
            let doomed = Doomed::new(as_list(value));
            if let Some(Value::Array(items)) = container.get_mut(&name) {
                items.retain(|item| !doomed.matches(item));
                if items.is_empty() {
                    container.shift_remove(&name);
                }
            }
        }
        OpKind::Remove => {
            container.shift_remove(&name);
        }
        OpKind::Add if top.multi_valued => {
            let mut items = match container.shift_remove(&name) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let mut written = Vec::new();
            // Looked up, not scanned: adding n values to m costs n + m.
            let mut index = ValueIndex::of(&items);
            for new in as_list(value) {
                match index.position(&items, &new) {
                    Some(existing) => written.push(existing),
                    None => {
                        index.insert(items.len(), &new);
                        items.push(new);
                        written.push(items.len() - 1);
                    }
                }
            }
            one_primary(&mut items, &written);
            if !items.is_empty() {
                container.insert(name, Value::Array(items));
            }
        }
        OpKind::Replace if top.multi_valued => {
            let mut items = as_list(value);
            let written: Vec<usize> = (0..items.len()).collect();
            one_primary(&mut items, &written);
            if items.is_empty() {
                container.shift_remove(&name);
            } else {
                container.insert(name, Value::Array(items));
            }
        }
        OpKind::Add | OpKind::Replace => match manager_value(top, value) {
            None => {
                container.shift_remove(&name);
            }
            Some(Value::Object(new)) if top.kind == AttributeType::Complex => {
                // Supplied sub-attributes replace, the others stay (§3.5.2.3).
                let merged = match container.get(&name) {
                    Some(Value::Object(old)) => {
                        let mut merged = old.clone();
                        for (k, v) in new {
                            merged.insert(k, v);
                        }
                        merged
                    }
                    _ => new,
                };
                container.insert(name, Value::Object(merged));
            }
            Some(other) => {
                container.insert(name, other);
            }
        },
    }
    Ok(())
}

/// The values a `remove` with a value list names. A stored value matches
/// one when they are equal, or when their `value`s are equal (a value that
/// is no object is its own `value`); both are looked up, not scanned.
struct Doomed {
    whole: Vec<Value>,
    whole_index: ValueIndex,
    keys: Vec<Value>,
    keys_index: ValueIndex,
}

impl Doomed {
    fn new(whole: Vec<Value>) -> Self {
        let keys: Vec<Value> = whole.iter().filter_map(|v| key(v).cloned()).collect();
        Doomed {
            whole_index: ValueIndex::of(&whole),
            keys_index: ValueIndex::of(&keys),
            whole,
            keys,
        }
    }

    fn matches(&self, item: &Value) -> bool {
        self.whole_index.contains(&self.whole, item)
            || key(item).is_some_and(|k| self.keys_index.contains(&self.keys, k))
    }
}

/// What a value is compared by when removed by value: its `value`, or the
/// value itself when it is no object.
fn key(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(members) => members.get("value"),
        other => Some(other),
    }
}

/// `name.givenName`, or `emails.value` on every value.
pub(super) fn sub_attribute(
    doc: &mut Document,
    resolved: &Resolved,
    top: &Attribute,
    sub: &str,
    operation: &Operation,
) -> Result<(), ScimError> {
    let name = top.name.clone();
    let container = holder_mut(doc, resolved);
    let value = operation.value.clone().unwrap_or(Value::Null);
    let set = |object: &mut Map<String, Value>| match (operation.op, &value) {
        (OpKind::Remove, _) | (_, Value::Null) => {
            object.shift_remove(sub);
        }
        (OpKind::Add | OpKind::Replace, v) => {
            object.insert(sub.to_owned(), v.clone());
        }
    };
    match container.get_mut(&name) {
        Some(Value::Object(object)) => set(object),
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                if let Value::Object(object) = item {
                    set(object);
                }
            }
        }
        _ if operation.op == OpKind::Remove => {}
        _ => {
            let mut object = Map::new();
            set(&mut object);
            let created = if top.multi_valued {
                Value::Array(vec![Value::Object(object)])
            } else {
                Value::Object(object)
            };
            container.insert(name.clone(), created);
        }
    }
    drop_empty(container, &name);
    Ok(())
}

fn drop_empty(container: &mut Map<String, Value>, name: &str) {
    let empty = match container.get_mut(name) {
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Array(items)) => {
            items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
            items.is_empty()
        }
        Some(Value::Null) => true,
        _ => false,
    };
    if empty {
        container.shift_remove(name);
    }
}

/// `emails[type eq "work"]` and `emails[type eq "work"].value`.
#[allow(clippy::too_many_arguments)]
pub(super) fn filtered(
    schema: &ResourceSchema,
    doc: &mut Document,
    resolved: &Resolved,
    top: &Attribute,
    filter: &Filter,
    sub: Option<&str>,
    operation: &Operation,
) -> Result<(), ScimError> {
    if top.kind != AttributeType::Complex || resolved.sub.is_some() {
        return Err(invalid_path(format!(
            "{}[…] needs a complex attribute",
            top.name
        )));
    }
    let sub = match sub {
        Some(s) => Some(
            top.sub_attribute(s)
                .ok_or_else(|| invalid_path(format!("{} has no sub-attribute {s}", top.name)))?
                .name
                .clone(),
        ),
        None => None,
    };
    let query =
        compile_within(filter, schema, top).map_err(|e| ScimError::invalid_filter(e.detail))?;
    let name = top.name.clone();
    let container = holder_mut(doc, resolved);
    // A single-valued complex attribute (e.g. `manager[value eq "x"]`) is a
    // list of one here.
    let single = !top.multi_valued;
    let mut items: Vec<Value> = match container.shift_remove(&name) {
        Some(Value::Array(items)) => items,
        Some(object @ Value::Object(_)) => vec![object],
        _ => Vec::new(),
    };
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| query.matches(&items[i]))
        .collect();
    let value = operation.value.clone().unwrap_or(Value::Null);
    let mut written = Vec::new();
    match (operation.op, &sub) {
        (OpKind::Remove, None) => {
            let mut doomed = vec![false; items.len()];
            for &i in &matched {
                doomed[i] = true;
            }
            let mut doomed = doomed.into_iter();
            items.retain(|_| !doomed.next().unwrap_or(false));
        }
        (OpKind::Remove, Some(sub)) => {
            for &i in &matched {
                if let Value::Object(object) = &mut items[i] {
                    object.shift_remove(sub);
                }
            }
        }
        (OpKind::Add | OpKind::Replace, Some(sub)) if matched.is_empty() => {
            // Entra ID: `emails[type eq "work"].value` with no work e-mail yet
            // creates one, built from the filter's equalities.
            let mut object = Map::new();
            if !equalities(top, filter, &mut object) {
                return Err(no_target(format!(
                    "no value of {name} matches the path's filter"
                )));
            }
            object.insert(sub.clone(), value);
            items.push(Value::Object(object));
            written.push(items.len() - 1);
        }
        (OpKind::Add | OpKind::Replace, Some(sub)) => {
            for &i in &matched {
                if let Value::Object(object) = &mut items[i] {
                    object.insert(sub.clone(), value.clone());
                }
                written.push(i);
            }
        }
        (OpKind::Add | OpKind::Replace, None) => {
            if matched.is_empty() {
                return Err(no_target(format!(
                    "no value of {name} matches the path's filter"
                )));
            }
            let Value::Object(new) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{name}[…] must be given an object"
                )));
            };
            for &i in &matched {
                let replacement = match (operation.op, &items[i]) {
                    (OpKind::Add, Value::Object(old)) => {
                        let mut merged = old.clone();
                        for (k, v) in &new {
                            merged.insert(k.clone(), v.clone());
                        }
                        merged
                    }
                    _ => new.clone(),
                };
                items[i] = Value::Object(replacement);
                written.push(i);
            }
        }
    }
    one_primary(&mut items, &written);
    items.retain(|i| !matches!(i, Value::Object(o) if o.is_empty()));
    if single {
        if let Some(object) = items.into_iter().next() {
            container.insert(name, object);
        }
    } else if !items.is_empty() {
        container.insert(name, Value::Array(items));
    }
    Ok(())
}

/// The `sub eq "x"` leaves of an `and` tree, as an object of `top`'s
/// sub-attributes spelled as the schema spells them; false when the filter
/// says more than equalities.
fn equalities(top: &Attribute, filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            let Some(sub) = top.sub_attribute(&path.name) else {
                return false;
            };
            out.insert(sub.name.clone(), typed(sub, value));
            true
        }
        Filter::And(a, b) => equalities(top, a, out) && equalities(top, b, out),
        _ => false,
    }
}

/// A filter's comparison value as the attribute stores it: Entra ID's
/// `roles[primary eq "True"]` creates a role whose `primary` is `true`.
fn typed(attribute: &Attribute, value: &Value) -> Value {
    match (attribute.kind, value) {
        (AttributeType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => {
            Value::Bool(true)
        }
        (AttributeType::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => {
            Value::Bool(false)
        }
        _ => value.clone(),
    }
}
