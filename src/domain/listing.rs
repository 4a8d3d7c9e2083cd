//! List responses and big groups written in pieces (DESIGN.md §8).
//!
//! A page of 1,000 users of up to 1 MiB each, or a group of 100,000
//! members, is never held whole: its positions are read first (ids and
//! sort keys, a few dozen bytes each), then the resources a few at a time
//! and a group's members a thousand at a time, each piece rendered,
//! serialized and handed to the response body before the next is read.
//! The body is a bounded channel, so a client that reads slowly makes
//! the writer wait instead of letting pieces pile up: what one response
//! holds is a few pieces, however large the page and however slow the
//! reader. A short page of users is still read and rendered in one go.

use std::collections::HashMap;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::query::relation;
use super::{Domain, DomainError, Kind};
use crate::store::{IDS_PER_STATEMENT, Membership, ResourceRecord};
use scim::projection::Projection;

/// A page no longer than this (of users) is built whole; a list written
/// in pieces reads this many resources at once when their sizes are not
/// known.
pub(super) const RESOURCES_PER_PIECE: u64 = 16;

/// Most bytes of stored documents one piece of a list reads when their
/// sizes are known (on PostgreSQL, where each piece is a round trip): a
/// piece of small users holds many (an export of 1 KiB users reads 256
/// at a time, in one statement), a piece of 1 MiB users one.
const PIECE_READ_BYTES: u64 = 256 * 1024;

/// A piece is handed on once its text is this long, so a piece of large
/// resources is not held twice (as values and as text) at once.
const PIECE_BYTES: usize = 64 * 1024;

/// Most members of one group read and written at once.
const MEMBERS_PER_PIECE: u64 = 1000;

/// Where the pieces of a response body go. Sending waits while the
/// client is slow to read; it fails once the client has gone.
pub type Pieces = mpsc::Sender<String>;

/// A list response: built whole, or to be written in pieces.
#[derive(Debug)]
pub enum Listing {
    Whole(Value),
    Piecewise(PiecewiseList),
}

/// A list response whose resources are read when written: its fields
/// other than `Resources` and `itemsPerPage`, and the ids of its
/// resources in order, with their stored sizes when known.
#[derive(Debug)]
pub struct PiecewiseList {
    head: Map<String, Value>,
    kind: Kind,
    tenant_id: String,
    ids: Vec<(String, Option<u64>)>,
    projection: Projection,
}

impl PiecewiseList {
    pub(super) fn new(
        head: Value,
        kind: Kind,
        tenant_id: &str,
        ids: Vec<(String, Option<u64>)>,
        projection: Projection,
    ) -> PiecewiseList {
        let mut head = match head {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        // Written after the resources, from what was actually written.
        head.remove("Resources");
        head.remove("itemsPerPage");
        PiecewiseList {
            head,
            kind,
            tenant_id: tenant_id.to_owned(),
            ids,
            projection,
        }
    }
}

/// A group whose members are written in pieces after the rest of it.
#[derive(Debug)]
pub struct PiecewiseGroup {
    /// The group as projected, without `members`.
    body: Value,
    tenant_id: String,
    id: String,
    projection: Projection,
}

/// Records read for one piece of a list.
struct Batch {
    records: HashMap<String, ResourceRecord>,
    /// The groups of each user, by user id.
    memberships: HashMap<String, Vec<Membership>>,
}

/// Why writing stopped early.
enum Stop {
    /// The client went away: nothing more to do.
    Gone,
    Failed(DomainError),
}

impl From<DomainError> for Stop {
    fn from(error: DomainError) -> Self {
        Stop::Failed(error)
    }
}

impl From<crate::store::StoreError> for Stop {
    fn from(error: crate::store::StoreError) -> Self {
        Stop::Failed(error.into())
    }
}

async fn send(out: &Pieces, piece: String) -> Result<(), Stop> {
    out.send(piece).await.map_err(|_| Stop::Gone)
}

/// How many of `entries` (ids and stored sizes, in order) the next piece
/// reads: at least one, at most as many as one statement names, and no
/// more than [`PIECE_READ_BYTES`] together unless the first alone is
/// larger. An unknown size counts as a share of [`RESOURCES_PER_PIECE`].
fn piece_len(entries: &[(String, Option<u64>)]) -> usize {
    let unknown = PIECE_READ_BYTES / RESOURCES_PER_PIECE;
    let mut bytes = 0u64;
    let mut len = 0;
    for (_, size) in entries.iter().take(IDS_PER_STATEMENT) {
        bytes = bytes.saturating_add(size.unwrap_or(unknown));
        if len > 0 && bytes > PIECE_READ_BYTES {
            break;
        }
        len += 1;
    }
    len
}

/// An object's JSON text without its closing brace, so that more members
/// can follow.
fn open_object(object: &Value) -> String {
    let mut text = object.to_string();
    text.pop();
    text
}

impl Domain {
    /// Writes a piecewise list to `out`. An error after the first piece
    /// cannot become an error response any more: the caller ends the body
    /// abruptly, so the client sees a broken response, never a short one.
    pub async fn write_list_piecewise(
        &self,
        list: PiecewiseList,
        out: &Pieces,
    ) -> Result<(), DomainError> {
        finish(self.write_list_pieces(list, out).await)
    }

