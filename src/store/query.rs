//! Listing users and groups: counts, sort orders, keyset seeks and
//! windows over the condition a [`Plan`] built (see `plan.rs`), and the
//! database's own plan for a listing (`EXPLAIN`).

use sea_orm::sea_query::{
    Alias, Cond, Condition, Expr, ExprTrait, Func, Order as SqlOrder, Query as SqlQuery,
    SelectStatement,
};
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryResult, Statement};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::exec::Row;
use super::plan::Plan;
use super::users::{groups_at, groups_column};
use super::{Membership, ResourceRecord, Store, StoreError};
use scim::path::Resolved;

/// The two resource tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    pub(super) fn table(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Groups => "groups",
        }
    }
}

/// A column the database can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortColumn {
    /// `meta.created`, then `id`: the default order.
    Created,
    Modified,
    Id,
    UserName,
    ExternalId,
    DisplayName,
}

impl SortColumn {
    fn column(self) -> &'static str {
        match self {
            SortColumn::Created => "created_at",
            SortColumn::Modified => "updated_at",
            SortColumn::Id => "id",
            SortColumn::UserName => "user_name_key",
            SortColumn::ExternalId => "external_id",
            SortColumn::DisplayName => "display_name_lc",
        }
    }

    fn nullable(self, kind: Kind) -> bool {
        match self {
            SortColumn::ExternalId => true,
            SortColumn::DisplayName => kind == Kind::Users,
            SortColumn::Created | SortColumn::Modified | SortColumn::Id | SortColumn::UserName => {
                false
            }
        }
    }

    fn integer(self) -> bool {
        matches!(self, SortColumn::Created | SortColumn::Modified)
    }
}

/// A sort order: a column, ties broken by `id`. Ascending puts resources
/// without a value last, descending first (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub column: SortColumn,
    pub descending: bool,
}

impl Order {
    /// Creation order (`meta.created`, then `id`): the default.
    pub const CREATION: Order = Order {
        column: SortColumn::Created,
        descending: false,
    };
}

/// A position in an order: a row's sort value (`null`, a string or an
/// integer) and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub value: Value,
    pub id: String,
}

/// A row's position and, on PostgreSQL, the size of its stored document
/// in bytes: what a large page reads first, to read its resources in
/// pieces of a bounded size.
#[derive(Debug, Clone)]
pub struct Placed {
    pub key: Key,
    pub bytes: Option<u64>,
}

/// A listed row: the resource and its position, and a user's groups
/// when they were read with it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub record: ResourceRecord,
    pub key: Key,
    pub groups: Option<Vec<Membership>>,
}

/// Which rows of an order to return.
#[derive(Debug, Clone, Copy)]
pub struct Window<'k> {
    /// Only rows after this position (before it, when `backward`).
    pub after: Option<&'k Key>,
    /// Walk the order backwards; rows come back in backward order.
    pub backward: bool,
    pub offset: u64,
    pub limit: u64,
}

impl Window<'_> {
    /// `limit` rows from row `offset` of the order, from its start.
    pub fn page(offset: u64, limit: u64) -> Self {
        Window {
            after: None,
            backward: false,
            offset,
            limit,
        }
    }
}

/// The column, if any, that sorts by `attr` in SQL.
pub fn sort_column(kind: Kind, attr: &Resolved) -> Option<SortColumn> {
    let column = match (attr.name.as_str(), attr.sub.as_deref()) {
        _ if attr.extension.is_some() => return None,
        ("id", None) => SortColumn::Id,
        ("externalId", None) => SortColumn::ExternalId,
        ("displayName", None) => SortColumn::DisplayName,
        ("userName", None) if kind == Kind::Users => SortColumn::UserName,
        ("meta", Some("created")) => SortColumn::Created,
        ("meta", Some("lastModified")) => SortColumn::Modified,
        _ => return None,
    };
    Some(column)
}

