//! Call records: they keep a snapshot of their user and outlive it.

use std::collections::HashSet;

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{call_record, user};
use super::run::ExecIn;
use super::{Direction, Store, StoreError, Tx};

/// A call record with the user's names as they were when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub number: String,
    pub direction: Direction,
    pub started_at: i64,
    pub duration_seconds: i64,
}

impl From<call_record::Model> for CallRecord {
    fn from(c: call_record::Model) -> Self {
        CallRecord {
            id: c.id,
            user_id: c.user_id,
            user_name: c.user_name,
            display_name: c.display_name,
            number: c.number,
            direction: c.direction,
            started_at: c.started_at,
            duration_seconds: c.duration_seconds,
        }
    }
}

impl Store {
    /// The tenant's newest `limit` call records, all or one user's.
    pub async fn call_records(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let mut query =
            call_record::Entity::find().filter(call_record::Column::TenantId.eq(tenant_id));
        if let Some(user_id) = user_id {
            query = query.filter(call_record::Column::UserId.eq(user_id));
        }
        let rows = query
            .order_by_desc(call_record::Column::StartedAt)
            .order_by_desc(call_record::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(CallRecord::from).collect())
    }

    /// Which of `ids` are users of the tenant today (the others were deleted).
    pub async fn existing_users(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<String> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(&self.read)
                .await?;
            found.extend(rows);
        }
        Ok(found)
    }
}

impl Tx {
    /// Stores a call record.
    pub async fn insert_call_record(
        &self,
        tenant_id: &str,
        record: &CallRecord,
    ) -> Result<(), StoreError> {
        call_record::Entity::insert(call_record::ActiveModel {
            id: Set(record.id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            user_id: Set(record.user_id.clone()),
            user_name: Set(record.user_name.clone()),
            display_name: Set(record.display_name.clone()),
            number: Set(record.number.clone()),
            direction: Set(record.direction),
            started_at: Set(record.started_at),
            duration_seconds: Set(record.duration_seconds),
        })
        .exec_in(self)
        .await?;
        Ok(())
    }
}
