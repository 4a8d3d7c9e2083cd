//! The optimistic-concurrency write that users and groups share: replace a
//! row only while its version is the one the writer read.

use sea_orm::sea_query::{Alias, CommonTableExpression, UpdateStatement, WithClause, WithQuery};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};

use super::audit::audit_insert_per_row;
use super::entity::{group, user};
use super::{AuditRecord, StoreError, Tx};

/// A table of versioned SCIM resources, keyed by (`tenant_id`, `id`).
pub(super) trait Versioned: EntityTrait {
    const ID: Self::Column;
    const TENANT_ID: Self::Column;
    const VERSION: Self::Column;
    const CREATED_AT: Self::Column;
}

impl Versioned for user::Entity {
    const ID: user::Column = user::Column::Id;
    const TENANT_ID: user::Column = user::Column::TenantId;
    const VERSION: user::Column = user::Column::Version;
    const CREATED_AT: user::Column = user::Column::CreatedAt;
}

impl Versioned for group::Entity {
    const ID: group::Column = group::Column::Id;
    const TENANT_ID: group::Column = group::Column::TenantId;
    const VERSION: group::Column = group::Column::Version;
    const CREATED_AT: group::Column = group::Column::CreatedAt;
}

/// The update that writes `model` over resource `id` of `tenant_id`
/// while its version is still `expected_version`.
///
/// Never SETs the keys, even to the same values: SQLite then checks every
/// row whose foreign key refers to this one (for a group, every member
/// row: 50,000 index entries read per PATCH). `created_at` never changes.
fn versioned_update<E, A>(
    tenant_id: &str,
    id: &str,
    expected_version: i64,
    mut model: A,
) -> UpdateStatement
where
    E: Versioned,
    A: ActiveModelTrait<Entity = E> + Send,
{
    model.not_set(E::ID);
    model.not_set(E::TENANT_ID);
    model.not_set(E::CREATED_AT);
    E::update_many()
        .set(model)
        .filter(E::ID.eq(id))
        .filter(E::TENANT_ID.eq(tenant_id))
        .filter(E::VERSION.eq(expected_version))
        .into_query()
}

impl Tx {
    /// Writes `model` over resource `id` of `tenant_id` when its version is
    /// still `expected_version`; false when the version changed or the
    /// resource is gone.
    pub(super) async fn update_versioned<E, A>(
        &self,
        tenant_id: &str,
        id: &str,
        expected_version: i64,
        model: A,
    ) -> Result<bool, StoreError>
    where
        E: Versioned,
        A: ActiveModelTrait<Entity = E> + Send,
    {
        let update = versioned_update(tenant_id, id, expected_version, model);
        Ok(self.execute(self.backend().build(&update)).await? == 1)
    }

    /// As [`Tx::update_versioned`], appending `event` to the audit log
    /// when the resource is written. On PostgreSQL both are one statement
    /// (a data-modifying `WITH`), so one round trip; SQLite, which has
    /// none, runs them one after the other on its in-process writer.
    pub(super) async fn update_versioned_audited<E, A>(
        &self,
        tenant_id: &str,
        id: &str,
        expected_version: i64,
        model: A,
        event: &AuditRecord,
    ) -> Result<bool, StoreError>
    where
        E: Versioned,
        A: ActiveModelTrait<Entity = E> + Send,
    {
        let mut update = versioned_update(tenant_id, id, expected_version, model);
        if self.backend() != DbBackend::Postgres {
            let written = self.execute(self.backend().build(&update)).await? == 1;
            if written {
                self.insert_audit(tenant_id, std::slice::from_ref(event))
                    .await?;
            }
            return Ok(written);
        }
        update.returning_col(E::ID);
        let statement = audited(update, tenant_id, event)?;
        Ok(self.execute(DbBackend::Postgres.build(&statement)).await? == 1)
    }
}

/// `update` (which returns a column of each row it writes) and an insert
/// of `event` once for each such row, as one statement.
fn audited(
    update: UpdateStatement,
    tenant_id: &str,
    event: &AuditRecord,
) -> Result<WithQuery, StoreError> {
    let written = Alias::new("written");
    let insert = audit_insert_per_row(tenant_id, event, written.clone())?;
    let update = CommonTableExpression::new()
        .query(update)
        .table_name(written)
        .to_owned();
    Ok(WithClause::new().cte(update).to_owned().query(insert))
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::PostgresQueryBuilder;

    use super::*;
    use crate::store::{Action, Outcome, TargetType};

    #[test]
    fn on_postgresql_the_event_is_inserted_once_per_row_the_update_wrote() {
        let model = user::ActiveModel {
            active: sea_orm::ActiveValue::Set(false),
            ..Default::default()
        };
        let mut update = versioned_update("t1", "u1", 4, model);
        update.returning_col(user::Column::Id);
        let event = AuditRecord {
            id: 0,
            at: 5,
            actor: "okta".into(),
            action: Action::UserDeactivate,
            target_type: TargetType::User,
            target_id: Some("u1".into()),
            target_name: Some("pat".into()),
            outcome: Outcome::Allowed,
            detail: String::new(),
            attributes: vec!["active".into(), "title".into()],
        };
        let (sql, values) = audited(update, "t1", &event)
            .unwrap()
            .build(PostgresQueryBuilder);
        assert_eq!(
            sql,
            r#"WITH "written" AS (UPDATE "users" SET "active" = $1 WHERE "users"."id" = $2 AND "users"."tenant_id" = $3 AND "users"."version" = $4 RETURNING "id") INSERT INTO "audit_events" ("tenant_id", "at", "actor", "action", "target_type", "target_id", "target_name", "outcome", "detail", "attributes") SELECT $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM "written""#
        );
        assert_eq!(values.0.len(), 14);
        assert_eq!(values.0[13], sea_orm::Value::from("active,title"));
    }
}