impl Store {
    /// How many resources the plan's condition selects.
    pub async fn count(&self, kind: Kind, tenant_id: &str, plan: &Plan) -> Result<u64, StoreError> {
        let table = Alias::new(kind.table());
        let mut select = SqlQuery::select();
        select
            .expr(Expr::col((table.clone(), Alias::new("id"))).count())
            .from(table.clone());
        restrict(&mut select, kind, tenant_id, plan);
        let backend = self.read.get_database_backend();
        let row = self.read.query_one_raw(backend.build(&select)).await?;
        let count: i64 = match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The rows the plan's condition selects, in `order`, within `window`;
    /// users with their groups when `with_groups` (in the same statement).
    pub async fn list(
        &self,
        kind: Kind,
        tenant_id: &str,
        plan: &Plan,
        order: Order,
        window: Window<'_>,
        with_groups: bool,
    ) -> Result<Vec<Listed>, StoreError> {
        let backend = self.read.get_database_backend();
        let with_groups = with_groups && kind == Kind::Users;
        let mut select = list_statement(kind, tenant_id, plan, order, window, Columns::Records);
        if with_groups {
            select.expr(groups_column(backend));
        }
        let statement = windowed(backend, select, window);
        // Only a plan that needs no bound value runs inline (`exec.rs`).
        self.hot_rows(statement, plan.inline_rows(window.limit), |row| {
            listed(row, order.column, with_groups)
        })
        .await
    }

    /// The rows of a list statement, with `columns`.
    async fn list_rows(
        &self,
        (kind, tenant_id, plan, order, window): (Kind, &str, &Plan, Order, Window<'_>),
        columns: Columns,
    ) -> Result<Vec<QueryResult>, StoreError> {
        let select = list_statement(kind, tenant_id, plan, order, window, columns);
        let backend = self.read.get_database_backend();
        Ok(self
            .read
            .query_all_raw(windowed(backend, select, window))
            .await?)
    }

    /// The positions of the rows [`Store::list`] would return, on
    /// PostgreSQL with the sizes of their documents, never the documents
    /// themselves: what a large page
    /// reads first, before its resources are read a piece at a time by
    /// [`Store::listed_by_ids`].
    pub async fn list_keys(
        &self,
        kind: Kind,
        tenant_id: &str,
        plan: &Plan,
        order: Order,
        window: Window<'_>,
    ) -> Result<Vec<Placed>, StoreError> {
        // Each piece of a page is a round trip on PostgreSQL, so pieces
        // are as large as the documents' sizes allow. On SQLite a piece of
        // 16 is read on the request's thread (`exec.rs`) at no such cost,
        // and the keys come from the index alone: reading each row's size
        // would cost a lookup in the table per row (an export of 1,000,000
        // users took 24 to 30 s with sized pieces, 20 s without).
        let sized = self.read.get_database_backend() == DatabaseBackend::Postgres;
        let columns = if sized {
            Columns::SizedKeys
        } else {
            Columns::Keys
        };
        let query = (kind, tenant_id, plan, order, window);
        let rows = self.list_rows(query, columns).await?;
        rows.iter()
            .map(|row| {
                let key = Key {
                    value: sort_value(row, order.column)?,
                    id: row.try_get("", "id")?,
                };
                let bytes = if sized {
                    row.try_get::<Option<i64>>("", "bytes")?
                } else {
                    None
                };
                Ok(Placed {
                    key,
                    bytes: bytes.map(|b| u64::try_from(b).unwrap_or(0)),
                })
            })
            .collect()
    }

    /// The resources `ids` of `tenant_id` that still exist, in no
    /// particular order, users with their groups when `with_groups` (one
    /// statement; callers pass a few at a time).
    pub async fn listed_by_ids(
        &self,
        kind: Kind,
        tenant_id: &str,
        ids: &[&str],
        with_groups: bool,
    ) -> Result<Vec<(ResourceRecord, Vec<Membership>)>, StoreError> {
        let table = Alias::new(kind.table());
        let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
        let mut select = SqlQuery::select();
        select
            .expr(col("id"))
            .expr(col("document"))
            .expr(col("version"))
            .expr(col("created_at"))
            .expr(col("updated_at"))
            .from(table.clone())
            .and_where(col("id").is_in(ids.iter().copied()))
            .and_where(super::in_tenant(
                (table.clone(), Alias::new("tenant_id")),
                tenant_id,
            ));
        let backend = self.read.get_database_backend();
        let with_groups = with_groups && kind == Kind::Users;
        if with_groups {
            select.expr(groups_column(backend));
        }
        let most = u64::try_from(ids.len()).unwrap_or(u64::MAX);
        self.hot_rows(backend.build(&select), most, |row| {
            record_with_groups(row, with_groups)
        })
        .await
    }

    /// The database's plan for [`Store::list`], one line per row of
    /// `EXPLAIN QUERY PLAN` (SQLite) or `EXPLAIN` (PostgreSQL), to show
    /// which index answers a query.
    pub async fn explain_list(
        &self,
        kind: Kind,
        tenant_id: &str,
        plan: &Plan,
        order: Order,
        window: Window<'_>,
    ) -> Result<Vec<String>, StoreError> {
        let select = list_statement(kind, tenant_id, plan, order, window, Columns::Records);
        let backend = self.read.get_database_backend();
        let mut statement = windowed(backend, select, window);
        let postgres = backend == DatabaseBackend::Postgres;
        statement.sql = if postgres {
            format!("EXPLAIN {}", statement.sql)
        } else {
            format!("EXPLAIN QUERY PLAN {}", statement.sql)
        };
        // Planned where a short list runs (`exec.rs`): on SQLite, by an
        // inline reader, whose plans do not depend on bound values, when
        // the plan is stable.
        self.hot_rows(statement, plan.inline_rows(0), |row| {
            // PostgreSQL's one column; SQLite's `detail`.
            row.text(if postgres { 0 } else { 3 })
        })
        .await
    }

    /// Refreshes the planner's statistics, e.g. after a bulk import.
    ///
    /// SQLite loads the statistics into a connection when it first reads
    /// the schema and never again by itself: a reading connection opened
    /// before the `ANALYZE` would keep planning without them (and pick,
    /// say, the creation-time index for `externalId eq`). Each open
    /// reading connection is therefore told to reload them; connections
    /// opened later read them anyway.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        // In a write transaction: on SQLite it runs on the inline writer,
        // whose own statistics are then current.
        let tx = self.begin().await?;
        tx.execute_unprepared("ANALYZE").await?;
        tx.commit().await?;
        if self.read.get_database_backend() != DatabaseBackend::Sqlite {
            return Ok(());
        }
        if let Some(inline) = &self.inline {
            inline.reload_statistics();
        }
        let pool = self.read.pool.get_sqlite_connection_pool();
        // Holding them all at once makes each acquire a different one.
        let mut held = Vec::new();
        for _ in 0..pool.size() {
            held.push(pool.acquire().await.map_err(sqlx_failure)?);
        }
        for connection in &mut held {
            sea_orm::sqlx::query("ANALYZE sqlite_schema")
                .execute(&mut **connection)
                .await
                .map_err(sqlx_failure)?;
        }
        Ok(())
    }
}

/// A driver error met outside sea-orm's own calls.
fn sqlx_failure(error: sea_orm::sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Exec(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(error)))
}

