//! Groups and their membership rows.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr, sea_query::ExprTrait, sea_query::OnConflict, sea_query::Query,
};

use super::entity::{group, group_member, user};
use super::{IDS_PER_STATEMENT, ResourceRecord, Store, StoreError, Tx, by_key};
use scim::resource::Document;

/// A member of a group: a user or a nested group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// `"User"` or `"Group"`.
    pub kind: String,
}

/// What is written for a group.
#[derive(Debug, Clone)]
pub struct GroupRow<'a> {
    pub id: &'a str,
    pub display_name: &'a str,
    pub external_id: Option<&'a str>,
    pub document: &'a Document,
    /// The whole member list, or `None` to leave the member rows as they are.
    pub members: Option<&'a [Member]>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

fn record(model: group::Model) -> Result<ResourceRecord, StoreError> {
    ResourceRecord::parse(
        model.id,
        &model.document,
        model.version,
        model.created_at,
        model.updated_at,
    )
}

fn active_model(tenant_id: &str, row: &GroupRow<'_>) -> Result<group::ActiveModel, StoreError> {
    let document =
        serde_json::to_string(row.document).map_err(|_| StoreError::Corrupt(row.id.to_owned()))?;
    Ok(group::ActiveModel {
        id: Set(row.id.to_owned()),
        tenant_id: Set(tenant_id.to_owned()),
        display_name: Set(row.display_name.to_owned()),
        display_name_lc: Set(row.display_name.to_lowercase()),
        external_id: Set(row.external_id.map(str::to_owned)),
        document: Set(document),
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
        // Ownership is the admin API's; SCIM writes leave it as it is.
        owner_id: sea_orm::ActiveValue::NotSet,
    })
}

impl Store {
    /// The group `id` of `tenant_id`.
    pub async fn group(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let found = by_key(
            group::Entity::find_by_id(id.to_owned()).filter(group::Column::TenantId.eq(tenant_id)),
            &self.read,
        )
        .await?;
        found.map(record).transpose()
    }

    /// The members of each of `group_ids`, as `(group_id, member)`.
    pub async fn members(
        &self,
        tenant_id: &str,
        group_ids: &[&str],
    ) -> Result<Vec<(String, Member)>, StoreError> {
        let mut rows = Vec::new();
        // Small batches: each statement goes out in one TCP write.
        for chunk in group_ids.chunks(IDS_PER_STATEMENT) {
            let found = group_member::Entity::find()
                .filter(group_member::Column::TenantId.eq(tenant_id))
                .filter(group_member::Column::GroupId.is_in(chunk.iter().copied()))
                .order_by_asc(group_member::Column::GroupId)
                .order_by_asc(group_member::Column::MemberId)
                .all(&self.read)
                .await?;
            rows.extend(found);
        }
        Ok(rows
            .into_iter()
            .map(|m| {
                (
                    m.group_id,
                    Member {
                        id: m.member_id,
                        kind: m.member_type,
                    },
                )
            })
            .collect())
    }
}

impl Tx {
    /// The group `id`, read inside this transaction (and locked on PostgreSQL).
    pub async fn group_for_update(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let found = by_key(
            group::Entity::find_by_id(id.to_owned())
                .filter(group::Column::TenantId.eq(tenant_id))
                .lock_exclusive(),
            self.conn(),
        )
        .await?;
        found.map(record).transpose()
    }

