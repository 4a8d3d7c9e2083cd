//! The PATCH engine (RFC 7644 §3.5.2): a pure function from a resource
//! document and a list of operations to a new document or a SCIM error.
//!
//! Operations apply in order, each to the result of the one before; any
//! error discards them all. The result is validated again by
//! `resource::normalize`, so a PATCH can never store what a PUT could not.
//!
//! Accepted by default, as Okta and Entra ID send it (conformance/README.md, Sources):
//! `op` and `Operations` in any case; `"True"`/`"False"` strings; path-less
//! `add`/`replace` whose keys are paths (dotted or URN-prefixed); `manager`
//! as a bare id, cleared by `""` or `null`; `remove` of a multi-valued
//! attribute with a `value` list removes only those values; `add`/`replace`
//! of `emails[type eq "work"].value` creates the work e-mail when there is
//! none (RFC 7644 §3.5.2.3 would answer `noTarget`), and likewise
//! `roles[primary eq "True"].value` creates a role with `primary: true`;
//! a path-less `replace` carrying the resource's own `id` (Okta's group
//! rename); `members` as bare ids; paths in a schema namespace scimd does
//! not publish are ignored (Entra's custom extensions; see
//! `crate::extensions`).

mod apply;
mod budget;
mod index;
mod members;
mod request;
mod values;

use serde_json::Value;

use super::error::{ScimError, ScimType};
use super::filter::PatchPath;
use super::resource::{Document, normalize};
use super::schema::ResourceSchema;

pub use budget::{Budget, DEFAULT_PATCH_BUDGET, carried};
pub use members::{MemberChange, member_change, targets_members};
pub use request::parse_request;

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

pub(super) fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some(ScimType::InvalidPath), detail)
}

pub(super) fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some(ScimType::NoTarget), detail)
}

/// Applies `operations` to `doc` (the stored document of resource `id`)
/// and returns the validated result, with no work budget.
pub fn apply(
    schema: &ResourceSchema,
    id: &str,
    doc: &Document,
    operations: &[Operation],
) -> Result<Document, ScimError> {
    apply_within(schema, id, doc, operations, &mut Budget::unlimited())
}