/// What a list statement reads of each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// The whole record and its sort key.
    Records,
    /// Only the id and the sort key: a row's position.
    Keys,
    /// The position and the document's size in bytes (`octet_length`:
    /// PostgreSQL reads the length stored with the value, not the value).
    SizedKeys,
}

fn list_statement(
    kind: Kind,
    tenant_id: &str,
    plan: &Plan,
    order: Order,
    window: Window<'_>,
    columns: Columns,
) -> SelectStatement {
    let table = Alias::new(kind.table());
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let sort = order.column;
    let mut select = SqlQuery::select();
    select.expr(col("id"));
    match columns {
        Columns::Records => {
            select
                .expr(col("document"))
                .expr(col("version"))
                .expr(col("created_at"))
                .expr(col("updated_at"));
        }
        Columns::Keys => {}
        Columns::SizedKeys => {
            // PostgreSQL's `octet_length` is an `int4`, SQLite's an integer.
            let bytes = Func::cust(Alias::new("octet_length")).arg(col("document"));
            select.expr_as(
                Func::cast_as(bytes, Alias::new("BIGINT")),
                Alias::new("bytes"),
            );
        }
    }
    select
        .expr_as(col(sort.column()), Alias::new("sort_key"))
        .from(table.clone());
    restrict(&mut select, kind, tenant_id, plan);
    // Walking backwards is walking the reversed order forwards.
    let descending = order.descending != window.backward;
    let nullable = sort.nullable(kind);
    if let Some(key) = window.after {
        select.cond_where(seek(
            &col(sort.column()),
            &col("id"),
            sort,
            nullable,
            descending,
            key,
        ));
    }
    let direction = if descending {
        SqlOrder::Desc
    } else {
        SqlOrder::Asc
    };
    if nullable {
        select.order_by_expr(col(sort.column()).is_null(), direction.clone());
    }
    if sort != SortColumn::Id {
        select.order_by_expr(col(sort.column()), direction.clone());
    }
    select.order_by_expr(col("id"), direction);
    select
}

