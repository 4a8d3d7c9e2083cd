//! Users: the document, the columns filters use, and the e-mail index.

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};

use super::entity::{user, user_email};
use super::exec::Row;
use super::query::record_with_groups;
use super::run::{ExecIn, SelectIn};
use super::{Access, AuditRecord, PendingState, ResourceRecord, Store, StoreError, Tx, by_key};
use scim::resource::Document;

/// What is written for a user: the document and the columns derived from it.
#[derive(Debug, Clone)]
pub struct UserRow<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    pub external_id: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub active: bool,
    /// Whether `roles` holds `admin` (DESIGN §4).
    pub is_admin: bool,
    pub access: Access,
    /// The `emails` values as `(value, type)`, in order; the store
    /// lowercases them.
    pub emails: Vec<(Option<&'a str>, Option<&'a str>)>,
    pub document: &'a Document,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user's membership in a group, for the user's `groups` attribute.
#[derive(Debug, Clone)]
pub struct Membership {
    pub user_id: String,
    pub group_id: String,
    pub group_display_name: String,
}

/// A user read for a write: its document, its access state, and what a
/// write may have to settle (a pending request, live tokens) or hand over
/// (what it owns), read with the row so that a write that finds none
/// need not look again.
#[derive(Debug, Clone)]
pub struct LockedUser {
    pub record: ResourceRecord,
    pub access: Access,
    /// Whether the user is an admin now (`users.is_admin`).
    pub is_admin: bool,
    /// Whether a deprovisioning request of the user is pending.
    pub pending: bool,
    /// Whether a token issued to the user is still live (not revoked).
    pub tokens: bool,
    /// Whether the user owns anything: a number, a workflow or a group.
    pub owns: bool,
    /// The groups the user is a member of, as a response shows them.
    pub groups: Vec<Membership>,
}

/// A user whose admin flag a switch of the tenant's admin source may
/// change: its state and its document.
#[derive(Debug, Clone)]
pub struct AdminCandidate {
    pub state: UserState,
    pub document: Document,
}

/// The columns of a user that the deprovisioning rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    pub id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
    pub is_admin: bool,
    pub access: Access,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<user::Model> for UserState {
    fn from(model: user::Model) -> Self {
        UserState {
            id: model.id,
            user_name: model.user_name,
            display_name: model.display_name,
            active: model.active,
            is_admin: model.is_admin,
            access: model.access,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// The select of user `id` of `tenant_id`, unlocked.
fn find_user(tenant_id: &str, id: &str) -> sea_orm::Select<user::Entity> {
    user::Entity::find_by_id(id.to_owned()).filter(user::Column::TenantId.eq(tenant_id))
}

/// The tenant's active admins, the last-admin rule's count: `roles` holds
/// `admin`, `active` is true and access is not suspended.
pub(super) fn active_admins(tenant_id: &str) -> sea_orm::Select<user::Entity> {
    user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant_id))
        .filter(user::Column::IsAdmin.eq(true))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Access.eq(Access::Active))
}

/// A user's groups as one column of the user's row: JSON
/// `[[group id, displayName], …]` in displayName order, so that a user is
/// read with its memberships in one statement. The one piece of SQL the
/// two databases spell differently (an ordered JSON aggregate).
pub(super) fn groups_column(backend: DbBackend) -> Expr {
    let aggregate = match backend {
        DbBackend::Postgres => {
            "COALESCE(json_agg(json_build_array(m.group_id, g.display_name) \
             ORDER BY g.display_name_lc, g.id), '[]'::json)::text"
        }
        _ => {
            "json_group_array(json_array(m.group_id, g.display_name) \
              ORDER BY g.display_name_lc, g.id)"
        }
    };
    Expr::cust(format!(
        "(SELECT {aggregate} FROM group_members m JOIN groups g ON g.id = m.group_id \
         WHERE m.tenant_id = \"users\".\"tenant_id\" AND m.member_id = \"users\".\"id\")"
    ))
}

/// The memberships of user `user_id` from its [`groups_column`], read
/// as column `column` of `row`.
pub(super) fn groups_at(
    row: &dyn Row,
    column: usize,
    user_id: &str,
) -> Result<Vec<Membership>, StoreError> {
    let json = row.text(column)?;
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&json).map_err(|_| StoreError::Corrupt(user_id.to_owned()))?;
    Ok(pairs
        .into_iter()
        .map(|(group_id, group_display_name)| Membership {
            user_id: user_id.to_owned(),
            group_id,
            group_display_name,
        })
        .collect())
}

