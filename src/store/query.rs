//! Listing users and groups: compiled filters pushed down to SQL, sort
//! orders, keyset seeks and windows.
//!
//! A filter becomes a SQL condition on indexed columns where scimd has
//! one (`id`, `userName`, `externalId`, `displayName`, `active`,
//! `meta.created`, `meta.lastModified`, `emails.value`/`.type`,
//! `members.value`, `groups.value`) and any `and`/`or`/`not` of those; the
//! [`Plan`] then says the condition is *exact*. Any other part of a filter
//! is left out of the condition, which then selects a superset that the
//! domain finishes with the evaluator, within a bounded scan.
//!
//! Values are always bound parameters; `LIKE` patterns escape `%`, `_` and
//! `\`.

use sea_orm::sea_query::{
    Alias, Cond, Condition, Expr, ExprTrait, LikeExpr, Order as SqlOrder, Query as SqlQuery,
    SelectStatement, SimpleExpr,
};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ResourceRecord, Store, StoreError};
use crate::scim::eval::{Op, Operand, Query};
use crate::scim::path::Resolved;

/// The two resource tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn table(self) -> &'static str {
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
            SortColumn::UserName => "user_name_lc",
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

/// A position in an order: a row's sort value (`null`, a string or an
/// integer) and its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub value: Value,
    pub id: String,
}

/// A listed row: the resource and its position.
#[derive(Debug, Clone)]
pub struct Listed {
    pub record: ResourceRecord,
    pub key: Key,
}

/// A filter as SQL: the condition and whether it is exact.
#[derive(Debug, Clone)]
pub struct Plan {
    condition: Option<Condition>,
    /// True when the condition selects exactly the matching resources;
    /// false when it selects a superset (or, without a condition, all).
    pub exact: bool,
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

/// Plans `query` for `kind` in `tenant_id`.
pub fn plan(kind: Kind, tenant_id: &str, query: Option<&Query>) -> Plan {
    match query {
        None => Plan {
            condition: None,
            exact: true,
        },
        Some(query) => {
            let (condition, exact) = Planner { kind, tenant_id }.translate(query);
            Plan { condition, exact }
        }
    }
}

/// Where an attribute lives in SQL.
enum Target {
    /// A column of the resource's own table.
    Column { name: &'static str, nullable: bool },
    /// A column of a side table, reached by `id IN (SELECT …)`.
    Side(Side),
}

#[derive(Clone, Copy)]
struct Side {
    table: &'static str,
    /// The side table's column holding the resource's id.
    key: &'static str,
    /// The compared column.
    column: &'static str,
}

const EMAILS: &str = "user_emails";
const MEMBERS: &str = "group_members";

fn target(kind: Kind, attr: &Resolved) -> Option<Target> {
    if attr.extension.is_some() {
        return None;
    }
    let column = |name, nullable| Some(Target::Column { name, nullable });
    let side = |table, key, column| Some(Target::Side(Side { table, key, column }));
    match (kind, attr.name.as_str(), attr.sub.as_deref()) {
        (_, "id", None) => column("id", false),
        (_, "externalId", None) => column("external_id", true),
        (Kind::Users, "displayName", None) => column("display_name_lc", true),
        (Kind::Groups, "displayName", None) => column("display_name_lc", false),
        (Kind::Users, "userName", None) => column("user_name_lc", false),
        (Kind::Users, "active", None) => column("active", false),
        (_, "meta", Some("created")) => column("created_at", false),
        (_, "meta", Some("lastModified")) => column("updated_at", false),
        (Kind::Users, "emails", Some("value")) => side(EMAILS, "user_id", "value_lc"),
        (Kind::Users, "emails", Some("type")) => side(EMAILS, "user_id", "type_lc"),
        (Kind::Users, "groups", Some("value")) => side(MEMBERS, "member_id", "group_id"),
        (Kind::Groups, "members", Some("value")) => side(MEMBERS, "group_id", "member_id"),
        _ => None,
    }
}

/// The side table behind a value filter on `attr` (`emails[…]`, `members[…]`).
fn side_of(kind: Kind, attr: &Resolved) -> Option<(&'static str, &'static str)> {
    match (kind, attr.name.as_str()) {
        _ if attr.extension.is_some() || attr.sub.is_some() => None,
        (Kind::Users, "emails") => Some((EMAILS, "user_id")),
        (Kind::Users, "groups") => Some((MEMBERS, "member_id")),
        (Kind::Groups, "members") => Some((MEMBERS, "group_id")),
        _ => None,
    }
}

/// The column of `table` that holds the sub-attribute `sub` of one value.
fn side_column(table: &str, sub: &str, kind: Kind) -> Option<&'static str> {
    match (table, sub, kind) {
        (EMAILS, "value", _) => Some("value_lc"),
        (EMAILS, "type", _) => Some("type_lc"),
        (MEMBERS, "value", Kind::Users) => Some("group_id"),
        (MEMBERS, "value", Kind::Groups) => Some("member_id"),
        _ => None,
    }
}

struct Planner<'a> {
    kind: Kind,
    tenant_id: &'a str,
}

