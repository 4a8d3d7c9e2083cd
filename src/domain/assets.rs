//! Numbers, workflows and group owners (what users own), and call records
//! (which outlive their user). Every change is audited; owners must be
//! active users, and the tenant's lock keeps that true under concurrent
//! deactivations.

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::audit::UserRef;
use super::pending::Unblocked;
use super::tokens::Principal;
use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{
    Action, AssetKind, AssetRecord, CallRecord, Direction, Outcome, TargetType, Tx,
};

/// Longest asset name or phone number, in characters.
const MAX_NAME_CHARS: usize = 200;

/// An asset as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AssetView {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub owner_id: String,
    pub created: String,
    pub last_modified: String,
}

impl From<AssetRecord> for AssetView {
    fn from(a: AssetRecord) -> Self {
        AssetView {
            id: a.id,
            kind: a.kind,
            name: a.name,
            owner_id: a.owner_id,
            created: format_millis(a.created_at),
            last_modified: format_millis(a.updated_at),
        }
    }
}

/// A call to record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCallRecord {
    pub user_id: String,
    pub number: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// RFC 3339.
    pub started_at: String,
    pub duration_seconds: i64,
}

/// A call record as the admin API shows it, with its user's names as they
/// were and whether the user has since been deleted.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecordView {
    pub id: String,
    pub user: UserRef,
    pub number: String,
    pub direction: Direction,
    pub started_at: String,
    pub duration_seconds: i64,
}