/// The statement for `select` limited to `window`'s rows.
///
/// On SQLite the `LIMIT` is written into the SQL as a number: SQLite plans
/// a bound `LIMIT ?` with its value, so every run of such a statement
/// would be parsed and planned again (`sqlite3Reprepare`, see `by_key` in
/// `mod.rs`). The offset stays bound (SQLite does not plan with it), so a
/// walk through index pages reuses one prepared statement per page size.
fn windowed(
    backend: DatabaseBackend,
    mut select: SelectStatement,
    window: Window<'_>,
) -> Statement {
    if backend != DatabaseBackend::Sqlite {
        // PostgreSQL plans a prepared statement for its bound values five
        // times, then keeps a generic plan only if its estimate is no
        // worse. A bound `OFFSET` is estimated as skipping a tenth of the
        // rows, so a lookup's generic plan never looked as good and every
        // run was planned again (0.25 ms of a 0.1 ms lookup). Without an
        // offset, the generic plan is the custom one.
        select.limit(window.limit);
        if window.offset > 0 {
            select.offset(window.offset);
        }
        return backend.build(&select);
    }
    let mut statement = backend.build(&select);
    statement.sql = format!("{} LIMIT {} OFFSET ?", statement.sql, window.limit);
    let offset = sea_orm::Value::BigUnsigned(Some(window.offset));
    match &mut statement.values {
        Some(values) => values.0.push(offset),
        None => statement.values = Some(sea_orm::Values(vec![offset])),
    }
    statement
}

fn restrict(select: &mut SelectStatement, kind: Kind, tenant_id: &str, plan: &Plan) {
    select.and_where(Expr::col((Alias::new(kind.table()), Alias::new("tenant_id"))).eq(tenant_id));
    if let Some(condition) = &plan.condition {
        select.cond_where(condition.clone());
    }
}

/// Rows strictly after `key` in the order (column, id), where missing
/// values come last ascending and first descending.
fn seek(
    column: &Expr,
    id: &Expr,
    sort: SortColumn,
    nullable: bool,
    descending: bool,
    key: &Key,
) -> Condition {
    let after_id = if descending {
        id.clone().lt(key.id.clone())
    } else {
        id.clone().gt(key.id.clone())
    };
    if sort == SortColumn::Id {
        return Cond::all().add(after_id);
    }
    let value: Option<sea_orm::Value> = match &key.value {
        Value::Null => None,
        Value::Number(n) if sort.integer() => n.as_i64().map(Into::into),
        Value::String(s) if !sort.integer() => Some(s.clone().into()),
        // A key that does not fit the column cannot come from this order.
        _ => return Cond::all().add(Expr::val(1).eq(0)),
    };
    match value {
        Some(value) => {
            // A row-value comparison, `(column, id) > (value, key id)`: both
            // databases answer it as one range of the (tenant, column, id)
            // index. PostgreSQL answered the equivalent `column > value OR
            // (column = value AND id > key id)` by reading the tenant's rows
            // from the start of the index and filtering, so each page of a
            // cursor walk read every row before it (BENCHMARKS.md).
            let pair = Expr::tuple([column.clone(), id.clone()]);
            let key_pair = Expr::tuple([Expr::val(value), Expr::val(key.id.clone())]);
            let beyond = if descending {
                pair.lt(key_pair)
            } else {
                pair.gt(key_pair)
            };
            let non_null_after = Cond::all().add(beyond);
            if !nullable {
                return non_null_after;
            }
            let non_null = Cond::all()
                .add(column.clone().is_not_null())
                .add(non_null_after);
            if descending {
                non_null
            } else {
                Cond::any().add(non_null).add(column.clone().is_null())
            }
        }
        None => {
            let null_after = Cond::all().add(column.clone().is_null()).add(after_id);
            if descending {
                Cond::any()
                    .add(null_after)
                    .add(column.clone().is_not_null())
            } else {
                null_after
            }
        }
    }
}

