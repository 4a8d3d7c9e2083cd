//! Listing and searching users and groups: filters, sorting, index and
//! cursor pagination, projection.
//!
//! When the store can answer a filter exactly and sort by a column, the
//! database does all the work and only one page is read. Otherwise the
//! store narrows the candidates as far as its indexes allow and scimd
//! finishes with the filter evaluator, reading at most [`SCAN_LIMIT`]
//! candidates; a query that would need more is refused with `tooMany`.

use std::collections::HashMap;

use serde_json::Value;

use super::cursor::{self, Position};
use super::listing::{Listing, PiecewiseList, RESOURCES_PER_PIECE};
use super::scan::cursor_page;
use super::{Domain, DomainError};
use crate::store::{Key, Kind, Listed, Order, Placed, SortColumn, Window, plan, sort_column};
use scim::ScimError;
use scim::eval::{Unknown, compile};
use scim::filter::{self, parse_path};
use scim::list::{ListRequest, cursor_response, list_response};
use scim::path::{Resolved, definition, resolve};
use scim::projection::Projection;
use scim::schema::{AttributeType, ResourceSchema};

/// Default for the most candidates read to finish a filter the indexes
/// cannot answer (`--scan-limit`).
pub const SCAN_LIMIT: u64 = 10_000;

/// How a list is ordered.
pub(super) struct Sorting {
    /// The attribute of `sortBy`, when given.
    pub(super) attr: Option<Resolved>,
    pub(super) descending: bool,
    /// The database order, when the database can sort.
    pub(super) sql: Option<Order>,
}

/// The resources of a page: rendered already (a short page), or only
/// their ids, to be read and written in pieces.
pub(super) enum Rows {
    Rendered(Vec<Value>),
    /// A large page's ids in order, with their documents' sizes when known.
    Ids(Vec<(String, Option<u64>)>),
}

/// One page of results, before rendering the response.
pub(super) struct Page {
    /// `totalResults`; `None` on a cursor page after the first, where
    /// counting would cost a scan of every match (RFC 9865 lets a cursor
    /// page leave it out).
    pub(super) total: Option<u64>,
    pub(super) rows: Rows,
    pub(super) next: Option<Key>,
    pub(super) previous: Option<Key>,
}

impl Domain {
    pub(super) fn schema_of(&self, kind: Kind) -> &ResourceSchema {
        match kind {
            Kind::Users => &self.schemas.user,
            Kind::Groups => &self.schemas.group,
        }
    }

    /// The projection a request's `attributes`/`excludedAttributes` ask for.
    pub fn projection(&self, kind: Kind, request: &ListRequest) -> Result<Projection, DomainError> {
        Ok(Projection::new(
            self.schema_of(kind),
            request.attributes.as_deref(),
            request.excluded_attributes.as_deref(),
        )?)
    }

    pub(super) fn shape(
        &self,
        kind: Kind,
        mut resource: super::Resource,
        projection: &Projection,
    ) -> super::Resource {
        projection.apply(self.schema_of(kind), &mut resource.body);
        resource
    }

    /// `GET /Users`, `GET /Groups` and their `/.search`.
    pub async fn list(
        &self,
        tenant_id: &str,
        kind: Kind,
        request: &ListRequest,
    ) -> Result<Value, DomainError> {
        let listing = self.listing(tenant_id, kind, request).await?;
        self.whole(listing).await
    }

    /// The same list, its resources left to be written in pieces when
    /// there are many (see [`Domain::write_list`]).
    pub async fn listing(
        &self,
        tenant_id: &str,
        kind: Kind,
        request: &ListRequest,
    ) -> Result<Listing, DomainError> {
        self.list_with(tenant_id, kind, request, Unknown::Reject)
            .await
    }

    async fn whole(&self, listing: Listing) -> Result<Value, DomainError> {
        match listing {
            Listing::Whole(list) => Ok(list),
            Listing::Piecewise(list) => self.list_whole(list).await,
        }
    }