fn check_name(what: &str, name: &str) -> Result<(), DomainError> {
    let length = name.chars().count();
    if name.trim().is_empty() || length > MAX_NAME_CHARS || name.contains('\0') {
        return Err(DomainError::invalid(format!(
            "{what} must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

fn parse_kind(kind: &str) -> Result<AssetKind, DomainError> {
    AssetKind::from_text(kind).ok_or_else(|| {
        DomainError::invalid(format!(
            "unknown asset kind `{kind}`; use {} (groups get owners through PUT /api/v1/groups/{{id}}/owner)",
            AssetKind::choices()
        ))
    })
}

fn no_asset(id: &str) -> DomainError {
    DomainError::NotFound(format!("no asset has id {id}"))
}

impl Domain {
    /// Creates a number or workflow owned by an active user.
    pub async fn create_asset(
        &self,
        who: &Principal,
        kind: &str,
        name: &str,
        owner_id: &str,
    ) -> Result<AssetView, DomainError> {
        let kind = parse_kind(kind)?;
        check_name("name", name)?;
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        self.heir(&tx, &who.tenant_id, owner_id).await?;
        let now = self.now();
        let asset = AssetRecord {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            name: name.to_owned(),
            owner_id: owner_id.to_owned(),
            created_at: now,
            updated_at: now,
        };
        tx.insert_asset(&who.tenant_id, &asset).await?;
        let attributes = vec!["kind".into(), "name".into(), "owner_id".into()];
        self.audit_asset(&tx, who, Action::AssetCreate, &asset, attributes)
            .await?;
        tx.commit().await?;
        Ok(asset.into())
    }

    /// The tenant's assets, all or one owner's, all or one kind's.
    pub async fn assets(
        &self,
        tenant_id: &str,
        owner_id: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Vec<AssetView>, DomainError> {
        let kind = kind.map(parse_kind).transpose()?;
        let assets = self.store.assets(tenant_id, owner_id).await?;
        Ok(assets
            .into_iter()
            .filter(|asset| kind.is_none_or(|kind| asset.kind == kind))
            .map(AssetView::from)
            .collect())
    }

    /// The asset `id`.
    pub async fn asset(&self, tenant_id: &str, id: &str) -> Result<AssetView, DomainError> {
        let asset = self.store.asset(tenant_id, id).await?;
        asset.map(AssetView::from).ok_or_else(|| no_asset(id))
    }

    /// Renames an asset or gives it to another active user; returns it and
    /// the pending deprovisioning of its old owner that this completed.
    pub async fn update_asset(
        &self,
        who: &Principal,
        id: &str,
        name: Option<&str>,
        owner_id: Option<&str>,
    ) -> Result<(AssetView, Option<String>), DomainError> {
        if name.is_none() && owner_id.is_none() {
            return Err(DomainError::invalid(
                "send a new owner_id, a new name or both",
            ));
        }
        if let Some(name) = name {
            check_name("name", name)?;
        }
        let (tx, settings) = self.begin_tenant_write(&who.tenant_id).await?;
        let mut asset = tx
            .asset(&who.tenant_id, id)
            .await?
            .ok_or_else(|| no_asset(id))?;
        let mut attributes = Vec::new();
        let old_owner = asset.owner_id.clone();
        if let Some(owner_id) = owner_id.filter(|o| *o != asset.owner_id) {
            self.heir(&tx, &who.tenant_id, owner_id).await?;
            asset.owner_id = owner_id.to_owned();
            attributes.push("owner_id".to_owned());
        }
        if let Some(name) = name.filter(|n| *n != asset.name) {
            asset.name = name.to_owned();
            attributes.push("name".to_owned());
        }
        if !attributes.is_empty() {
            asset.updated_at = self.now();
            tx.update_asset(&who.tenant_id, &asset).await?;
            self.audit_asset(&tx, who, Action::AssetUpdate, &asset, attributes)
                .await?;
        }
        let completed = if asset.owner_id == old_owner {
            None
        } else {
            self.complete_unblocked(&tx, who, &settings, Unblocked::OwnerOf(&old_owner))
                .await?
        };
        tx.commit().await?;
        Ok((asset.into(), completed))
    }

    /// Deletes an asset; returns the pending deprovisioning of its owner
    /// that this completed.
    pub async fn delete_asset(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<Option<String>, DomainError> {
        let (tx, settings) = self.begin_tenant_write(&who.tenant_id).await?;
        let asset = tx
            .asset(&who.tenant_id, id)
            .await?
            .ok_or_else(|| no_asset(id))?;
        tx.delete_asset(&who.tenant_id, id).await?;
        self.audit_asset(&tx, who, Action::AssetDelete, &asset, Vec::new())
            .await?;
        let completed = self
            .complete_unblocked(&tx, who, &settings, Unblocked::OwnerOf(&asset.owner_id))
            .await?;
        tx.commit().await?;
        Ok(completed)
    }

    async fn audit_asset(
        &self,
        tx: &Tx,
        who: &Principal,
        action: Action,
        asset: &AssetRecord,
        attributes: Vec<String>,
    ) -> Result<(), DomainError> {
        let event = self.audit_event(
            who,
            action,
            (TargetType::Asset, Some(&asset.id), Some(&asset.name)),
            Outcome::Allowed,
            format!("{} {} owned by {}", asset.kind, asset.name, asset.owner_id),
            attributes,
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        Ok(())
    }

    /// Gives group `group_id` an owner (an active user) or none.
    pub async fn set_group_owner(
        &self,
        who: &Principal,
        group_id: &str,
        owner_id: Option<&str>,
    ) -> Result<Option<String>, DomainError> {
        let (tx, settings) = self.begin_tenant_write(&who.tenant_id).await?;
        if let Some(owner_id) = owner_id {
            self.heir(&tx, &who.tenant_id, owner_id).await?;
        }
        let old_owner = tx.group_owner(&who.tenant_id, group_id).await?.flatten();
        if !tx
            .set_group_owner(&who.tenant_id, group_id, owner_id)
            .await?
        {
            return Err(DomainError::NotFound(format!("no group has id {group_id}")));
        }
        let event = self.audit_event(
            who,
            Action::GroupOwner,
            (TargetType::Group, Some(group_id), None),
            Outcome::Allowed,
            format!("owner set to {}", owner_id.unwrap_or("nobody")),
            vec!["owner_id".into()],
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        let completed = match old_owner.as_deref().filter(|old| Some(*old) != owner_id) {
            Some(old) => {
                self.complete_unblocked(&tx, who, &settings, Unblocked::OwnerOf(old))
                    .await?
            }
            None => None,
        };
        tx.commit().await?;
        Ok(completed)
    }

    /// The owner of group `group_id`, if any.
    pub async fn group_owner(
        &self,
        tenant_id: &str,
        group_id: &str,
    ) -> Result<Option<String>, DomainError> {
        self.store
            .group_owner(tenant_id, group_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("no group has id {group_id}")))
    }

    /// Records a call, with a snapshot of its user's names.
    pub async fn record_call(
        &self,
        who: &Principal,
        new: NewCallRecord,
    ) -> Result<CallRecordView, DomainError> {
        check_name("number", &new.number)?;
        let direction = Direction::from_text(&new.direction).ok_or_else(|| {
            DomainError::invalid(format!("direction must be {}", Direction::choices()))
        })?;
        let started_at = DateTime::parse_from_rfc3339(&new.started_at)
            .map_err(|_| {
                DomainError::invalid(
                    "started_at must be an RFC 3339 date-time, e.g. 2026-11-28T09:30:00Z",
                )
            })?
            .timestamp_millis();
        if new.duration_seconds < 0 {
            return Err(DomainError::invalid(
                "duration_seconds must be zero or more",
            ));
        }
        let user = self
            .store
            .user_state(&who.tenant_id, &new.user_id)
            .await?
            .ok_or_else(|| DomainError::invalid(format!("no user has id {}", new.user_id)))?;
        let record = CallRecord {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id,
            user_name: user.user_name,
            display_name: user.display_name,
            number: new.number,
            direction,
            started_at,
            duration_seconds: new.duration_seconds,
        };
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        tx.insert_call_record(&who.tenant_id, &record).await?;
        tx.commit().await?;
        Ok(call_record_view(record, false))
    }

    /// The tenant's newest call records, all or one user's.
    pub async fn call_records(
        &self,
        tenant_id: &str,
        user_id: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Vec<CallRecordView>, DomainError> {
        let limit = super::admin_cursor::page_size(limit)?;
        let records = self.store.call_records(tenant_id, user_id, limit).await?;
        let ids: Vec<&str> = records.iter().map(|r| r.user_id.as_str()).collect();
        let existing = self.store.existing_users(tenant_id, &ids).await?;
        Ok(records
            .into_iter()
            .map(|r| {
                let deleted = !existing.contains(&r.user_id);
                call_record_view(r, deleted)
            })
            .collect())
    }
}

fn call_record_view(r: CallRecord, deleted: bool) -> CallRecordView {
    CallRecordView {
        id: r.id,
        user: UserRef {
            id: r.user_id,
            user_name: r.user_name,
            display_name: r.display_name,
            deleted,
        },
        number: r.number,
        direction: r.direction,
        started_at: format_millis(r.started_at),
        duration_seconds: r.duration_seconds,
    }
}
