//! Token lookups cached in process (issue 16), so that a request costs
//! no statement to authenticate.
//!
//! Only live tokens are cached, keyed by the SHA-256 of their secret,
//! each with the revocation generation read before it was looked up
//! (`store/revocations.rs`). A cached token is used only while the store
//! vouches for that generation ([`crate::store::Revocations::watched`])
//! and it has not moved on since: a revocation in this process moves it
//! when its transaction commits, one in another process when the watcher
//! hears of it (PostgreSQL `NOTIFY`) or reads it (at most about a second
//! later). A lookup that raced a revocation carries the older generation,
//! so it is never trusted afterwards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::store::TokenRecord;

/// Most tokens kept; past it the cache starts again empty (a process
/// serves a handful of tokens per tenant, so this is reached only by
/// churn).
const CAPACITY: usize = 10_000;

/// Live tokens by hash.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    entries: RwLock<HashMap<String, Cached>>,
}

#[derive(Debug)]
struct Cached {
    token: TokenRecord,
    generation: u64,
    /// The latest use noted for it (`token_use.rs`), so a cached token is
    /// noted about once a minute, as a looked-up one is.
    last_used_at: AtomicI64,
}

impl TokenCache {
    /// The live token with `hash`, if it was cached under `generation`.
    pub(crate) fn get(&self, hash: &str, generation: u64) -> Option<TokenRecord> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let cached = entries.get(hash)?;
        if cached.generation != generation {
            return None;
        }
        let mut token = cached.token.clone();
        token.last_used_at = match cached.last_used_at.load(Ordering::Relaxed) {
            i64::MIN => None,
            at => Some(at),
        };
        Some(token)
    }

    /// Caches the live `token`, looked up under `generation`.
    pub(crate) fn put(&self, token: &TokenRecord, generation: u64) {
        debug_assert!(token.revoked_at.is_none());
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CAPACITY && !entries.contains_key(&token.hash) {
            entries.clear();
        }
        entries.insert(
            token.hash.clone(),
            Cached {
                token: token.clone(),
                generation,
                last_used_at: AtomicI64::new(token.last_used_at.unwrap_or(i64::MIN)),
            },
        );
    }

    /// Notes that the token with `hash` was recorded as used at `at`.
    pub(crate) fn touch(&self, hash: &str, at: i64) {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = entries.get(hash) {
            cached.last_used_at.fetch_max(at, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Scope;

    fn token(hash: &str) -> TokenRecord {
        TokenRecord {
            id: format!("id-{hash}"),
            tenant_id: "t".into(),
            hash: hash.into(),
            scope: Scope::Scim,
            label: "okta".into(),
            created_at: 0,
            last_used_at: None,
            revoked_at: None,
            user_id: None,
        }
    }

    #[test]
    fn a_token_is_served_only_under_the_generation_it_was_looked_up_in() {
        let cache = TokenCache::default();
        cache.put(&token("a"), 7);
        assert_eq!(cache.get("a", 7).map(|t| t.id), Some("id-a".to_owned()));
        assert!(cache.get("a", 8).is_none(), "a revocation since then");
        assert!(cache.get("b", 7).is_none());
    }

    #[test]
    fn uses_noted_are_kept_with_the_cached_token() {
        let cache = TokenCache::default();
        cache.put(&token("a"), 1);
        assert_eq!(cache.get("a", 1).and_then(|t| t.last_used_at), None);
        cache.touch("a", 5_000);
        cache.touch("a", 4_000);
        assert_eq!(cache.get("a", 1).and_then(|t| t.last_used_at), Some(5_000));
    }

    #[test]
    fn the_cache_never_grows_past_its_capacity() {
        let cache = TokenCache::default();
        for n in 0..CAPACITY + 5 {
            cache.put(&token(&n.to_string()), 1);
        }
        let len = cache
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert!(len <= CAPACITY, "{len}");
    }
}
