//! RFC 9865 cursors: opaque, signed, bound to the tenant and the query,
//! and short-lived. A cursor carries the keyset position of the last (or
//! first) row of a page, so pages stay correct while resources come and go.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::Key;
use scim::{ScimError, ScimType};

/// How long a cursor stays valid, in seconds; advertised as `cursorTimeout`.
pub const CURSOR_TIMEOUT_SECONDS: i64 = 3600;

/// What a cursor says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The tenant the cursor was issued to.
    #[serde(rename = "t")]
    pub tenant: String,
    /// Fingerprint of the query (endpoint, filter, sort).
    #[serde(rename = "q")]
    pub query: String,
    /// The row the next page starts after (or the previous page ends before).
    #[serde(rename = "k")]
    pub key: Key,
    /// True for a `previousCursor`.
    #[serde(rename = "b")]
    pub backward: bool,
    /// Issued at, milliseconds since the epoch.
    #[serde(rename = "at")]
    pub issued_at: i64,
}

/// A fingerprint binding cursors to one query.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    super::hex::lower_hex(&hasher.finalize()[..12])
}

/// The key that signs cursors, keyed once and cloned per cursor.
#[derive(Clone)]
pub struct CursorKey(Hmac<Sha256>);

impl CursorKey {
    /// Keys HMAC-SHA256 with `secret` (HMAC takes keys of any length, so
    /// only an empty secret is refused).
    pub fn new(secret: &[u8]) -> Option<Self> {
        if secret.is_empty() {
            return None;
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .ok()
            .map(CursorKey)
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(…)")
    }
}

fn mac(key: &CursorKey, payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = key.0.clone();
    mac.update(payload);
    mac
}

/// Encodes and signs a position; only URL-unreserved characters.
pub fn encode(position: &Position, key: &CursorKey) -> String {
    let payload = serde_json::to_vec(position).unwrap_or_default();
    let tag = mac(key, &payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// Checks a cursor's signature, binding and age.
pub fn decode(
    cursor: &str,
    key: &CursorKey,
    tenant: &str,
    query: &str,
    now: i64,
) -> Result<Position, ScimError> {
    let invalid = || {
        ScimError::cursor(
            ScimType::InvalidCursor,
            "the cursor is not one this server issued for this query; start again without it",
        )
    };
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    mac(key, &payload)
        .verify_slice(&tag)
        .map_err(|_| invalid())?;
    let position: Position = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if position.tenant != tenant || position.query != query {
        return Err(invalid());
    }
    if now - position.issued_at > CURSOR_TIMEOUT_SECONDS * 1000 {
        return Err(ScimError::cursor(
            ScimType::ExpiredCursor,
            format!(
                "the cursor is older than {CURSOR_TIMEOUT_SECONDS} seconds; start again without it"
            ),
        ));
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> CursorKey {
        CursorKey::new(secret.as_bytes()).expect("a key")
    }
    use serde_json::json;

    fn position() -> Position {
        Position {
            tenant: "t1".into(),
            query: fingerprint(&["Users", "userName sw \"a\""]),
            key: Key {
                value: json!(1_764_000_000_000_i64),
                id: "u1".into(),
            },
            backward: false,
            issued_at: 1_000,
        }
    }

    #[test]
    fn a_cursor_round_trips_and_uses_only_unreserved_characters() {
        let cursor = encode(&position(), &key("secret"));
        assert!(
            cursor
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        );
        let query = position().query;
        assert_eq!(
            decode(&cursor, &key("secret"), "t1", &query, 2_000).expect("valid"),
            position()
        );
    }

    #[test]
    fn tampered_foreign_and_expired_cursors_are_refused() {
        let cursor = encode(&position(), &key("secret"));
        let query = position().query;
        let kind = |r: Result<Position, ScimError>| r.expect_err("refused").scim_type;
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] ^= 1;
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert_eq!(
            kind(decode(&tampered, &key("secret"), "t1", &query, 2_000)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(&cursor, &key("other"), "t1", &query, 2_000)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(&cursor, &key("secret"), "t2", &query, 2_000)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode(&cursor, &key("secret"), "t1", "other", 2_000)),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            kind(decode("garbage", &key("secret"), "t1", &query, 2_000)),
            Some(ScimType::InvalidCursor)
        );
        let late = 1_000 + CURSOR_TIMEOUT_SECONDS * 1000 + 1;
        assert_eq!(
            kind(decode(&cursor, &key("secret"), "t1", &query, late)),
            Some(ScimType::ExpiredCursor)
        );
    }
}