    /// A search at the root: Users, then Groups, paged as one list (RFC
    /// 7644 §3.4.2.1). Attributes a type lacks have no value there.
    pub async fn search_root(
        &self,
        tenant_id: &str,
        request: &ListRequest,
    ) -> Result<Value, DomainError> {
        if request.cursor.is_some() {
            return Err(ScimError::invalid_value(
                "cursors are not supported at the root; search /Users or /Groups instead",
            )
            .into());
        }
        let page = request.page();
        let counting = ListRequest {
            count: Some(0),
            start_index: None,
            ..request.clone()
        };
        let users_total = total_of(
            &self
                .whole(
                    self.list_with(tenant_id, Kind::Users, &counting, Unknown::NoValue)
                        .await?,
                )
                .await?,
        );
        let offset = page.offset();
        let mut resources = Vec::new();
        if offset < users_total {
            let users = self
                .whole(
                    self.list_with(tenant_id, Kind::Users, request, Unknown::NoValue)
                        .await?,
                )
                .await?;
            resources.extend(resources_of(users));
        }
        let room = page.count.saturating_sub(resources.len() as u64);
        let groups_request = ListRequest {
            start_index: Some(
                i64::try_from(offset.saturating_sub(users_total) + 1).unwrap_or(i64::MAX),
            ),
            count: Some(i64::try_from(room).unwrap_or(0)),
            ..request.clone()
        };
        let groups = self
            .whole(
                self.list_with(tenant_id, Kind::Groups, &groups_request, Unknown::NoValue)
                    .await?,
            )
            .await?;
        let groups_total = total_of(&groups);
        if room > 0 {
            resources.extend(resources_of(groups));
        }
        Ok(list_response(users_total + groups_total, page, resources))
    }

