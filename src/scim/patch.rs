//! The PATCH engine (RFC 7644 §3.5.2): a pure function from a resource
//! document and a list of operations to a new document or a SCIM error.
//!
//! Operations apply in order, each to the result of the one before; any
//! error discards them all. The result is validated again by
//! `resource::normalize`, so a PATCH can never store what a PUT could not.
//!
//! Accepted by default, as Okta and Entra ID send it (SCIM-NOTES §7):
//! `op` and `Operations` in any case; `"True"`/`"False"` strings; path-less
//! `add`/`replace` whose keys are paths (dotted or URN-prefixed); `manager`
//! as a bare id, cleared by `""` or `null`; `remove` of a multi-valued
//! attribute with a `value` list removes only those values; `add`/`replace`
//! of `emails[type eq "work"].value` creates the work e-mail when there is
//! none (RFC 7644 §3.5.2.3 would answer `noTarget`); a path-less `replace`
//! carrying the resource's own `id` (Okta's group rename).

use serde_json::{Map, Value};

use super::error::{ScimError, ScimType};
use super::eval::compile_within;
use super::filter::{AttrPath, CompareOp, Filter, PatchPath, parse_patch_path};
use super::path::{Resolved, definition, resolve};
use super::resource::{Document, normalize};
use super::schema::{Attribute, AttributeType, Mutability, ResourceSchema};

/// URN of the PatchOp message.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

/// One operation with its target parsed.
#[derive(Debug, Clone)]
pub struct Operation {
    pub op: OpKind,
    pub path: PatchPath,
    pub value: Option<Value>,
    /// Came from a key of a path-less `add`/`replace`: unknown and
    /// read-only attributes are ignored there, as in a POST body.
    pub lenient: bool,
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError {
        status: 400,
        scim_type: Some(ScimType::InvalidPath),
        detail: detail.into(),
    }
}

fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError {
        status: 400,
        scim_type: Some(ScimType::NoTarget),
        detail: detail.into(),
    }
}

/// Reads a PatchOp body into operations, expanding path-less ones into one
/// operation per attribute.
pub fn parse_request(schema: &ResourceSchema, body: &Value) -> Result<Vec<Operation>, ScimError> {
    let object = body.as_object().ok_or_else(|| {
        ScimError::invalid_syntax("a PATCH body is a JSON object with `Operations`")
    })?;
    let operations = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::invalid_syntax("a PATCH body needs a non-empty `Operations` array")
        })?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "a PATCH may carry at most {MAX_OPERATIONS} operations"
        )));
    }
    let mut out = Vec::with_capacity(operations.len());
    for (index, operation) in operations.iter().enumerate() {
        let member = |name: &str| {
            operation
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let op = match member("op").and_then(Value::as_str) {
            Some(op) if op.eq_ignore_ascii_case("add") => OpKind::Add,
            Some(op) if op.eq_ignore_ascii_case("remove") => OpKind::Remove,
            Some(op) if op.eq_ignore_ascii_case("replace") => OpKind::Replace,
            _ => {
                return Err(ScimError::invalid_syntax(format!(
                    "operation {index}: `op` must be add, remove or replace"
                )));
            }
        };
        let value = member("value").cloned();
        match member("path") {
            Some(Value::String(text)) if !text.trim().is_empty() => {
                let path = parse_patch_path(text.trim())
                    .map_err(|e| invalid_path(format!("operation {index}: invalid path {e}")))?;
                if op != OpKind::Remove && value.is_none() {
                    return Err(ScimError::invalid_value(format!(
                        "operation {index}: {text} needs a `value`"
                    )));
                }
                out.push(Operation {
                    op,
                    path,
                    value,
                    lenient: false,
                });
            }
            None | Some(Value::Null) | Some(Value::String(_)) => {
                if op == OpKind::Remove {
                    // RFC 7644 §3.5.2.2: remove without a path → noTarget.
                    return Err(no_target(format!(
                        "operation {index}: remove needs a `path`"
                    )));
                }
                let Some(Value::Object(members)) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "operation {index}: without a path, `value` must be an object of attributes"
                    )));
                };
                expand(schema, op, &members, &mut out)?;
            }
            Some(_) => {
                return Err(invalid_path(format!(
                    "operation {index}: `path` must be a string"
                )));
            }
        }
    }
    Ok(out)
}

