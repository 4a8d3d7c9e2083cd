//! Console sessions (DESIGN §7): an admin token signs a browser in once;
//! the browser then holds a random session id (256 bits) of which only the
//! SHA-256 is stored. Every use re-checks the session's idle and absolute
//! expiry and that its admin token is still live, so revoking the token
//! ends its sessions. The domain knows nothing of cookies or forms.

use std::time::Duration;

use super::tokens::{Principal, hash, random_secret};
use super::{Domain, DomainError};
use crate::store::{Scope, SessionRecord, TokenRecord};

/// Default time a session may go unused: 30 minutes.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// Default longest life of a session, however much it is used: 12 hours.
pub const DEFAULT_SESSION_ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// A session's last use is written at most this often (milliseconds), so
/// that reading pages rarely writes; the idle expiry is that much coarse.
const TOUCH_EVERY_MILLIS: i64 = 60 * 1000;

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    /// Time a session may go unused.
    pub idle: Duration,
    /// Longest life of a session.
    pub absolute: Duration,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        SessionLifetimes {
            idle: DEFAULT_SESSION_IDLE,
            absolute: DEFAULT_SESSION_ABSOLUTE,
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A live console session.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who acts: the admin token that signed in (its label marked as the
    /// console's, for the audit log).
    pub principal: Principal,
    /// The token every form of this session carries.
    pub csrf_token: String,
}

/// The outcome of a sign-in.
#[derive(Debug)]
pub enum SignIn {
    /// A new session: `id` goes into the cookie and nowhere else.
    Accepted { id: String, session: ConsoleSession },
    /// Not an admin token that is live. `tenant_id` names the tenant when
    /// the token is one of its (a SCIM token, a revoked one), for the
    /// tenant's limit on failed sign-ins.
    Refused { tenant_id: Option<String> },
}

/// Whether `token` may sign in to the console: live, with scope `admin`.
fn may_sign_in(token: &TokenRecord) -> bool {
    token.revoked_at.is_none() && token.scope == Scope::Admin
}

fn principal_of(token: TokenRecord) -> Principal {
    Principal {
        tenant_id: token.tenant_id,
        token_id: token.id,
        scope: token.scope,
        label: format!("{} (console)", token.label),
        user_id: token.user_id,
    }
}

impl Domain {
    /// Sets how long console sessions last.
    pub fn with_session_lifetimes(mut self, lifetimes: SessionLifetimes) -> Self {
        self.session_lifetimes = lifetimes;
        self
    }

    /// Signs in with an admin token's `secret`: a fresh session, or a
    /// refusal. Sessions already over are deleted on the way.
    pub async fn sign_in(&self, secret: &str) -> Result<SignIn, DomainError> {
        let token = self.presented_token(secret.trim()).await?;
        let token = match token {
            Some(token) if may_sign_in(&token) => token,
            Some(token) => {
                return Ok(SignIn::Refused {
                    tenant_id: Some(token.tenant_id),
                });
            }
            None => return Ok(SignIn::Refused { tenant_id: None }),
        };
        let now = self.now();
        self.store.delete_expired_sessions(now).await?;
        let id = random_secret()?;
        let csrf_token = random_secret()?;
        let expires_at = now.saturating_add(millis(self.session_lifetimes.absolute));
        let record = SessionRecord {
            id_hash: hash(&id),
            tenant_id: token.tenant_id.clone(),
            token_id: token.id.clone(),
            csrf_secret: csrf_token.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at,
            idle_expires_at: self.idle_end(now, expires_at),
        };
        self.store.insert_session(&record).await?;
        self.token_use.note(&token.id, token.last_used_at, now);
        let session = ConsoleSession {
            principal: principal_of(token),
            csrf_token,
        };
        Ok(SignIn::Accepted { id, session })
    }

    /// The live session whose id is `id`: `None` when there is none, it
    /// is over (idle or absolute), or its token is no longer a live admin
    /// token (a session found so is deleted).
    pub async fn console_session(&self, id: &str) -> Result<Option<ConsoleSession>, DomainError> {
        let id_hash = hash(id);
        let Some((record, token)) = self.store.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let live = now < record.expires_at && now < record.idle_expires_at;
        let token = token.filter(|t| live && may_sign_in(t));
        let Some(token) = token else {
            self.store.delete_session(&id_hash).await?;
            return Ok(None);
        };
        if now.saturating_sub(record.last_seen_at) >= TOUCH_EVERY_MILLIS {
            let idle_end = self.idle_end(now, record.expires_at);
            self.store.touch_session(&id_hash, now, idle_end).await?;
            self.token_use.note(&token.id, token.last_used_at, now);
        }
        Ok(Some(ConsoleSession {
            principal: principal_of(token),
            csrf_token: record.csrf_secret,
        }))
    }

    /// Ends the session whose id is `id`, if there is one.
    pub async fn sign_out(&self, id: &str) -> Result<(), DomainError> {
        Ok(self.store.delete_session(&hash(id)).await?)
    }

    /// When a session used at `now` ends if unused: the idle time later,
    /// and never past its absolute end.
    fn idle_end(&self, now: i64, expires_at: i64) -> i64 {
        now.saturating_add(millis(self.session_lifetimes.idle))
            .min(expires_at)
    }
}