    async fn list_with(
        &self,
        tenant_id: &str,
        kind: Kind,
        request: &ListRequest,
        unknown: Unknown,
    ) -> Result<Listing, DomainError> {
        let schema = self.schema_of(kind);
        let query = match request.filter.as_deref() {
            Some(text) => Some(compile(
                &filter::parse(text).map_err(ScimError::from)?,
                schema,
                unknown,
            )?),
            None => None,
        };
        let projection = Projection::new(
            schema,
            request.attributes.as_deref(),
            request.excluded_attributes.as_deref(),
        )?;
        let sorting = sorting(kind, schema, request)?;
        let index = request.page();
        // Only a cursor walk needs it (to check the cursor, or to issue
        // the next): a lookup does not hash its query.
        let fingerprint = if request.cursor.is_some() {
            cursor::fingerprint(&[
                schema.name,
                request.filter.as_deref().unwrap_or(""),
                request.sort_by.as_deref().unwrap_or(""),
                if sorting.descending { "d" } else { "a" },
            ])
        } else {
            String::new()
        };
        let position = match request.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(cursor::decode(
                text,
                &self.cursor_key,
                tenant_id,
                &fingerprint,
                self.now(),
            )?),
        };
        let walk = request.cursor.is_some().then_some(position.as_ref());
        let plan = plan(kind, tenant_id, query.as_ref());
        let relations = relation(kind);
        let page = match (plan.exact, sorting.sql) {
            (true, Some(order)) => {
                let with_relations = projection.wants(relations);
                let rows = Positions::read(
                    self,
                    kind,
                    tenant_id,
                    &plan,
                    order,
                    walk,
                    index,
                    with_relations,
                )
                .await?;
                let (rows, next, previous, whole) = rows.into_page(walk, index);
                // Lookups (one match or none) need no second query to count,
                // and a cursor page after the first is not counted at all: an
                // export of a million users in pages of 1,000 would count them
                // a thousand times.
                let later_cursor_page = walk.is_some_and(|position| position.is_some());
                let total = if whole {
                    Some(rows.len() as u64)
                } else if later_cursor_page {
                    None
                } else {
                    Some(self.store.count(kind, tenant_id, &plan).await?)
                };
                let rows = match rows {
                    Positions::Keys(keys) => {
                        Rows::Ids(keys.into_iter().map(|p| (p.key.id, p.bytes)).collect())
                    }
                    Positions::Records(rows) => Rows::Rendered(
                        self.render_rows(kind, tenant_id, &rows, projection.wants(relations))
                            .await?
                            .into_iter()
                            .map(|(_, v)| v)
                            .collect(),
                    ),
                };
                Page {
                    total,
                    rows,
                    next,
                    previous,
                }
            }
            _ => {
                self.scan(
                    kind,
                    tenant_id,
                    query.as_ref(),
                    &plan,
                    &sorting,
                    walk,
                    index,
                    &projection,
                )
                .await?
            }
        };
        let now = self.now();
        let issue = |key: Key, backward: bool| {
            cursor::encode(
                &Position {
                    tenant: tenant_id.to_owned(),
                    query: fingerprint.clone(),
                    key,
                    backward,
                    issued_at: now,
                },
                &self.cursor_key,
            )
        };
        let respond = |resources: Vec<Value>| {
            if walk.is_none() {
                // Only later cursor pages go uncounted.
                list_response(page.total.unwrap_or_default(), index, resources)
            } else {
                cursor_response(
                    page.total,
                    resources,
                    page.next.clone().map(|k| issue(k, false)),
                    page.previous.clone().map(|k| issue(k, true)),
                )
            }
        };
        Ok(match page.rows {
            Rows::Rendered(mut resources) => {
                for resource in &mut resources {
                    projection.apply(schema, resource);
                }
                Listing::Whole(respond(resources))
            }
            Rows::Ids(ids) => Listing::Piecewise(PiecewiseList::new(
                respond(Vec::new()),
                kind,
                tenant_id,
                ids,
                projection,
            )),
        })
    }

    /// Renders listed rows, with their memberships (users) or members
    /// (groups) when `with_relations`.
    pub(super) async fn render_rows(
        &self,
        kind: Kind,
        tenant_id: &str,
        rows: &[Listed],
        with_relations: bool,
    ) -> Result<Vec<(Key, Value)>, DomainError> {
        match kind {
            // A user's groups were read with it when wanted (`Store::list`).
            Kind::Users => Ok(rows
                .iter()
                .map(|row| {
                    let groups = row.groups.as_deref().unwrap_or_default();
                    (
                        row.key.clone(),
                        self.render_user(&row.record, groups.iter()).body,
                    )
                })
                .collect()),
            Kind::Groups => {
                let ids: Vec<&str> = rows.iter().map(|r| r.record.id.as_str()).collect();
                let members = if with_relations {
                    self.store.members(tenant_id, &ids).await?
                } else {
                    Vec::new()
                };
                let mut by_group: HashMap<&str, Vec<&crate::store::Member>> = HashMap::new();
                for (group_id, member) in &members {
                    by_group.entry(group_id.as_str()).or_default().push(member);
                }
                Ok(rows
                    .iter()
                    .map(|row| {
                        let mine = by_group
                            .get(row.record.id.as_str())
                            .map(Vec::as_slice)
                            .unwrap_or_default();
                        (
                            row.key.clone(),
                            self.render_group(&row.record, mine.iter().copied()).body,
                        )
                    })
                    .collect())
            }
        }
    }
}

/// The rows of an exact page as read: whole records, or only positions.
enum Positions {
    Records(Vec<Listed>),
    Keys(Vec<Placed>),
}

