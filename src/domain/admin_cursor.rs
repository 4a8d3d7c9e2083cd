//! The admin API's list paging (DESIGN §5): an opaque `cursor` that
//! carries a keyset position, and a `limit` of 1 to
//! [`MAX_ADMIN_PAGE`] rows.
//!
//! A cursor is the position of the last row of a page, as base64url JSON;
//! the next page starts after it. It is not signed: it only moves the
//! start of a query that is already bounded to the caller's tenant, so a
//! forged one shows nothing a fresh query would not. Any list keyed on an
//! instant or a sequence plus an id can use it (`GET /users` keys on
//! `(created_at, id)`, `GET /audit` on the event's sequence number).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::DomainError;

/// Default page size of an admin list.
pub const DEFAULT_ADMIN_PAGE: u64 = 100;
/// Largest page size of an admin list.
pub const MAX_ADMIN_PAGE: u64 = 1000;

/// Longest cursor accepted, in bytes: a real one is far shorter.
const MAX_CURSOR_BYTES: usize = 1024;

/// A keyset position: the last row a page showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminCursor {
    /// The row's instant or sequence number (the first sort key).
    #[serde(rename = "a")]
    pub after: i64,
    /// The row's id (the tie-breaker; empty when the first key is unique).
    #[serde(rename = "i")]
    pub id: String,
}

/// The opaque text of `position`.
pub(crate) fn encode(position: &AdminCursor) -> String {
    // Serializing an i64 and a String cannot fail; an empty cursor would
    // only restart the list.
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The position `text` carries; anything this server did not issue is an
/// invalid request.
pub(crate) fn decode(text: &str) -> Result<AdminCursor, DomainError> {
    let bad =
        || DomainError::invalid("the cursor is not one this server issued; start again without it");
    if text.len() > MAX_CURSOR_BYTES {
        return Err(bad());
    }
    let json = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    serde_json::from_slice(&json).map_err(|_| bad())
}

/// The page size asked for: [`DEFAULT_ADMIN_PAGE`] when absent, else 1 to
/// [`MAX_ADMIN_PAGE`]; anything outside is an invalid request, never
/// quietly clamped.
pub(crate) fn page_size(limit: Option<u64>) -> Result<u64, DomainError> {
    match limit {
        None => Ok(DEFAULT_ADMIN_PAGE),
        Some(limit @ 1..=MAX_ADMIN_PAGE) => Ok(limit),
        Some(_) => Err(DomainError::invalid(format!(
            "limit must be 1 to {MAX_ADMIN_PAGE}"
        ))),
    }
}

/// One page of rows read with one extra: the rows to show, and the cursor
/// of the next page when the extra row says there is one.
pub(crate) fn split_page<T>(
    mut rows: Vec<T>,
    limit: u64,
    position: impl Fn(&T) -> AdminCursor,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|last| encode(&position(last)));
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_position_it_was_made_from() {
        let position = AdminCursor {
            after: 1_764_340_000_123,
            id: "5f0c-é".into(),
        };
        let text = encode(&position);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(decode(&text).ok(), Some(position));
    }

    #[test]
    fn text_this_server_did_not_issue_is_an_invalid_request() {
        let json_but_not_a_cursor = URL_SAFE_NO_PAD.encode(br#"{"a":"x","i":"y"}"#);
        let extra_field = URL_SAFE_NO_PAD.encode(br#"{"a":1,"i":"y","z":0}"#);
        for text in [
            "",
            "not base64!",
            "bm90IGpzb24",
            json_but_not_a_cursor.as_str(),
            extra_field.as_str(),
            &"A".repeat(MAX_CURSOR_BYTES + 4),
        ] {
            let Err(DomainError::Invalid { detail, .. }) = decode(text) else {
                panic!("{text:?} was accepted");
            };
            assert_eq!(
                detail,
                "the cursor is not one this server issued; start again without it"
            );
        }
    }

    #[test]
    fn a_limit_is_one_to_a_thousand_and_defaults_to_a_hundred() {
        assert_eq!(page_size(None).ok(), Some(100));
        assert_eq!(page_size(Some(1)).ok(), Some(1));
        assert_eq!(page_size(Some(1000)).ok(), Some(1000));
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(1001)).is_err());
        assert!(page_size(Some(u64::MAX)).is_err());
    }

    #[test]
    fn a_page_has_a_next_cursor_only_when_a_row_was_left_over() {
        let at = |n: &i64| AdminCursor {
            after: *n,
            id: n.to_string(),
        };
        let (rows, next) = split_page(vec![1, 2, 3], 2, at);
        assert_eq!(rows, [1, 2]);
        assert_eq!(next.map(|n| decode(&n).ok()), Some(Some(at(&2))));
        let (rows, next) = split_page(vec![1, 2], 2, at);
        assert_eq!((rows, next), (vec![1, 2], None));
    }
}
