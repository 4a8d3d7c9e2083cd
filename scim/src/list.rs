//! List responses and index pagination (RFC 7644 §3.4.2, §3.4.2.4).

use serde_json::{Map, Value, json};

use super::error::ScimError;

/// URN of the ListResponse message.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Page size when the client gives no `count`.
pub const DEFAULT_COUNT: u64 = 100;
/// Largest page served; advertised as `filter.maxResults`.
pub const MAX_COUNT: u64 = 1000;

/// A requested page, clamped as RFC 7644 §3.4.2.4 says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based index of the first result.
    pub start_index: u64,
    pub count: u64,
}

impl Page {
    /// `startIndex` below 1 means 1; `count` below 0 means 0; above the
    /// maximum, the maximum.
    pub fn new(start_index: Option<i64>, count: Option<i64>) -> Page {
        let start_index = start_index.map_or(1, |s| s.max(1).unsigned_abs());
        let count = count.map_or(DEFAULT_COUNT, |c| c.max(0).unsigned_abs().min(MAX_COUNT));
        Page { start_index, count }
    }

    /// Rows to skip before the page.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }
}

/// URN of the SearchRequest message (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The parameters of a list or search request (RFC 7644 §3.4.2, §3.4.3;
/// RFC 9865 §2), as the client sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// `Some("")` asks for the first page of a cursor walk.
    pub cursor: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListRequest {
    /// Reads query parameters: names match ignoring case, unknown ones are
    /// ignored (RFC 7644 §3.4.2).
    pub fn from_query(pairs: Vec<(String, String)>) -> Result<ListRequest, ScimError> {
        let mut request = ListRequest::default();
        for (name, value) in pairs {
            request.set(&name, Value::String(value))?;
        }
        Ok(request)
    }

    /// Reads a SearchRequest body (`POST /.search`).
    pub fn from_search(body: &Value) -> Result<ListRequest, ScimError> {
        let Some(members) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "a SearchRequest is a JSON object",
            ));
        };
        let mut request = ListRequest::default();
        for (name, value) in members {
            if name.eq_ignore_ascii_case("schemas") {
                continue;
            }
            request.set(name, value.clone())?;
        }
        Ok(request)
    }

    fn set(&mut self, name: &str, value: Value) -> Result<(), ScimError> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("filter") {
            self.filter = Some(text(name, value)?);
        } else if is("sortBy") {
            self.sort_by = Some(text(name, value)?);
        } else if is("sortOrder") {
            self.sort_order = Some(text(name, value)?);
        } else if is("startIndex") {
            self.start_index = Some(integer(name, &value)?);
        } else if is("count") {
            self.count = Some(integer(name, &value)?);
        } else if is("cursor") {
            self.cursor = Some(text(name, value)?);
        } else if is("attributes") {
            self.attributes = Some(list(name, value)?);
        } else if is("excludedAttributes") {
            self.excluded_attributes = Some(list(name, value)?);
        }
        Ok(())
    }

    /// True for `sortOrder=descending`.
    pub fn descending(&self) -> Result<bool, ScimError> {
        match self.sort_order.as_deref() {
            None => Ok(false),
            Some(order) if order.eq_ignore_ascii_case("ascending") => Ok(false),
            Some(order) if order.eq_ignore_ascii_case("descending") => Ok(true),
            Some(other) => Err(ScimError::invalid_value(format!(
                "sortOrder must be ascending or descending, not `{other}`"
            ))),
        }
    }

    /// The index page asked for, clamped.
    pub fn page(&self) -> Page {
        Page::new(self.start_index, self.count)
    }
}

fn text(name: &str, value: Value) -> Result<String, ScimError> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(ScimError::invalid_value(format!("{name} must be a string"))),
    }
}

fn integer(name: &str, value: &Value) -> Result<i64, ScimError> {
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ScimError::invalid_value(format!("{name} must be an integer, not `{value}`"))
    })
}

/// `attributes` as a comma-separated string, from a string or an array.
fn list(name: &str, value: Value) -> Result<String, ScimError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Array(items) => items
            .into_iter()
            .map(|item| text(name, item))
            .collect::<Result<Vec<_>, _>>()
            .map(|names| names.join(",")),
        _ => Err(ScimError::invalid_value(format!(
            "{name} must be a list of attribute names"
        ))),
    }
}

/// Builds a ListResponse for cursor pagination (RFC 9865 §2), without
/// `totalResults` when `total` is `None`.
pub fn cursor_response(
    total: Option<u64>,
    resources: Vec<Value>,
    next: Option<String>,
    previous: Option<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([LIST_RESPONSE]));
    if let Some(total) = total {
        out.insert("totalResults".into(), json!(total));
    }
    out.insert("itemsPerPage".into(), json!(resources.len()));
    if let Some(previous) = previous {
        out.insert("previousCursor".into(), Value::String(previous));
    }
    if let Some(next) = next {
        out.insert("nextCursor".into(), Value::String(next));
    }
    out.insert("Resources".into(), Value::Array(resources));
    Value::Object(out)
}

/// Builds a ListResponse.
pub fn list_response(total: u64, page: Page, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": page.start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_requests_read_like_query_parameters() {
        let body = json!({
            "schemas": [SEARCH_REQUEST],
            "attributes": ["displayName", "userName"],
            "filter": "userName sw \"a\"",
            "startIndex": 1,
            "count": "10",
            "SORTBY": "userName"
        });
        let request = ListRequest::from_search(&body).expect("valid");
        assert_eq!(request.attributes.as_deref(), Some("displayName,userName"));
        assert_eq!(request.count, Some(10));
        assert_eq!(request.sort_by.as_deref(), Some("userName"));
        let query = ListRequest::from_query(vec![
            ("COUNT".into(), "3".into()),
            ("aadOptscim062020".into(), String::new()),
        ])
        .expect("valid");
        assert_eq!(query.count, Some(3));
        assert!(ListRequest::from_query(vec![("count".into(), "ten".into())]).is_err());
        let descending = ListRequest {
            sort_order: Some("Descending".into()),
            ..ListRequest::default()
        };
        assert_eq!(descending.descending().ok(), Some(true));
    }

    #[test]
    fn out_of_range_page_parameters_are_clamped_as_the_rfc_says() {
        assert_eq!(
            Page::new(None, None),
            Page {
                start_index: 1,
                count: DEFAULT_COUNT
            }
        );
        assert_eq!(
            Page::new(Some(0), Some(-5)),
            Page {
                start_index: 1,
                count: 0
            }
        );
        assert_eq!(Page::new(Some(-3), Some(1_000_000)).count, MAX_COUNT);
        assert_eq!(Page::new(Some(11), Some(10)).offset(), 10);
    }
}