fn record(model: user::Model) -> Result<ResourceRecord, StoreError> {
    ResourceRecord::parse(
        model.id,
        &model.document,
        model.version,
        model.created_at,
        model.updated_at,
    )
}

fn email_models(tenant_id: &str, row: &UserRow<'_>) -> Vec<user_email::ActiveModel> {
    row.emails
        .iter()
        .zip(0..)
        .map(|((value, kind), position)| user_email::ActiveModel {
            user_id: Set(row.id.to_owned()),
            position: Set(position),
            tenant_id: Set(tenant_id.to_owned()),
            value_lc: Set(value.map(str::to_lowercase)),
            type_lc: Set(kind.map(str::to_lowercase)),
        })
        .collect()
}

pub(super) fn user_name_key(user_name: &str) -> String {
    scim::user_name::key(user_name)
}

/// The users whose userName has `key`: every user of a legacy collision
/// too. The range on the marker (always true) makes SQLite without
/// statistics use the unique index (see `plan.rs`).
pub(super) fn user_name_is(key: &str) -> sea_orm::sea_query::Condition {
    sea_orm::sea_query::Condition::all()
        .add(user::Column::UserNameKey.eq(key))
        .add(user::Column::UserNameCollision.gte(0))
}

fn active_model(tenant_id: &str, row: &UserRow<'_>) -> Result<user::ActiveModel, StoreError> {
    Ok(user::ActiveModel {
        document: Set(document_text(row)?),
        ..columns_model(tenant_id, row)
    })
}

/// The user's stored document.
fn document_text(row: &UserRow<'_>) -> Result<String, StoreError> {
    serde_json::to_string(row.document).map_err(|_| StoreError::Corrupt(row.id.to_owned()))
}

/// The user's columns, all but its document.
fn columns_model(tenant_id: &str, row: &UserRow<'_>) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(row.id.to_owned()),
        tenant_id: Set(tenant_id.to_owned()),
        user_name: Set(row.user_name.to_owned()),
        user_name_key: Set(user_name_key(row.user_name)),
        // A new or renamed user never joins a legacy collision: 0 makes
        // the unique index refuse it (migration 000008).
        user_name_collision: Set(0),
        external_id: Set(row.external_id.map(str::to_owned)),
        display_name: Set(row.display_name.map(str::to_owned)),
        display_name_lc: Set(row.display_name.map(str::to_lowercase)),
        active: Set(row.active),
        is_admin: Set(row.is_admin),
        access: Set(row.access),
        document: NotSet,
        version: Set(row.version),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    }
}

/// Whether `row` renames the user of `previous`: its userName has another
/// key (a change of case alone keeps the key).
fn renamed(row: &UserRow<'_>, previous: &UserRow<'_>) -> bool {
    row.user_name != previous.user_name
        && user_name_key(row.user_name) != user_name_key(previous.user_name)
}

/// The columns [`Tx::update_user`] sets. A user whose key stays keeps
/// its place in a legacy collision. PostgreSQL gets every column: it
/// decides by the values whether an `UPDATE` touches an index, not by the
/// columns it sets. SQLite rewrites the entries of every index whose
/// columns an `UPDATE` sets, changed or not (BENCHMARKS.md, issue 16), so
/// it gets only the indexed columns whose values differ from `previous`,
/// the document when it does, and the version (which no index holds, so
/// that the `UPDATE` always sets something).
fn update_columns(
    backend: DbBackend,
    tenant_id: &str,
    row: &UserRow<'_>,
    previous: &UserRow<'_>,
    renamed: bool,
) -> Result<user::ActiveModel, StoreError> {
    let mut model = columns_model(tenant_id, row);
    if !renamed {
        model.user_name_collision = NotSet;
    }
    if backend != DbBackend::Sqlite {
        model.document = Set(document_text(row)?);
        return Ok(model);
    }
    if row.version != previous.version || row.document != previous.document {
        model.document = Set(document_text(row)?);
    }
    if !renamed {
        model.user_name_key = NotSet;
    }
    if row.user_name == previous.user_name {
        model.user_name = NotSet;
    }
    if row.external_id == previous.external_id {
        model.external_id = NotSet;
    }
    if row.display_name == previous.display_name {
        model.display_name = NotSet;
        model.display_name_lc = NotSet;
    }
    if row.active == previous.active {
        model.active = NotSet;
    }
    if row.is_admin == previous.is_admin {
        model.is_admin = NotSet;
    }
    if row.access == previous.access {
        model.access = NotSet;
    }
    if row.updated_at == previous.updated_at {
        model.updated_at = NotSet;
    }
    Ok(model)
}

