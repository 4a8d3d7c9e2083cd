//! Bulk (RFC 7644 §3.7): many operations in one request, each run through
//! exactly the domain function its single request uses, in an order that
//! resolves `bulkId` references, in its own transaction.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::tokens::Principal;
use super::{Domain, DomainError, Kind};
use scim::ScimError;
use scim::projection::Projection;

/// Most operations in one Bulk request; advertised as `maxOperations`.
pub const MAX_BULK_OPERATIONS: usize = 1000;

const BULK_ID_PREFIX: &str = "bulkId:";

/// The HTTP method of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    /// As written in requests and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone)]
struct BulkOperation {
    method: BulkMethod,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// What became of one operation.
#[derive(Debug)]
pub struct BulkOutcome {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub location: Option<String>,
    /// The version the operation left, for the operation's `version`.
    pub version: Option<i64>,
    /// The status the single request would have answered.
    pub status: u16,
    pub error: Option<DomainError>,
}

/// The parsed request: operations and `failOnErrors`.
struct BulkRequest {
    operations: Vec<BulkOperation>,
    fail_on_errors: Option<usize>,
}

fn parse(body: &Value) -> Result<BulkRequest, DomainError> {
    let object = body.as_object().ok_or_else(|| {
        ScimError::invalid_syntax("a BulkRequest is a JSON object with `Operations`")
    })?;
    let member = |o: &serde_json::Map<String, Value>, name: &str| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let Some(Value::Array(items)) = member(object, "Operations") else {
        return Err(DomainError::from(ScimError::invalid_syntax(
            "a BulkRequest needs an `Operations` array",
        )));
    };
    if items.len() > MAX_BULK_OPERATIONS {
        return Err(DomainError::TooLarge(format!(
            "this Bulk request has {} operations; maxOperations is {MAX_BULK_OPERATIONS}",
            items.len()
        )));
    }
    let fail_on_errors = match member(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0),
        Some(_) => {
            return Err(DomainError::from(ScimError::invalid_value(
                "failOnErrors must be a positive integer",
            )));
        }
    };
    let mut operations = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(op) = item.as_object() else {
            return Err(DomainError::from(ScimError::invalid_syntax(format!(
                "operation {index} is not an object"
            ))));
        };
        let text = |name| member(op, name).and_then(|v| v.as_str().map(str::to_owned));
        let method = match text("method").map(|m| m.to_ascii_uppercase()).as_deref() {
            Some("POST") => BulkMethod::Post,
            Some("PUT") => BulkMethod::Put,
            Some("PATCH") => BulkMethod::Patch,
            Some("DELETE") => BulkMethod::Delete,
            _ => {
                return Err(DomainError::from(ScimError::invalid_syntax(format!(
                    "operation {index}: method must be POST, PUT, PATCH or DELETE"
                ))));
            }
        };
        let path = text("path")
            .ok_or_else(|| ScimError::invalid_syntax(format!("operation {index} needs a path")))?;
        let bulk_id = text("bulkId");
        if method == BulkMethod::Post && bulk_id.is_none() {
            // RFC 7644 §3.7: bulkId is REQUIRED for POST.
            return Err(DomainError::from(ScimError::invalid_syntax(format!(
                "operation {index}: a POST needs a bulkId"
            ))));
        }
        operations.push(BulkOperation {
            method,
            bulk_id,
            version: text("version"),
            path,
            data: member(op, "data"),
        });
    }
    Ok(BulkRequest {
        operations,
        fail_on_errors,
    })
}

/// The bulkIds the request's operations declare: only these can be
/// referred to (RFC 7644 §3.7.2).
fn declared(operations: &[BulkOperation]) -> HashSet<&str> {
    operations
        .iter()
        .filter_map(|op| op.bulk_id.as_deref())
        .collect()
}

/// The bulkId a text refers to: only a whole `bulkId:X` whose `X` is
/// declared in the request. Anything else (`bulkId:` inside a longer
/// text, or naming no declared bulkId) is an ordinary value, kept as
/// given.
fn reference<'t>(text: &'t str, declared: &HashSet<&str>) -> Option<&'t str> {
    text.strip_prefix(BULK_ID_PREFIX)
        .filter(|bulk_id| declared.contains(bulk_id))
}

/// Every declared bulkId an operation refers to: whole segments of its
/// path (`/Users/bulkId:X`) and whole string values anywhere in its data
/// (`members[].value`, `manager.value`, `$ref`, any other attribute).
fn references(operation: &BulkOperation, declared: &HashSet<&str>) -> Vec<String> {
    fn walk(value: &Value, declared: &HashSet<&str>, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.extend(reference(s, declared).map(str::to_owned)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, declared, out)),
            Value::Object(members) => members.values().for_each(|v| walk(v, declared, out)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    let mut out: Vec<String> = operation
        .path
        .split('/')
        .filter_map(|segment| reference(segment, declared))
        .map(str::to_owned)
        .collect();
    if let Some(data) = &operation.data {
        walk(data, declared, &mut out);
    }
    out
}

/// The id a whole `bulkId:X` stands for, when operation `X` created one.
fn resolved<'c>(text: &str, created: &'c HashMap<String, String>) -> Option<&'c String> {
    text.strip_prefix(BULK_ID_PREFIX)
        .and_then(|bulk_id| created.get(bulk_id))
}