impl Planner<'_> {
    /// The condition (None: no restriction) and whether it is exact.
    fn translate(&self, query: &Query) -> (Option<Condition>, bool) {
        fold(query, &|leaf| match leaf {
            Query::Compare { attr, .. } | Query::Present(attr) => match target(self.kind, attr) {
                Some(Target::Column { name, nullable }) => {
                    let column = Expr::col((Alias::new(self.kind.table()), Alias::new(name)));
                    (Some(condition_on(column, nullable, leaf)), true)
                }
                Some(Target::Side(side)) => {
                    let column = Expr::col((Alias::new(side.table), Alias::new(side.column)));
                    let condition = condition_on(column, true, leaf);
                    (Some(self.in_side(side.table, side.key, condition)), true)
                }
                None => (None, false),
            },
            Query::Any { attr, filter } => match side_of(self.kind, attr) {
                Some((table, key)) => match self.translate_value(table, filter) {
                    (Some(condition), exact) => (Some(self.in_side(table, key, condition)), exact),
                    (None, _) => (None, false),
                },
                None => (None, false),
            },
            Query::Nothing => (Some(Cond::all().add(Expr::val(1).eq(0))), true),
            Query::And(..) | Query::Or(..) | Query::Not(..) => (None, false),
        })
    }

    /// A value filter's condition on one row of the side table `table`.
    fn translate_value(&self, table: &'static str, query: &Query) -> (Option<Condition>, bool) {
        fold(query, &|leaf| match leaf {
            Query::Compare { attr, .. } | Query::Present(attr) => {
                match side_column(table, &attr.name, self.kind) {
                    Some(column) => {
                        let column = Expr::col((Alias::new(table), Alias::new(column)));
                        (Some(condition_on(column, true, leaf)), true)
                    }
                    None => (None, false),
                }
            }
            Query::Any { .. }
            | Query::Nothing
            | Query::And(..)
            | Query::Or(..)
            | Query::Not(..) => (None, false),
        })
    }

    /// `<table>.id IN (SELECT key FROM side WHERE tenant_id = ? AND condition)`.
    fn in_side(&self, side: &'static str, key: &'static str, condition: Condition) -> Condition {
        let select = SqlQuery::select()
            .column((Alias::new(side), Alias::new(key)))
            .from(Alias::new(side))
            .and_where(Expr::col((Alias::new(side), Alias::new("tenant_id"))).eq(self.tenant_id))
            .cond_where(condition)
            .to_owned();
        Cond::all()
            .add(Expr::col((Alias::new(self.kind.table()), Alias::new("id"))).in_subquery(select))
    }
}

/// Folds the boolean structure of `query`, handing everything else to
/// `leaf`. An `and` keeps what each side can say (dropping a side only
/// widens the result, so the condition stays a superset); an `or` needs
/// both sides; a `not` needs an exact inside.
fn fold(
    query: &Query,
    leaf: &dyn Fn(&Query) -> (Option<Condition>, bool),
) -> (Option<Condition>, bool) {
    match query {
        Query::And(a, b) => {
            let (a, a_exact) = fold(a, leaf);
            let (b, b_exact) = fold(b, leaf);
            let condition = match (a, b) {
                (Some(a), Some(b)) => Some(Cond::all().add(a).add(b)),
                (one, other) => one.or(other),
            };
            (condition, a_exact && b_exact)
        }
        Query::Or(a, b) => match (fold(a, leaf), fold(b, leaf)) {
            ((Some(a), a_exact), (Some(b), b_exact)) => {
                (Some(Cond::any().add(a).add(b)), a_exact && b_exact)
            }
            _ => (None, false),
        },
        Query::Not(inner) => match fold(inner, leaf) {
            (Some(condition), true) => (Some(condition.not()), true),
            _ => (None, false),
        },
        Query::Compare { .. } | Query::Present(_) | Query::Any { .. } | Query::Nothing => {
            leaf(query)
        }
    }
}