impl Store {
    /// The user `id` of `tenant_id` and, when `with_groups`, the groups
    /// it is in: one statement (a hot read, `exec.rs`).
    pub async fn user_with_groups(
        &self,
        tenant_id: &str,
        id: &str,
        with_groups: bool,
    ) -> Result<Option<(ResourceRecord, Vec<Membership>)>, StoreError> {
        let backend = self.read.get_database_backend();
        let mut select = Query::select();
        select
            .columns([
                (user::Entity, user::Column::Id),
                (user::Entity, user::Column::Document),
                (user::Entity, user::Column::Version),
                (user::Entity, user::Column::CreatedAt),
                (user::Entity, user::Column::UpdatedAt),
            ])
            .from(user::Entity)
            .and_where(Expr::col((user::Entity, user::Column::Id)).eq(id))
            .and_where(Expr::col((user::Entity, user::Column::TenantId)).eq(tenant_id));
        if with_groups {
            select.expr(groups_column(backend));
        }
        let found = self
            .hot_rows(backend.build(&select), 1, |row| {
                record_with_groups(row, with_groups)
            })
            .await?;
        Ok(found.into_iter().next())
    }

    /// The user `id` of `tenant_id` (a hot read, `exec.rs`).
    pub async fn user(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let found = self.user_with_groups(tenant_id, id, false).await?;
        Ok(found.map(|(record, _)| record))
    }

