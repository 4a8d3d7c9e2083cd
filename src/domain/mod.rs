//! Business rules over the store: tenants and tokens, users and groups,
//! what users own, call records, the audit log, and the deprovisioning
//! guard every user write runs (`guard.rs`).
//!
//! Methods return [`DomainError`]; SCIM-level failures are carried as
//! `ScimError` so the HTTP edge renders them unchanged, and storage faults
//! stay opaque (`Store`), to be logged and answered with a bare 500.

mod admin;
mod assets;
mod audit;
mod bulk;
mod cursor;
mod groups;
mod guard;
mod query;
mod render;
mod scan;
mod seed;
mod tenants;
mod tokens;
mod users;

use std::sync::Arc;

use crate::clock::SharedClock;
use scim::{Schemas, ScimError};
use crate::store::{Store, StoreError, TenantSettings, Tx, UniqueField};

pub use crate::store::Kind;
/// The SQL push-down planner, for the query benchmark.
pub use crate::store::{Plan, plan};
pub use admin::{DeprovisionCheck, OwnedCount, Seats, Settings, UserView};
pub use assets::{AssetView, CallRecordView, NewCallRecord};
pub use audit::{AuditEvent, AuditUser, MAX_AUDIT_LIMIT, UserRef};
pub use bulk::{BulkMethod, BulkOutcome, MAX_BULK_OPERATIONS};
pub use cursor::CURSOR_TIMEOUT_SECONDS;
pub use guard::{Access, Blocker, DEPROVISION_BLOCKED, Policy, Reason, Refusal};
pub use query::SCAN_LIMIT;
pub use render::{Resource, etag_matches};
pub use tenants::CreatedTenant;
pub use tokens::{Principal, Scope, TokenSummary};

/// Longest value of an indexed attribute (`userName`, `externalId`,
/// `displayName`, e-mail values and types), in bytes: indexes have a row
/// size limit, and no real identifier comes near it.
pub const MAX_INDEXED_BYTES: usize = 1024;

/// Refuses an indexed attribute value longer than [`MAX_INDEXED_BYTES`].
fn check_indexed(name: &str, value: Option<&str>) -> Result<(), ScimError> {
    match value {
        Some(v) if v.len() > MAX_INDEXED_BYTES => Err(ScimError::invalid_value(format!(
            "{name} is {} bytes long; at most {MAX_INDEXED_BYTES} are accepted",
            v.len()
        ))),
        _ => Ok(()),
    }
}

/// A list's `limit`: at least 1, at most `max` (larger asks get `max`).
fn page_limit(limit: u64, max: u64) -> Result<u64, DomainError> {
    if limit == 0 {
        return Err(DomainError::Invalid(format!("limit must be 1 to {max}")));
    }
    Ok(limit.min(max))
}

/// Errors of the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A SCIM protocol error, with its status and `scimType`.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// The credentials are missing, unknown or revoked.
    #[error("the token is missing, unknown or revoked")]
    Unauthorized,
    /// The token is valid but not for this API.
    #[error("this token's scope is `{0}`; this API needs a token with scope `{1}`")]
    WrongScope(Scope, Scope),
    /// Input to a command-line or admin operation is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A named thing (tenant, token, asset) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with the current state (a name is taken, an
    /// owner is not active).
    #[error("{0}")]
    Conflict(String),
    /// The deprovisioning guard refused the change.
    #[error("{}", .0.detail)]
    Blocked(Box<Refusal>),
    /// A storage fault; never shown to clients.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Taken(UniqueField::UserName) => DomainError::Scim(ScimError::uniqueness(
                "a user with this userName already exists (userName is unique, ignoring case)",
            )),
            StoreError::Taken(UniqueField::GroupDisplayName) => DomainError::Scim(
                ScimError::uniqueness("a group with this displayName already exists"),
            ),
            StoreError::Taken(UniqueField::TenantName) => {
                DomainError::Invalid("a tenant with this name already exists".into())
            }
            StoreError::Taken(UniqueField::AssetName) => {
                DomainError::Conflict("an asset of this kind and name already exists".into())
            }
            StoreError::UnsupportedFilter(detail) => {
                DomainError::Scim(ScimError::invalid_filter(detail))
            }
            other @ (StoreError::Taken(UniqueField::Other)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)) => DomainError::Store(other),
        }
    }
}

/// The domain services, shared by every request.
#[derive(Debug, Clone)]
pub struct Domain {
    store: Store,
    schemas: Arc<Schemas>,
    clock: SharedClock,
    /// Absolute SCIM base URL, e.g. `https://scim.example.com/scim/v2`.
    scim_base: Arc<str>,
    /// Signs pagination cursors; shared by every process on the database.
    cursor_key: Arc<[u8]>,
    /// Most candidates a filter may read when indexes cannot answer it.
    scan_limit: u64,
}

impl Domain {
    /// Builds the services over a migrated store, loading (or creating)
    /// the shared cursor-signing key.
    pub async fn open(
        store: Store,
        schemas: Arc<Schemas>,
        clock: SharedClock,
        scim_base: &str,
    ) -> Result<Self, DomainError> {
        let fresh = tokens::mint()?.secret;
        let cursor_key = store.shared_secret("cursor-key", &fresh).await?;
        Ok(Domain {
            store,
            schemas,
            clock,
            scim_base: scim_base.trim_end_matches('/').into(),
            cursor_key: cursor_key.into_bytes().into(),
            scan_limit: SCAN_LIMIT,
        })
    }

    /// Sets the most candidates a filter may read when indexes cannot
    /// answer it (default [`SCAN_LIMIT`]).
    pub fn with_scan_limit(mut self, scan_limit: u64) -> Self {
        self.scan_limit = scan_limit;
        self
    }

    /// The schemas every resource is validated against.
    pub fn schemas(&self) -> &Schemas {
        &self.schemas
    }

    /// The absolute SCIM base URL.
    pub fn scim_base(&self) -> &str {
        &self.scim_base
    }

    /// Checks that the database answers.
    pub async fn ready(&self) -> Result<(), DomainError> {
        Ok(self.store.ping().await?)
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Starts a write of tenant `tenant_id`'s data: a transaction that
    /// holds the tenant's lock, and the tenant's settings as of then.
    ///
    /// Every write of a tenant's data starts here, so writes of one tenant
    /// run one at a time, across processes: the deprovisioning rules read
    /// what no concurrent write can change, and because the tenant is
    /// always locked before any row, two writes never wait for each
    /// other's rows in opposite orders (no deadlocks).
    async fn begin_tenant_write(
        &self,
        tenant_id: &str,
    ) -> Result<(Tx, TenantSettings), DomainError> {
        let tx = self.store.begin().await?;
        let settings = tx
            .lock_tenant(tenant_id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("no tenant has id {tenant_id}")))?;
        Ok((tx, settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_become_409_uniqueness_and_faults_stay_opaque() {
        let DomainError::Scim(error) = DomainError::from(StoreError::Taken(UniqueField::UserName))
        else {
            panic!("expected a SCIM error");
        };
        assert_eq!(error.status, 409);
        assert_eq!(error.scim_type, Some(scim::ScimType::Uniqueness));

        let fault = DomainError::from(StoreError::Corrupt("u1".into()));
        assert!(matches!(fault, DomainError::Store(_)));
    }
}
