//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9),
//! honouring each attribute's `returned` characteristic.
//!
//! Besides attribute names, a list may hold value filters, as Entra ID's
//! reference collection sends them: `emails[type eq "work"]` names the
//! matching values of `emails`, and `emails[type eq "work"].value` their
//! `value` only.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::eval::{Query, compile_within};
use super::filter::{parse_patch_path, parse_path};
use super::path::{Resolved, definition, resolve};
use super::schema::{AttributeType, ResourceSchema, Returned};

/// One entry of an attribute list.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// An attribute or sub-attribute.
    Attribute(Resolved),
    /// A whole extension, named by its URN.
    Extension(String),
    /// The values of the multi-valued `attr` that match `filter`
    /// (`emails[type eq "work"]`), or only their sub-attribute `sub`
    /// (`emails[type eq "work"].value`).
    Values {
        /// The multi-valued attribute, without a sub-attribute.
        attr: Resolved,
        /// The value filter, compiled for one value of `attr`.
        filter: Query,
        /// The sub-attribute after the filter, spelled as the schema does.
        sub: Option<String>,
    },
}

impl Selector {
    /// Whether this entry is about the attribute `resolved` names.
    fn names(&self, resolved: &Resolved) -> bool {
        let same = |r: &Resolved| r.extension == resolved.extension && r.name == resolved.name;
        match self {
            Selector::Attribute(r) | Selector::Values { attr: r, .. } => same(r),
            Selector::Extension(_) => false,
        }
    }
}

