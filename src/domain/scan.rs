//! The bounded scan: when the indexes cannot answer a filter (or sort)
//! exactly, read the candidates they narrow to, at most `--scan-limit` of
//! them, and finish with the evaluator, sorting and paging in memory with
//! the same order rules as the database.

use std::cmp::Ordering;

use serde_json::Value;

use super::cursor::Position;
use super::query::{Page, Rows, Sorting, relation};
use super::{Domain, DomainError};
use crate::store::{Key, Kind, Order, Plan, Window};
use scim::ScimError;
use scim::eval::{Query, comparable, parse_instant};
use scim::path::Resolved;
use scim::projection::Projection;
use scim::schema::AttributeType;

/// Most candidates read at once by the bounded scan.
const SCAN_PIECE: u64 = 100;

impl Domain {
    /// The bounded scan: read the candidates, evaluate, sort and page in memory.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn scan(
        &self,
        kind: Kind,
        tenant_id: &str,
        query: Option<&Query>,
        plan: &Plan,
        sorting: &Sorting,
        walk: Option<Option<&Position>>,
        index: scim::list::Page,
        projection: &Projection,
    ) -> Result<Page, DomainError> {
        let candidates = self.store.count(kind, tenant_id, plan).await?;
        if candidates > self.scan_limit {
            return Err(ScimError::too_many(format!(
                "this filter or sortBy needs {candidates} resources read one by one, more than the \
                 {} allowed; narrow it with an indexed attribute (id, userName, externalId, \
                 emails.value, displayName, members.value, meta.lastModified)",
                self.scan_limit
            ))
            .into());
        }
        // Candidates are read a piece at a time and only the positions of
        // matches are kept: the page is read again, in pieces, to be written.
        let with_relations = projection.wants(relation(kind)) || query.is_some();
        let mut matched: Vec<Key> = Vec::new();
        let mut after: Option<Key> = None;
        let mut read = 0u64;
        while read < self.scan_limit {
            let window = Window {
                after: after.as_ref(),
                backward: false,
                offset: 0,
                limit: SCAN_PIECE.min(self.scan_limit - read),
            };
            let rows = self
                .store
                .list(
                    kind,
                    tenant_id,
                    plan,
                    Order::CREATION,
                    window,
                    with_relations,
                )
                .await?;
            read += rows.len() as u64;
            let more = rows.len() as u64 == window.limit;
            after = rows.last().map(|row| row.key.clone());
            let rendered = self
                .render_rows(kind, tenant_id, &rows, with_relations)
                .await?;
            matched.extend(
                rendered
                    .into_iter()
                    .filter(|(_, resource)| query.is_none_or(|q| q.matches(resource)))
                    .map(|(key, resource)| match &sorting.attr {
                        Some(attr) => Key {
                            value: sort_value(attr, &resource),
                            id: key.id,
                        },
                        None => key,
                    }),
            );
            if !more {
                break;
            }
        }
        matched.sort_by(|a, b| compare_keys(a, b, sorting.descending));
        let total = matched.len() as u64;
        // The scan read the documents but kept no sizes: pieces of the default size.
        let ids = |keys: Vec<Key>| Rows::Ids(keys.into_iter().map(|k| (k.id, None)).collect());
        match walk {
            None => {
                let start = usize::try_from(index.offset()).unwrap_or(usize::MAX);
                let count = usize::try_from(index.count).unwrap_or(usize::MAX);
                let page = matched.into_iter().skip(start).take(count).collect();
                Ok(Page {
                    total: Some(total),
                    rows: ids(page),
                    next: None,
                    previous: None,
                })
            }
            Some(position) => {
                let count = usize::try_from(index.count).unwrap_or(usize::MAX);
                let keys: Vec<Key> = match position {
                    None => matched.into_iter().take(count + 1).collect(),
                    Some(p) if p.backward => {
                        let mut before: Vec<Key> = matched
                            .into_iter()
                            .filter(|k| {
                                compare_keys(k, &p.key, sorting.descending) == Ordering::Less
                            })
                            .collect();
                        let keep = before.len().saturating_sub(count + 1);
                        before.drain(..keep);
                        before.reverse();
                        before
                    }
                    Some(p) => matched
                        .into_iter()
                        .filter(|k| {
                            compare_keys(k, &p.key, sorting.descending) == Ordering::Greater
                        })
                        .take(count + 1)
                        .collect(),
                };
                let (keys, next, previous) = cursor_page(keys, index.count, position, |k| k);
                Ok(Page {
                    total: Some(total),
                    rows: ids(keys),
                    next,
                    previous,
                })
            }
        }
    }
}

/// The sort value of a resource (RFC 7644 §3.4.2.3): the primary value of
/// a multi-valued attribute, else its first; text in the form the store's
/// columns hold ([`comparable`]: the key for userName, lowercased unless
/// caseExact); instants as milliseconds.
fn sort_value(attr: &Resolved, resource: &Value) -> Value {
    let holder = match &attr.extension {
        Some(urn) => resource.get(urn),
        None => Some(resource),
    };
    let Some(top) = holder.and_then(|h| h.get(&attr.name)) else {
        return Value::Null;
    };
    let element = match top {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first()),
        single => Some(single),
    };
    let leaf = match (&attr.sub, element) {
        (Some(sub), Some(e)) => e.get(sub),
        (None, e) => e,
        (Some(_), None) => None,
    };
    match (leaf, attr.kind) {
        (Some(Value::String(s)), AttributeType::DateTime) => {
            parse_instant(s).map_or(Value::Null, Value::from)
        }
        (Some(Value::String(s)), _) => Value::String(comparable(attr, s).into_owned()),
        (Some(v), _) => v.clone(),
        (None, _) => Value::Null,
    }
}

/// The order of two keys as listed: ascending puts missing values last,
/// descending is its exact reverse; ties go by id.
fn compare_keys(a: &Key, b: &Key, descending: bool) -> Ordering {
    let ascending = match (&a.value, &b.value) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (x, y) => rank(x).cmp(&rank(y)),
    }
    .then_with(|| a.id.cmp(&b.id));
    if descending {
        ascending.reverse()
    } else {
        ascending
    }
}

fn rank(value: &Value) -> u8 {
    match value {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) | Value::Object(_) => 3,
        Value::Null => 4,
    }
}

/// Trims a cursor fetch of `count + 1` rows (already in display order for
/// forward walks, in reverse for backward ones) to the page, and works out
/// the positions of the next and previous pages.
pub(super) fn cursor_page<T>(
    mut rows: Vec<T>,
    count: u64,
    position: Option<&Position>,
    key: impl Fn(&T) -> &Key,
) -> (Vec<T>, Option<Key>, Option<Key>) {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let more = rows.len() > count;
    rows.truncate(count);
    let backward = position.is_some_and(|p| p.backward);
    if backward {
        rows.reverse();
    }
    let first = rows.first().map(|r| key(r).clone());
    let last = rows.last().map(|r| key(r).clone());
    let (next, previous) = if backward {
        (last, if more { first } else { None })
    } else {
        (
            if more { last } else { None },
            if position.is_some() { first } else { None },
        )
    };
    (rows, next, previous)
}
