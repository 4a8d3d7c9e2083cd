//! The optimistic-concurrency write that users and groups share: replace a
//! row only while its version is the one the writer read.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::entity::{group, user};
use super::run::ExecIn;
use super::{StoreError, Tx};

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

impl Tx {
    /// Writes `model` over resource `id` of `tenant_id` when its version is
    /// still `expected_version`; false when the version changed or the
    /// resource is gone.
    ///
    /// Never SETs the keys, even to the same values: SQLite then checks
    /// every row whose foreign key refers to this one (for a group, every
    /// member row: 50,000 index entries read per PATCH). `created_at`
    /// never changes.
    pub(super) async fn update_versioned<E, A>(
        &self,
        tenant_id: &str,
        id: &str,
        expected_version: i64,
        mut model: A,
    ) -> Result<bool, StoreError>
    where
        E: Versioned,
        A: ActiveModelTrait<Entity = E> + Send,
    {
        model.not_set(E::ID);
        model.not_set(E::TENANT_ID);
        model.not_set(E::CREATED_AT);
        let changed = E::update_many()
            .set(model)
            .filter(E::ID.eq(id))
            .filter(E::TENANT_ID.eq(tenant_id))
            .filter(E::VERSION.eq(expected_version))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }
}
