//! Filters compiled against a schema, and evaluated over JSON resources.
//!
//! `compile` checks a parsed filter against the schema once: attribute
//! names resolve to their canonical spelling, values are checked against
//! the attribute's type, and operators that make no sense for a type
//! (ordering on booleans, substrings on numbers) are refused with
//! `invalidFilter`. The compiled [`Query`] is what the store pushes down to
//! SQL and what [`Query::matches`] evaluates: the reference semantics.
//!
//! Semantics, from RFC 7644 §3.4.2.2 where it speaks:
//! - a multi-valued attribute matches when any of its values matches;
//!   `emails eq "x"` compares `emails.value`;
//! - strings compare ignoring case unless the attribute is `caseExact`,
//!   by Unicode code point; `userName` compares its key (NFKC_Casefold,
//!   [`crate::user_name::key`]), as its uniqueness does (DESIGN §8);
//! - date-times compare as instants, to the millisecond;
//! - `a ne v` is `not (a eq v)`: true when `a` has no value equal to `v`,
//!   including when it has no value at all; `a eq null` is `not (a pr)`;
//! - `pr` is true for a value that is not null, not `""`, `[]` or `{}`.

use std::borrow::Cow;

use chrono::DateTime;
use serde_json::Value;

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter};
use super::path::{Resolved, definition, resolve, resolve_within};
use super::schema::{Attribute, AttributeType, ResourceSchema};

/// A comparison, `ne` having been rewritten as `not eq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value, already in the form comparisons use: text is in
/// its [`comparable`] form, instants are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Bool(bool),
    Number(f64),
    Text(String),
    Instant(i64),
}

/// A compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Compare {
        attr: Resolved,
        op: Op,
        value: Operand,
    },
    Present(Resolved),
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
    Not(Box<Query>),
    /// Some value of the multi-valued `attr` matches `filter`, whose
    /// attributes are that value's sub-attributes.
    Any {
        attr: Resolved,
        filter: Box<Query>,
    },
    /// Matches nothing: an attribute the resource type does not have, in
    /// a query across resource types (RFC 7644 §3.4.2.1).
    Nothing,
}

/// What to do with attributes the schema does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Refuse the filter: the endpoint has one resource type.
    Reject,
    /// Treat the attribute as having no value: a query at the root.
    NoValue,
}

/// Checks `filter` against `schema` and compiles it.
pub fn compile(
    filter: &Filter,
    schema: &ResourceSchema,
    unknown: Unknown,
) -> Result<Query, ScimError> {
    Compiler { schema, unknown }.compile(filter, None)
}

/// Compiles a value filter (the inside of `emails[…]`) for one value of
/// the multi-valued `parent`.
pub fn compile_within(
    filter: &Filter,
    schema: &ResourceSchema,
    parent: &Attribute,
) -> Result<Query, ScimError> {
    Compiler {
        schema,
        unknown: Unknown::Reject,
    }
    .compile(filter, Some(parent))
}

struct Compiler<'s> {
    schema: &'s ResourceSchema,
    unknown: Unknown,
}

impl Compiler<'_> {
    fn compile(&self, filter: &Filter, within: Option<&Attribute>) -> Result<Query, ScimError> {
        Ok(match filter {
            Filter::And(a, b) => Query::And(
                Box::new(self.compile(a, within)?),
                Box::new(self.compile(b, within)?),
            ),
            Filter::Or(a, b) => Query::Or(
                Box::new(self.compile(a, within)?),
                Box::new(self.compile(b, within)?),
            ),
            Filter::Not(inner) => Query::Not(Box::new(self.compile(inner, within)?)),
            Filter::Present(path) => match self.resolve(path, within)? {
                Some(attr) => Query::Present(attr),
                None => Query::Nothing,
            },
            Filter::Compare { path, op, value } => match self.resolve(path, within)? {
                Some(attr) => compare(path, implicit_value(self.schema, attr, within), *op, value)?,
                None => Query::Nothing,
            },
            Filter::ValuePath { path, filter } => {
                if within.is_some() {
                    return Err(ScimError::invalid_filter(format!(
                        "value filters cannot be nested: {path}[…] is inside another"
                    )));
                }
                let Some(attr) = self.resolve(path, None)? else {
                    return Ok(Query::Nothing);
                };
                let parent = definition(self.schema, &attr)
                    .filter(|d| d.kind == AttributeType::Complex && attr.sub.is_none())
                    .ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "{path}[…] needs a complex attribute such as emails or members"
                        ))
                    })?;
                Query::Any {
                    filter: Box::new(self.compile(filter, Some(parent))?),
                    attr,
                }
            }
        })
    }

    fn resolve(
        &self,
        path: &AttrPath,
        within: Option<&Attribute>,
    ) -> Result<Option<Resolved>, ScimError> {
        let resolved = match within {
            Some(parent) => resolve_within(parent, path),
            None => resolve(self.schema, path),
        };
        match (resolved, self.unknown) {
            (Some(r), _) => Ok(Some(r)),
            (None, Unknown::NoValue) => Ok(None),
            (None, Unknown::Reject) => Err(ScimError::invalid_filter(format!(
                "{} has no attribute {path}",
                self.schema.name
            ))),
        }
    }
}

