//! Operations on a group's `members`, which live in rows of their own:
//! they become changes of those rows instead of edits of the document.

use serde_json::Value;

use super::{OpKind, Operation, invalid_path};
use crate::error::ScimError;
use crate::filter::{CompareOp, Filter};
use crate::schema::ResourceSchema;

/// Whether an operation targets a group's `members`, which live in rows:
/// the bare name or the one qualified by the core schema's URN
/// (RFC 7644 §3.10: `urn:ietf:params:scim:schemas:core:2.0:Group:members`
/// is the same attribute), so no spelling can reach the document.
pub fn targets_members(schema: &ResourceSchema, operation: &Operation) -> bool {
    let attr = &operation.path.attr;
    let core = attr
        .urn
        .as_deref()
        .is_none_or(|urn| urn.eq_ignore_ascii_case(&schema.core.id));
    core && attr.name.eq_ignore_ascii_case("members")
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
    let change = member_change_unchecked(operation)?;
    let ids = match &change {
        MemberChange::Add(ids) | MemberChange::Remove(ids) | MemberChange::Replace(ids) => {
            ids.as_slice()
        }
        MemberChange::RemoveAll => &[],
    };
    // Member ids go to the database as they are, never through
    // `normalize`: NUL is refused here, as in any other value, since
    // PostgreSQL cannot take it.
    if ids.iter().any(|id| id.contains('\0')) {
        return Err(ScimError::invalid_value(
            "a member value contains a NUL character",
        ));
    }
    Ok(change)
}

fn member_change_unchecked(operation: &Operation) -> Result<MemberChange, ScimError> {
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
