//! Groups and their membership rows.

use sea_orm::sea_query::{
    Alias, Cond, Expr, ExprTrait, Func, OnConflict, Order as SqlOrder, Query, SelectStatement,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait,
};

use super::entity::{group, group_member, user};
use super::run::{ExecIn, SelectIn};
use super::{IDS_PER_STATEMENT, ResourceRecord, Store, StoreError, Tx, by_key, in_tenant};
use scim::resource::Document;

/// A member of a group: a user or a nested group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// `"User"` or `"Group"`.
    pub kind: String,
    /// The member's current name, as read (`members.display`, RFC 7643
    /// §4.2): a user's `displayName`, else its `userName`; a group's
    /// `displayName`. Never stored on the member row, so a rename shows at
    /// once; ignored when members are written.
    pub display: Option<String>,
}

/// `"User"` and `"Group"`, as `group_members.member_type` holds them.
const USER: &str = "User";
const GROUP: &str = "Group";

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

/// A member read with its name.
fn named_member(id: String, kind: &str, display: String) -> Member {
    Member {
        id,
        kind: kind.to_owned(),
        display: Some(display),
    }
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

    /// Up to `limit` members of `group_id` after the member id `after`, in
    /// member id order, with their names: a big group is read in pieces
    /// along its primary key, so no piece grows with the group.
    pub async fn members_page(
        &self,
        tenant_id: &str,
        group_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Member>, StoreError> {
        let backend = self.read.get_database_backend();
        let mut select = members_statement(tenant_id, &[group_id]);
        if let Some(after) = after {
            select.and_where(
                Expr::col((group_member::Entity, group_member::Column::MemberId)).gt(after),
            );
        }
        select.limit(limit);
        let rows = self.read.query_all_raw(backend.build(&select)).await?;
        rows.iter().map(member_of).collect()
    }

    /// How many members group `group_id` has (a PATCH's work budget counts
    /// them for operations that replace or clear the member list).
    pub async fn member_count(&self, tenant_id: &str, group_id: &str) -> Result<u64, StoreError> {
        Ok(group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::GroupId.eq(group_id))
            .count(&self.read)
            .await?)
    }

    /// The members of each of `group_ids`, as `(group_id, member)`, with
    /// each member's current name: one statement per
    /// [`IDS_PER_STATEMENT`] groups (see [`members_statement`]).
    pub async fn members(
        &self,
        tenant_id: &str,
        group_ids: &[&str],
    ) -> Result<Vec<(String, Member)>, StoreError> {
        let backend = self.read.get_database_backend();
        let mut members = Vec::new();
        // Small batches: each statement goes out in one TCP write.
        for chunk in group_ids.chunks(IDS_PER_STATEMENT) {
            let statement = backend.build(&members_statement(tenant_id, chunk));
            for row in self.read.query_all_raw(statement).await? {
                members.push((row.try_get("", "group_id")?, member_of(&row)?));
            }
        }
        Ok(members)
    }
}

/// A row of [`members_statement`] as a member.
fn member_of(row: &sea_orm::QueryResult) -> Result<Member, StoreError> {
    Ok(Member {
        id: row.try_get("", "member_id")?,
        kind: row.try_get("", "member_type")?,
        display: row.try_get("", "display")?,
    })
}

/// The member rows of `group_ids`, each joined to the user or group it
/// names for its current name:
///
/// ```sql
/// SELECT group_members.group_id, group_members.member_id, group_members.member_type,
///        COALESCE(NULLIF(users.display_name, ''), users.user_name, groups.display_name) AS display
/// FROM group_members
/// LEFT JOIN users ON group_members.member_type = 'User'
///      AND users.tenant_id = group_members.tenant_id AND users.id = group_members.member_id
/// LEFT JOIN groups ON group_members.member_type = 'Group'
///      AND groups.tenant_id = group_members.tenant_id AND groups.id = group_members.member_id
/// WHERE COALESCE(group_members.tenant_id, '') = ? AND group_members.group_id IN (…)
/// ORDER BY group_members.group_id, group_members.member_id
/// ```
///
/// Both joins are primary-key lookups; the order is the member table's
/// primary key. RFC 7643 §2.5: an empty `displayName` is unassigned.
fn members_statement(tenant_id: &str, group_ids: &[&str]) -> SelectStatement {
    let column = |column: group_member::Column| Expr::col((group_member::Entity, column));
    let joined = |kind: &str, tenant: Expr, id: Expr| {
        Cond::all()
            .add(column(group_member::Column::MemberType).eq(kind))
            .add(tenant.equals((group_member::Entity, group_member::Column::TenantId)))
            .add(id.equals((group_member::Entity, group_member::Column::MemberId)))
    };
    let user_display = Func::cust(Alias::new("NULLIF")).args([
        Expr::col((user::Entity, user::Column::DisplayName)),
        Expr::val(""),
    ]);
    let display = Func::coalesce([
        Expr::from(user_display),
        Expr::col((user::Entity, user::Column::UserName)),
        Expr::col((group::Entity, group::Column::DisplayName)),
    ]);
    Query::select()
        .expr(column(group_member::Column::GroupId))
        .expr(column(group_member::Column::MemberId))
        .expr(column(group_member::Column::MemberType))
        .expr_as(display, Alias::new("display"))
        .from(group_member::Entity)
        .left_join(
            user::Entity,
            joined(
                USER,
                Expr::col((user::Entity, user::Column::TenantId)),
                Expr::col((user::Entity, user::Column::Id)),
            ),
        )
        .left_join(
            group::Entity,
            joined(
                GROUP,
                Expr::col((group::Entity, group::Column::TenantId)),
                Expr::col((group::Entity, group::Column::Id)),
            ),
        )
        .and_where(in_tenant(
            (group_member::Entity, group_member::Column::TenantId),
            tenant_id,
        ))
        .and_where(column(group_member::Column::GroupId).is_in(group_ids.iter().copied()))
        .order_by(
            (group_member::Entity, group_member::Column::GroupId),
            SqlOrder::Asc,
        )
        .order_by(
            (group_member::Entity, group_member::Column::MemberId),
            SqlOrder::Asc,
        )
        .to_owned()
}