/// `emails eq "x"` means `emails.value eq "x"` (RFC 7644 §3.4.2.2); the
/// same for a single-valued complex attribute with a `value`.
fn implicit_value(schema: &ResourceSchema, attr: Resolved, within: Option<&Attribute>) -> Resolved {
    if attr.kind != AttributeType::Complex || attr.sub.is_some() || within.is_some() {
        return attr;
    }
    // `manager eq "x"` likewise means `manager.value eq "x"`.
    match definition(schema, &attr).and_then(|d| d.sub_attribute("value")) {
        Some(value) => Resolved {
            sub: Some(value.name.clone()),
            kind: value.kind,
            case_exact: value.case_exact,
            ..attr
        },
        _ => attr,
    }
}

fn compare(
    path: &AttrPath,
    attr: Resolved,
    op: CompareOp,
    value: &Value,
) -> Result<Query, ScimError> {
    let refuse = |why: &str| Err(ScimError::invalid_filter(format!("{path}: {why}")));
    let (op, negate) = match op {
        CompareOp::Eq => (Op::Eq, false),
        CompareOp::Ne => (Op::Eq, true),
        CompareOp::Co => (Op::Co, false),
        CompareOp::Sw => (Op::Sw, false),
        CompareOp::Ew => (Op::Ew, false),
        CompareOp::Gt => (Op::Gt, false),
        CompareOp::Ge => (Op::Ge, false),
        CompareOp::Lt => (Op::Lt, false),
        CompareOp::Le => (Op::Le, false),
    };
    let ordering = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
    let substring = matches!(op, Op::Co | Op::Sw | Op::Ew);
    if value.is_null() {
        if op != Op::Eq {
            return refuse("null can only be compared with eq or ne");
        }
        let present = Query::Present(attr);
        return Ok(if negate {
            present
        } else {
            Query::Not(Box::new(present))
        });
    }
    let operand = match attr.kind {
        AttributeType::Complex => {
            return refuse(
                "a complex attribute can only be tested with pr; compare one of its sub-attributes",
            );
        }
        AttributeType::Boolean => {
            if ordering || substring {
                // RFC 7644 §3.4.2.2: gt/ge/lt/le on booleans SHALL fail with invalidFilter.
                return refuse("a boolean can only be compared with eq or ne");
            }
            match boolean(value) {
                Some(b) => Operand::Bool(b),
                None => return refuse("compare a boolean with true or false"),
            }
        }
        AttributeType::Integer | AttributeType::Decimal => {
            if substring {
                return refuse("co, sw and ew compare strings, not numbers");
            }
            match value.as_f64() {
                Some(n) => Operand::Number(n),
                None => return refuse("compare a number with a number"),
            }
        }
        AttributeType::DateTime => {
            if substring {
                return refuse("co, sw and ew compare strings, not date-times");
            }
            match value.as_str().and_then(parse_instant) {
                Some(ms) => Operand::Instant(ms),
                None => {
                    return refuse(
                        "compare a date-time with a string such as \"2026-01-23T04:56:22Z\"",
                    );
                }
            }
        }
        AttributeType::Binary if ordering => {
            return refuse("binary values cannot be ordered");
        }
        AttributeType::String | AttributeType::Reference | AttributeType::Binary => match value {
            Value::String(s) if s.contains('\0') => {
                return refuse("values cannot contain a NUL character");
            }
            Value::String(s) => Operand::Text(comparable(&attr, s).into_owned()),
            _ => return refuse("compare a string attribute with a quoted string"),
        },
    };
    let query = Query::Compare {
        attr,
        op,
        value: operand,
    };
    Ok(if negate {
        Query::Not(Box::new(query))
    } else {
        query
    })
}