/// One comparison or presence test on a column.
fn condition_on(column: Expr, nullable: bool, query: &Query) -> Condition {
    let test: SimpleExpr = match query {
        Query::Present(_) => {
            // RFC 7643 §2.5: "" is unassigned too.
            let text_present = column.clone().is_not_null().and(column.clone().ne(""));
            return match query {
                Query::Present(attr) if is_text(attr) => Cond::all().add(text_present),
                _ => Cond::all().add(column.is_not_null()),
            };
        }
        Query::Compare { op, value, .. } => {
            let value: sea_orm::Value = match value {
                Operand::Bool(b) => (*b).into(),
                Operand::Instant(ms) => (*ms).into(),
                Operand::Number(n) => (*n).into(),
                Operand::Text(t) => t.clone().into(),
            };
            let text = |v: &sea_orm::Value| match v {
                sea_orm::Value::String(Some(s)) => escape_like(s),
                _ => String::new(),
            };
            match op {
                Op::Eq => column.clone().eq(value),
                Op::Gt => column.clone().gt(value),
                Op::Ge => column.clone().gte(value),
                Op::Lt => column.clone().lt(value),
                Op::Le => column.clone().lte(value),
                Op::Co => column
                    .clone()
                    .like(LikeExpr::new(format!("%{}%", text(&value))).escape('\\')),
                Op::Sw => column
                    .clone()
                    .like(LikeExpr::new(format!("{}%", text(&value))).escape('\\')),
                Op::Ew => column
                    .clone()
                    .like(LikeExpr::new(format!("%{}", text(&value))).escape('\\')),
            }
        }
        Query::And(..) | Query::Or(..) | Query::Not(..) | Query::Any { .. } | Query::Nothing => {
            return Cond::all();
        }
    };
    // Spelled out so that `not (…)` keeps rows without a value, as the
    // evaluator does (SQL's NULL would drop them).
    if nullable {
        Cond::all().add(column.is_not_null()).add(test)
    } else {
        Cond::all().add(test)
    }
}

fn is_text(attr: &Resolved) -> bool {
    use crate::scim::schema::AttributeType;
    matches!(
        attr.kind,
        AttributeType::String | AttributeType::Reference | AttributeType::Binary
    )
}

/// Escapes `LIKE` metacharacters with `\`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

    /// The rows the plan's condition selects, in `order`, within `window`.
    pub async fn list(
        &self,
        kind: Kind,
        tenant_id: &str,
        plan: &Plan,
        order: Order,
        window: Window<'_>,
    ) -> Result<Vec<Listed>, StoreError> {
        let select = list_statement(kind, tenant_id, plan, order, window);
        let backend = self.read.get_database_backend();
        let rows = self.read.query_all_raw(backend.build(&select)).await?;
        rows.iter().map(|row| listed(row, order.column)).collect()
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
        let select = list_statement(kind, tenant_id, plan, order, window);
        let backend = self.read.get_database_backend();
        let mut statement = backend.build(&select);
        let postgres = backend == sea_orm::DatabaseBackend::Postgres;
        statement.sql = if postgres {
            format!("EXPLAIN {}", statement.sql)
        } else {
            format!("EXPLAIN QUERY PLAN {}", statement.sql)
        };
        let rows = self.read.query_all_raw(statement).await?;
        rows.iter()
            .map(|row| {
                let line: String = if postgres {
                    row.try_get_by_index(0)?
                } else {
                    row.try_get("", "detail")?
                };
                Ok(line)
            })
            .collect()
    }

    /// Refreshes the planner's statistics, e.g. after a bulk import.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        self.write.execute_unprepared("ANALYZE").await?;
        Ok(())
    }
}

fn list_statement(
    kind: Kind,
    tenant_id: &str,
    plan: &Plan,
    order: Order,
    window: Window<'_>,
) -> SelectStatement {
    let table = Alias::new(kind.table());
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let sort = order.column;
    let mut select = SqlQuery::select();
    select
        .expr(col("id"))
        .expr(col("document"))
        .expr(col("version"))
        .expr(col("created_at"))
        .expr(col("updated_at"))
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
    select.limit(window.limit).offset(window.offset);
    select
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
            let beyond = if descending {
                column.clone().lt(value.clone())
            } else {
                column.clone().gt(value.clone())
            };
            let same_then_id = Cond::all().add(column.clone().eq(value)).add(after_id);
            let non_null_after = Cond::any().add(beyond).add(same_then_id);
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

fn listed(row: &QueryResult, sort: SortColumn) -> Result<Listed, StoreError> {
    let id: String = row.try_get("", "id")?;
    let document: String = row.try_get("", "document")?;
    let version: i64 = row.try_get("", "version")?;
    let created_at: i64 = row.try_get("", "created_at")?;
    let updated_at: i64 = row.try_get("", "updated_at")?;
    let value = if sort.integer() {
        Value::from(row.try_get::<i64>("", "sort_key")?)
    } else {
        row.try_get::<Option<String>>("", "sort_key")?
            .map_or(Value::Null, Value::String)
    };
    let key = Key {
        value,
        id: id.clone(),
    };
    Ok(Listed {
        record: ResourceRecord::parse(id, &document, version, created_at, updated_at)?,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }
}