    /// The groups that directly contain user `id`: one row (a hot read,
    /// `exec.rs`), empty when there is no such user.
    pub async fn groups_of(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Vec<Membership>, StoreError> {
        let backend = self.read.get_database_backend();
        let select = Query::select()
            .expr(groups_column(backend))
            .from(user::Entity)
            .and_where(Expr::col((user::Entity, user::Column::Id)).eq(id))
            .and_where(Expr::col((user::Entity, user::Column::TenantId)).eq(tenant_id))
            .to_owned();
        let found = self
            .hot_rows(backend.build(&select), 1, |row| groups_at(row, 0, id))
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The deprovisioning view of user `id`.
    pub async fn user_state(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<UserState>, StoreError> {
        let found = by_key(find_user(tenant_id, id), &self.read).await?;
        Ok(found.map(UserState::from))
    }

    /// How many users of the tenant have each (`active`, access) pair.
    pub async fn access_counts(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(bool, Access, u64)>, StoreError> {
        let rows: Vec<(bool, Access, i64)> = user::Entity::find()
            .select_only()
            .column(user::Column::Active)
            .column(user::Column::Access)
            .column_as(user::Column::Id.count(), "n")
            .filter(user::Column::TenantId.eq(tenant_id))
            .group_by(user::Column::Active)
            .group_by(user::Column::Access)
            .into_tuple()
            .all(&self.read)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(active, access, n)| (active, access, u64::try_from(n).unwrap_or_default()))
            .collect())
    }
}

/// The select of [`Tx::user_for_update`]: user `id` with its facts and,
/// when `with_groups`, its groups (the [`LOCKED_USER_FACTS`] columns after
/// the user's), locked `FOR UPDATE` on PostgreSQL.
pub(super) fn locked_user_select(
    backend: DbBackend,
    tenant_id: &str,
    id: &str,
    with_groups: bool,
) -> SelectStatement {
    use super::entity::deprovisioning::{Column as Request, Entity as Requests};
    use super::entity::token::{Column as Token, Entity as Tokens};
    use super::entity::{asset, group};
    let pending = Query::select()
        .expr(Expr::val(1))
        .from(Requests)
        .and_where(Request::TenantId.eq(tenant_id))
        .and_where(Request::UserId.eq(id))
        .and_where(Request::State.eq(PendingState::Pending))
        .to_owned();
    let tokens = Query::select()
        .expr(Expr::val(1))
        .from(Tokens)
        .and_where(Token::TenantId.eq(tenant_id))
        .and_where(Token::UserId.eq(id))
        .and_where(Token::RevokedAt.is_null())
        .to_owned();
    let assets = Query::select()
        .expr(Expr::val(1))
        .from(asset::Entity)
        .and_where(asset::Column::TenantId.eq(tenant_id))
        .and_where(asset::Column::OwnerId.eq(id))
        .to_owned();
    let groups = Query::select()
        .expr(Expr::val(1))
        .from(group::Entity)
        .and_where(group::Column::TenantId.eq(tenant_id))
        .and_where(group::Column::OwnerId.eq(id))
        .to_owned();
    find_user(tenant_id, id)
        .expr_as(Expr::exists(pending), "pending")
        .expr_as(Expr::exists(tokens), "tokens")
        .expr_as(Expr::exists(assets).or(Expr::exists(groups)), "owns")
        .expr(if with_groups {
            groups_column(backend)
        } else {
            Expr::val("[]")
        })
        .lock_exclusive()
        .into_query()
}

/// How many columns [`locked_user_select`] reads after the user's.
pub(super) const LOCKED_USER_FACTS: usize = 4;

/// What [`locked_user_select`] reads after the user's columns: the three
/// facts (pending request, live token, owns something) and the groups.
pub(super) type LockedUserFacts = ([bool; 3], Vec<Membership>);

/// The facts of user `id` in `row`, from column `at` on.
pub(super) fn locked_user_facts(
    row: &dyn Row,
    at: usize,
    id: &str,
) -> Result<LockedUserFacts, StoreError> {
    let flags = [row.flag(at)?, row.flag(at + 1)?, row.flag(at + 2)?];
    Ok((flags, groups_at(row, at + 3, id)?))
}

/// A row of [`locked_user_select`] as a [`LockedUser`].
pub(super) fn locked_user(
    model: user::Model,
    ([pending, tokens, owns], groups): LockedUserFacts,
) -> Result<LockedUser, StoreError> {
    let (access, is_admin) = (model.access, model.is_admin);
    Ok(LockedUser {
        record: record(model)?,
        access,
        is_admin,
        pending,
        tokens,
        owns,
        groups,
    })
}

impl Tx {
    /// The user `id`, read inside this transaction (and locked on
    /// PostgreSQL), with the facts a write of it needs and, when
    /// `with_groups`, its groups (empty otherwise).
    pub async fn user_for_update(
        &self,
        tenant_id: &str,
        id: &str,
        with_groups: bool,
    ) -> Result<Option<LockedUser>, StoreError> {
        let backend = self.backend();
        let select = locked_user_select(backend, tenant_id, id, with_groups);
        let statement = backend.build(&select);
        let found = self
            .models_with::<user::Entity, _>(statement, |row, at| locked_user_facts(row, at, id))
            .await?;
        found
            .into_iter()
            .next()
            .map(|(model, facts)| locked_user(model, facts))
            .transpose()
    }

    /// How many users of the tenant other than `except_id` are active
    /// admins: `roles` holds `admin`, `active` is true and access is not
    /// suspended.
    pub async fn count_active_admins(
        &self,
        tenant_id: &str,
        except_id: &str,
    ) -> Result<u64, StoreError> {
        active_admins(tenant_id)
            .filter(user::Column::Id.ne(except_id))
            .count_in(self)
            .await
    }

    /// How many users of the tenant other than `except_id` hold a seat
    /// (`active` is true).
    pub async fn count_seated(&self, tenant_id: &str, except_id: &str) -> Result<u64, StoreError> {
        user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::Active.eq(true))
            .filter(user::Column::Id.ne(except_id))
            .count_in(self)
            .await
    }

    /// The state of user `id` as this transaction sees it.
    pub async fn user_state(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<UserState>, StoreError> {
        let found = find_user(tenant_id, id).one_in(self).await?;
        Ok(found.map(UserState::from))
    }

    /// The user of the tenant that `reference` names: by `id`, else by
    /// `externalId` (Okta sends its own user id as `manager.value`, and
    /// that id is the manager's `externalId`), else by `userName` (its
    /// key). `None` when nothing matches, or when two users share that
    /// `externalId` or userName key (an ambiguous reference names nobody).
    pub async fn user_by_reference(
        &self,
        tenant_id: &str,
        reference: &str,
    ) -> Result<Option<UserState>, StoreError> {
        if let Some(found) = find_user(tenant_id, reference).one_in(self).await? {
            return Ok(Some(found.into()));
        }
        let by_external_id = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::ExternalId.eq(reference))
            .limit(2)
            .all_in(self)
            .await?;
        match <[user::Model; 1]>::try_from(by_external_id) {
            Ok([found]) => return Ok(Some(found.into())),
            Err(found) if !found.is_empty() => return Ok(None),
            Err(_) => {}
        }
        let by_user_name = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user_name_is(&user_name_key(reference)))
            .limit(2)
            .all_in(self)
            .await?;
        Ok(<[user::Model; 1]>::try_from(by_user_name)
            .ok()
            .map(|[found]| found.into()))
    }