/// Applies `operations` to `doc` as [`apply`] does, spending `budget` on
/// the values each operation carries and the stored values it scans; 400
/// `tooMany` as soon as the budget is spent. Each operation costs time in
/// proportion to those values: the document is copied once, never per
/// operation.
pub fn apply_within(
    schema: &ResourceSchema,
    id: &str,
    doc: &Document,
    operations: &[Operation],
    budget: &mut Budget,
) -> Result<Document, ScimError> {
    let mut out = doc.clone();
    for operation in operations {
        budget.charge(carried(operation))?;
        apply::apply_one(schema, id, &mut out, operation, budget)?;
    }
    normalize(schema, &Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
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

    fn with_emails(count: usize) -> Document {
        let mut doc = user();
        let emails: Vec<Value> = (0..count)
            .map(|i| json!({"value": format!("user{i}@example.com"), "type": "work"}))
            .collect();
        doc.insert("emails".into(), Value::Array(emails));
        doc
    }

    fn operations(schemas: &Schemas, operations: Value) -> Vec<Operation> {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        parse_request(&schemas.user, &body).expect("parses")
    }

    #[test]
    fn the_work_of_a_patch_is_the_values_it_carries_plus_the_stored_values_it_scans() {
        let schemas = Schemas::load().expect("schemas");
        let ops = operations(
            &schemas,
            json!([
                {"op": "remove", "path": "emails[value eq \"nomatch\"]"},
                {"op": "replace", "path": "displayName", "value": "B"},
                {"op": "add", "path": "emails", "value": [{"value": "n1@x.test"}, {"value": "n2@x.test"}]},
                {"op": "remove", "path": "title"}
            ]),
        );
        let mut budget = Budget::unlimited();
        let out =
            apply_within(&schemas.user, "u1", &with_emails(3), &ops, &mut budget).expect("applies");
        assert_eq!(out["emails"].as_array().map(Vec::len), Some(5));
        // 3 scanned; 1 scanned + 1 carried; 3 scanned + 2 carried; nothing.
        assert_eq!(budget.spent(), 3 + 2 + 5);
    }

    #[test]
    fn a_thousand_removes_on_19000_values_are_refused_once_the_budget_is_spent() {
        let schemas = Schemas::load().expect("schemas");
        let removes: Vec<Value> = (0..1000)
            .map(|i| json!({"op": "remove", "path": format!("emails[value eq \"nomatch{i}\"]")}))
            .collect();
        let ops = operations(&schemas, Value::Array(removes));
        let mut budget = Budget::new(DEFAULT_PATCH_BUDGET);
        let error = apply_within(&schemas.user, "u1", &with_emails(19_000), &ops, &mut budget)
            .expect_err("over budget");
        assert_eq!(error.scim_type, Some(ScimType::TooMany));
        assert!(error.detail.contains("1000000"), "{}", error.detail);
        // Refused at the first operation past the limit, not after all 1,000.
        assert!(budget.spent() <= DEFAULT_PATCH_BUDGET + 19_000);
    }

    #[test]
    fn a_thousand_non_matching_removes_cost_one_scan_each() {
        let schemas = Schemas::load().expect("schemas");
        let removes: Vec<Value> = (0..1000)
            .map(|i| json!({"op": "remove", "path": format!("emails[value eq \"nomatch{i}\"]")}))
            .collect();
        let ops = operations(&schemas, Value::Array(removes));
        let doc = with_emails(500);
        let mut budget = Budget::unlimited();
        let out = apply_within(&schemas.user, "u1", &doc, &ops, &mut budget).expect("applies");
        assert_eq!(out["emails"], doc["emails"]);
        assert_eq!(budget.spent(), 1000 * 500);
    }

    #[test]
    fn adding_and_removing_10000_values_among_10000_is_linear() {
        // Each of these compared every value with every other before (and
        // 20,000 is the most values an attribute may hold).
        let schemas = Schemas::load().expect("schemas");
        let doc = with_emails(10_000);
        let new: Vec<Value> = (10_000..20_000)
            .map(|i| json!({"value": format!("user{i}@example.com"), "type": "work"}))
            .collect();
        let mut budget = Budget::unlimited();
        let ops = operations(
            &schemas,
            json!([{"op": "add", "path": "emails", "value": new}]),
        );
        let grown = apply_within(&schemas.user, "u1", &doc, &ops, &mut budget).expect("adds");
        assert_eq!(grown["emails"].as_array().map(Vec::len), Some(20_000));
        assert_eq!(budget.spent(), 10_000 + 10_000);
        let again = apply(&schemas.user, "u1", &grown, &ops).expect("adds again");
        assert_eq!(again, grown, "values already there are not added twice");

        let doomed: Vec<Value> = (0..10_000)
            .map(|i| json!({"value": format!("user{i}@example.com")}))
            .collect();
        let ops = operations(
            &schemas,
            json!([{"op": "remove", "path": "emails", "value": doomed}]),
        );
        let shrunk = apply(&schemas.user, "u1", &grown, &ops).expect("removes");
        assert_eq!(shrunk["emails"].as_array().map(Vec::len), Some(10_000));
        assert_eq!(shrunk["emails"][0]["value"], "user10000@example.com");

        let ops = operations(
            &schemas,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        );
        let emptied = apply(&schemas.user, "u1", &grown, &ops).expect("removes all");
        assert!(emptied.get("emails").is_none());
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
    fn entra_s_role_mapping_creates_the_primary_role_when_there_is_none() {
        for (op, path) in [
            ("Replace", r#"roles[primary eq "True"].value"#),
            ("Add", r#"roles[primary eq "true"].value"#),
            ("Replace", "roles[primary eq True].value"),
        ] {
            let out = ok(json!([{"op": op, "path": path, "value": "admin"}]));
            assert_eq!(
                out["roles"],
                json!([{"primary": true, "value": "admin"}]),
                "{op} {path}"
            );
        }
        let mut doc = user();
        doc.insert(
            "roles".into(),
            json!([{"value": "viewer", "primary": false}, {"value": "auditor"}]),
        );
        let out = patch(
            &doc,
            json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "admin"}]),
        )
        .expect("creates");
        assert_eq!(
            out["roles"],
            json!([
                {"value": "viewer", "primary": false},
                {"value": "auditor"},
                {"primary": true, "value": "admin"}
            ])
        );
    }

    #[test]
    fn entra_s_role_mapping_sets_the_value_of_the_primary_role() {
        let mut doc = user();
        doc.insert(
            "roles".into(),
            json!([{"value": "viewer"}, {"value": "user", "primary": true, "display": "User"}]),
        );
        let out = patch(
            &doc,
            json!([
                {"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "admin"},
                {"op": "Replace", "path": "roles[primary eq \"True\"].display", "value": "Admin"}
            ]),
        )
        .expect("sets");
        assert_eq!(
            out["roles"],
            json!([{"value": "viewer"}, {"value": "admin", "primary": true, "display": "Admin"}])
        );
        // The same on e-mails: only the primary one changes.
        let out = ok(
            json!([{"op": "Replace", "path": "emails[primary eq \"true\"].value", "value": "new@x.test"}]),
        );
        assert_eq!(out["emails"][0]["value"], "new@x.test");
        assert_eq!(out["emails"][1]["value"], "babs@jensen.org");
        let mut without = user();
        without.shift_remove("emails");
        let out = patch(
            &without,
            json!([{"op": "Add", "path": "emails[primary eq \"True\"].value", "value": "p@x.test"}]),
        )
        .expect("creates");
        assert_eq!(
            out["emails"],
            json!([{"primary": true, "value": "p@x.test"}])
        );
        // Anything but true or false against a boolean stays a bad filter.
        assert_eq!(
            refused(
                json!([{"op": "Replace", "path": "roles[primary eq \"yes\"].value", "value": "admin"}])
            ),
            Some(ScimType::InvalidFilter)
        );
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
    fn an_extension_that_is_not_an_object_is_replaced_in_place_by_one() {
        let mut doc = user();
        doc.insert(ENTERPRISE.into(), json!("not an object"));
        let path = format!("{ENTERPRISE}:department");
        let out = patch(
            &doc,
            json!([{"op": "replace", "path": path, "value": "R&D"}]),
        )
        .expect("applies");
        assert_eq!(out[ENTERPRISE], json!({"department": "R&D"}));
        assert_eq!(
            out.keys().position(|k| k == ENTERPRISE),
            doc.keys().position(|k| k == ENTERPRISE),
            "the extension keeps its place"
        );
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
    fn unpublished_namespaces_are_ignored_and_the_rest_applies() {
        let custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        let out = ok(json!([
            {"op": "Add", "path": format!("{custom}:tag"), "value": "701984"},
            {"op": "Add", "path": custom, "value": {"tag": "1"}},
            {"op": "remove", "path": format!("{custom}:tag")},
            {"op": "Replace", "path": "displayName", "value": "Babs J."}
        ]));
        assert_eq!(out["displayName"], "Babs J.");
        assert!(out.get(custom).is_none());
        // Unknown attributes of published schemas stay errors.
        assert_eq!(
            refused(json!([{"op": "add", "path": format!("{ENTERPRISE}:nosuch"), "value": "x"}])),
            Some(ScimType::InvalidPath)
        );
        assert_eq!(
            refused(
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:nosuch", "value": "x"}])
            ),
            Some(ScimType::InvalidPath)
        );
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
            assert!(ops.iter().all(|op| targets_members(&schemas.group, op)));
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
        // Entra's reference collection names members by bare id.
        assert_eq!(
            change(json!([{"op": "Add", "path": "members", "value": "a"}])),
            Ok(MemberChange::Add(vec!["a".into()]))
        );
        assert_eq!(
            change(json!([{"op": "Remove", "path": "members", "value": ["a", "b"]}])),
            Ok(MemberChange::Remove(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            change(json!([{"op": "Replace", "path": "members", "value": ["c", {"value": "d"}]}])),
            Ok(MemberChange::Replace(vec!["c".into(), "d".into()]))
        );
        for bad in [
            json!([1]),
            json!([""]),
            json!([["a"]]),
            json!(true),
            json!([null]),
            json!(["a\u{0}b"]),
            json!([{"value": "a\u{0}b"}]),
        ] {
            assert!(
                change(json!([{"op": "add", "path": "members", "value": bad}])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn urn_qualified_member_paths_are_member_operations_too() {
        let schemas = Schemas::load().expect("schemas");
        let urn = "urn:ietf:params:scim:schemas:core:2.0:Group:members";
        let change = |operations: Value| {
            let body = json!({"schemas": [PATCH_OP], "Operations": operations});
            let ops = parse_request(&schemas.group, &body).expect("parses");
            assert!(ops.iter().all(|op| targets_members(&schemas.group, op)));
            member_change(&ops[0])
        };
        assert_eq!(
            change(json!([{"op": "add", "path": urn, "value": [{"value": "a"}]}])),
            Ok(MemberChange::Add(vec!["a".into()]))
        );
        assert_eq!(
            change(json!([{"op": "add", "path": urn.to_uppercase(), "value": ["a"]}])),
            Ok(MemberChange::Add(vec!["a".into()])),
            "URNs compare ignoring case"
        );
        assert_eq!(
            change(json!([{"op": "replace", "value": {urn: [{"value": "c"}]}}])),
            Ok(MemberChange::Replace(vec!["c".into()]))
        );
        assert_eq!(
            change(json!([{"op": "remove", "path": format!("{urn}[value eq \"a\"]")}])),
            Ok(MemberChange::Remove(vec!["a".into()]))
        );
        assert_eq!(
            change(json!([{"op": "remove", "path": urn}])),
            Ok(MemberChange::RemoveAll)
        );
        // Another schema's `members` is not the group's.
        let body = json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:members", "value": ["a"]}
        ]});
        let ops = parse_request(&schemas.group, &body).expect("parses");
        assert!(!targets_members(&schemas.group, &ops[0]));
    }
}
