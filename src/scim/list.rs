//! List responses and index pagination (RFC 7644 §3.4.2, §3.4.2.4).

use serde_json::{Value, json};

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
