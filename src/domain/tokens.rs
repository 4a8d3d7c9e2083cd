//! API tokens: random, shown once, stored as a SHA-256 hash, compared in
//! constant time, scoped and revocable.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use validator::Validate;

use super::{Domain, DomainError};
use crate::clock::format_millis;
use crate::store::{Action, NewToken, Outcome, Scope, TargetType, TokenRecord};

/// Prefix of every scimd token, so leaked tokens are easy to recognise.
const TOKEN_PREFIX: &str = "scimd_";
/// Random bytes per token: 256 bits.
const TOKEN_BYTES: usize = 32;

impl FromStr for Scope {
    type Err = DomainError;

    /// A scope named on the command line or in the admin API.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::from_text(s).ok_or_else(|| {
            DomainError::invalid(format!(
                "unknown scope `{s}`; use {}",
                Scope::ALL
                    .iter()
                    .map(|scope| format!("`{scope}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
        })
    }
}

/// Who is calling: the token's tenant, id, scope and label, and the user
/// the token was issued to, if any.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: String,
    pub token_id: String,
    pub scope: Scope,
    pub label: String,
    /// The user a personal token was issued to; such a token dies with
    /// the user's access, so it may not mint tokens that would not.
    pub user_id: Option<String>,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenSummary {
    pub id: String,
    pub scope: Scope,
    pub label: String,
    /// The user the token was issued to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Validate)]
struct TokenLabel<'a> {
    #[validate(length(min = 1, max = 100, message = "a token label has 1 to 100 characters"))]
    label: &'a str,
}

/// A freshly minted token: the secret to show once, and its hash to store.
pub(super) struct Minted {
    pub id: String,
    pub secret: String,
    pub hash: String,
}

/// 256 random bits, base64url without padding (43 characters).
pub fn random_secret() -> Result<String, DomainError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::invalid(format!("the system random source failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

pub(super) fn mint() -> Result<Minted, DomainError> {
    let secret = format!("{TOKEN_PREFIX}{}", random_secret()?);
    Ok(Minted {
        id: uuid::Uuid::new_v4().to_string(),
        hash: hash(&secret),
        secret,
    })
}

/// Hex SHA-256 of a secret: how tokens and console session ids are
/// stored.
pub(super) fn hash(secret: &str) -> String {
    super::hex::lower_hex(&Sha256::digest(secret.as_bytes()))
}

impl Domain {
    /// Resolves a presented token to its principal, requiring `scope`.
    ///
    /// A live token is looked up once and then served from the cache
    /// (`token_cache.rs`) for as long as no revocation has been seen.
    pub async fn authenticate(&self, secret: &str, scope: Scope) -> Result<Principal, DomainError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(DomainError::Unauthorized);
        }
        let presented = hash(secret);
        let revocations = self.store.revocations();
        let watched = revocations.watched();
        // Read before the lookup: a revocation committed meanwhile moves
        // it on, and the entry cached below is never served.
        let generation = revocations.generation();
        let cached = watched
            .then(|| self.token_cache.get(&presented, generation))
            .flatten();
        let token = match cached {
            Some(token) => token,
            None => {
                let Some(token) = self.stored_token(&presented).await? else {
                    return Err(DomainError::Unauthorized);
                };
                if token.revoked_at.is_some() {
                    return Err(DomainError::Unauthorized);
                }
                if watched {
                    self.token_cache.put(&token, generation);
                }
                token
            }
        };
        let token_scope = token.scope;
        if token_scope != scope {
            return Err(DomainError::WrongScope(token_scope, scope));
        }
        // Written later, in the background (`token_use.rs`): a read never
        // waits for the write connection.
        let now = self.now();
        if self.token_use.note(&token.id, token.last_used_at, now) {
            self.token_cache.touch(&presented, now);
        }
        Ok(Principal {
            tenant_id: token.tenant_id,
            token_id: token.id,
            scope: token_scope,
            label: token.label,
            user_id: token.user_id,
        })
    }

    /// The stored token whose secret is `secret`, revoked or not.
    pub(super) async fn presented_token(
        &self,
        secret: &str,
    ) -> Result<Option<TokenRecord>, DomainError> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.stored_token(&hash(secret)).await
    }

    /// The stored token whose hash is `presented`, revoked or not.
    async fn stored_token(&self, presented: &str) -> Result<Option<TokenRecord>, DomainError> {
        let Some(token) = self.store.token_by_hash(presented).await? else {
            return Ok(None);
        };
        // The lookup already matched the hash; comparing again in constant
        // time keeps timing independent of the stored value whatever index
        // the database used.
        let equal: bool = token.hash.as_bytes().ct_eq(presented.as_bytes()).into();
        Ok(equal.then_some(token))
    }

    /// Creates a token for the tenant called `tenant`; returns its id and
    /// the secret, which is shown once and never stored.
    pub async fn create_token(
        &self,
        tenant: &str,
        scope: Scope,
        label: &str,
    ) -> Result<(String, String), DomainError> {
        TokenLabel { label }
            .validate()
            .map_err(|e| DomainError::invalid(e.to_string()))?;
        let tenant_id = self.tenant_id(tenant).await?;
        let (tx, _) = self.begin_tenant_write(&tenant_id).await?;
        let minted = self
            .insert_token(&tx, &tenant_id, scope, label, None)
            .await?;
        tx.commit().await?;
        Ok((minted.id, minted.secret))
    }