/// The `sort_key` column of a listed row.
fn sort_value(row: &QueryResult, sort: SortColumn) -> Result<Value, StoreError> {
    Ok(if sort.integer() {
        Value::from(row.try_get::<i64>("", "sort_key")?)
    } else {
        row.try_get::<Option<String>>("", "sort_key")?
            .map_or(Value::Null, Value::String)
    })
}

/// `id`, `document`, `version`, `created_at`, `updated_at`: the first
/// columns of a record's row.
pub(super) fn record_of(row: &dyn Row) -> Result<ResourceRecord, StoreError> {
    ResourceRecord::parse(
        row.text(0)?,
        &row.text(1)?,
        row.int(2)?,
        row.int(3)?,
        row.int(4)?,
    )
}

/// A record's row ([`record_of`]) and, when `with_groups`, the groups
/// column after it.
pub(super) fn record_with_groups(
    row: &dyn Row,
    with_groups: bool,
) -> Result<(ResourceRecord, Vec<Membership>), StoreError> {
    let record = record_of(row)?;
    let groups = if with_groups {
        groups_at(row, 5, &record.id)?
    } else {
        Vec::new()
    };
    Ok((record, groups))
}

/// A row of a list statement with [`Columns::Records`]: the record, its
/// `sort_key`, then the groups column when `with_groups`.
fn listed(row: &dyn Row, sort: SortColumn, with_groups: bool) -> Result<Listed, StoreError> {
    let record = record_of(row)?;
    let value = if sort.integer() {
        Value::from(row.int(5)?)
    } else {
        row.opt_text(5)?.map_or(Value::Null, Value::String)
    };
    let groups = with_groups
        .then(|| groups_at(row, 6, &record.id))
        .transpose()?;
    Ok(Listed {
        key: Key {
            value,
            id: record.id.clone(),
        },
        record,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> SelectStatement {
        let mut select = SqlQuery::select();
        select
            .expr(Expr::col(Alias::new("id")))
            .from(Alias::new("users"));
        select
    }

    #[test]
    fn a_postgresql_page_from_the_start_carries_no_offset() {
        // A bound OFFSET made PostgreSQL plan every lookup again (`windowed`).
        let first = windowed(DatabaseBackend::Postgres, users(), Window::page(0, 16));
        assert!(first.sql.ends_with("LIMIT $1"), "{}", first.sql);
        let later = windowed(DatabaseBackend::Postgres, users(), Window::page(32, 16));
        assert!(later.sql.ends_with("LIMIT $1 OFFSET $2"), "{}", later.sql);
    }

    #[test]
    fn an_sqlite_page_writes_its_limit_and_binds_its_offset() {
        let page = windowed(DatabaseBackend::Sqlite, users(), Window::page(32, 16));
        assert!(page.sql.ends_with("LIMIT 16 OFFSET ?"), "{}", page.sql);
        let values = page.values.expect("the offset is bound").0;
        assert_eq!(values, vec![sea_orm::Value::BigUnsigned(Some(32))]);
    }
}
