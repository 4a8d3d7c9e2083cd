//! Pending deprovisionings: one row per refused deactivation or deletion,
//! updated on every retry until it is completed or cancelled.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{deprovisioning, user};
use super::run::{ExecIn, SelectIn};
use super::{PendingState, Reason, Requested, Store, StoreError, Tx, by_key};
use scim::schema::ENTERPRISE_USER_SCHEMA;

/// A deprovisioning request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    pub id: String,
    pub user_id: String,
    /// The user's names when the request was last refused.
    pub user_name: String,
    pub display_name: Option<String>,
    pub requested: Requested,
    pub reason: Reason,
    pub state: PendingState,
    /// The label of the token that asked first.
    pub requested_by: String,
    pub requested_at: i64,
    /// How many times the IdP asked (1 for the first refusal).
    pub attempts: i64,
    /// The blockers as of the last refusal, as JSON.
    pub blockers: String,
    /// The last thing the IdP said about the user that did not decide the
    /// request (a PUT still saying `active: true`), and when.
    pub last_idp_signal: Option<String>,
    pub last_idp_signal_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// The label of the token whose write completed or cancelled it.
    pub resolved_by: Option<String>,
    pub updated_at: i64,
}

impl From<deprovisioning::Model> for PendingRecord {
    fn from(d: deprovisioning::Model) -> Self {
        PendingRecord {
            id: d.id,
            user_id: d.user_id,
            user_name: d.user_name,
            display_name: d.display_name,
            requested: d.requested,
            reason: d.reason,
            state: d.state,
            requested_by: d.requested_by,
            requested_at: d.requested_at,
            attempts: d.attempts,
            blockers: d.blockers,
            last_idp_signal: d.last_idp_signal,
            last_idp_signal_at: d.last_idp_signal_at,
            resolved_at: d.resolved_at,
            resolved_by: d.resolved_by,
            updated_at: d.updated_at,
        }
    }
}

fn active_model(tenant_id: &str, r: &PendingRecord) -> deprovisioning::ActiveModel {
    deprovisioning::ActiveModel {
        id: Set(r.id.clone()),
        tenant_id: Set(tenant_id.to_owned()),
        user_id: Set(r.user_id.clone()),
        user_name: Set(r.user_name.clone()),
        display_name: Set(r.display_name.clone()),
        requested: Set(r.requested),
        reason: Set(r.reason),
        state: Set(r.state),
        requested_by: Set(r.requested_by.clone()),
        requested_at: Set(r.requested_at),
        attempts: Set(r.attempts),
        blockers: Set(r.blockers.clone()),
        last_idp_signal: Set(r.last_idp_signal.clone()),
        last_idp_signal_at: Set(r.last_idp_signal_at),
        resolved_at: Set(r.resolved_at),
        resolved_by: Set(r.resolved_by.clone()),
        updated_at: Set(r.updated_at),
    }
}

/// Which requests a list shows.
#[derive(Debug, Clone, Default)]
pub struct PendingFilter<'a> {
    pub state: Option<PendingState>,
    pub user_id: Option<&'a str>,
    /// Keyset position: requests after (`requested_at`, `id`).
    pub after: Option<(i64, &'a str)>,
}