    pub(super) async fn insert_token(
        &self,
        tx: &crate::store::Tx,
        tenant_id: &str,
        scope: Scope,
        label: &str,
        user_id: Option<&str>,
    ) -> Result<Minted, DomainError> {
        let minted = mint()?;
        tx.insert_token(&NewToken {
            id: &minted.id,
            tenant_id,
            hash: &minted.hash,
            scope,
            label,
            user_id,
            created_at: self.now(),
        })
        .await?;
        Ok(minted)
    }

    /// The tokens of the tenant called `tenant`.
    pub async fn list_tokens(&self, tenant: &str) -> Result<Vec<TokenSummary>, DomainError> {
        let tenant_id = self.tenant_id(tenant).await?;
        self.tenant_tokens(&tenant_id).await
    }

    /// The tokens of tenant `tenant_id`, oldest first.
    pub async fn tenant_tokens(&self, tenant_id: &str) -> Result<Vec<TokenSummary>, DomainError> {
        let tokens = self.store.tokens(tenant_id).await?;
        Ok(tokens
            .into_iter()
            .map(|t| TokenSummary {
                last_used_at: self
                    .token_use
                    .latest(&t.id, t.last_used_at)
                    .map(format_millis),
                id: t.id,
                scope: t.scope,
                label: t.label,
                user_id: t.user_id,
                created_at: format_millis(t.created_at),
                revoked_at: t.revoked_at.map(format_millis),
            })
            .collect())
    }

    /// Writes the token uses noted since the last flush (`token_use.rs`),
    /// in one transaction; returns how many. On failure the notes are kept
    /// for the next flush.
    pub async fn flush_token_use(&self) -> Result<usize, DomainError> {
        let uses = self.token_use.take();
        if uses.is_empty() {
            return Ok(0);
        }
        match self.store.record_token_uses(&uses).await {
            Ok(()) => Ok(uses.len()),
            Err(error) => {
                self.token_use.restore(uses);
                Err(error.into())
            }
        }
    }

    /// Revokes the token `id` of any tenant (the command line); it stops
    /// working at once.
    pub async fn revoke_token(&self, id: &str) -> Result<(), DomainError> {
        let tx = self.store.begin().await?;
        if !tx.revoke_token(None, id, self.now()).await? {
            return Err(DomainError::NotFound(format!("no live token has id {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Issues a token of `who`'s tenant (the admin API), optionally to a
    /// user, whose suspension or deactivation revokes it. Returns the new
    /// token's summary and its secret, shown once.
    ///
    /// A token issued to a user cannot mint tokens (DESIGN §5): anything it
    /// minted would survive the user's suspension or deletion.
    pub async fn issue_token(
        &self,
        who: &Principal,
        scope: Scope,
        label: &str,
        user_id: Option<&str>,
    ) -> Result<(TokenSummary, String), DomainError> {
        if who.user_id.is_some() {
            return Err(DomainError::Forbidden(
                "a token issued to a user cannot mint tokens, since they would outlive \
                 that user's access; use a tenant admin token that is not issued to a user"
                    .into(),
            ));
        }
        TokenLabel { label }
            .validate()
            .map_err(|e| DomainError::invalid(e.to_string()))?;
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        if let Some(user_id) = user_id {
            self.heir(&tx, &who.tenant_id, user_id).await?;
        }
        let minted = self
            .insert_token(&tx, &who.tenant_id, scope, label, user_id)
            .await?;
        let event = self.audit_event(
            who,
            Action::TokenCreate,
            (TargetType::Token, Some(&minted.id), Some(label)),
            Outcome::Allowed,
            format!("scope {scope}"),
            Vec::new(),
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        tx.commit().await?;
        let summary = TokenSummary {
            id: minted.id,
            scope,
            label: label.to_owned(),
            user_id: user_id.map(str::to_owned),
            created_at: format_millis(self.now()),
            last_used_at: None,
            revoked_at: None,
        };
        Ok((summary, minted.secret))
    }

    /// Revokes token `id` of `who`'s tenant (the admin API).
    pub async fn revoke_tenant_token(&self, who: &Principal, id: &str) -> Result<(), DomainError> {
        let (tx, _) = self.begin_tenant_write(&who.tenant_id).await?;
        if !tx
            .revoke_token(Some(&who.tenant_id), id, self.now())
            .await?
        {
            return Err(DomainError::NotFound(format!("no live token has id {id}")));
        }
        let event = self.audit_event(
            who,
            Action::TokenRevoke,
            (TargetType::Token, Some(id), None),
            Outcome::Allowed,
            String::new(),
            Vec::new(),
        );
        tx.insert_audit(&who.tenant_id, &[event]).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_carry_256_random_bits_and_only_their_hash_is_kept() {
        let a = mint().expect("mint");
        let b = mint().expect("mint");
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        let random = &a.secret[TOKEN_PREFIX.len()..];
        assert_eq!(URL_SAFE_NO_PAD.decode(random).expect("base64").len(), 32);
        assert_eq!(a.hash, hash(&a.secret));
        assert!(!a.hash.contains(random));
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes_parse_from_their_names_only() {
        assert_eq!("scim".parse::<Scope>().ok(), Some(Scope::Scim));
        assert_eq!("admin".parse::<Scope>().ok(), Some(Scope::Admin));
        assert!("root".parse::<Scope>().is_err());
    }
}