/// Which attributes a response carries.
#[derive(Debug, Clone, PartialEq, Default)]
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
    /// given. Names the schema does not know are ignored; a value filter
    /// that does not parse or fit its attribute is `invalidFilter`.
    pub fn new(
        schema: &ResourceSchema,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ScimError> {
        let selectors = |parameter: &str, list: &str| -> Result<Vec<Selector>, ScimError> {
            split_list(list)
                .into_iter()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .filter_map(|s| selector(schema, parameter, s).transpose())
                .collect()
        };
        Ok(match (attributes, excluded) {
            (Some(list), _) if !list.trim().is_empty() => {
                Projection::Only(selectors("attributes", list)?)
            }
            (_, Some(list)) if !list.trim().is_empty() => {
                Projection::Except(selectors("excludedAttributes", list)?)
            }
            _ => Projection::Default,
        })
    }

    /// Whether the response can contain the core attribute `name`, so
    /// callers skip loading what will not be shown (e.g. `members`).
    pub fn wants(&self, name: &str) -> bool {
        let core = |r: &Resolved| r.extension.is_none() && r.name == name;
        match self {
            Projection::Default => true,
            Projection::Only(list) => list.iter().any(|s| match s {
                Selector::Attribute(r) | Selector::Values { attr: r, .. } => core(r),
                Selector::Extension(_) => false,
            }),
            Projection::Except(list) => !list
                .iter()
                .any(|s| matches!(s, Selector::Attribute(r) if core(r) && r.sub.is_none())),
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
            let keep = match self {
                Projection::Default => returned != Returned::Request,
                Projection::Only(list) => {
                    let wanted: Vec<&Selector> =
                        list.iter().filter(|s| s.names(&resolved)).collect();
                    let whole = wanted
                        .iter()
                        .any(|s| matches!(s, Selector::Attribute(r) if r.sub.is_none()));
                    if !whole && let Some(value) = members.get_mut(&name) {
                        keep_only(value, &wanted);
                    }
                    !wanted.is_empty()
                }
                Projection::Except(list) => {
                    let doomed: Vec<&Selector> =
                        list.iter().filter(|s| s.names(&resolved)).collect();
                    let whole = doomed
                        .iter()
                        .any(|s| matches!(s, Selector::Attribute(r) if r.sub.is_none()));
                    if !whole && let Some(value) = members.get_mut(&name) {
                        drop_named(value, &doomed);
                    }
                    !whole && returned != Returned::Request
                }
            };
            let emptied =
                matches!(members.get(&name), Some(Value::Array(items)) if items.is_empty());
            if !keep || emptied {
                members.shift_remove(&name);
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

/// Splits an attribute list at the commas that are not inside a value
/// filter: `emails[type eq "a,b"],userName` is two entries.
fn split_list(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in list.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// One entry of the list named `parameter`; `None` for a name the schema
/// does not know.
fn selector(
    schema: &ResourceSchema,
    parameter: &str,
    text: &str,
) -> Result<Option<Selector>, ScimError> {
    if let Some(extension) = schema.extension(text) {
        return Ok(Some(Selector::Extension(extension.id.clone())));
    }
    if !text.contains('[') {
        return Ok(parse_path(text)
            .and_then(|p| resolve(schema, &p))
            .map(Selector::Attribute));
    }
    value_selector(schema, parameter, text)
}

/// An entry with a value filter: `emails[type eq "work"]` or
/// `emails[type eq "work"].value`.
fn value_selector(
    schema: &ResourceSchema,
    parameter: &str,
    text: &str,
) -> Result<Option<Selector>, ScimError> {
    let refuse = |why: String| ScimError::invalid_filter(format!("{parameter}: `{text}`: {why}"));
    let parsed = parse_patch_path(text).map_err(|e| refuse(format!("invalid value filter {e}")))?;
    let Some(attr) = resolve(schema, &parsed.attr) else {
        return Ok(None);
    };
    let parent = definition(schema, &attr)
        .filter(|d| d.kind == AttributeType::Complex && d.multi_valued && attr.sub.is_none())
        .ok_or_else(|| {
            refuse("a value filter needs a multi-valued attribute such as emails".into())
        })?;
    let Some(filter) = &parsed.filter else {
        return Ok(Some(Selector::Attribute(attr)));
    };
    let filter = compile_within(filter, schema, parent).map_err(|e| refuse(e.detail))?;
    let sub = match &parsed.sub {
        None => None,
        Some(name) => match parent.sub_attribute(name) {
            Some(sub) => Some(sub.name.clone()),
            // As for `emails.nosuch`: a name the schema does not know.
            None => return Ok(None),
        },
    };
    Ok(Some(Selector::Values { attr, filter, sub }))
}

/// What of one value an `attributes` list keeps.
enum Keep<'s> {
    Nothing,
    Subs(Vec<&'s str>),
    All,
}

/// Keeps, of each value of `value`, what the entries naming its
/// attribute ask for: the sub-attributes named for every value, and the
/// values matching a value filter (whole, or their named sub-attribute).
/// A value nothing asks for is dropped.
fn keep_only(value: &mut Value, wanted: &[&Selector]) {
    let keep = |item: &Value| {
        let mut keep = Keep::Nothing;
        for selector in wanted {
            let sub = match selector {
                Selector::Attribute(r) => r.sub.as_deref(),
                Selector::Values { filter, sub, .. } if filter.matches(item) => sub.as_deref(),
                Selector::Values { .. } | Selector::Extension(_) => continue,
            };
            keep = match (keep, sub) {
                (Keep::All, _) | (_, None) => Keep::All,
                (Keep::Nothing, Some(s)) => Keep::Subs(vec![s]),
                (Keep::Subs(mut subs), Some(s)) => {
                    subs.push(s);
                    Keep::Subs(subs)
                }
            };
        }
        keep
    };
    let project = |item: &mut Value| -> bool {
        match keep(item) {
            Keep::Nothing => false,
            Keep::All => true,
            Keep::Subs(subs) => {
                if let Value::Object(members) = item {
                    members.retain(|k, _| subs.contains(&k.as_str()));
                }
                true
            }
        }
    };
    match value {
        Value::Array(items) => items.retain_mut(project),
        single => {
            project(single);
        }
    }
}

/// Removes from `value` what the `excludedAttributes` entries naming its
/// attribute name: a sub-attribute of every value, the values matching a
/// value filter, or a sub-attribute of those.
fn drop_named(value: &mut Value, doomed: &[&Selector]) {
    for selector in doomed {
        match selector {
            Selector::Attribute(r) => {
                if let Some(sub) = &r.sub {
                    retain_subs(value, |s| s != sub);
                }
            }
            Selector::Values {
                filter, sub: None, ..
            } => {
                if let Value::Array(items) = value {
                    items.retain(|item| !filter.matches(item));
                }
            }
            Selector::Values {
                filter,
                sub: Some(sub),
                ..
            } => {
                if let Value::Array(items) = value {
                    for item in items.iter_mut().filter(|item| filter.matches(item)) {
                        if let Value::Object(members) = item {
                            members.shift_remove(sub);
                        }
                    }
                }
            }
            Selector::Extension(_) => {}
        }
    }
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

    fn with_emails() -> Value {
        let mut user = user();
        user["emails"] = json!([
            {"value": "a@x.test", "type": "work", "primary": true},
            {"value": "a@home.test", "type": "home"},
            {"value": "a2@x.test", "type": "work"}
        ]);
        user
    }

    fn project_emails(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let schemas = Schemas::load().expect("schemas");
        let projection = Projection::new(&schemas.user, attributes, excluded).expect("valid");
        let mut resource = with_emails();
        projection.apply(&schemas.user, &mut resource);
        resource
    }

    #[test]
    fn a_value_filter_in_attributes_keeps_only_the_matching_values() {
        let out = project_emails(Some(r#"emails[type eq "work"]"#), None);
        assert_eq!(
            out["emails"],
            json!([
                {"value": "a@x.test", "type": "work", "primary": true},
                {"value": "a2@x.test", "type": "work"}
            ])
        );
        assert_eq!(out["id"], "1");
        assert!(out.get("schemas").is_some());
        assert!(out.get("userName").is_none() && out.get("name").is_none());
        let out = project_emails(Some(r#"userName,emails[type eq "work"].value"#), None);
        assert_eq!(out["userName"], "ann");
        assert_eq!(
            out["emails"],
            json!([{"value": "a@x.test"}, {"value": "a2@x.test"}])
        );
        let out = project_emails(Some(r#"emails[primary eq "True"].value,emails.type"#), None);
        assert_eq!(
            out["emails"],
            json!([{"value": "a@x.test", "type": "work"}, {"type": "home"}, {"type": "work"}])
        );
        let out = project_emails(Some(r#"userName,emails[type eq "pager"]"#), None);
        assert!(out.get("emails").is_none(), "no value matches: {out}");
        let out = project_emails(
            Some(r#"emails[type eq "a,b" or type eq home],userName"#),
            None,
        );
        assert_eq!(
            out["emails"],
            json!([{"value": "a@home.test", "type": "home"}])
        );
        assert_eq!(out["userName"], "ann");
    }

    #[test]
    fn a_value_filter_in_excluded_attributes_drops_only_the_matching_values() {
        let out = project_emails(None, Some(r#"emails[type eq "home"]"#));
        assert_eq!(
            out["emails"],
            json!([
                {"value": "a@x.test", "type": "work", "primary": true},
                {"value": "a2@x.test", "type": "work"}
            ])
        );
        assert_eq!(out["userName"], "ann");
        let out = project_emails(None, Some(r#"emails[type eq "work"].value"#));
        assert_eq!(
            out["emails"],
            json!([
                {"type": "work", "primary": true},
                {"value": "a@home.test", "type": "home"},
                {"type": "work"}
            ])
        );
        let out = project_emails(None, Some(r#"emails[value pr]"#));
        assert!(out.get("emails").is_none());
    }

    #[test]
    fn a_value_filter_that_cannot_be_read_is_invalid_filter() {
        let schemas = Schemas::load().expect("schemas");
        for list in [
            r#"emails[type eq "work""#,
            r#"emails[type eq]"#,
            r#"emails[nosuch eq "x"]"#,
            r#"emails[primary eq "maybe"]"#,
            r#"userName[value eq "x"]"#,
            r#"name[givenName eq "x"]"#,
            r#"emails.value[type eq "x"]"#,
        ] {
            for (attributes, excluded) in [(Some(list), None), (None, Some(list))] {
                let error = Projection::new(&schemas.user, attributes, excluded).expect_err(list);
                assert_eq!(
                    error.scim_type,
                    Some(crate::ScimType::InvalidFilter),
                    "{list}"
                );
                assert!(error.detail.contains(list), "{}", error.detail);
            }
        }
        // Unknown names stay ignored, with or without a filter.
        assert_eq!(
            Projection::new(
                &schemas.user,
                Some(r#"nosuch[type eq "x"],emails[type eq "x"].nosuch"#),
                None
            )
            .expect("ignored"),
            Projection::Only(vec![])
        );
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
        assert!(
            Projection::new(group, Some(r#"members[type eq "User"]"#), None)
                .expect("ok")
                .wants("members")
        );
        assert!(
            Projection::new(group, None, Some(r#"members[type eq "User"]"#))
                .expect("ok")
                .wants("members")
        );
    }
}