/// One operation per key of a path-less value; keys may be paths.
fn expand(
    schema: &ResourceSchema,
    op: OpKind,
    members: &Map<String, Value>,
    out: &mut Vec<Operation>,
) -> Result<(), ScimError> {
    for (key, value) in members {
        if ["schemas", "meta"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        {
            continue;
        }
        if let Some(extension) = schema.extension(key) {
            if let Value::Object(inner) = value {
                for (name, value) in inner {
                    let path = format!("{}:{name}", extension.id);
                    push_lenient(op, &path, value, out);
                }
            }
            continue;
        }
        push_lenient(op, key, value, out);
    }
    Ok(())
}

fn push_lenient(op: OpKind, key: &str, value: &Value, out: &mut Vec<Operation>) {
    // A key that is no valid path is an unknown attribute: ignored.
    if let Ok(path) = parse_patch_path(key) {
        out.push(Operation {
            op,
            path,
            value: Some(value.clone()),
            lenient: true,
        });
    }
}

/// Applies `operations` to `doc` (the stored document of resource `id`)
/// and returns the validated result.
pub fn apply(
    schema: &ResourceSchema,
    id: &str,
    doc: &Document,
    operations: &[Operation],
) -> Result<Document, ScimError> {
    let mut out = doc.clone();
    for operation in operations {
        apply_one(schema, id, &mut out, operation)?;
    }
    normalize(schema, &Value::Object(out))
}

/// Whether an operation targets a group's `members`, which live in rows.
pub fn targets_members(operation: &Operation) -> bool {
    operation.path.attr.urn.is_none() && operation.path.attr.name.eq_ignore_ascii_case("members")
}

/// A change to a group's member rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<String>),
}

/// Turns an operation on `members` into a change of member rows.
pub fn member_change(operation: &Operation) -> Result<MemberChange, ScimError> {
    let path = &operation.path;
    if path.attr.sub.is_some() || path.sub.is_some() {
        return Err(invalid_path(
            "members can only be added or removed whole: use `members` or `members[value eq \"…\"]`",
        ));
    }
    let ids = |value: &Option<Value>| -> Result<Vec<String>, ScimError> {
        let items: Vec<&Value> = match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(single) => vec![single],
        };
        items
            .into_iter()
            .map(|item| {
                item.get("value")
                    .and_then(Value::as_str)
                    .or_else(|| item.as_str())
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ScimError::invalid_value(
                            "every member needs a `value`: the id of a user or group",
                        )
                    })
            })
            .collect()
    };
    match (operation.op, &path.filter) {
        (OpKind::Add, None) => Ok(MemberChange::Add(ids(&operation.value)?)),
        (OpKind::Replace, None) => Ok(MemberChange::Replace(ids(&operation.value)?)),
        (OpKind::Remove, None) => match &operation.value {
            // Entra and Okta: `remove members` with a value list removes
            // only those members, never the whole group.
            Some(value) if !value.is_null() => Ok(MemberChange::Remove(ids(&operation.value)?)),
            _ => Ok(MemberChange::RemoveAll),
        },
        (OpKind::Remove, Some(filter)) => {
            let mut values = Vec::new();
            if !value_equalities(filter, &mut values) {
                return Err(ScimError::invalid_filter(
                    "members can be removed by `value eq \"…\"` (joined with `or`) only",
                ));
            }
            Ok(MemberChange::Remove(values))
        }
        (OpKind::Add | OpKind::Replace, Some(_)) => Err(invalid_path(
            "add or replace members with path `members` and a list of values",
        )),
    }
}

/// Collects `value eq "x"` leaves joined by `or`; false for anything else.
fn value_equalities(filter: &Filter, out: &mut Vec<String>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(v),
        } if path.is("value", None) => {
            out.push(v.clone());
            true
        }
        Filter::Or(a, b) => value_equalities(a, out) && value_equalities(b, out),
        _ => false,
    }
}

struct Target<'s> {
    resolved: Resolved,
    top: &'s Attribute,
}

fn target<'s>(schema: &'s ResourceSchema, path: &AttrPath) -> Option<Target<'s>> {
    let resolved = resolve(schema, path)?;
    let top = definition(schema, &resolved)?;
    Some(Target { resolved, top })
}