impl Positions {
    /// Reads the rows of a page (`index`) or of a cursor walk (`walk`,
    /// one row more than the page, to know whether another follows).
    ///
    /// The records themselves are read when they fit in one piece: a
    /// lookup (`userName eq`, one match or none) costs one statement
    /// whatever `count` says, users' groups included when
    /// `with_relations`. A longer page is read as positions, to be
    /// written in pieces; so are groups whose members are wanted.
    #[allow(clippy::too_many_arguments)]
    async fn read(
        domain: &Domain,
        kind: Kind,
        tenant_id: &str,
        plan: &crate::store::Plan,
        order: Order,
        walk: Option<Option<&Position>>,
        index: scim::list::Page,
        with_relations: bool,
    ) -> Result<Positions, DomainError> {
        let with_members = kind == Kind::Groups && with_relations;
        let window = match walk {
            None if index.count == 0 => return Ok(Positions::Records(Vec::new())),
            None => Window::page(index.offset(), index.count),
            Some(position) => Window {
                after: position.map(|p| &p.key),
                backward: position.is_some_and(|p| p.backward),
                offset: 0,
                limit: index.count + 1,
            },
        };
        let store = &domain.store;
        if !with_members {
            let first = Window {
                limit: window.limit.min(RESOURCES_PER_PIECE),
                ..window
            };
            let rows = store
                .list(kind, tenant_id, plan, order, first, with_relations)
                .await?;
            if (rows.len() as u64) < first.limit || first.limit == window.limit {
                return Ok(Positions::Records(rows));
            }
        }
        Ok(Positions::Keys(
            store
                .list_keys(kind, tenant_id, plan, order, window)
                .await?,
        ))
    }

    fn len(&self) -> usize {
        match self {
            Positions::Records(rows) => rows.len(),
            Positions::Keys(keys) => keys.len(),
        }
    }

    /// The page's rows, the next and previous positions, and whether the
    /// page holds every match.
    fn into_page(
        self,
        walk: Option<Option<&Position>>,
        index: scim::list::Page,
    ) -> (Positions, Option<Key>, Option<Key>, bool) {
        let Some(position) = walk else {
            // A first page with room to spare holds every match.
            let whole = index.offset() == 0 && (self.len() as u64) < index.count;
            return (self, None, None, whole);
        };
        let whole = position.is_none() && (self.len() as u64) <= index.count;
        match self {
            Positions::Records(rows) => {
                let (rows, next, previous) = cursor_page(rows, index.count, position, |r| &r.key);
                (Positions::Records(rows), next, previous, whole)
            }
            Positions::Keys(keys) => {
                let (keys, next, previous) = cursor_page(keys, index.count, position, |p| &p.key);
                (Positions::Keys(keys), next, previous, whole)
            }
        }
    }
}

/// The attribute computed from other rows: a user's groups, a group's members.
pub(super) fn relation(kind: Kind) -> &'static str {
    match kind {
        Kind::Users => "groups",
        Kind::Groups => "members",
    }
}

fn sorting(
    kind: Kind,
    schema: &ResourceSchema,
    request: &ListRequest,
) -> Result<Sorting, ScimError> {
    let descending = request.descending()?;
    let Some(text) = request.sort_by.as_deref() else {
        return Ok(Sorting {
            attr: None,
            descending,
            sql: Some(Order {
                column: SortColumn::Created,
                descending,
            }),
        });
    };
    let unknown = || {
        ScimError::invalid_value(format!(
            "sortBy names no attribute of {}: `{text}`",
            schema.name
        ))
    };
    let mut attr = resolve(schema, &parse_path(text).ok_or_else(unknown)?).ok_or_else(unknown)?;
    if attr.kind == AttributeType::Complex && attr.sub.is_none() {
        // RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its (primary) value.
        let value = definition(schema, &attr)
            .and_then(|d| d.sub_attribute("value"))
            .ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "sortBy cannot sort by the complex attribute {text}"
                ))
            })?;
        attr.sub = Some(value.name.clone());
        attr.kind = value.kind;
        attr.case_exact = value.case_exact;
    }
    let sql = sort_column(kind, &attr).map(|column| Order { column, descending });
    Ok(Sorting {
        attr: Some(attr),
        descending,
        sql,
    })
}

fn total_of(list: &Value) -> u64 {
    list.get("totalResults")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn resources_of(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut members) => match members.remove("Resources") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
