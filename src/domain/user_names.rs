//! userNames that compare equal by key but were stored before keys
//! existed (DESIGN §8, migration 000008): all kept and all found by
//! `userName eq`, no new user may join them, and the admin API lists them
//! so an admin can rename all but one.

use serde::Serialize;

use super::{Domain, DomainError};
use crate::clock::format_millis;

/// Most collision groups one answer lists; an admin fixes them and asks
/// again.
pub const MAX_COLLISIONS_LISTED: u64 = 1000;

/// Users whose userNames share one key, as the admin API shows them.
#[derive(Debug, Clone, Serialize)]
pub struct NameCollision {
    /// The key they share (NFKC_Casefold of the trimmed userName).
    pub key: String,
    /// Oldest first.
    pub users: Vec<CollidingUserView>,
}

/// One user of a [`NameCollision`].
#[derive(Debug, Clone, Serialize)]
pub struct CollidingUserView {
    pub id: String,
    /// As the IdP sent it.
    pub user_name: String,
    pub created: String,
}

/// The answer of `GET /users/name-collisions`.
#[derive(Debug, Clone, Serialize)]
pub struct NameCollisions {
    pub collisions: Vec<NameCollision>,
    /// True when there were more than [`MAX_COLLISIONS_LISTED`] groups.
    pub truncated: bool,
}

impl Domain {
    /// The tenant's legacy userName collisions, keys in order.
    pub async fn user_name_collisions(
        &self,
        tenant_id: &str,
    ) -> Result<NameCollisions, DomainError> {
        let mut found = self
            .store
            .user_name_collisions(tenant_id, MAX_COLLISIONS_LISTED + 1)
            .await?;
        let truncated = found.len() as u64 > MAX_COLLISIONS_LISTED;
        found.truncate(usize::try_from(MAX_COLLISIONS_LISTED).unwrap_or(usize::MAX));
        let collisions = found
            .into_iter()
            .map(|c| NameCollision {
                key: c.key,
                users: c
                    .users
                    .into_iter()
                    .map(|u| CollidingUserView {
                        id: u.id,
                        user_name: u.user_name,
                        created: format_millis(u.created_at),
                    })
                    .collect(),
            })
            .collect();
        Ok(NameCollisions {
            collisions,
            truncated,
        })
    }

    /// Warns, once at start-up, when users still share a userName key.
    pub async fn warn_of_user_name_collisions(&self) -> Result<(), DomainError> {
        let count = self.store.count_user_name_collisions().await?;
        if count > 0 {
            tracing::warn!(
                users = count,
                "some users share their userName (compared by NFKC_Casefold) with an older \
                 user of their tenant, from before userNames were compared that way; each \
                 tenant's admin can list them with GET /api/v1/users/name-collisions and \
                 rename all but one"
            );
        }
        Ok(())
    }
}
