//! Reading a PatchOp body: `op` and `Operations` in any case, paths parsed,
//! path-less operations expanded into one operation per attribute.

use serde_json::{Map, Value};

use super::{MAX_OPERATIONS, OpKind, Operation, invalid_path, no_target};
use crate::error::ScimError;
use crate::filter::parse_patch_path;
use crate::schema::ResourceSchema;

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
