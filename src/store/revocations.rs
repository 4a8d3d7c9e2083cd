//! Token revocations, told to every process that caches token lookups
//! (`domain/token_cache.rs`).
//!
//! A transaction that revokes a token also raises the stored revocation
//! generation (one row, migration 000010) and, on PostgreSQL, sends a
//! `NOTIFY`. When it commits, this process's [`Revocations`] moves on at
//! once. Other processes learn of it from [`Store::watch_revocations`]:
//! on PostgreSQL by `LISTEN` (as soon as the notification arrives), and
//! where that is not available (SQLite; a PostgreSQL-compatible database
//! without `LISTEN`) by reading the stored generation every
//! [`POLL_INTERVAL`]. A cached lookup is trusted only while the watcher is
//! known to be current ([`Revocations::watched`]): listening, or polled
//! successfully within [`POLL_FRESHNESS`]. So between processes a revoked
//! token is accepted for at most about a second, and never longer when the
//! watcher fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::{Store, StoreError, Tx};

/// The PostgreSQL notification channel of revocations.
const CHANNEL: &str = "scimd_token_revoked";
/// How often the stored generation is read when no notification can come.
pub const POLL_INTERVAL: Duration = Duration::from_millis(400);
/// How long a PostgreSQL process polls after listening failed before it
/// tries to listen again.
const LISTEN_RETRY: Duration = Duration::from_secs(30);
/// How long after its last successful read a poller still vouches for the
/// cache: with [`POLL_INTERVAL`], the most a revocation made by another
/// process can go unseen.
pub const POLL_FRESHNESS: Duration = Duration::from_secs(1);

/// This process's view of revocations: a generation that moves on with
/// every revocation seen, and whether that view is current.
#[derive(Debug)]
pub struct Revocations {
    generation: AtomicU64,
    started: Instant,
    /// Milliseconds after `started` until which the watcher vouches for
    /// the generation; `u64::MAX` while listening; 0 before the watcher
    /// runs or after it failed.
    current_until: AtomicU64,
}

impl Revocations {
    pub(super) fn new() -> Arc<Revocations> {
        Arc::new(Revocations {
            generation: AtomicU64::new(0),
            started: Instant::now(),
            current_until: AtomicU64::new(0),
        })
    }

    /// The generation now: a lookup cached under another one is stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a revocation by another process would have been seen by
    /// now: the watcher runs and is current.
    pub fn watched(&self) -> bool {
        self.millis() < self.current_until.load(Ordering::Acquire)
    }

    /// A revocation was seen (or may have been missed): every cached
    /// lookup is stale.
    pub(super) fn advance(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn vouch(&self, until: u64) {
        self.current_until.store(until, Ordering::Release);
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl Tx {
    /// Records that this transaction revokes tokens: when it commits, the
    /// stored generation rises (and PostgreSQL notifies listeners), and
    /// this process's generation right after.
    pub(super) fn revoking(&self) {
        self.revokes.store(true, Ordering::Release);
    }

    /// Raises the stored generation and, on PostgreSQL, notifies: run
    /// just before `COMMIT`, so the generation's row is the last lock a
    /// revoking transaction takes (revocations of different tenants
    /// queue there only for the commit itself).
    pub(super) async fn announce_revocation(&self) -> Result<(), StoreError> {
        if !self.revokes.load(Ordering::Acquire) {
            return Ok(());
        }
        self.execute_unprepared(
            "UPDATE token_revocations SET generation = generation + 1 WHERE id = 1",
        )
        .await?;
        if self.backend() == DbBackend::Postgres {
            self.execute_unprepared(&format!("NOTIFY {CHANNEL}"))
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// This process's view of revocations.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// Watches other processes' revocations until dropped: by `LISTEN` on
    /// PostgreSQL, else (or while listening fails) by reading the stored
    /// generation every [`POLL_INTERVAL`].
    pub async fn watch_revocations(&self) {
        let Some(url) = &self.listen_url else {
            return self.poll_revocations(None).await;
        };
        loop {
            if let Err(error) = listen(&url.0, &self.revocations).await {
                tracing::warn!(
                    %error,
                    "cannot LISTEN for token revocations; reading them every {} ms for a while",
                    POLL_INTERVAL.as_millis()
                );
            }
            self.poll_revocations(Some(LISTEN_RETRY)).await;
        }
    }

    /// Reads the stored generation every [`POLL_INTERVAL`], for `period`
    /// or for ever.
    async fn poll_revocations(&self, period: Option<Duration>) {
        let revocations = &self.revocations;
        let until = period.map(|period| Instant::now() + period);
        let mut seen = None;
        let mut ticks = tokio::time::interval(POLL_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while until.is_none_or(|until| Instant::now() < until) {
            ticks.tick().await;
            let before = revocations.millis();
            match self.stored_generation().await {
                Ok(generation) => {
                    // The first read advances too: what was revoked before
                    // it may have been cached meanwhile.
                    if seen != Some(generation) {
                        revocations.advance();
                    }
                    seen = Some(generation);
                    let fresh = u64::try_from(POLL_FRESHNESS.as_millis()).unwrap_or(u64::MAX);
                    revocations.vouch(before.saturating_add(fresh));
                }
                Err(error) => {
                    revocations.vouch(0);
                    tracing::warn!(%error, "cannot read the token revocation generation");
                }
            }
        }
    }

    async fn stored_generation(&self) -> Result<i64, StoreError> {
        let backend = self.read.get_database_backend();
        let row = self
            .read
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT generation FROM token_revocations WHERE id = 1",
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        })
    }
}

/// The PostgreSQL URL the watcher listens on; never printed.
#[derive(Clone)]
pub(super) struct ListenUrl(pub(super) String);

impl std::fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenUrl(..)")
    }
}

/// Listens for revocations until listening fails. A connection lost
/// and made again at once is fine, but what was sent meanwhile may be
/// lost, so every cached lookup is treated as stale then.
async fn listen(url: &str, revocations: &Revocations) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    // Revocations committed before LISTEN took effect were not heard.
    revocations.advance();
    revocations.vouch(u64::MAX);
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => revocations.advance(),
            Ok(None) => {
                revocations.advance();
                tracing::warn!(
                    "the token revocation listener lost its connection and made a new one"
                );
            }
            Err(error) => {
                revocations.vouch(0);
                revocations.advance();
                return Err(error);
            }
        }
    }
}