    /// Sets a user's admin flag, without touching its document (nor its
    /// SCIM version: the IdP's resource did not change).
    pub async fn set_admin(
        &self,
        tenant_id: &str,
        id: &str,
        is_admin: bool,
    ) -> Result<(), StoreError> {
        user::Entity::update_many()
            .col_expr(user::Column::IsAdmin, Expr::value(is_admin))
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::TenantId.eq(tenant_id))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// The users of the tenant that are admins now or whose document has
    /// `roles` (stored documents spell attribute names canonically, so the
    /// key reads `"roles":`): everyone whose admin flag reading `roles`
    /// again could change, whatever shape or escaping the roles have.
    pub async fn admin_candidates(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<AdminCandidate>, StoreError> {
        use sea_orm::sea_query::{Condition, ExprTrait};
        let has_roles = Expr::col(user::Column::Document).like("%\"roles\":%");
        let models = user::Entity::find()
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(
                Condition::any()
                    .add(user::Column::IsAdmin.eq(true))
                    .add(has_roles),
            )
            .order_by_asc(user::Column::Id)
            .all_in(self)
            .await?;
        models
            .into_iter()
            .map(|model| {
                let document = record(model.clone())?.document;
                Ok(AdminCandidate {
                    state: UserState::from(model),
                    document,
                })
            })
            .collect()
    }

    /// Suspends a user that has access, without touching its document;
    /// a deactivated user stays deactivated.
    pub async fn suspend(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        user::Entity::update_many()
            .col_expr(user::Column::Access, Expr::value(Access::Suspended))
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::Access.eq(Access::Active))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// Gives a suspended user its access back, without touching its
    /// document.
    pub async fn lift_suspension(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        user::Entity::update_many()
            .col_expr(user::Column::Access, Expr::value(Access::Active))
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::TenantId.eq(tenant_id))
            .filter(user::Column::Access.eq(Access::Suspended))
            .exec_in(self)
            .await?;
        Ok(())
    }

    /// Inserts a new user and its e-mail index rows.
    pub async fn insert_user(&self, tenant_id: &str, row: &UserRow<'_>) -> Result<(), StoreError> {
        user::Entity::insert(active_model(tenant_id, row)?)
            .exec_in(self)
            .await?;
        self.write_emails(tenant_id, row).await
    }

    /// Writes `row` over the user's `previous` row when the user's version
    /// is still `previous.version`, and appends `event`, the change's
    /// audit event; false, with nothing written, when the version changed
    /// or the user is gone. A user whose userName keeps its key keeps its
    /// place in a legacy collision; a renamed one leaves it.
    ///
    /// On SQLite only the columns that change are set ([`update_columns`]).
    /// The e-mail index rows are rewritten only when the e-mails differ.
    pub async fn update_user(
        &self,
        tenant_id: &str,
        row: &UserRow<'_>,
        previous: &UserRow<'_>,
        event: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let renamed = renamed(row, previous);
        let model = update_columns(self.backend(), tenant_id, row, previous, renamed)?;
        if !self
            .update_versioned_audited(tenant_id, row.id, previous.version, model, event)
            .await?
        {
            return Ok(false);
        }
        if renamed {
            self.settle_user_name_key(tenant_id, &user_name_key(previous.user_name))
                .await?;
        }
        if row.emails == previous.emails {
            return Ok(true);
        }
        user_email::Entity::delete_many()
            .filter(user_email::Column::UserId.eq(row.id))
            .exec_in(self)
            .await?;
        self.write_emails(tenant_id, row).await?;
        Ok(true)
    }

    /// Deletes user `id`, called `user_name`, and its memberships; the
    /// groups it left get a new version. False when there was no such
    /// user.
    ///
    /// The transaction must already hold the user's row, read with
    /// [`Tx::user_for_update`]: a group adding this user holds a share
    /// lock until it commits, so its membership is seen below.
    pub async fn delete_user(
        &self,
        tenant_id: &str,
        id: &str,
        user_name: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.remove_member_everywhere(tenant_id, id, now).await?;
        let changed = user::Entity::delete_many()
            .filter(user::Column::Id.eq(id))
            .filter(user::Column::TenantId.eq(tenant_id))
            .exec_in(self)
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        // The key as `update_user` derives it from the userName.
        self.settle_user_name_key(tenant_id, &user_name_key(user_name))
            .await?;
        Ok(true)
    }