    /// Which of `ids` are users or groups of the tenant, as members.
    pub async fn resolve_members(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<Member>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut users: Vec<String> = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        // Small batches: each statement goes out in one TCP write.
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let found: Vec<String> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::TenantId.eq(tenant_id))
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                // Held until commit, so a concurrent delete of a member
                // waits and then removes the new membership too.
                .lock_shared()
                .into_tuple()
                .all(self.conn())
                .await?;
            users.extend(found);
            let found: Vec<String> = group::Entity::find()
                .select_only()
                .column(group::Column::Id)
                .filter(group::Column::TenantId.eq(tenant_id))
                .filter(group::Column::Id.is_in(chunk.iter().copied()))
                .lock_shared()
                .into_tuple()
                .all(self.conn())
                .await?;
            groups.extend(found);
        }
        let as_member = |kind: &str| {
            let kind = kind.to_owned();
            move |id: String| Member {
                id,
                kind: kind.clone(),
            }
        };
        Ok(users
            .into_iter()
            .map(as_member("User"))
            .chain(groups.into_iter().map(as_member("Group")))
            .collect())
    }

    /// Inserts a new group and its members.
    pub async fn insert_group(
        &self,
        tenant_id: &str,
        row: &GroupRow<'_>,
    ) -> Result<(), StoreError> {
        group::Entity::insert(active_model(tenant_id, row)?)
            .exec_without_returning(self.conn())
            .await?;
        self.add_members(tenant_id, row.id, row.members.unwrap_or_default())
            .await?;
        Ok(())
    }

    /// Replaces a group's row (and its whole member list, when given) if
    /// its version is still `expected_version`; false when it changed or is
    /// gone.
    pub async fn update_group(
        &self,
        tenant_id: &str,
        row: &GroupRow<'_>,
        expected_version: i64,
    ) -> Result<bool, StoreError> {
        let model = active_model(tenant_id, row)?;
        if !self
            .update_versioned(tenant_id, row.id, expected_version, model)
            .await?
        {
            return Ok(false);
        }
        if let Some(members) = row.members {
            self.clear_members(tenant_id, row.id).await?;
            self.add_members(tenant_id, row.id, members).await?;
        }
        Ok(true)
    }

    /// Deletes a group, its member rows and its own membership in other
    /// groups. False when there was no such group.
    pub async fn delete_group(
        &self,
        tenant_id: &str,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        // Lock first: a group being added as a member elsewhere holds a
        // share lock until it commits, so its membership is seen below.
        if self.group_for_update(tenant_id, id).await?.is_none() {
            return Ok(false);
        }
        self.remove_member_everywhere(tenant_id, id, now).await?;
        let result = group::Entity::delete_many()
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::TenantId.eq(tenant_id))
            .exec(self.conn())
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Removes `member_id` from every group of the tenant, giving each of
    /// those groups a new version.
    pub(super) async fn remove_member_everywhere(
        &self,
        tenant_id: &str,
        member_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let containing = Query::select()
            .column(group_member::Column::GroupId)
            .from(group_member::Entity)
            .and_where(group_member::Column::TenantId.eq(tenant_id))
            .and_where(group_member::Column::MemberId.eq(member_id))
            .to_owned();
        group::Entity::update_many()
            .col_expr(
                group::Column::Version,
                Expr::col(group::Column::Version).add(1),
            )
            .col_expr(group::Column::UpdatedAt, Expr::value(now))
            .filter(group::Column::TenantId.eq(tenant_id))
            .filter(group::Column::Id.in_subquery(containing))
            .exec(self.conn())
            .await?;
        group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::MemberId.eq(member_id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Adds the members that are not in the group yet; returns how many
    /// were new. Writes only those rows, whatever the group's size.
    pub async fn add_members(
        &self,
        tenant_id: &str,
        group_id: &str,
        members: &[Member],
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        // Bounded batches keep each statement under the parameter limits.
        for chunk in members.chunks(500) {
            let models = chunk.iter().map(|m| group_member::ActiveModel {
                group_id: Set(group_id.to_owned()),
                tenant_id: Set(tenant_id.to_owned()),
                member_id: Set(m.id.clone()),
                member_type: Set(m.kind.clone()),
            });
            let result = group_member::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([
                        group_member::Column::GroupId,
                        group_member::Column::MemberId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(self.conn())
                .await;
            added += match result {
                Ok(rows) => rows,
                Err(sea_orm::DbErr::RecordNotInserted) => 0,
                Err(error) => return Err(error.into()),
            };
        }
        Ok(added)
    }

    /// Removes these members from the group; returns how many were members.
    pub async fn remove_members(
        &self,
        tenant_id: &str,
        group_id: &str,
        member_ids: &[String],
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        for chunk in member_ids.chunks(500) {
            let result = group_member::Entity::delete_many()
                .filter(group_member::Column::TenantId.eq(tenant_id))
                .filter(group_member::Column::GroupId.eq(group_id))
                .filter(group_member::Column::MemberId.is_in(chunk.iter().map(String::as_str)))
                .exec(self.conn())
                .await?;
            removed += result.rows_affected;
        }
        Ok(removed)
    }

    /// Removes every member of the group; returns how many there were.
    pub async fn clear_members(&self, tenant_id: &str, group_id: &str) -> Result<u64, StoreError> {
        let result = group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::GroupId.eq(group_id))
            .exec(self.conn())
            .await?;
        Ok(result.rows_affected)
    }
}