impl Tx {
    /// The group `id`, read inside this transaction (and locked on PostgreSQL).
    pub async fn group_for_update(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let found = group::Entity::find_by_id(id.to_owned())
            .filter(group::Column::TenantId.eq(tenant_id))
            .lock_exclusive()
            .one_in(self)
            .await?;
        found.map(record).transpose()
    }

    /// Which of `ids` are users or groups of the tenant, as members with
    /// their current names.
    pub async fn resolve_members(
        &self,
        tenant_id: &str,
        ids: &[&str],
    ) -> Result<Vec<Member>, StoreError> {
        let mut users: Vec<Member> = Vec::new();
        let mut groups: Vec<Member> = Vec::new();
        // Small batches: each statement goes out in one TCP write.
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let select = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .column(user::Column::UserName)
                .column(user::Column::DisplayName)
                .filter(user::Column::Id.is_in(chunk.iter().copied()))
                .filter(in_tenant(user::Column::TenantId, tenant_id))
                // Held until commit, so a concurrent delete of a member
                // waits and then removes the new membership too.
                .lock_shared();
            let found = self
                .rows(select.build(self.backend()), |row| {
                    Ok((row.text(0)?, row.text(1)?, row.opt_text(2)?))
                })
                .await?;
            users.extend(found.into_iter().map(|(id, user_name, display_name)| {
                // RFC 7643 §2.5: an empty `displayName` is unassigned.
                let display = display_name.filter(|d| !d.is_empty()).unwrap_or(user_name);
                named_member(id, USER, display)
            }));
            let select = group::Entity::find()
                .select_only()
                .column(group::Column::Id)
                .column(group::Column::DisplayName)
                .filter(group::Column::Id.is_in(chunk.iter().copied()))
                .filter(in_tenant(group::Column::TenantId, tenant_id))
                .lock_shared();
            let found = self
                .rows(select.build(self.backend()), |row| {
                    Ok((row.text(0)?, row.text(1)?))
                })
                .await?;
            groups.extend(
                found
                    .into_iter()
                    .map(|(id, display)| named_member(id, GROUP, display)),
            );
        }
        users.extend(groups);
        Ok(users)
    }

    /// Inserts a new group and its members.
    pub async fn insert_group(
        &self,
        tenant_id: &str,
        row: &GroupRow<'_>,
    ) -> Result<(), StoreError> {
        group::Entity::insert(active_model(tenant_id, row)?)
            .exec_in(self)
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
        let changed = group::Entity::delete_many()
            .filter(group::Column::Id.eq(id))
            .filter(group::Column::TenantId.eq(tenant_id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
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
            .exec_in(self)
            .await?;
        group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::MemberId.eq(member_id))
            .exec_in(self)
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
        for chunk in members.chunks(self.rows_per_insert(500)) {
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
                .exec_in(self)
                .await;
            // A member already there is skipped (`DO NOTHING`), not counted.
            added += result?;
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
            let changed = group_member::Entity::delete_many()
                .filter(group_member::Column::TenantId.eq(tenant_id))
                .filter(group_member::Column::GroupId.eq(group_id))
                .filter(group_member::Column::MemberId.is_in(chunk.iter().map(String::as_str)))
                .exec_in(self)
                .await?;
            removed += changed;
        }
        Ok(removed)
    }

    /// Removes every member of the group; returns how many there were.
    pub async fn clear_members(&self, tenant_id: &str, group_id: &str) -> Result<u64, StoreError> {
        let changed = group_member::Entity::delete_many()
            .filter(group_member::Column::TenantId.eq(tenant_id))
            .filter(group_member::Column::GroupId.eq(group_id))
            .exec_in(self)
            .await?;
        Ok(changed)
    }
}