/// The form of a string value of `attr` that filters and sorting
/// compare: as is for `caseExact` attributes, the userName key for
/// `userName`, else lowercased. The store's shadow columns hold the same.
pub fn comparable<'t>(attr: &Resolved, text: &'t str) -> Cow<'t, str> {
    if attr.case_exact {
        Cow::Borrowed(text)
    } else if attr.is("userName", None) {
        Cow::Owned(crate::user_name::key(text))
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// A boolean comparison value: `true`/`false`, or the strings `"True"`
/// and `"False"` in any case, as Entra ID compares `primary` in
/// `roles[primary eq "True"]` (conformance/README.md, Sources: [entra-roles]).
fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Milliseconds since the epoch of an RFC 3339 date-time.
pub fn parse_instant(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

impl Query {
    /// Whether `resource` (a rendered SCIM resource) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Query::Compare { attr, op, value } => values(attr, resource)
                .into_iter()
                .any(|v| compare_value(attr, *op, value, v)),
            Query::Present(attr) => values(attr, resource).into_iter().any(present),
            Query::And(a, b) => a.matches(resource) && b.matches(resource),
            Query::Or(a, b) => a.matches(resource) || b.matches(resource),
            Query::Not(inner) => !inner.matches(resource),
            Query::Any { attr, filter } => top(attr, resource)
                .map(|v| match v {
                    Value::Array(items) => items.iter().any(|item| filter.matches(item)),
                    single => filter.matches(single),
                })
                .unwrap_or(false),
            Query::Nothing => false,
        }
    }
}

fn top<'v>(attr: &Resolved, resource: &'v Value) -> Option<&'v Value> {
    let holder = match &attr.extension {
        Some(urn) => resource.get(urn)?,
        None => resource,
    };
    holder.get(&attr.name)
}

