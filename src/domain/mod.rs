//! Business rules over the store: tenants and tokens, users and groups,
//! what users own, call records, the audit log, and the deprovisioning
//! guard every user write runs (`guard.rs`).
//!
//! Methods return [`DomainError`] (`error.rs` says which error type is
//! used where); the states they speak in are the enums of
//! [`crate::store`], converted once where rows are read and written.

mod admin;
mod admin_cursor;
mod admin_search;
mod admin_source;
mod assets;
mod audit;
mod bulk;
mod cursor;
mod error;
mod facts;
mod gate;
mod groups;
mod guard;
mod hex;
mod limits;
mod listing;
mod operations;
mod overview;
mod pending;
mod query;
mod render;
mod scan;
mod seed;
mod sessions;
mod tenants;
mod token_cache;
mod token_use;
mod tokens;
mod user_names;
mod user_profile;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use crate::clock::SharedClock;
use crate::metrics::{Metrics, Throttle};
use crate::store::{LockedUser, Store, StoreError, StoredState, TenantLock, TenantSettings, Tx};
use scim::limits::SizeLimits;
use scim::patch::DEFAULT_PATCH_BUDGET;
use scim::{Schemas, ScimError};

pub use crate::store::Kind;
pub use crate::store::{
    Access, Action, AdminSource, AssetKind, BlockerKind, DeliveryState, Direction, EventType,
    Outcome, PendingState, Policy, Reason, Requested, Scope, TargetType,
};
/// The SQL push-down planner, for the query benchmark.
pub use crate::store::{Plan, plan};
pub use admin::{DeprovisionCheck, OwnedCount, Seats, Settings, SettingsUpdate, UserView};
pub use admin_cursor::{AdminCursor, DEFAULT_ADMIN_PAGE, MAX_ADMIN_PAGE};
pub use admin_search::{UserListQuery, UserPage};
pub use admin_source::AdminChange;
pub use assets::{AssetView, CallRecordView, NewCallRecord};
pub use audit::{AuditEvent, AuditListQuery, AuditPage, AuditUser, UserRef};
pub use bulk::{BulkMethod, BulkOutcome, MAX_BULK_OPERATIONS};
pub use cursor::CURSOR_TIMEOUT_SECONDS;
pub use error::DomainError;
pub use gate::DEFAULT_TENANT_MAX_WAITING;
pub use guard::{Blocker, DEPROVISION_BLOCKED, Refusal};
pub use listing::{Listing, Pieces, PiecewiseGroup, PiecewiseList};
pub use overview::Overview;
pub use pending::{CONSOLE_DEPROVISIONINGS_PATH, DeprovisioningView, IdpSignal, PendingUser};
pub use query::SCAN_LIMIT;
pub use render::{Resource, etag, etag_matches};
pub use sessions::{
    ConsoleSession, DEFAULT_SESSION_ABSOLUTE, DEFAULT_SESSION_IDLE, SessionLifetimes, SignIn,
};
pub use tenants::{CreatedTenant, TenantView};
pub use tokens::{Principal, TokenSummary, random_secret};
pub use user_names::{CollidingUserView, MAX_COLLISIONS_LISTED, NameCollision, NameCollisions};
pub use user_profile::{GroupRef, UserProfile};
pub use webhooks::address::{AddressClass, classify, literal_ip, refuse_private};
pub use webhooks::{
    Attempt, DeliveryView, DueDelivery, RETRY_WINDOW_MILLIS, SECRET_PREFIX, WebhookView,
    backoff_millis,
};

/// Longest value of an indexed attribute (`userName`, `externalId`,
/// `displayName`, e-mail values and types), in bytes: indexes have a row
/// size limit, and no real identifier comes near it.
pub const MAX_INDEXED_BYTES: usize = 1024;

/// A state named in a request (a query parameter, a JSON field called
/// `what`): an unknown one is an invalid request that lists the choices.
pub(crate) fn parse_state<T: StoredState>(what: &str, text: &str) -> Result<T, DomainError> {
    T::from_text(text).ok_or_else(|| {
        DomainError::invalid(format!("unknown {what} `{text}`; use {}", T::choices()))
    })
}

/// The error of a write whose tenant is gone.
fn no_tenant(tenant_id: &str) -> DomainError {
    DomainError::NotFound(format!("no tenant has id {tenant_id}"))
}

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

/// A write held open by [`Domain::hold_write_turn`] or
/// [`Domain::hold_write`]; released when dropped.
#[must_use = "the hold ends when this value is dropped"]
pub struct WriteHold {
    _held: Held,
}

/// What a [`WriteHold`] keeps.
enum Held {
    /// The tenant's turn only.
    Turn { _turn: gate::Turn },
    /// An open write transaction, which holds the turn and the tenant's
    /// lock.
    Transaction { _tx: Tx },
}