    /// Inserts many new users and their e-mail rows in bounded batches.
    pub async fn insert_users(
        &self,
        tenant_id: &str,
        rows: &[UserRow<'_>],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(self.rows_per_insert(200)) {
            let models = chunk
                .iter()
                .map(|row| active_model(tenant_id, row))
                .collect::<Result<Vec<_>, _>>()?;
            user::Entity::insert_many(models).exec_in(self).await?;
        }
        let emails: Vec<user_email::ActiveModel> = rows
            .iter()
            .flat_map(|row| email_models(tenant_id, row))
            .collect();
        self.insert_emails(emails).await
    }

    async fn write_emails(&self, tenant_id: &str, row: &UserRow<'_>) -> Result<(), StoreError> {
        self.insert_emails(email_models(tenant_id, row)).await
    }

    async fn insert_emails(&self, rows: Vec<user_email::ActiveModel>) -> Result<(), StoreError> {
        // Bounded batches keep each statement under the parameter limits.
        for chunk in rows.chunks(self.rows_per_insert(500)) {
            user_email::Entity::insert_many(chunk.to_vec())
                .exec_in(self)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveValue;
    use serde_json::json;

    use super::*;

    fn document(value: serde_json::Value) -> Document {
        serde_json::from_value(value).unwrap()
    }

    fn row<'a>(document: &'a Document, user_name: &'a str, active: bool) -> UserRow<'a> {
        UserRow {
            id: "u1",
            user_name,
            external_id: Some("ext-1"),
            display_name: Some("Pat"),
            active,
            is_admin: false,
            access: if active {
                Access::Active
            } else {
                Access::Deactivated
            },
            emails: vec![(Some("pat@example.com"), Some("work"))],
            document,
            version: 3,
            created_at: 1,
            updated_at: 2,
        }
    }

    #[test]
    fn a_deactivation_sets_only_what_it_changes() {
        let before = document(json!({"userName": "pat", "active": true}));
        let after = document(json!({"userName": "pat", "active": false}));
        let previous = row(&before, "pat", true);
        let row = UserRow {
            version: 4,
            updated_at: 9,
            ..row(&after, "pat", false)
        };
        let model = update_columns(
            DbBackend::Sqlite,
            "t1",
            &row,
            &previous,
            renamed(&row, &previous),
        )
        .unwrap();
        assert_eq!(model.active, ActiveValue::Set(false));
        assert_eq!(model.access, ActiveValue::Set(Access::Deactivated));
        assert_eq!(model.version, ActiveValue::Set(4));
        assert_eq!(model.updated_at, ActiveValue::Set(9));
        assert!(matches!(model.document, ActiveValue::Set(ref text) if text.contains("false")));
        assert_eq!(model.user_name, ActiveValue::NotSet);
        assert_eq!(model.user_name_key, ActiveValue::NotSet);
        assert_eq!(model.user_name_collision, ActiveValue::NotSet);
        assert_eq!(model.external_id, ActiveValue::NotSet);
        assert_eq!(model.display_name, ActiveValue::NotSet);
        assert_eq!(model.display_name_lc, ActiveValue::NotSet);
        assert_eq!(model.is_admin, ActiveValue::NotSet);
    }

    #[test]
    fn a_rename_sets_the_name_its_key_and_leaves_a_legacy_collision() {
        let doc = document(json!({"userName": "pat"}));
        let previous = row(&doc, "pat", true);
        let renamed_row = row(&doc, "sam", true);
        let model = update_columns(DbBackend::Sqlite, "t1", &renamed_row, &previous, true).unwrap();
        assert_eq!(model.user_name, ActiveValue::Set("sam".to_owned()));
        assert_eq!(model.user_name_key, ActiveValue::Set(user_name_key("sam")));
        assert_eq!(model.user_name_collision, ActiveValue::Set(0));
        // The same document and version: only the version is set beside.
        assert_eq!(model.document, ActiveValue::NotSet);
        assert_eq!(model.version, ActiveValue::Set(3));
        assert_eq!(model.active, ActiveValue::NotSet);

        let recased = row(&doc, "PAT", true);
        assert!(!renamed(&recased, &previous));
        let model = update_columns(DbBackend::Sqlite, "t1", &recased, &previous, false).unwrap();
        assert_eq!(model.user_name, ActiveValue::Set("PAT".to_owned()));
        assert_eq!(model.user_name_key, ActiveValue::NotSet);
        assert_eq!(model.user_name_collision, ActiveValue::NotSet);
    }
}
