//! When each token was last used, recorded off the request path.
//!
//! Authentication only reads (through the reading pool). A token whose
//! stored `last_used_at` is more than a minute old is noted here, in
//! memory; [`super::Domain::flush_token_use`], run by a background task and
//! once more at shutdown, writes the notes in one transaction. So a
//! request never waits for the write connection (on SQLite a single one,
//! which a long write of another tenant may hold), and a token is written
//! at most about once a minute whatever its traffic. Token lists show the
//! notes not yet written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// How stale `last_used_at` may get before a request notes a new one.
const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Uses noted and not yet written: token id → time of the latest use.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenUse {
    noted: Arc<Mutex<HashMap<String, i64>>>,
}

impl TokenUse {
    /// Notes that token `id` was used at `now`, if its stored last use
    /// (`stored`) is older than [`TOUCH_INTERVAL_MS`]; returns whether it
    /// did.
    pub(crate) fn note(&self, id: &str, stored: Option<i64>, now: i64) -> bool {
        if stored.is_some_and(|t| now - t <= TOUCH_INTERVAL_MS) {
            return false;
        }
        let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        let at = noted.entry(id.to_owned()).or_insert(now);
        *at = (*at).max(now);
        true
    }

    /// The last use of token `id`: the stored one, or a later noted one.
    pub(crate) fn latest(&self, id: &str, stored: Option<i64>) -> Option<i64> {
        let noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        match (stored, noted.get(id).copied()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes every note, to be written.
    pub(crate) fn take(&self) -> Vec<(String, i64)> {
        let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        noted.drain().collect()
    }

    /// Puts back notes whose write failed (a later note of the same token
    /// wins).
    pub(crate) fn restore(&self, uses: Vec<(String, i64)>) {
        let mut noted = self.noted.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, at) in uses {
            let entry = noted.entry(id).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stale_tokens_are_noted_and_the_latest_use_wins() {
        let uses = TokenUse::default();
        uses.note("fresh", Some(100_000), 130_000);
        uses.note("stale", Some(0), 130_000);
        uses.note("stale", Some(0), 140_000);
        uses.note("never", None, 5);
        let mut taken = uses.take();
        taken.sort();
        assert_eq!(
            taken,
            vec![("never".to_owned(), 5), ("stale".to_owned(), 140_000)]
        );
        assert!(uses.take().is_empty());
    }

    #[test]
    fn lists_see_noted_uses_and_failed_writes_are_kept() {
        let uses = TokenUse::default();
        uses.note("t", Some(0), 90_000);
        assert_eq!(uses.latest("t", Some(0)), Some(90_000));
        assert_eq!(uses.latest("other", Some(7)), Some(7));
        let taken = uses.take();
        uses.note("t", Some(0), 95_000);
        uses.restore(taken);
        assert_eq!(uses.take(), vec![("t".to_owned(), 95_000)]);
    }
}
