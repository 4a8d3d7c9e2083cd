//! Filter push-down: a compiled filter becomes a SQL condition on indexed
//! columns where scimd has one, and any `and`/`or`/`not` of those; the
//! [`Plan`] says whether that condition is exact or a superset that the
//! domain finishes with the evaluator. Values are always bound parameters;
//! `LIKE` patterns escape `%`, `_` and `\`.

use sea_orm::sea_query::{
    Alias, Cond, Condition, Expr, ExprTrait, LikeExpr, Query as SqlQuery, SimpleExpr,
};

use super::query::Kind;
use scim::eval::{Op, Operand, Query};
use scim::path::Resolved;

/// A filter as SQL: the condition and whether it is exact.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(super) condition: Option<Condition>,
    /// True when the condition selects exactly the matching resources;
    /// false when it selects a superset (or, without a condition, all).
    pub exact: bool,
    /// True when the condition compares only by equality (or tests
    /// presence), so one plan made without the bound values serves every
    /// value: SQLite's inline readers plan that way (`exec.rs`). A range
    /// or pattern needs its value to choose between indexes (is
    /// `meta.lastModified gt …` a few rows or all?).
    pub(super) stable: bool,
}

/// Plans `query` for `kind` in `tenant_id`.
pub fn plan(kind: Kind, tenant_id: &str, query: Option<&Query>) -> Plan {
    match query {
        None => Plan {
            condition: None,
            exact: true,
            stable: true,
        },
        Some(query) => {
            let (condition, exact) = Planner { kind, tenant_id }.translate(query);
            Plan {
                condition,
                exact,
                stable: equalities_only(query),
            }
        }
    }
}

impl Plan {
    /// How many rows a read of at most `limit` rows under this plan counts
    /// as for `Store::hot_rows`: `limit` when the plan is stable, else more
    /// than any read that runs inline.
    pub(super) fn inline_rows(&self, limit: u64) -> u64 {
        if self.stable { limit } else { u64::MAX }
    }
}

/// Whether `query` compares only by equality or tests presence.
fn equalities_only(query: &Query) -> bool {
    match query {
        Query::And(a, b) | Query::Or(a, b) => equalities_only(a) && equalities_only(b),
        Query::Not(inner) => equalities_only(inner),
        Query::Any { filter, .. } => equalities_only(filter),
        Query::Compare { op, .. } => *op == Op::Eq,
        Query::Present(_) | Query::Nothing => true,
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
const USER_NAME_KEY: &str = "user_name_key";
/// Never negative (see `user_names.rs`). `userName eq` also says
/// `user_name_collision >= 0`, always true: SQLite without planner
/// statistics (it has none until someone runs `ANALYZE`) judges an
/// equality on two of the unique index's three columns less selective
/// than walking the creation-order index, and with the range on the third
/// it picks `users_tenant_user_name`.
const USER_NAME_COLLISION: &str = "user_name_collision";
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
        (Kind::Users, "userName", None) => column(USER_NAME_KEY, false),
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
                    let column =
                        |name| Expr::col((Alias::new(self.kind.table()), Alias::new(name)));
                    let condition = condition_on(column(name), nullable, leaf);
                    let condition = match leaf {
                        Query::Compare { op: Op::Eq, .. } if name == USER_NAME_KEY => {
                            condition.add(column(USER_NAME_COLLISION).gte(0))
                        }
                        _ => condition,
                    };
                    (Some(condition), true)
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
    use scim::schema::AttributeType;
    matches!(
        attr.kind,
        AttributeType::String | AttributeType::Reference | AttributeType::Binary
    )
}

/// Escapes `LIKE` metacharacters with `\`.
pub(super) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }
}