    /// Writes a group's members after the rest of the group.
    pub async fn write_group_piecewise(
        &self,
        group: PiecewiseGroup,
        out: &Pieces,
    ) -> Result<(), DomainError> {
        finish(self.write_group_pieces(&group, out).await)
    }

    async fn write_list_pieces(&self, mut list: PiecewiseList, out: &Pieces) -> Result<(), Stop> {
        let mut text = open_object(&Value::Object(std::mem::take(&mut list.head)));
        text.push_str(",\"Resources\":[");
        let mut written = 0u64;
        let mut rest = std::mem::take(&mut list.ids);
        let mut start = 0;
        while start < rest.len() {
            let end = start + piece_len(&rest[start..]);
            let ids: Vec<String> = rest[start..end]
                .iter_mut()
                .map(|(id, _)| std::mem::take(id))
                .collect();
            start = end;
            let mut batch = self.read_batch(&list, &ids).await?;
            for id in &ids {
                // Each record is dropped once written: a reader that stalls
                // holds back what is left of one batch, no more.
                let Some(record) = batch.records.remove(id) else {
                    continue;
                };
                if written > 0 {
                    text.push(',');
                }
                written += 1;
                let (body, group) = match list.kind {
                    Kind::Users => {
                        let mine = batch.memberships.get(id).map(Vec::as_slice);
                        let mut body = self
                            .render_user(&record, mine.unwrap_or_default().iter())
                            .body;
                        list.projection.apply(&self.schemas.user, &mut body);
                        (body, None)
                    }
                    Kind::Groups => {
                        self.group_without_members(&list.tenant_id, &record, &list.projection)
                    }
                };
                drop(record);
                match group {
                    None => {
                        text.push_str(&body.to_string());
                        if text.len() >= PIECE_BYTES {
                            send(out, std::mem::take(&mut text)).await?;
                        }
                    }
                    Some(group) => {
                        send(out, std::mem::take(&mut text)).await?;
                        self.write_group_pieces(&group, out).await?;
                    }
                }
            }
            send(out, std::mem::take(&mut text)).await?;
        }
        text.push_str(&format!("],\"itemsPerPage\":{written}}}"));
        send(out, text).await
    }

    async fn write_group_pieces(&self, group: &PiecewiseGroup, out: &Pieces) -> Result<(), Stop> {
        let mut text = open_object(&group.body);
        let mut after: Option<String> = None;
        let mut opened = false;
        loop {
            let members = self
                .store
                .members_page(
                    &group.tenant_id,
                    &group.id,
                    after.as_deref(),
                    MEMBERS_PER_PIECE,
                )
                .await?;
            let Some(last) = members.last() else {
                break;
            };
            after = Some(last.id.clone());
            let full = members.len() as u64 == MEMBERS_PER_PIECE;
            let rendered: Vec<Value> = members.iter().map(|m| self.render_member(m)).collect();
            let mut holder = Value::Object(Map::from_iter([(
                "members".to_owned(),
                Value::Array(rendered),
            )]));
            group.projection.apply(&self.schemas.group, &mut holder);
            if let Some(Value::Array(values)) = holder.get("members") {
                for value in values {
                    text.push_str(if opened { "," } else { ",\"members\":[" });
                    opened = true;
                    text.push_str(&value.to_string());
                }
            }
            send(out, std::mem::take(&mut text)).await?;
            if !full {
                break;
            }
        }
        text.push_str(if opened { "]}" } else { "}" });
        send(out, text).await
    }