impl Store {
    /// The request `id` of the tenant.
    pub async fn deprovisioning(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<PendingRecord>, StoreError> {
        let found = by_key(
            deprovisioning::Entity::find_by_id(id.to_owned())
                .filter(deprovisioning::Column::TenantId.eq(tenant_id)),
            &self.read,
        )
        .await?;
        Ok(found.map(PendingRecord::from))
    }

    /// A page of the tenant's requests, oldest first.
    pub async fn deprovisionings(
        &self,
        tenant_id: &str,
        filter: &PendingFilter<'_>,
        limit: u64,
    ) -> Result<Vec<PendingRecord>, StoreError> {
        use deprovisioning::Column;
        let mut query = deprovisioning::Entity::find().filter(Column::TenantId.eq(tenant_id));
        if let Some(state) = filter.state {
            query = query.filter(Column::State.eq(state));
        }
        if let Some(user_id) = filter.user_id {
            query = query.filter(Column::UserId.eq(user_id));
        }
        if let Some((at, id)) = filter.after {
            query = query.filter(
                sea_orm::Condition::any()
                    .add(Column::RequestedAt.gt(at))
                    .add(
                        sea_orm::Condition::all()
                            .add(Column::RequestedAt.eq(at))
                            .add(Column::Id.gt(id)),
                    ),
            );
        }
        let rows = query
            .order_by_asc(Column::RequestedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(PendingRecord::from).collect())
    }
}

impl Tx {
    /// The request `id` of the tenant, as this transaction sees it.
    pub async fn deprovisioning(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<PendingRecord>, StoreError> {
        let found = deprovisioning::Entity::find_by_id(id.to_owned())
            .filter(deprovisioning::Column::TenantId.eq(tenant_id))
            .one_in(self)
            .await?;
        Ok(found.map(PendingRecord::from))
    }

    /// The pending requests of the tenant: of `user_id`, or all those
    /// refused for `reason`.
    pub async fn pending_deprovisionings(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        reason: Option<Reason>,
    ) -> Result<Vec<PendingRecord>, StoreError> {
        use deprovisioning::Column;
        let mut query = deprovisioning::Entity::find()
            .filter(Column::TenantId.eq(tenant_id))
            .filter(Column::State.eq(PendingState::Pending));
        if let Some(user_id) = user_id {
            query = query.filter(Column::UserId.eq(user_id));
        }
        if let Some(reason) = reason {
            query = query.filter(Column::Reason.eq(reason));
        }
        let rows = query
            .order_by_asc(Column::RequestedAt)
            .order_by_asc(Column::Id)
            .all_in(self)
            .await?;
        Ok(rows.into_iter().map(PendingRecord::from).collect())
    }

    /// The pending requests of the tenant refused for owned assets whose
    /// user has a manager, as `(request id, manager.value)`: the value
    /// read by the database's JSON functions in one statement, so that
    /// asking "is a new user anyone's manager?" parses no document.
    pub async fn waiting_for_managers(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        use sea_orm::DatabaseBackend;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let backend = self.backend();
        let manager = match backend {
            DatabaseBackend::Postgres => format!(
                "(users.document::jsonb) -> '{ENTERPRISE_USER_SCHEMA}' -> 'manager' ->> 'value'"
            ),
            _ => format!(
                "json_extract(users.document, '$.\"{ENTERPRISE_USER_SCHEMA}\".manager.value')"
            ),
        };
        let request = |c: deprovisioning::Column| Expr::col((deprovisioning::Entity, c));
        let statement = Query::select()
            .expr(request(deprovisioning::Column::Id))
            .expr_as(Expr::cust(manager), Alias::new("manager"))
            .from(deprovisioning::Entity)
            .inner_join(
                user::Entity,
                Expr::col((user::Entity, user::Column::TenantId))
                    .equals((deprovisioning::Entity, deprovisioning::Column::TenantId))
                    .and(
                        Expr::col((user::Entity, user::Column::Id))
                            .equals((deprovisioning::Entity, deprovisioning::Column::UserId)),
                    ),
            )
            .and_where(request(deprovisioning::Column::TenantId).eq(tenant_id))
            .and_where(request(deprovisioning::Column::State).eq(PendingState::Pending))
            .and_where(request(deprovisioning::Column::Reason).eq(Reason::OwnsAssets))
            .to_owned();
        let rows = self
            .rows(backend.build(&statement), |row| {
                Ok((row.text(0)?, row.opt_text(1)?))
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, manager)| manager.filter(|m| !m.is_empty()).map(|m| (id, m)))
            .collect())
    }

    /// Stores a new request.
    pub async fn insert_deprovisioning(
        &self,
        tenant_id: &str,
        record: &PendingRecord,
    ) -> Result<(), StoreError> {
        deprovisioning::Entity::insert(active_model(tenant_id, record))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// Rewrites a request.
    pub async fn update_deprovisioning(
        &self,
        tenant_id: &str,
        record: &PendingRecord,
    ) -> Result<(), StoreError> {
        let mut model = active_model(tenant_id, record);
        model.id = sea_orm::ActiveValue::NotSet;
        model.tenant_id = sea_orm::ActiveValue::NotSet;
        deprovisioning::Entity::update_many()
            .set(model)
            .filter(deprovisioning::Column::Id.eq(record.id.as_str()))
            .filter(deprovisioning::Column::TenantId.eq(tenant_id))
            .exec_in(self)
            .await?;
        Ok(())
    }
}