/// Replaces each whole string value `bulkId:X` with the id operation `X`
/// created; every other string is kept as given.
fn substitute(value: &mut Value, created: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = resolved(s, created) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, created)),
        Value::Object(members) => members.values_mut().for_each(|v| substitute(v, created)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The path with each whole segment `bulkId:X` replaced by the id
/// operation `X` created (`/Users/bulkId:ab` never matches bulkId `a`).
fn substitute_path(path: &str, created: &HashMap<String, String>) -> String {
    path.split('/')
        .map(|segment| resolved(segment, created).map_or(segment, String::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

/// The order to run operations in: each after the operations whose
/// bulkIds it uses, with `false` for operations caught in a cycle.
fn order(operations: &[BulkOperation]) -> Vec<(usize, bool)> {
    let declared = declared(operations);
    let by_bulk_id: HashMap<&str, usize> = operations
        .iter()
        .enumerate()
        .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    let mut marks = vec![Mark::New; operations.len()];
    let mut out = Vec::with_capacity(operations.len());
    fn visit(
        i: usize,
        operations: &[BulkOperation],
        declared: &HashSet<&str>,
        by_bulk_id: &HashMap<&str, usize>,
        marks: &mut [Mark],
        out: &mut Vec<(usize, bool)>,
    ) -> bool {
        match marks[i] {
            Mark::Done => return true,
            Mark::Visiting => return false,
            Mark::New => {}
        }
        marks[i] = Mark::Visiting;
        let mut acyclic = true;
        for reference in references(&operations[i], declared) {
            if let Some(&j) = by_bulk_id.get(reference.as_str())
                && j != i
                && !visit(j, operations, declared, by_bulk_id, marks, out)
            {
                acyclic = false;
            }
            if by_bulk_id.get(reference.as_str()) == Some(&i) {
                acyclic = false;
            }
        }
        marks[i] = Mark::Done;
        out.push((i, acyclic));
        acyclic
    }
    for i in 0..operations.len() {
        visit(i, operations, &declared, &by_bulk_id, &mut marks, &mut out);
    }
    out
}

fn conflict(detail: String) -> DomainError {
    DomainError::Conflict(detail)
}

impl Domain {
    /// POST /Bulk: runs the operations and reports on each, in the order
    /// they ran.
    pub async fn bulk(
        &self,
        who: &Principal,
        body: &Value,
    ) -> Result<Vec<BulkOutcome>, DomainError> {
        let request = parse(body)?;
        let declared = declared(&request.operations);
        let mut created: HashMap<String, String> = HashMap::new();
        let mut failed_bulk_ids: Vec<String> = Vec::new();
        let mut outcomes = Vec::new();
        let mut errors = 0;
        for (index, acyclic) in order(&request.operations) {
            if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
                break;
            }
            let operation = &request.operations[index];
            let outcome = match acyclic {
                false => Err(conflict(format!(
                    "operation {index} is part of a circular bulkId reference; split the request"
                ))),
                true => {
                    let missing = references(operation, &declared)
                        .into_iter()
                        .find(|r| !created.contains_key(r));
                    match missing {
                        Some(reference) if failed_bulk_ids.contains(&reference) => {
                            Err(conflict(format!(
                                "operation {index} uses bulkId {reference}, whose operation failed"
                            )))
                        }
                        Some(reference) => {
                            Err(DomainError::from(ScimError::invalid_value(format!(
                                "operation {index} uses bulkId {reference}, which no POST in this request has"
                            ))))
                        }
                        None => self.run(who, operation, &created).await,
                    }
                }
            };
            let outcome = match outcome {
                Ok((status, location, version, id)) => {
                    if let (Some(bulk_id), Some(id)) = (&operation.bulk_id, id) {
                        created.insert(bulk_id.clone(), id);
                    }
                    BulkOutcome {
                        method: operation.method,
                        bulk_id: operation.bulk_id.clone(),
                        location,
                        version,
                        status,
                        error: None,
                    }
                }
                Err(error) => {
                    errors += 1;
                    if let Some(bulk_id) = &operation.bulk_id {
                        failed_bulk_ids.push(bulk_id.clone());
                    }
                    BulkOutcome {
                        method: operation.method,
                        bulk_id: operation.bulk_id.clone(),
                        location: None,
                        version: None,
                        status: 0,
                        error: Some(error),
                    }
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// Runs one operation through the function its single request uses.
    /// Returns the status, location, version and the id it created.
    async fn run(
        &self,
        who: &Principal,
        operation: &BulkOperation,
        created: &HashMap<String, String>,
    ) -> Result<(u16, Option<String>, Option<i64>, Option<String>), DomainError> {
        let path = substitute_path(&operation.path, created);
        let mut data = operation.data.clone().unwrap_or(Value::Null);
        substitute(&mut data, created);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (kind, id) = match segments.as_slice() {
            ["Users"] => (Kind::Users, None),
            ["Groups"] => (Kind::Groups, None),
            ["Users", id] => (Kind::Users, Some(*id)),
            ["Groups", id] => (Kind::Groups, Some(*id)),
            _ => {
                return Err(DomainError::from(ScimError::invalid_value(format!(
                    "bulk path {} is not /Users, /Groups or one of their resources",
                    operation.path.escape_debug()
                ))));
            }
        };
        if id.is_some_and(|id| id.contains('\0')) {
            // As for a single request's path: no id holds NUL, and
            // PostgreSQL cannot be asked about one.
            return Err(DomainError::NotFound("no resource has this id".into()));
        }
        let projection = Projection::default();
        let if_match = operation.version.as_deref();
        let done = |status, resource: super::Resource, id: Option<String>| {
            Ok((status, Some(resource.location), Some(resource.version), id))
        };
        match (operation.method, kind, id) {
            (BulkMethod::Post, Kind::Users, None) => {
                let user = self.create_user(who, &data, &projection).await?;
                let id = user
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                done(201, user, id)
            }
            (BulkMethod::Post, Kind::Groups, None) => {
                let group = self.create_group(who, &data, &projection).await?;
                let id = group
                    .body
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                done(201, group, id)
            }
            (BulkMethod::Put, Kind::Users, Some(id)) => done(
                200,
                self.replace_user(who, id, &data, &projection, if_match)
                    .await?,
                None,
            ),
            (BulkMethod::Put, Kind::Groups, Some(id)) => done(
                200,
                self.replace_group(who, id, &data, &projection, if_match)
                    .await?,
                None,
            ),
            (BulkMethod::Patch, Kind::Users, Some(id)) => done(
                200,
                self.patch_user(who, id, &data, &projection, if_match)
                    .await?,
                None,
            ),
            (BulkMethod::Patch, Kind::Groups, Some(id)) => {
                self.patch_group(who, id, &data, None, if_match).await?;
                let location = format!("{}/Groups/{id}", self.scim_base());
                Ok((204, Some(location), None, None))
            }
            (BulkMethod::Delete, Kind::Users, Some(id)) => {
                self.delete_user(who, id, if_match).await?;
                Ok((204, None, None, None))
            }
            (BulkMethod::Delete, Kind::Groups, Some(id)) => {
                self.delete_group(who, id, if_match).await?;
                Ok((204, None, None, None))
            }
            (method, _, _) => Err(ScimError::invalid_value(format!(
                "{} is not allowed on {}",
                method.as_str(),
                operation.path
            ))
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ops(body: Value) -> Vec<BulkOperation> {
        parse(&body).expect("parses").operations
    }

    #[test]
    fn operations_run_after_the_ones_whose_bulk_ids_they_use() {
        let operations = ops(json!({"Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "u"}}
        ]}));
        assert_eq!(order(&operations), vec![(1, true), (0, true)]);
    }

    #[test]
    fn circular_references_are_reported_not_followed() {
        let operations = ops(json!({"Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c"}}
        ]}));
        let steps = order(&operations);
        assert_eq!(steps.iter().filter(|(_, acyclic)| !acyclic).count(), 2);
        assert!(steps.contains(&(2, true)));
    }

    #[test]
    fn only_whole_values_naming_a_declared_bulk_id_are_references() {
        let operations = ops(json!({"Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
            {"method": "POST", "path": "/Users", "bulkId": "ab", "data": {
                "userName": "bulkId:nobody",
                "title": "see bulkId:a",
                "manager": {"value": "bulkId:a"},
                "members": [{"value": "bulkId:ab2", "$ref": "bulkId:a"}]
            }},
            {"method": "PATCH", "path": "/Users/bulkId:ab", "data": {}},
            {"method": "PATCH", "path": "/Users/xbulkId:a", "data": {}}
        ]}));
        let declared = declared(&operations);
        assert_eq!(references(&operations[1], &declared), ["a", "a"]);
        assert_eq!(references(&operations[2], &declared), ["ab"]);
        assert!(references(&operations[3], &declared).is_empty());
        let created: HashMap<String, String> =
            [("a".into(), "id-a".into()), ("ab".into(), "id-ab".into())].into();
        assert_eq!(
            substitute_path("/Users/bulkId:ab", &created),
            "/Users/id-ab"
        );
        assert_eq!(substitute_path("/Users/bulkId:a", &created), "/Users/id-a");
        assert_eq!(
            substitute_path("/Users/bulkId:abc", &created),
            "/Users/bulkId:abc"
        );
        let mut data = operations[1].data.clone().expect("data");
        substitute(&mut data, &created);
        assert_eq!(
            data,
            json!({
                "userName": "bulkId:nobody",
                "title": "see bulkId:a",
                "manager": {"value": "id-a"},
                "members": [{"value": "bulkId:ab2", "$ref": "id-a"}]
            })
        );
    }

    #[test]
    fn too_many_operations_are_refused_with_413_naming_the_limit() {
        let many: Vec<Value> = (0..=MAX_BULK_OPERATIONS)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        let Err(DomainError::TooLarge(detail)) = parse(&json!({"Operations": many})) else {
            panic!("expected 413");
        };
        assert!(detail.contains("1000"));
    }
}