fn apply_one(
    schema: &ResourceSchema,
    id: &str,
    doc: &mut Document,
    operation: &Operation,
) -> Result<(), ScimError> {
    let path = &operation.path;
    if path.attr.urn.is_none()
        && path.attr.sub.is_none()
        && path.attr.name.eq_ignore_ascii_case("id")
    {
        // Okta renames groups with a path-less replace that repeats the id.
        return match &operation.value {
            Some(Value::String(v)) if v == id && operation.op != OpKind::Remove => Ok(()),
            _ => Err(ScimError::mutability(
                "id is read-only and cannot be changed",
            )),
        };
    }
    if let Some(extension) = whole_extension(schema, path) {
        return apply_to_extension(schema, id, doc, extension, operation);
    }
    let Some(Target { resolved, top }) = target(schema, &path.attr) else {
        if operation.lenient {
            return Ok(());
        }
        return Err(invalid_path(format!(
            "{} has no attribute {}",
            schema.name, path.attr
        )));
    };
    let leaf = match &resolved.sub {
        Some(sub) => top.sub_attribute(sub),
        None => Some(top),
    };
    let read_only = top.mutability == Mutability::ReadOnly
        || leaf.is_some_and(|l| l.mutability == Mutability::ReadOnly);
    if read_only {
        if operation.lenient {
            return Ok(());
        }
        return Err(ScimError::mutability(format!("{} is read-only", path.attr)));
    }
    let before = holder(doc, &resolved)
        .and_then(|h| h.get(&top.name))
        .cloned();
    match (&path.filter, &resolved.sub) {
        (None, None) => whole(doc, &resolved, top, operation)?,
        (None, Some(sub)) => sub_attribute(doc, &resolved, top, sub, operation)?,
        (Some(filter), _) => filtered(
            schema,
            doc,
            &resolved,
            top,
            filter,
            path.sub.as_deref(),
            operation,
        )?,
    }
    let after = holder(doc, &resolved)
        .and_then(|h| h.get(&top.name))
        .cloned();
    if top.mutability == Mutability::Immutable && before.is_some() && before != after {
        return Err(ScimError::mutability(format!(
            "{} is immutable and cannot be changed once set",
            top.name
        )));
    }
    if top.required && after.is_none() {
        return Err(ScimError::mutability(format!(
            "{} is required and cannot be removed",
            top.name
        )));
    }
    if let Some(extension) = &resolved.extension
        && doc
            .get(extension)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
    {
        doc.shift_remove(extension);
    }
    Ok(())
}

/// The extension a path names whole (`urn:…:enterprise:2.0:User`), which
/// the attribute-path grammar would otherwise read as attribute `User`.
fn whole_extension<'s>(schema: &'s ResourceSchema, path: &PatchPath) -> Option<&'s str> {
    let urn = path.attr.urn.as_deref()?;
    if path.attr.sub.is_some() || path.filter.is_some() {
        return None;
    }
    schema
        .extension(&format!("{urn}:{}", path.attr.name))
        .map(|e| e.id.as_str())
}

/// An operation on a whole extension: `remove` drops it; `add` and
/// `replace` apply to each attribute of the value, as for a complex
/// attribute (RFC 7644 §3.5.2.1, §3.5.2.3).
fn apply_to_extension(
    schema: &ResourceSchema,
    id: &str,
    doc: &mut Document,
    extension: &str,
    operation: &Operation,
) -> Result<(), ScimError> {
    if operation.op == OpKind::Remove {
        doc.shift_remove(extension);
        return Ok(());
    }
    let Some(Value::Object(members)) = &operation.value else {
        return Err(ScimError::invalid_value(format!(
            "{extension} must be given an object"
        )));
    };
    for (name, value) in members {
        if name.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let nested = Operation {
            op: operation.op,
            path: PatchPath {
                attr: AttrPath {
                    urn: Some(extension.to_owned()),
                    name: name.clone(),
                    sub: None,
                },
                filter: None,
                sub: None,
            },
            value: Some(value.clone()),
            lenient: operation.lenient,
        };
        apply_one(schema, id, doc, &nested)?;
    }
    Ok(())
}

/// The object holding the attribute: the document, or its extension object.
fn holder<'d>(doc: &'d Document, resolved: &Resolved) -> Option<&'d Map<String, Value>> {
    match &resolved.extension {
        None => Some(doc),
        Some(urn) => doc.get(urn)?.as_object(),
    }
}

fn holder_mut<'d>(doc: &'d mut Document, resolved: &Resolved) -> &'d mut Map<String, Value> {
    match &resolved.extension {
        None => doc,
        Some(urn) => {
            let entry = doc
                .entry(urn.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry {
                Value::Object(map) => map,
                // Made an object just above.
                _ => unreachable!(),
            }
        }
    }
}

