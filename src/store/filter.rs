//! Filter push-down: SCIM filters become SQL conditions on indexed columns.
//!
//! This version answers equality on the attributes IdPs look resources up
//! by, and any `and`/`or`/`not` of those; anything else is reported as
//! unsupported rather than answered wrongly.

use sea_orm::{ColumnTrait, Condition, sea_query::Query};
use serde_json::Value;

use super::StoreError;
use super::entity::{group, group_member, user, user_email};
use crate::scim::filter::{AttrPath, CompareOp, Filter};

/// The condition selecting the users that match `filter`.
pub(super) fn user_condition(tenant_id: &str, filter: &Filter) -> Result<Condition, StoreError> {
    fold(filter, &|path, value| {
        let condition = if path.is("id", None) {
            user::Column::Id.eq(string(path, value)?)
        } else if path.is("userName", None) {
            user::Column::UserNameLc.eq(string(path, value)?.to_lowercase())
        } else if path.is("externalId", None) {
            // Spelled out so that `not (externalId eq "x")` keeps resources
            // without an externalId (SQL's NULL would drop them).
            return Ok(Condition::all()
                .add(user::Column::ExternalId.is_not_null())
                .add(user::Column::ExternalId.eq(string(path, value)?)));
        } else if path.is("emails", Some("value")) || path.is("emails", None) {
            let emails = Query::select()
                .column(user_email::Column::UserId)
                .from(user_email::Entity)
                .and_where(user_email::Column::TenantId.eq(tenant_id))
                .and_where(user_email::Column::ValueLc.eq(string(path, value)?.to_lowercase()))
                .to_owned();
            user::Column::Id.in_subquery(emails)
        } else if path.is("displayName", None) {
            let lowered = string(path, value)?.to_lowercase();
            return Ok(Condition::all()
                .add(user::Column::DisplayNameLc.is_not_null())
                .add(user::Column::DisplayNameLc.eq(lowered)));
        } else if path.is("active", None) {
            match value {
                Value::Bool(active) => user::Column::Active.eq(*active),
                _ => return Err(wrong_type(path, "true or false")),
            }
        } else {
            return Err(unsupported(path));
        };
        Ok(Condition::all().add(condition))
    })
}

/// The condition selecting the groups that match `filter`.
pub(super) fn group_condition(tenant_id: &str, filter: &Filter) -> Result<Condition, StoreError> {
    fold(filter, &|path, value| {
        let condition = if path.is("id", None) {
            group::Column::Id.eq(string(path, value)?)
        } else if path.is("displayName", None) {
            group::Column::DisplayNameLc.eq(string(path, value)?.to_lowercase())
        } else if path.is("externalId", None) {
            // Spelled out so that `not (externalId eq "x")` keeps resources
            // without an externalId (SQL's NULL would drop them).
            return Ok(Condition::all()
                .add(group::Column::ExternalId.is_not_null())
                .add(group::Column::ExternalId.eq(string(path, value)?)));
        } else if path.is("members", Some("value")) || path.is("members", None) {
            let groups = Query::select()
                .column(group_member::Column::GroupId)
                .from(group_member::Entity)
                .and_where(group_member::Column::TenantId.eq(tenant_id))
                .and_where(group_member::Column::MemberId.eq(string(path, value)?))
                .to_owned();
            group::Column::Id.in_subquery(groups)
        } else {
            return Err(unsupported(path));
        };
        Ok(Condition::all().add(condition))
    })
}

/// Folds the boolean structure of `filter`, handing each equality to `leaf`.
fn fold(
    filter: &Filter,
    leaf: &dyn Fn(&AttrPath, &Value) -> Result<Condition, StoreError>,
) -> Result<Condition, StoreError> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } => leaf(path, value),
        Filter::Compare { path, op, .. } => Err(StoreError::UnsupportedFilter(format!(
            "the operator `{}` on {path} is not supported yet; scimd answers `eq` filters",
            op_keyword(*op)
        ))),
        Filter::Present(path) => Err(StoreError::UnsupportedFilter(format!(
            "`{path} pr` is not supported yet; scimd answers `eq` filters"
        ))),
        Filter::And(a, b) => Ok(Condition::all().add(fold(a, leaf)?).add(fold(b, leaf)?)),
        Filter::Or(a, b) => Ok(Condition::any().add(fold(a, leaf)?).add(fold(b, leaf)?)),
        Filter::Not(inner) => Ok(fold(inner, leaf)?.not()),
        Filter::ValuePath { path, filter } => match filter.as_ref() {
            // `emails[value eq "x"]` is `emails.value eq "x"`.
            Filter::Compare {
                path: inner,
                op: CompareOp::Eq,
                value,
            } if inner.urn.is_none() && inner.sub.is_none() => leaf(
                &AttrPath {
                    urn: path.urn.clone(),
                    name: path.name.clone(),
                    sub: Some(inner.name.clone()),
                },
                value,
            ),
            _ => Err(StoreError::UnsupportedFilter(format!(
                "this value filter on {path} is not supported yet; use `{path}[value eq \"…\"]`"
            ))),
        },
    }
}

fn string<'v>(path: &AttrPath, value: &'v Value) -> Result<&'v str, StoreError> {
    value.as_str().ok_or_else(|| wrong_type(path, "a string"))
}

fn wrong_type(path: &AttrPath, expected: &str) -> StoreError {
    StoreError::UnsupportedFilter(format!("{path} must be compared with {expected}"))
}

fn unsupported(path: &AttrPath) -> StoreError {
    StoreError::UnsupportedFilter(format!(
        "filtering on {path} is not supported yet; scimd filters on id, userName, externalId, \
         emails.value, displayName and active (Users) and id, displayName, externalId and members.value (Groups)"
    ))
}

fn op_keyword(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}