/// Every leaf value the path reaches, arrays flattened.
fn values<'v>(attr: &Resolved, resource: &'v Value) -> Vec<&'v Value> {
    let Some(value) = top(attr, resource) else {
        return Vec::new();
    };
    let items: &[Value] = match value {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    };
    match &attr.sub {
        None if value.is_array() => items.iter().collect(),
        None => vec![value],
        Some(sub) => items.iter().filter_map(|item| item.get(sub)).collect(),
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_value(attr: &Resolved, op: Op, operand: &Operand, actual: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (operand, actual) {
        (Operand::Bool(b), Value::Bool(a)) => return op == Op::Eq && a == b,
        (Operand::Number(n), Value::Number(a)) => a.as_f64().and_then(|a| a.partial_cmp(n)),
        (Operand::Instant(t), Value::String(a)) => parse_instant(a).map(|a| a.cmp(t)),
        (Operand::Text(t), Value::String(a)) => {
            let a = comparable(attr, a);
            let a = a.as_ref();
            match op {
                Op::Co => return a.contains(t.as_str()),
                Op::Sw => return a.starts_with(t.as_str()),
                Op::Ew => return a.ends_with(t.as_str()),
                Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le => Some(a.cmp(t.as_str())),
            }
        }
        _ => None,
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schemas;
    use crate::filter::parse;
    use serde_json::json;

    fn barbara() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "userName": "bjensen@example.com",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"},
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34.500Z",
                "version": "W/\"3694e05e9dff591\"",
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
            }
        })
    }

    fn eval(filter: &str, resource: &Value) -> bool {
        let schemas = Schemas::load().expect("schemas");
        let parsed = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let query = compile(&parsed, &schemas.user, Unknown::Reject)
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        query.matches(resource)
    }

    fn refused(filter: &str) -> ScimError {
        let schemas = Schemas::load().expect("schemas");
        compile(
            &parse(filter).expect("parses"),
            &schemas.user,
            Unknown::Reject,
        )
        .expect_err(filter)
    }

    #[test]
    fn the_rfc_7644_examples_evaluate_as_the_rfc_says() {
        let user = barbara();
        let cases = [
            (r#"userName Eq "bjensen@example.com""#, true),
            (r#"Username eq "BJENSEN@EXAMPLE.COM""#, true),
            (r#"name.familyName co "O'Malley""#, true),
            (r#"name.familyName co "o'm""#, true),
            (r#"userName sw "J""#, false),
            (r#"userName sw "B""#, true),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#,
                true,
            ),
            (r#"title pr"#, true),
            (r#"nickName pr"#, false),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified ge "2011-05-13T04:42:34.500Z""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified le "2011-05-13T04:42:34.500Z""#, true),
            (r#"title pr and userType eq "Employee""#, true),
            (r#"title pr or userType eq "Intern""#, true),
            (
                r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
                true,
            ),
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                true,
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                false,
            ),
            (
                r#"userType eq "Employee" and (emails.type eq "work")"#,
                true,
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "work"].value eq "BJENSEN@example.com""#,
                true,
            ),
            (
                r#"emails[type eq "home"].value eq "bjensen@example.com""#,
                false,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                true,
            ),
            (r#"active eq true"#, true),
            (r#"active ne true"#, false),
            (r#"externalId eq "BJENSEN""#, false),
            (r#"nickName eq null"#, true),
            (r#"nickName ne "x""#, true),
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
            (r#"emails pr"#, true),
            (r#"name pr"#, true),
        ];
        for (filter, expected) in cases {
            assert_eq!(eval(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn user_names_compare_by_their_key() {
        let mut user = barbara();
        user["userName"] = json!("Stra\u{df}e.Jos\u{e9}\u{200b} ");
        let cases = [
            ("userName eq \"STRASSE.JOSE\u{301}\"", true),
            ("userName eq \"strasse.jos\u{e9}\"", true),
            ("userName eq \"strasse.jose\"", false),
            ("userName ne \"STRASSE.JOS\u{c9}\"", false),
            ("userName sw \"STRASS\"", true),
            ("userName ew \"E.JOS\u{c9}\"", true),
            ("userName co \"SSE.J\"", true),
            ("userName gt \"strasse\"", true),
            ("userName lt \"strasse\"", false),
            // Other attributes still compare lowercased only.
            ("title eq \"TOUR GUIDE\"", true),
            ("name.familyName eq \"O'MALLEY\"", true),
        ];
        for (filter, expected) in cases {
            assert_eq!(eval(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn meaningless_comparisons_are_refused_as_invalid_filter() {
        for filter in [
            r#"active gt true"#,
            r#"active eq "yes""#,
            r#"active eq 1"#,
            r#"emails[primary eq "1"]"#,
            r#"active eq "True" and meta.created gt 2015-10-10"#,
            r#"userName eq 5"#,
            r#"name eq "Barbara""#,
            r#"meta.created gt "yesterday""#,
            r#"x509Certificates.value gt "AA==""#,
            r#"nosuch eq "x""#,
            r#"name.nosuch eq "x""#,
            r#"urn:example:unknown:2.0:User:userName eq "x""#,
            r#"userName gt null"#,
            r#"emails[value eq "x"][type eq "y"] pr"#,
        ] {
            if let Ok(parsed) = parse(filter) {
                let schemas = Schemas::load().expect("schemas");
                let error = compile(&parsed, &schemas.user, Unknown::Reject).expect_err(filter);
                assert_eq!(
                    error.scim_type,
                    Some(crate::ScimType::InvalidFilter),
                    "{filter}"
                );
            }
        }
        assert!(refused(r#"active gt true"#).detail.contains("boolean"));
    }

    #[test]
    fn booleans_compare_with_true_and_false_strings_in_any_case() {
        let user = barbara();
        let cases = [
            (r#"emails[primary eq "True"]"#, true),
            (
                r#"emails[primary eq "true"].value eq "bjensen@example.com""#,
                true,
            ),
            (r#"emails[primary eq "TRUE" and type eq "home"]"#, false),
            (r#"emails[primary eq "False"]"#, false),
            (r#"active eq "true""#, true),
            (r#"active ne "False""#, true),
            (r#"emails.primary eq "True""#, true),
        ];
        for (filter, expected) in cases {
            assert_eq!(eval(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn values_without_quotes_compare_as_their_attribute_s_type() {
        let user = barbara();
        let cases = [
            ("externalId eq bjensen", true),
            ("userName sw B", true),
            ("emails[type eq work].value eq bjensen@example.com", true),
            ("emails[primary eq True]", true),
            ("active eq False", false),
            // Seven fractional digits and an offset, as .NET writes them.
            ("meta.created gt 2010-01-22T21:56:21.8617979-07:00", true),
            ("meta.created lt 2010-01-22T21:56:22.0000001-07:00", false),
            ("meta.lastModified eq 2011-05-13T06:42:34.5+02:00", true),
        ];
        for (filter, expected) in cases {
            assert_eq!(eval(filter, &user), expected, "{filter}");
        }
    }

    #[test]
    fn at_the_root_unknown_attributes_simply_have_no_value() {
        let schemas = Schemas::load().expect("schemas");
        let parsed = parse(r#"members pr or userName eq "bjensen@example.com""#).expect("parses");
        let query = compile(&parsed, &schemas.user, Unknown::NoValue).expect("compiles");
        assert!(query.matches(&barbara()));
    }
}