/// `manager` may come as a bare id; `""` clears it (SCIM-NOTES §7).
fn manager_value(top: &Attribute, value: &Value) -> Option<Value> {
    let is_manager = top.name == "manager" && top.kind == AttributeType::Complex;
    match value {
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
    for (i, item) in items.iter_mut().enumerate() {
        if !written.contains(&i)
            && truthy(item.get("primary"))
            && let Value::Object(members) = item
        {
            members.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// add/replace/remove of a whole attribute.
fn whole(
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
            let doomed = as_list(value);
            if let Some(Value::Array(items)) = container.get_mut(&name) {
                items.retain(|item| !doomed.iter().any(|d| same_value(item, d)));
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
            for new in as_list(value) {
                match items.iter().position(|item| item == &new) {
                    Some(existing) => written.push(existing),
                    None => {
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

/// Values match for removal when equal, or when their `value`s are equal.
fn same_value(item: &Value, doomed: &Value) -> bool {
    if item == doomed {
        return true;
    }
    let key = |v: &Value| {
        v.get("value")
            .cloned()
            .or_else(|| (!v.is_object()).then(|| v.clone()))
    };
    matches!((key(item), key(doomed)), (Some(a), Some(b)) if a == b)
}

/// `name.givenName`, or `emails.value` on every value.
fn sub_attribute(
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
fn filtered(
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
            let mut index = 0;
            items.retain(|_| {
                let keep = !matched.contains(&index);
                index += 1;
                keep
            });
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
            if !equalities(filter, &mut object) {
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

/// The `sub eq "x"` leaves of an `and` tree, as an object; false when the
/// filter says more than equalities.
fn equalities(filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            out.insert(path.name.clone(), value.clone());
            true
        }
        Filter::And(a, b) => equalities(a, out) && equalities(b, out),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::Schemas;
    use serde_json::json;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Document {
        let doc = json!({
            "userName": "bjensen@example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "displayName": "Babs",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            ENTERPRISE: {"department": "Sales", "manager": {"value": "m1"}}
        });
        doc.as_object().cloned().expect("object")
    }

    fn patch(doc: &Document, operations: Value) -> Result<Document, ScimError> {
        let schemas = Schemas::load().expect("schemas");
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let ops = parse_request(&schemas.user, &body)?;
        apply(&schemas.user, "u1", doc, &ops)
    }

    fn ok(operations: Value) -> Value {
        Value::Object(patch(&user(), operations).unwrap_or_else(|e| panic!("{e:?}")))
    }

    fn refused(operations: Value) -> Option<ScimType> {
        patch(&user(), operations).expect_err("refused").scim_type
    }

    #[test]
    fn replace_add_and_remove_follow_rfc_7644() {
        let out = ok(json!([{"op": "replace", "path": "displayName", "value": "Barbara J."}]));
        assert_eq!(out["displayName"], "Barbara J.");
        let out = ok(json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]));
        assert_eq!(
            out["name"],
            json!({"givenName": "Babs", "familyName": "Jensen"}),
            "unspecified sub-attributes stay"
        );
        let out = ok(
            json!([{"op": "add", "path": "emails", "value": [{"value": "b@x.test", "type": "other"}]}]),
        );
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(3));
        let out = ok(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]));
        assert_eq!(
            out["emails"],
            json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
        );
        let out = ok(json!([{"op": "remove", "path": "name.familyName"}]));
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
        let out =
            ok(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.test"}]}]));
        assert_eq!(out["emails"], json!([{"value": "only@x.test"}]));
        let out = ok(json!([{"op": "remove", "path": "emails"}]));
        assert!(out.get("emails").is_none());
        let out = ok(
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.test"}]),
        );
        assert_eq!(out["emails"][0]["value"], "new@x.test");
    }

    #[test]
    fn adding_a_value_that_is_already_there_changes_nothing() {
        let existing = json!({"value": "babs@jensen.org", "type": "home"});
        let out = ok(json!([{"op": "add", "path": "emails", "value": [existing]}]));
        assert_eq!(out, Value::Object(user()));
    }

    #[test]
    fn a_new_primary_value_clears_the_old_primary() {
        let out = ok(
            json!([{"op": "add", "path": "emails", "value": [{"value": "p@x.test", "primary": "True"}]}]),
        );
        let primaries: Vec<&Value> = out["emails"]
            .as_array()
            .expect("emails")
            .iter()
            .filter(|e| e["primary"] == json!(true))
            .collect();
        assert_eq!(primaries.len(), 1);
        assert_eq!(primaries[0]["value"], "p@x.test");
    }

    #[test]
    fn what_entra_and_okta_send_is_accepted() {
        // Capitalised op, lower-case Operations key, "False" string (Okta deactivation).
        let schemas = Schemas::load().expect("schemas");
        let body = json!({"schemas": [PATCH_OP], "operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let ops = parse_request(&schemas.user, &body).expect("parses");
        let out = apply(&schemas.user, "u1", &user(), &ops).expect("applies");
        assert_eq!(out["active"], false);
        // Okta: path-less replace with a plain object.
        let out = ok(json!([{"op": "replace", "value": {"active": false, "id": "u1"}}]));
        assert_eq!(out["active"], false);
        // Entra: path-less with dotted and URN-prefixed keys.
        let out = ok(json!([{"op": "Add", "value": {
            "name.givenName": "Barb",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
            "emails[type eq \"work\"].value": "work@x.test"
        }}]));
        assert_eq!(out["name"]["givenName"], "Barb");
        assert_eq!(out[ENTERPRISE]["department"], "R&D");
        assert_eq!(out["emails"][0]["value"], "work@x.test");
        // Entra: manager as a bare id; "" and remove of manager[value eq …] clear it.
        let manager = format!("{ENTERPRISE}:manager");
        let out = ok(json!([{"op": "replace", "path": manager, "value": "m2"}]));
        assert_eq!(out[ENTERPRISE]["manager"], json!({"value": "m2"}));
        let out = ok(json!([{"op": "replace", "path": manager, "value": ""}]));
        assert!(out[ENTERPRISE].get("manager").is_none());
        let out = ok(json!([{"op": "remove", "path": format!("{manager}[value eq \"m1\"]")}]));
        assert!(out[ENTERPRISE].get("manager").is_none());
        let out = ok(json!([{"op": "remove", "path": manager}]));
        assert!(out[ENTERPRISE].get("manager").is_none());
        // Entra: a work e-mail is created when there is none.
        let mut without = user();
        without.shift_remove("emails");
        let out = patch(
            &without,
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x.test"}]),
        )
        .expect("creates");
        assert_eq!(
            out["emails"],
            json!([{"type": "work", "value": "w@x.test"}])
        );
        // Remove with a value list removes only those values.
        let out = ok(
            json!([{"op": "remove", "path": "emails", "value": [{"value": "babs@jensen.org"}]}]),
        );
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn a_whole_extension_can_be_added_replaced_and_removed() {
        let out = ok(
            json!([{"op": "replace", "path": ENTERPRISE, "value": {"schemas": [ENTERPRISE], "costCenter": "42", "manager": {"value": "m2"}}}]),
        );
        assert_eq!(
            out[ENTERPRISE],
            json!({"department": "Sales", "manager": {"value": "m2"}, "costCenter": "42"})
        );
        let out = ok(json!([{"op": "remove", "path": ENTERPRISE}]));
        assert!(out.get(ENTERPRISE).is_none());
    }

    #[test]
    fn bad_operations_get_the_rfc_error_types() {
        assert_eq!(refused(json!([{"op": "remove"}])), Some(ScimType::NoTarget));
        assert_eq!(
            refused(
                json!([{"op": "replace", "path": "emails[type eq \"fax\"]", "value": {"value": "x"}}])
            ),
            Some(ScimType::NoTarget)
        );
        assert_eq!(
            refused(json!([{"op": "remove", "path": "userName"}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "groups", "value": []}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "value": {"id": "other"}}])),
            Some(ScimType::Mutability)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "nosuch", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "emails[type eq", "value": 1}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "displayName"}])),
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            refused(json!([{"op": "move", "path": "displayName"}])),
            Some(ScimType::InvalidSyntax)
        );
        assert_eq!(refused(json!([])), Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn path_less_operations_ignore_unknown_and_read_only_keys_as_a_post_would() {
        let out = ok(
            json!([{"op": "add", "value": {"favouriteColour": "teal", "groups": [], "meta": {}, "schemas": []}}]),
        );
        assert_eq!(out, Value::Object(user()));
    }

    #[test]
    fn member_operations_become_row_changes() {
        let schemas = Schemas::load().expect("schemas");
        let change = |operations: Value| {
            let body = json!({"schemas": [PATCH_OP], "Operations": operations});
            let ops = parse_request(&schemas.group, &body).expect("parses");
            assert!(ops.iter().all(targets_members));
            member_change(&ops[0])
        };
        assert_eq!(
            change(
                json!([{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}])
            ),
            Ok(MemberChange::Add(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            change(json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}])),
            Ok(MemberChange::Remove(vec!["a".into()])),
            "never the whole group"
        );
        assert_eq!(
            change(json!([{"op": "remove", "path": "members"}])),
            Ok(MemberChange::RemoveAll)
        );
        assert_eq!(
            change(json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}])),
            Ok(MemberChange::Remove(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            change(json!([{"op": "replace", "path": "members", "value": []}])),
            Ok(MemberChange::Replace(vec![]))
        );
        assert_eq!(
            change(json!([{"op": "replace", "value": {"members": [{"value": "c"}]}}])),
            Ok(MemberChange::Replace(vec!["c".into()]))
        );
        assert!(
            change(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}])).is_err()
        );
    }
}
