//! What users own: numbers and workflows (the `assets` table) and groups
//! (`groups.owner_id`).

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, ExprTrait, Order, Query, UnionType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, sea_query::Expr,
};

use super::entity::{asset, group};
use super::exec::{self, Row};
use super::run::{ExecIn, SelectIn};
use super::{AssetKind, BlockerKind, Store, StoreError, Tx, by_key};

/// A number or workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRecord {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub owner_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<asset::Model> for AssetRecord {
    fn from(a: asset::Model) -> Self {
        AssetRecord {
            id: a.id,
            kind: a.kind,
            name: a.name,
            owner_id: a.owner_id,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Something a user owns: a number, a workflow or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub kind: BlockerKind,
    pub id: String,
    pub name: String,
}

/// How many things of each kind each user owns, by user id and kind.
pub type OwnedCounts = HashMap<String, HashMap<BlockerKind, u64>>;

impl Store {
    /// The asset `id` of the tenant.
    pub async fn asset(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<AssetRecord>, StoreError> {
        let found = by_key(
            asset::Entity::find_by_id(id.to_owned()).filter(asset::Column::TenantId.eq(tenant_id)),
            &self.read,
        )
        .await?;
        Ok(found.map(AssetRecord::from))
    }

    /// The tenant's assets, of one owner or all, by kind and name.
    pub async fn assets(
        &self,
        tenant_id: &str,
        owner_id: Option<&str>,
    ) -> Result<Vec<AssetRecord>, StoreError> {
        let mut query = asset::Entity::find().filter(asset::Column::TenantId.eq(tenant_id));
        if let Some(owner_id) = owner_id {
            query = query.filter(asset::Column::OwnerId.eq(owner_id));
        }
        let rows = query
            .order_by_asc(asset::Column::Kind)
            .order_by_asc(asset::Column::Name)
            .all(&self.read)
            .await?;
        Ok(rows.into_iter().map(AssetRecord::from).collect())
    }

    /// What each of `user_ids` owns, counted by kind, in two queries.
    pub async fn owned_counts(
        &self,
        tenant_id: &str,
        user_ids: &[&str],
    ) -> Result<OwnedCounts, StoreError> {
        let mut counts = OwnedCounts::new();
        for chunk in user_ids.chunks(500) {
            let assets: Vec<(String, AssetKind, i64)> = asset::Entity::find()
                .select_only()
                .column(asset::Column::OwnerId)
                .column(asset::Column::Kind)
                .column_as(asset::Column::Id.count(), "n")
                .filter(asset::Column::TenantId.eq(tenant_id))
                .filter(asset::Column::OwnerId.is_in(chunk.iter().copied()))
                .group_by(asset::Column::OwnerId)
                .group_by(asset::Column::Kind)
                .into_tuple()
                .all(&self.read)
                .await?;
            let groups: Vec<(String, i64)> = group::Entity::find()
                .select_only()
                .column(group::Column::OwnerId)
                .column_as(group::Column::Id.count(), "n")
                .filter(group::Column::TenantId.eq(tenant_id))
                .filter(group::Column::OwnerId.is_in(chunk.iter().copied()))
                .group_by(group::Column::OwnerId)
                .into_tuple()
                .all(&self.read)
                .await?;
            let owned = assets
                .into_iter()
                .map(|(o, kind, n)| (o, BlockerKind::from(kind), n))
                .chain(groups.into_iter().map(|(o, n)| (o, BlockerKind::Group, n)));
            for (owner, kind, n) in owned {
                let n = u64::try_from(n).unwrap_or_default();
                counts.entry(owner).or_default().insert(kind, n);
            }
        }
        Ok(counts)
    }

    /// The owner of group `id`: `None` when there is no such group,
    /// `Some(None)` when it has no owner.
    pub async fn group_owner(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let found = by_key(
            group::Entity::find_by_id(id.to_owned()).filter(group::Column::TenantId.eq(tenant_id)),
            &self.read,
        )
        .await?;
        Ok(found.map(|g| g.owner_id))
    }
}

impl Tx {
    /// The owner of group `id` as this transaction sees it: `None` when
    /// there is no such group, `Some(None)` when it has no owner.
    pub async fn group_owner(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let found = group::Entity::find_by_id(id.to_owned())
            .filter(group::Column::TenantId.eq(tenant_id))
            .one_in(self)
            .await?;
        Ok(found.map(|g| g.owner_id))
    }

    /// Everything `owner_id` owns: numbers, workflows, then groups, each
    /// by name.
    pub async fn owned(&self, tenant_id: &str, owner_id: &str) -> Result<Vec<Owned>, StoreError> {
        self.rows(
            owned_statement(self.backend(), tenant_id, owner_id),
            owned_row,
        )
        .await
    }

    /// Gives everything `from` owns to `to`.
    pub async fn move_owned(
        &self,
        tenant_id: &str,
        from: &str,
        to: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        asset::Entity::update_many()
            .col_expr(asset::Column::OwnerId, Expr::value(to))
            .col_expr(asset::Column::UpdatedAt, Expr::value(now))
            .filter(asset::Column::TenantId.eq(tenant_id))
            .filter(asset::Column::OwnerId.eq(from))
            .exec_in(self)
            .await?;
        group::Entity::update_many()
            .col_expr(group::Column::OwnerId, Expr::value(to))
            .filter(group::Column::TenantId.eq(tenant_id))
            .filter(group::Column::OwnerId.eq(from))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// Stores a new asset.
    pub async fn insert_asset(&self, tenant_id: &str, new: &AssetRecord) -> Result<(), StoreError> {
        asset::Entity::insert(asset::ActiveModel {
            id: Set(new.id.clone()),
            tenant_id: Set(tenant_id.to_owned()),
            kind: Set(new.kind),
            name: Set(new.name.clone()),
            owner_id: Set(new.owner_id.clone()),
            created_at: Set(new.created_at),
            updated_at: Set(new.updated_at),
        })
        .exec_in(self)
        .await?;
        Ok(())
    }

    /// The asset `id`, read inside this transaction.
    pub async fn asset(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<AssetRecord>, StoreError> {
        let found = asset::Entity::find_by_id(id.to_owned())
            .filter(asset::Column::TenantId.eq(tenant_id))
            .one_in(self)
            .await?;
        Ok(found.map(AssetRecord::from))
    }

    /// Writes an asset's name and owner.
    pub async fn update_asset(
        &self,
        tenant_id: &str,
        asset: &AssetRecord,
    ) -> Result<(), StoreError> {
        asset::Entity::update_many()
            .col_expr(asset::Column::Name, Expr::value(asset.name.clone()))
            .col_expr(asset::Column::OwnerId, Expr::value(asset.owner_id.clone()))
            .col_expr(asset::Column::UpdatedAt, Expr::value(asset.updated_at))
            .filter(asset::Column::TenantId.eq(tenant_id))
            .filter(asset::Column::Id.eq(asset.id.clone()))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// Deletes an asset; false when there was none.
    pub async fn delete_asset(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let changed = asset::Entity::delete_many()
            .filter(asset::Column::TenantId.eq(tenant_id))
            .filter(asset::Column::Id.eq(id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }

    /// Sets or clears a group's owner; false when there is no such group.
    pub async fn set_group_owner(
        &self,
        tenant_id: &str,
        group_id: &str,
        owner_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let changed = group::Entity::update_many()
            .col_expr(
                group::Column::OwnerId,
                Expr::value(owner_id.map(str::to_owned)),
            )
            .filter(group::Column::TenantId.eq(tenant_id))
            .filter(group::Column::Id.eq(group_id))
            .exec_in(self)
            .await?;
        Ok(changed == 1)
    }
}

impl Store {
    /// Everything `owner_id` owns, as [`Tx::owned`] lists it, read outside
    /// a transaction (the console's user page).
    pub async fn owned(&self, tenant_id: &str, owner_id: &str) -> Result<Vec<Owned>, StoreError> {
        let statement = owned_statement(self.read.get_database_backend(), tenant_id, owner_id);
        exec::pooled_rows(&self.read, statement, owned_row).await
    }
}

/// The select of everything `owner_id` owns: numbers, workflows, then
/// groups, each by name; its rows are read by [`owned_row`].
fn owned_statement(backend: DbBackend, tenant_id: &str, owner_id: &str) -> Statement {
    // One statement: the assets, then the groups (`part`), each in order.
    let groups = Query::select()
        .expr_as(Expr::val(1), Alias::new("part"))
        .expr_as(Expr::val(BlockerKind::Group.as_str()), Alias::new("kind"))
        .expr_as(Expr::col(group::Column::Id), Alias::new("id"))
        .expr_as(Expr::col(group::Column::DisplayName), Alias::new("name"))
        .expr_as(Expr::col(group::Column::DisplayNameLc), Alias::new("sort"))
        .from(group::Entity)
        .and_where(Expr::col(group::Column::TenantId).eq(tenant_id))
        .and_where(Expr::col(group::Column::OwnerId).eq(owner_id))
        .to_owned();
    let select = Query::select()
        .expr_as(Expr::val(0), Alias::new("part"))
        .expr_as(Expr::col(asset::Column::Kind), Alias::new("kind"))
        .expr_as(Expr::col(asset::Column::Id), Alias::new("id"))
        .expr_as(Expr::col(asset::Column::Name), Alias::new("name"))
        .expr_as(Expr::col(asset::Column::Name), Alias::new("sort"))
        .from(asset::Entity)
        .and_where(Expr::col(asset::Column::TenantId).eq(tenant_id))
        .and_where(Expr::col(asset::Column::OwnerId).eq(owner_id))
        .union(UnionType::All, groups)
        // Numbers sort before workflows; groups come last.
        .order_by(Alias::new("part"), Order::Asc)
        .order_by(Alias::new("kind"), Order::Asc)
        .order_by(Alias::new("sort"), Order::Asc)
        .to_owned();
    backend.build(&select)
}

/// A row of [`owned_statement`].
fn owned_row(row: &dyn Row) -> Result<Owned, StoreError> {
    let kind = row.text(1)?;
    let id = row.text(2)?;
    Ok(Owned {
        kind: BlockerKind::from_text(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("asset {id}")))?,
        name: row.text(3)?,
        id,
    })
}
