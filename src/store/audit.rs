//! Audit events: append-only, newest first.

use sea_orm::sea_query::{Alias, Expr, InsertStatement, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, Iterable, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entity::audit_event;
use super::run::ExecIn;
use super::{Action, Outcome, Store, StoreError, TargetType, Tx};

/// An audit event, to store or as read back (`id` is assigned on insert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    /// The label of the token that asked.
    pub actor: String,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Option<String>,
    /// The target's name when the event was written (a user's `userName`).
    pub target_name: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    /// Names of the attributes the change touched; never their values.
    pub attributes: Vec<String>,
}

impl From<audit_event::Model> for AuditRecord {
    fn from(e: audit_event::Model) -> Self {
        AuditRecord {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            target_name: e.target_name,
            outcome: e.outcome,
            detail: e.detail,
            attributes: e
                .attributes
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Which events to list; every field narrows the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    /// Events about this target (a user, group, asset or token id).
    pub target_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub action: Option<Action>,
    /// Events at or after this instant (milliseconds).
    pub since: Option<i64>,
    /// Events before this instant (milliseconds).
    pub until: Option<i64>,
    /// Events older than this one (by id), for the next page.
    pub before_id: Option<i64>,
}

impl Store {
    /// Up to `limit` of the tenant's events that `search` selects, newest
    /// (highest id) first.
    pub async fn audit_events(
        &self,
        tenant_id: &str,
        search: &AuditSearch,
        limit: u64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut query =
            audit_event::Entity::find().filter(audit_event::Column::TenantId.eq(tenant_id));
        if let Some(target_id) = &search.target_id {
            query = query.filter(audit_event::Column::TargetId.eq(target_id.as_str()));
        }
        if let Some(outcome) = search.outcome {
            query = query.filter(audit_event::Column::Outcome.eq(outcome));
        }
        if let Some(action) = search.action {
            query = query.filter(audit_event::Column::Action.eq(action));
        }
        if let Some(since) = search.since {
            query = query.filter(audit_event::Column::At.gte(since));
        }
        if let Some(until) = search.until {
            query = query.filter(audit_event::Column::At.lt(until));
        }
        if let Some(before_id) = search.before_id {
            query = query.filter(audit_event::Column::Id.lt(before_id));
        }
        let rows = query
            .order_by_desc(audit_event::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Deletes the tenant's events written before `cutoff` (milliseconds);
    /// returns how many went.
    pub async fn prune_audit(&self, tenant_id: &str, cutoff: i64) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await?;
        let result = audit_event::Entity::delete_many()
            .filter(audit_event::Column::TenantId.eq(tenant_id))
            .filter(audit_event::Column::At.lt(cutoff))
            .exec(&self.write)
            .await?;
        Ok(result.rows_affected)
    }
}

/// Event `e` of tenant `tenant_id` as a row to insert (`id` unset: the
/// database assigns it).
pub(super) fn audit_model(tenant_id: &str, e: &AuditRecord) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Default::default(),
        tenant_id: Set(tenant_id.to_owned()),
        at: Set(e.at),
        actor: Set(e.actor.clone()),
        action: Set(e.action),
        target_type: Set(e.target_type),
        target_id: Set(e.target_id.clone()),
        target_name: Set(e.target_name.clone()),
        outcome: Set(e.outcome),
        detail: Set(e.detail.clone()),
        attributes: Set(e.attributes.join(",")),
    }
}

/// An insert of event `e` once for each row of table `per_row` (the name
/// of a `WITH` query): the event is written only when the write it
/// records was.
pub(super) fn audit_insert_per_row(
    tenant_id: &str,
    e: &AuditRecord,
    per_row: Alias,
) -> Result<InsertStatement, StoreError> {
    let model = audit_model(tenant_id, e);
    let (columns, values): (Vec<_>, Vec<Expr>) = audit_event::Column::iter()
        .filter_map(|column| {
            let value = model.get(column).into_value()?;
            Some((column, Expr::val(value)))
        })
        .unzip();
    let values = Query::select().exprs(values).from(per_row).to_owned();
    let mut insert = Query::insert();
    insert
        .into_table(audit_event::Entity)
        .columns(columns)
        .select_from(values)
        .map_err(|error| StoreError::from(DbErr::Custom(error.to_string())))?;
    Ok(insert)
}

impl Tx {
    /// Appends events; their `id` is assigned by the database.
    pub async fn insert_audit(
        &self,
        tenant_id: &str,
        events: &[AuditRecord],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(self.rows_per_insert(200)) {
            let models = chunk.iter().map(|e| audit_model(tenant_id, e));
            audit_event::Entity::insert_many(models)
                .exec_in(self)
                .await?;
        }
        Ok(())
    }
}