impl std::fmt::Debug for WriteHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteHold")
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
    /// The public base URL (`--public-url`, else `http://<bound
    /// address>`), under which the console's pages are.
    public_url: Arc<str>,
    /// Whether the operator set the public URL (`--public-url`): only
    /// then does a refusal's detail end with its console page.
    public_url_explicit: bool,
    /// Signs pagination cursors; shared by every process on the database.
    cursor_key: cursor::CursorKey,
    /// Most candidates a filter may read when indexes cannot answer it.
    scan_limit: u64,
    /// Whether webhook endpoints may be private addresses (the operator's
    /// `--allow-private-webhooks`).
    allow_private_webhooks: bool,
    /// Wakes the delivery worker after a commit that enqueued deliveries.
    deliveries_due: Arc<tokio::sync::Notify>,
    /// The work budget of one PATCH, in values (`--patch-budget`).
    patch_budget: u64,
    /// Size caps on stored strings and documents.
    sizes: SizeLimits,
    /// Each tenant's bounded queue of writes waiting for their turn.
    gates: gate::Gates,
    /// Token uses noted by authentication, written in the background.
    token_use: token_use::TokenUse,
    /// Live tokens by hash (`token_cache.rs`).
    token_cache: std::sync::Arc<token_cache::TokenCache>,
    /// How long console sessions last.
    session_lifetimes: SessionLifetimes,
    /// The process's metrics: refusals, the write queue, lock waits.
    metrics: Metrics,
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
        let secret = store.shared_secret("cursor-key", &fresh).await?;
        let cursor_key = cursor::CursorKey::new(secret.as_bytes())
            .ok_or_else(|| DomainError::Storage(StoreError::Corrupt("cursor-key".into())))?;
        let shared_writes = store.shared_tenant_writes();
        Ok(Domain {
            store,
            schemas,
            clock,
            scim_base: scim_base.trim_end_matches('/').into(),
            public_url: scim_base
                .trim_end_matches('/')
                .trim_end_matches("/scim/v2")
                .into(),
            public_url_explicit: false,
            cursor_key,
            scan_limit: SCAN_LIMIT,
            allow_private_webhooks: false,
            deliveries_due: Arc::new(tokio::sync::Notify::new()),
            patch_budget: DEFAULT_PATCH_BUDGET,
            sizes: SizeLimits::default(),
            gates: gate::Gates::new(DEFAULT_TENANT_MAX_WAITING, shared_writes),
            token_use: token_use::TokenUse::default(),
            token_cache: std::sync::Arc::default(),
            session_lifetimes: SessionLifetimes::default(),
            metrics: Metrics::new(),
        })
    }

    /// Records into `metrics` (by default, a set of its own that nobody
    /// serves).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The metrics this domain records into, for the layers around it.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sets the work budget of one PATCH (default
    /// [`DEFAULT_PATCH_BUDGET`]) and the size caps of stored resources.
    pub fn with_limits(mut self, patch_budget: u64, sizes: SizeLimits) -> Self {
        self.patch_budget = patch_budget;
        self.sizes = sizes;
        self
    }

    /// Sets how many writes of one tenant may wait for their turn at once
    /// in this process (default [`DEFAULT_TENANT_MAX_WAITING`]; 0: no
    /// bound); past it, writes are refused with 429.
    pub fn with_tenant_max_waiting(mut self, max_waiting: usize) -> Self {
        self.gates = gate::Gates::new(max_waiting, self.gates.width());
        self
    }

    /// Sets the public base URL (`https://scim.example.com`) under which
    /// the console's pages are, and whether the operator set it
    /// (`--public-url`), in which case refusal details end with the
    /// console page that resolves them, when that fits.
    pub fn with_public_url(mut self, public_url: &str, explicit: bool) -> Self {
        self.public_url = public_url.trim_end_matches('/').into();
        self.public_url_explicit = explicit;
        self
    }

    /// Sets the most candidates a filter may read when indexes cannot
    /// answer it (default [`SCAN_LIMIT`]).
    pub fn with_scan_limit(mut self, scan_limit: u64) -> Self {
        self.scan_limit = scan_limit;
        self
    }

    /// Lets webhook endpoints be private addresses (loopback, RFC 1918,
    /// …): for operators whose receivers run inside their own network.
    pub fn with_private_webhooks(mut self, allow: bool) -> Self {
        self.allow_private_webhooks = allow;
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

    /// Takes tenant `tenant_id`'s turn to write in this process and keeps
    /// it until the returned value is dropped, as a long write would, but
    /// holding no database connection: the tenant's other writes queue
    /// behind it (and past the bound are refused). For tests and tools.
    pub async fn hold_write_turn(&self, tenant_id: &str) -> Result<WriteHold, DomainError> {
        Ok(WriteHold {
            _held: Held::Turn {
                _turn: self.take_turn(tenant_id, TenantLock::Exclusive).await?,
            },
        })
    }

    /// Starts a write of tenant `tenant_id` and keeps its transaction open
    /// until the returned value is dropped (then rolled back), as a long
    /// write would: the tenant's turn, its lock, and a write connection
    /// (on SQLite the only one). For tests and tools.
    pub async fn hold_write(&self, tenant_id: &str) -> Result<WriteHold, DomainError> {
        let (tx, _) = self.begin_tenant_write(tenant_id).await?;
        Ok(WriteHold {
            _held: Held::Transaction { _tx: tx },
        })
    }

    /// [`Self::hold_write`] for a shared write (a deactivation of a user
    /// who owns nothing, say, see [`TenantLock::Shared`]): the tenant's
    /// other shared writes go on beside it, exclusive ones wait. For tests
    /// and tools.
    pub async fn hold_shared_write(&self, tenant_id: &str) -> Result<WriteHold, DomainError> {
        let (tx, _) = self
            .begin_tenant_write_as(tenant_id, TenantLock::Shared)
            .await?;
        Ok(WriteHold {
            _held: Held::Transaction { _tx: tx },
        })
    }

    /// Checks that the database answers.
    pub async fn ready(&self) -> Result<(), DomainError> {
        Ok(self.store.ping().await?)
    }

    /// The time now, in milliseconds since the epoch, from the domain's
    /// clock (for pages that stamp a form).
    pub fn now_millis(&self) -> i64 {
        self.now()
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    /// Starts a write of tenant `tenant_id`'s data: a transaction that
    /// holds the tenant's lock, and the tenant's settings as of then.
    ///
    /// Every write of a tenant's data starts here (or in
    /// [`Self::begin_user_write`], which also reads the user it writes),
    /// so writes of one tenant
    /// run one at a time, across processes: the deprovisioning rules read
    /// what no concurrent write can change, and because the tenant is
    /// always locked before any row, two writes never wait for each
    /// other's rows in opposite orders (no deadlocks).
    ///
    /// Inside the process, a write first waits for its tenant's turn
    /// (`gate.rs`) holding no connection, so one tenant's queue cannot
    /// empty the pool; the turn passes on when the transaction ends.
    ///
    /// The time from asking for the turn to holding the lock is the
    /// tenant-lock wait the metrics show.
    async fn begin_tenant_write(
        &self,
        tenant_id: &str,
    ) -> Result<(Tx, TenantSettings), DomainError> {
        self.begin_tenant_write_as(tenant_id, TenantLock::Exclusive)
            .await
    }

    /// [`Self::begin_tenant_write`], holding the tenant's lock as `lock`
    /// says. A shared write runs beside other shared writes of the
    /// tenant, so it may change only one user's own row (with its audit
    /// event and token revocations) and may rely only on facts that no
    /// shared write changes: see [`TenantLock::Shared`] and
    /// `users.rs`'s `is_shared_change`.
    async fn begin_tenant_write_as(
        &self,
        tenant_id: &str,
        lock: TenantLock,
    ) -> Result<(Tx, TenantSettings), DomainError> {
        let asked = Instant::now();
        let tx = self.enter_tenant_write(tenant_id, lock).await?;
        let settings = tx
            .lock_tenant(tenant_id, lock)
            .await?
            .ok_or_else(|| no_tenant(tenant_id))?;
        self.metrics.tenant_lock_waited(asked.elapsed());
        Ok((tx, settings))
    }

    /// [`Self::begin_tenant_write_as`], then user `user_id` read and
    /// locked with the facts a write of it needs and, when `with_groups`,
    /// its groups (`Tx::user_for_update`), in one round trip where the
    /// database allows (`Tx::lock_tenant_with_user`); `None` when there is
    /// no such user.
    async fn begin_user_write(
        &self,
        tenant_id: &str,
        user_id: &str,
        lock: TenantLock,
        with_groups: bool,
    ) -> Result<(Tx, TenantSettings, Option<LockedUser>), DomainError> {
        let asked = Instant::now();
        let tx = self.enter_tenant_write(tenant_id, lock).await?;
        let (settings, user) = tx
            .lock_tenant_with_user(tenant_id, user_id, lock, with_groups)
            .await?
            .ok_or_else(|| no_tenant(tenant_id))?;
        self.metrics.tenant_lock_waited(asked.elapsed());
        Ok((tx, settings, user))
    }

    /// A write's transaction, begun once it has its tenant's turn in this
    /// process (`gate.rs`), which it holds until it ends.
    async fn enter_tenant_write(
        &self,
        tenant_id: &str,
        lock: TenantLock,
    ) -> Result<Tx, DomainError> {
        let intent = self.store.write_intent();
        let turn = self.take_turn(tenant_id, lock).await?;
        let mut tx = self.store.begin().await?;
        drop(intent);
        tx.hold(turn);
        Ok(tx)
    }

    /// Whether shared writes of a tenant run side by side here (on
    /// PostgreSQL), rather than one at a time as every write does on
    /// SQLite.
    fn shares_tenant_writes(&self) -> bool {
        self.gates.width() > 1
    }

    /// Waits for tenant `tenant_id`'s turn to write (`gate.rs`), counting
    /// a refusal for a full queue.
    async fn take_turn(
        &self,
        tenant_id: &str,
        lock: TenantLock,
    ) -> Result<gate::Turn, DomainError> {
        let turn = self.gates.enter(tenant_id, lock).await;
        if let Err(DomainError::TooManyRequests { .. }) = &turn {
            self.metrics.throttled(Throttle::WriteQueue);
        }
        turn
    }
}