    /// The records `ids` of a list (those deleted since their ids were
    /// read are missing), with the memberships of users when wanted.
    async fn read_batch(&self, list: &PiecewiseList, ids: &[String]) -> Result<Batch, Stop> {
        let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
        let tenant_id = &list.tenant_id;
        let with_groups = list.kind == Kind::Users && list.projection.wants(relation(Kind::Users));
        let found = self
            .store
            .listed_by_ids(list.kind, tenant_id, &wanted, with_groups)
            .await?;
        let mut records = HashMap::with_capacity(found.len());
        let mut memberships: HashMap<String, Vec<Membership>> = HashMap::new();
        for (record, groups) in found {
            if with_groups {
                memberships.insert(record.id.clone(), groups);
            }
            records.insert(record.id.clone(), record);
        }
        Ok(Batch {
            records,
            memberships,
        })
    }

    /// A group rendered and projected without its members; when they are
    /// wanted, the group to write them for.
    pub(super) fn group_without_members(
        &self,
        tenant_id: &str,
        record: &ResourceRecord,
        projection: &Projection,
    ) -> (Value, Option<PiecewiseGroup>) {
        let mut body = self.render_group(record, std::iter::empty()).body;
        projection.apply(&self.schemas.group, &mut body);
        let group = projection
            .wants(relation(Kind::Groups))
            .then(|| PiecewiseGroup {
                body: body.clone(),
                tenant_id: tenant_id.to_owned(),
                id: record.id.clone(),
                projection: projection.clone(),
            });
        (body, group)
    }

    /// A piecewise list read whole, for callers that need its resources
    /// as values (a root search, tools).
    pub(super) async fn list_whole(&self, list: PiecewiseList) -> Result<Value, DomainError> {
        let (out, mut pieces) = mpsc::channel(1);
        let writer = async move { self.write_list_piecewise(list, &out).await };
        let reader = async {
            let mut text = String::new();
            while let Some(piece) = pieces.recv().await {
                text.push_str(&piece);
            }
            text
        };
        let (written, text) = tokio::join!(writer, reader);
        written?;
        serde_json::from_str(&text).map_err(|_| {
            DomainError::Storage(crate::store::StoreError::Corrupt(
                "a list written in pieces".to_owned(),
            ))
        })
    }
}

fn finish(result: Result<(), Stop>) -> Result<(), DomainError> {
    match result {
        Ok(()) | Err(Stop::Gone) => Ok(()),
        Err(Stop::Failed(error)) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(sizes: &[Option<u64>]) -> Vec<(String, Option<u64>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, size)| (i.to_string(), *size))
            .collect()
    }

    #[test]
    fn small_documents_are_read_as_many_as_one_statement_names() {
        let entries = sized(&[Some(1024); 1000]);
        assert_eq!(piece_len(&entries), 256);
        let entries = sized(&[Some(10); 1000]);
        assert_eq!(piece_len(&entries), IDS_PER_STATEMENT);
    }

    #[test]
    fn a_piece_holds_no_more_than_its_bytes_unless_one_document_is_larger() {
        let mib = Some(1024 * 1024);
        assert_eq!(piece_len(&sized(&[mib, mib, Some(1)])), 1);
        assert_eq!(piece_len(&sized(&[Some(200 * 1024), mib])), 1);
        assert_eq!(piece_len(&sized(&[Some(100 * 1024); 3])), 2);
        assert_eq!(piece_len(&sized(&[Some(1); 3])), 3);
        assert_eq!(piece_len(&[]), 0);
    }

    #[test]
    fn documents_of_unknown_size_are_read_as_before() {
        let entries = sized(&[None; 100]);
        assert_eq!(piece_len(&entries) as u64, RESOURCES_PER_PIECE);
    }
}
